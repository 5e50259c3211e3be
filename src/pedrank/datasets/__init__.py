"""Labelled datasets available offline: images (:mod:`pedrank.datasets.images`)
and texts (:mod:`pedrank.datasets.text`).

The image API is re-exported here (``pedrank.datasets.load_dataset`` ...).
"""

from pedrank.datasets.images import (
    DATASETS,
    FolderImages,
    ImageDataset,
    UnreadableImageError,
    available_datasets,
    from_arrays,
    from_folder,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_lfw_subset,
    load_opencv_digits,
)

__all__ = [
    "DATASETS",
    "FolderImages",
    "ImageDataset",
    "UnreadableImageError",
    "available_datasets",
    "from_arrays",
    "from_folder",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_lfw_subset",
    "load_opencv_digits",
]
