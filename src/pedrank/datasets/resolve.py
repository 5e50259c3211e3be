"""The one entry point that resolves data names, folders and files: :func:`load_data`.

``data`` may be

* an image folder (one sub-folder per class; :func:`pedrank.datasets.images.from_folder`);
* a table file ``.csv`` / ``.tsv`` / ``.jsonl`` / ``.parquet`` with a text and a
  label column (:func:`pedrank.datasets.tables.read_table`);
* a Hugging Face ``datasets`` folder written by ``save_to_disk`` (image or text
  column + label column; :func:`pedrank.datasets.tables.load_hf_folder`);
* a built-in dataset name: an image set (:data:`pedrank.datasets.images.DATASETS`)
  or a text set (:data:`pedrank.datasets.text.TEXT_DATASETS`).

:func:`load_dataset` (image datasets only) and :func:`load_text_dataset` (texts
as ``(texts, labels)`` with per-class quotas) are narrower views for the callers
that need them; every name is looked up here, in the image registry
:data:`~pedrank.datasets.images.DATASETS` or the text registry
:data:`~pedrank.datasets.text.TEXT_DATASETS`.

Every result of :func:`load_data` has ``.inputs``, ``.labels``, ``.name``, ``.fingerprint``,
``.classes`` and ``.modality`` (``"vision"`` or ``"text"``). ``max_samples``
takes a seeded class-stratified subsample (uniform for regression targets).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.datasets.images import DATASETS, ImageDataset, from_folder
from pedrank.datasets.tables import (
    TABLE_SUFFIXES,
    TASKS,
    TextDataset,
    is_hf_folder,
    load_hf_folder,
    read_table,
)

__all__ = ["builtin_datasets", "load_data", "load_dataset", "load_text_dataset"]


def builtin_datasets() -> dict[str, str]:
    """Every built-in dataset name and its modality (``"vision"`` or ``"text"``)."""
    from pedrank.datasets.text import TEXT_DATASETS

    return {**dict.fromkeys(DATASETS, "vision"), **dict.fromkeys(TEXT_DATASETS, "text")}


def _accepted() -> str:
    names = ", ".join(builtin_datasets())
    return (f"an image folder (one sub-folder per class), a {'/'.join(TABLE_SUFFIXES)} file, a "
            f"datasets save_to_disk folder, or a built-in dataset ({names})")


def _image_folder(path: Path, task: str) -> ImageDataset:
    """``from_folder`` with one-line errors (unreadable image, fewer than two classes)."""
    if task == "regression":
        raise ValueError(f"{path}: an image folder has class labels (its sub-folders); "
                         "regression needs a table or datasets folder with numeric targets")
    try:
        ds = from_folder(path)
    except OSError as exc:  # PIL's UnidentifiedImageError is an OSError naming the file
        raise ValueError(f"{path}: not a readable image ({exc}); remove or convert it"
                         ) from None
    if len(ds.classes) < 2:
        raise ValueError(f"{path}: images of a single class ({', '.join(ds.classes)}); ranking "
                         "needs at least two classes, one sub-folder per class")
    return ds


def load_text_dataset(
    name: str, max_per_class: int | None = None, seed: int = 0, **kwargs: Any
) -> tuple[list[str], np.ndarray]:
    """The built-in text dataset ``name`` as ``(texts, labels)``, at most ``max_per_class``
    texts per class (a seeded subsample; loader options such as ``min_per_class`` in
    ``kwargs``). :func:`load_data` gives the same texts as a :class:`TextDataset`."""
    from pedrank.datasets.text import TEXT_DATASETS

    if name not in TEXT_DATASETS:
        raise ValueError(
            f"unknown text dataset {name!r}; choose one of {', '.join(sorted(TEXT_DATASETS))}"
        )
    return TEXT_DATASETS[name](max_per_class=max_per_class, seed=seed, **kwargs)


def load_dataset(name: str | os.PathLike, max_samples: int | None = None, seed: int = 0
                 ) -> ImageDataset:
    """An image dataset: a built-in image name or an image folder (:func:`load_data`,
    restricted to images), optionally a class-stratified subsample.

    ``fashion-mnist`` is its 10,000-image test split.
    """
    ds = load_data(name, max_samples=max_samples, seed=seed)
    if not isinstance(ds, ImageDataset):
        raise ValueError(f"{name!r} is a text dataset; give an image dataset "
                         f"({', '.join(DATASETS)}) or an image folder")
    return ds


def load_data(
    data: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    task: str = "classification",
    max_samples: int | None = None,
    seed: int = 0,
) -> ImageDataset | TextDataset:
    """Load the user's labelled data, whatever its form (see the module docstring).

    Parameters
    ----------
    data : str or path
        Folder, table file, datasets folder or built-in dataset name.
    text_column, label_column : str, optional
        Columns of a table / datasets folder (case-insensitive); defaults
        ``text|sentence|content|description`` and ``label|labels|class|target``.
    task : {"classification", "regression"}
        ``"regression"``: numeric labels kept as float64 targets.
    max_samples : int, optional
        Keep a seeded class-stratified subsample of at most this many samples.
    seed : int
        Seed of the subsample.

    Raises
    ------
    ValueError
        Unknown data, empty file, missing column, a single class, non-numeric
        regression targets, unreadable images, a path that does not exist: one line
        naming the input and the fix.
    """
    if task not in TASKS:
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
    if max_samples is not None and int(max_samples) < 1:
        raise ValueError(f"max_samples must be positive; got {max_samples}")
    text = str(data)
    path = Path(text).expanduser()
    columns = {"text_column": text_column, "label_column": label_column, "task": task}
    if path.is_dir():
        if is_hf_folder(path):
            return load_hf_folder(path, **columns, max_samples=max_samples, seed=seed)
        return _image_folder(path, task).subset(max_samples, seed)
    if path.is_file():
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise ValueError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                             f"use {_accepted()}")
        return read_table(path, **columns).subset(max_samples, seed)
    return _builtin(text, task, max_samples, seed)


def _builtin(
    name: str, task: str, max_samples: int | None, seed: int
) -> ImageDataset | TextDataset:
    """A built-in image or text dataset, or the error for an unknown input."""
    kind = builtin_datasets().get(name)
    if kind is not None and task == "regression":
        raise ValueError(f"{name!r} has class labels; regression needs numeric targets in a "
                         "table or datasets folder")
    if kind == "vision":
        return DATASETS[name]().subset(max_samples, seed)
    if kind == "text":
        texts, labels = load_text_dataset(name)
        ds = TextDataset(texts, labels, name, "", tuple(sorted({str(v) for v in labels})))
        return ds.subset(max_samples, seed)
    looks_like_path = os.sep in name or name.startswith(".") or Path(name).suffix != ""
    if looks_like_path:
        raise ValueError(f"{name}: no such file or folder; give {_accepted()}")
    raise ValueError(f"unknown dataset {name!r}; give {_accepted()}")
