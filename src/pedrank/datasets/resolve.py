"""One entry point for "the user's data": :func:`load_data`.

``data`` may be

* an image folder (one sub-folder per class; :func:`pedrank.datasets.images.from_folder`);
* a table file ``.csv`` / ``.tsv`` / ``.jsonl`` / ``.parquet`` with a text and a
  label column (:func:`pedrank.datasets.tables.read_table`);
* a Hugging Face ``datasets`` folder written by ``save_to_disk`` (image or text
  column + label column; :func:`pedrank.datasets.tables.load_hf_folder`);
* a built-in dataset name: an image set (:data:`pedrank.datasets.images.DATASETS`)
  or a text set (:data:`pedrank.datasets.text.TEXT_DATASETS`).

Every result has ``.inputs``, ``.labels``, ``.name``, ``.fingerprint``,
``.classes`` and ``.modality`` (``"vision"`` or ``"text"``). ``max_samples``
takes a seeded class-stratified subsample (uniform for regression targets).
"""

from __future__ import annotations

import os
from pathlib import Path

from pedrank.datasets.images import DATASETS, ImageDataset, from_folder
from pedrank.datasets.tables import (
    TABLE_SUFFIXES,
    TASKS,
    TextDataset,
    is_hf_folder,
    load_hf_folder,
    read_table,
)

__all__ = ["load_data"]


def _accepted() -> str:
    from pedrank.datasets.text import TEXT_DATASETS

    names = ", ".join([*DATASETS, *TEXT_DATASETS])
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


def _builtin_text(name: str, max_samples: int | None, seed: int) -> TextDataset:
    from pedrank.datasets.text import load_text_dataset

    texts, labels = load_text_dataset(name)
    classes = tuple(sorted({str(v) for v in labels}))
    ds = TextDataset(texts, labels, name, "", classes)
    return ds.subset(max_samples, seed)


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
    from pedrank.datasets.images import load_dataset
    from pedrank.datasets.text import TEXT_DATASETS

    known = name in DATASETS or name in TEXT_DATASETS
    if known and task == "regression":
        raise ValueError(f"{name!r} has class labels; regression needs numeric targets in a "
                         "table or datasets folder")
    if name in DATASETS:
        return load_dataset(name, max_samples, seed)
    if name in TEXT_DATASETS:
        return _builtin_text(name, max_samples, seed)
    looks_like_path = os.sep in name or name.startswith(".") or Path(name).suffix != ""
    if looks_like_path:
        raise ValueError(f"{name}: no such file or folder; give {_accepted()}")
    raise ValueError(f"unknown dataset {name!r}; give {_accepted()}")
