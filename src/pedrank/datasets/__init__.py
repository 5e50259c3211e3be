"""Labelled datasets: your own (image folders, table files, ``datasets`` folders) and the
built-in offline ones (images: :mod:`pedrank.datasets.images`; texts:
:mod:`pedrank.datasets.text`).

:func:`load_data` is the one entry point that resolves a name, a folder or a file
(:mod:`pedrank.datasets.resolve`); :func:`load_dataset` and :func:`load_text_dataset`
are its image-only and ``(texts, labels)`` views.
"""

from pedrank.datasets.images import (
    DATASETS,
    FolderImages,
    ImageDataset,
    UnreadableImageError,
    available_datasets,
    from_arrays,
    from_folder,
    load_digits,
    load_fashion_mnist,
    load_lfw_subset,
    load_opencv_digits,
)
from pedrank.datasets.resolve import builtin_datasets, load_data, load_dataset, load_text_dataset
from pedrank.datasets.tables import ArrowImages, TextDataset, load_hf_folder, read_table
from pedrank.datasets.text import TEXT_DATASETS, TextDatasetUnavailable

__all__ = [
    "DATASETS",
    "TEXT_DATASETS",
    "ArrowImages",
    "FolderImages",
    "ImageDataset",
    "TextDataset",
    "TextDatasetUnavailable",
    "UnreadableImageError",
    "available_datasets",
    "builtin_datasets",
    "from_arrays",
    "from_folder",
    "load_data",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_hf_folder",
    "load_lfw_subset",
    "load_opencv_digits",
    "load_text_dataset",
    "read_table",
]
