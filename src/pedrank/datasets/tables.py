"""Labelled data from tables: CSV / TSV / JSON Lines / Parquet files and Hugging Face
``datasets`` folders written by ``save_to_disk``.

A *table file* holds one sample per row: a text column and a label column.
Column names default, case-insensitively, to the first present of
``text, sentence, content, description`` and ``label, labels, class, target``;
``text_column`` / ``label_column`` name others. A *datasets folder* may hold
an ``Image`` column instead of text; its ``ClassLabel`` names become the class
names. Images are decoded batch by batch while features are extracted
(:class:`ArrowImages`), never all at once.

``task="classification"`` keeps the labels as they are (strings or integers)
and needs at least two classes; ``task="regression"`` needs a numeric label
column and keeps it as float64 targets. Bad input is a one-line ``ValueError``
naming the file and the fix. pandas reads the files (Parquet also needs
pyarrow); ``datasets`` reads the folders.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pedrank._fingerprint import data_fingerprint, subset_fingerprint
from pedrank.datasets.images import ImageDataset, UnreadableImageError

__all__ = [
    "LABEL_COLUMNS",
    "TABLE_SUFFIXES",
    "TEXT_COLUMNS",
    "ArrowImages",
    "TextDataset",
    "is_hf_folder",
    "load_hf_folder",
    "read_table",
    "subsample_indices",
]

TEXT_COLUMNS = ("text", "sentence", "content", "description")
LABEL_COLUMNS = ("label", "labels", "class", "target")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class TextDataset:
    """Texts with labels (the duck type of :class:`~pedrank.datasets.images.ImageDataset`).

    Attributes
    ----------
    inputs : list of str
    labels : ndarray, shape (N,)
        Class labels (str or int), or float64 regression targets.
    name : str
    fingerprint : str
        Content hash of texts and labels (computed when not given).
    classes : tuple of str
        Sorted class names (empty for regression targets).
    modality : str
        ``"text"``.
    """

    inputs: list[str]
    labels: np.ndarray
    name: str = "texts"
    fingerprint: str = ""
    classes: tuple[str, ...] = field(default=())
    modality: str = "text"

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or labels.shape[0] != len(self.inputs):
            raise ValueError(
                f"{len(self.inputs)} texts but labels of shape {labels.shape}; they must match"
            )
        object.__setattr__(self, "inputs", [str(t) for t in self.inputs])
        object.__setattr__(self, "labels", labels)
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", data_fingerprint(self.inputs, labels))

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, idx: np.ndarray, name: str | None = None) -> TextDataset:
        """The samples at positions ``idx``."""
        idx = np.asarray(idx, dtype=np.intp)
        sub_fp = subset_fingerprint(self.fingerprint, idx)
        return TextDataset([self.inputs[i] for i in idx], self.labels[idx], name or self.name,
                           sub_fp, self.classes)

    def subset(self, max_samples: int | None, seed: int = 0) -> TextDataset:
        """A class-stratified random subset of at most ``max_samples`` texts (order kept)."""
        if max_samples is None or max_samples >= len(self):
            return self
        idx = subsample_indices(self.labels, max_samples, seed)
        return self.take(idx, f"{self.name}[{max_samples},seed={seed}]")


def subsample_indices(labels: np.ndarray, max_samples: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_samples`` rows: class-stratified for class labels
    (:func:`pedrank.core.sampling.stratified_subsample`), uniform for float targets."""
    from pedrank.core._validation import encode_labels
    from pedrank.core.sampling import stratified_subsample

    if max_samples < 1:
        raise ValueError(f"max_samples must be positive; got {max_samples}")
    n = labels.shape[0]
    if max_samples >= n:
        return np.arange(n)
    if labels.dtype.kind == "f":  # regression targets: no classes to stratify by
        return np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))
    return stratified_subsample(encode_labels(labels, min_classes=1), max_samples, seed)


# --------------------------------------------------------------------------- columns and labels


def find_column(
    columns: Sequence[str], wanted: str | None, defaults: tuple[str, ...], role: str, source: str
) -> str:
    """The column called ``wanted`` (or the first default), matched case-insensitively."""
    by_lower = {str(c).lower(): str(c) for c in reversed(list(columns))}
    names = [wanted] if wanted is not None else list(defaults)
    for name in names:
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    option = f"--{role}-column / {role}_column="
    looked = repr(wanted) if wanted is not None else "any of " + ", ".join(defaults)
    raise ValueError(
        f"{source}: no {role} column ({looked}); its columns are {list(map(str, columns))}; "
        f"name the right one with {option}"
    )


def _count_missing(arr: np.ndarray) -> int:
    """Empty cells: NaN floats, or None / NaN in an object column."""
    if arr.dtype.kind == "f":
        return int(np.isnan(arr).sum())
    if arr.dtype == object:
        return int((np.equal(arr, None) | (arr != arr)).sum())  # x != x only for NaN
    return 0


def finish_labels(values: Any, task: str, column: str, source: str) -> tuple[np.ndarray, tuple]:
    """Validated labels and class names for ``task``; one-line errors naming ``source``."""
    if task not in TASKS:
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
    arr = np.asarray(values)
    if arr.shape[0] == 0:
        raise ValueError(f"{source} has no rows; give a file with one sample per row")
    if task == "regression":
        if arr.dtype.kind not in "iuf":
            raise ValueError(
                f"{source}: label column {column!r} is not numeric (dtype {arr.dtype}); "
                "regression needs numeric targets (or use task='classification')"
            )
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError(f"{source}: label column {column!r} has missing or infinite "
                             "values; fill or drop those rows")
        return arr, ()
    n_missing = _count_missing(arr)
    if n_missing:
        raise ValueError(f"{source}: label column {column!r} has {n_missing} empty cells; fill "
                         "or drop those rows")
    if arr.dtype == object:
        arr = arr.astype(str)
    elif arr.dtype.kind == "f" and np.array_equal(arr, np.round(arr)):
        arr = arr.astype(np.int64)  # 0.0/1.0 class ids (pandas reads int columns as float)
    classes = np.unique(arr)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{source}: label column {column!r} has a single class ({str(classes[0])!r}); "
            "ranking needs at least two classes (or use task='regression' for numeric targets)"
        )
    return arr, tuple(str(c) for c in classes)


# --------------------------------------------------------------------------- table files


def _read_frame(path: Path) -> Any:
    """A pandas DataFrame from a table file (errors name the file)."""
    try:
        import pandas as pd
    except ModuleNotFoundError:
        raise ImportError("reading table files needs pandas: pip install 'pedrank[tables]'"
                          ) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        return pd.read_parquet(path)
    except ImportError as exc:  # parquet without pyarrow
        raise ImportError(f"{path}: {exc}; install pyarrow: pip install 'pedrank[tables]'"
                          ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; give a file with a header row and one sample per "
                         "row") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path} could not be read as {suffix[1:]} ({first}); check the "
                         "file format") from None


def read_table(
    path: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    task: str = "classification",
) -> TextDataset:
    """A :class:`TextDataset` from a CSV / TSV / JSON Lines / Parquet file.

    Parameters
    ----------
    path : path
        The file; its suffix says the format.
    text_column, label_column : str, optional
        Column names (case-insensitive); defaults :data:`TEXT_COLUMNS`, :data:`LABEL_COLUMNS`.
    task : {"classification", "regression"}
        Regression keeps a numeric label column as float64 targets.
    """
    path = Path(path)
    frame = _read_frame(path)
    if len(frame) == 0:
        raise ValueError(f"{path} has no rows; give a file with one sample per row")
    tcol = find_column(frame.columns, text_column, TEXT_COLUMNS, "text", str(path))
    lcol = find_column(frame.columns, label_column, LABEL_COLUMNS, "label", str(path))
    texts = frame[tcol]
    if texts.isna().any():
        raise ValueError(f"{path}: text column {tcol!r} has {int(texts.isna().sum())} empty "
                         "cells; fill or drop those rows")
    labels, classes = finish_labels(frame[lcol].to_numpy(), task, lcol, str(path))
    return TextDataset(texts.astype(str).tolist(), labels, path.stem, "", classes)


# --------------------------------------------------------------------------- datasets folders


def is_hf_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder written by ``datasets``' ``save_to_disk``."""
    p = Path(path)
    return (p / "dataset_dict.json").is_file() or (
        (p / "state.json").is_file() and (p / "dataset_info.json").is_file()
    )


def _open_hf(path: Path) -> tuple[Any, str]:
    """The Dataset saved at ``path`` (split "train", else the first, of a DatasetDict)."""
    try:
        import datasets
    except ModuleNotFoundError:
        raise ImportError("reading a datasets folder needs datasets: pip install 'pedrank[hf]'"
                          ) from None
    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if not ds:
            raise ValueError(f"{path} holds no split")
        split = "train" if "train" in ds else sorted(ds)[0]
        return ds[split], f"{path.name}[{split}]"
    return ds, path.name


def _folder_fingerprint(ds: Any, columns: Sequence[str], idx: np.ndarray | None) -> str:
    """Identity of the chosen columns and rows: the dataset's own content fingerprint."""
    h = hashlib.sha256(str(getattr(ds, "_fingerprint", "")).encode())
    h.update(json.dumps(list(columns)).encode())
    for f in getattr(ds, "cache_files", []):  # the arrow files themselves
        h.update(Path(f["filename"]).name.encode())
        h.update(str(os.path.getsize(f["filename"])).encode())
    if idx is not None:
        h.update(np.asarray(idx, dtype=np.int64).tobytes())
    return h.hexdigest()[:20]


class ArrowImages(Sequence):
    """The image column of a ``datasets.Dataset``, decoded per slice (a batch at a time).

    ``images[a:b]`` decodes rows ``a..b-1`` into one uint8 array (B, H, W[, 3])
    when they share a size, else a list of arrays; ``images[i]`` is one array.
    Grey images stay grey (preprocessing replicates channels), others become RGB.
    """

    def __init__(self, ds: Any, column: str, source: str) -> None:
        self.ds, self.column, self.source = ds, column, source

    def __len__(self) -> int:
        return len(self.ds)

    @staticmethod
    def _array(im: Any) -> np.ndarray:
        if isinstance(im, np.ndarray):
            return im
        mode = "L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB"
        return np.asarray(im.convert(mode), dtype=np.uint8)

    def _decode(self, start: int, stop: int) -> list[np.ndarray]:
        try:
            rows = self.ds[start:stop][self.column]
            return [self._array(im) for im in rows]
        except Exception as exc:  # PIL's UnidentifiedImageError, truncated files, ...
            raise UnreadableImageError(
                f"{self.source}: rows {start}-{stop - 1} hold an unreadable image "
                f"({type(exc).__name__}: {exc}); fix or drop that row"
            ) from None

    def take(self, idx: Any) -> ArrowImages:
        """The rows at positions ``idx`` (``Dataset.select``: nothing decoded)."""
        return ArrowImages(self.ds.select(np.asarray(idx, dtype=np.int64)), self.column,
                           self.source)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            images = self._decode(start, stop)
            return np.stack(images) if len({im.shape for im in images}) == 1 else images
        i = int(key) + (len(self) if int(key) < 0 else 0)
        if not 0 <= i < len(self):
            raise IndexError(key)
        return self._decode(i, i + 1)[0]


def _image_column(ds: Any, text_column: str | None) -> str | None:
    """The first ``Image``-typed column; ``None`` when there is none or a text column is named."""
    import datasets

    if text_column is not None:
        return None
    typed = [c for c, f in ds.features.items() if isinstance(f, datasets.Image)]
    return typed[0] if typed else None


def load_hf_folder(
    path: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    task: str = "classification",
    max_samples: int | None = None,
    seed: int = 0,
) -> ImageDataset | TextDataset:
    """An image or text dataset from a ``save_to_disk`` folder.

    An ``Image`` column makes an :class:`ImageDataset` whose ``inputs`` decode
    lazily (:class:`ArrowImages`); otherwise the text column makes a
    :class:`TextDataset`. ``ClassLabel`` labels keep their integer codes with
    the ClassLabel names as ``classes``. ``max_samples`` subsamples (stratified)
    before anything is decoded.
    """
    import datasets

    path = Path(path)
    ds, name = _open_hf(path)
    source = str(path)
    if len(ds) == 0:
        raise ValueError(f"{source} has no rows; save a dataset with one sample per row")
    icol = _image_column(ds, text_column)
    col = icol or find_column(ds.column_names, text_column, TEXT_COLUMNS, "text", source)
    lcol = find_column(ds.column_names, label_column, LABEL_COLUMNS, "label", source)
    feature = ds.features[lcol]
    labels, classes = finish_labels(np.asarray(ds[lcol]), task, lcol, source)
    if isinstance(feature, datasets.ClassLabel) and task == "classification":
        classes = tuple(feature.names)
    idx = None
    if max_samples is not None and max_samples < len(ds):
        idx = subsample_indices(labels, max_samples, seed)
        ds, labels = ds.select(idx), labels[idx]
        name = f"{name}[{max_samples},seed={seed}]"
    fp = _folder_fingerprint(ds, [col, lcol], idx)
    if icol is not None:
        return ImageDataset(ArrowImages(ds, icol, source), labels, name, fp, classes)
    texts = ds[col]
    if any(t is None for t in texts):
        raise ValueError(f"{source}: text column {col!r} has empty cells; drop those rows")
    return TextDataset(list(texts), labels, name, fp, classes)
