"""The image dataset type, in its own module so that loaders living in other modules
(:mod:`pedrank.datasets.emoji`) and :mod:`pedrank.datasets.images`, which dispatches to
them by name, do not import each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pedrank._fingerprint import data_fingerprint, subset_fingerprint
from pedrank.core.sampling import stratified_subsample

__all__ = ["ImageDataset", "UnreadableImageError"]


class UnreadableImageError(ValueError):
    """An image file (or datasets row) that cannot be decoded; the message names it.

    Raised while features are extracted, since image folders are decoded a batch
    at a time: it is bad input (the CLI's exit 2), not one model's failure.
    """


@dataclass(frozen=True)
class ImageDataset:
    """Images with labels.

    Attributes
    ----------
    inputs : ndarray (N, H, W[, C]), list of such arrays (varying sizes), or a lazy sequence
        ``uint8`` or float in [0, 1]. Image folders and ``datasets`` folders
        give a lazy sequence (:class:`pedrank.datasets.images.FolderImages`,
        :class:`pedrank.datasets.tables.ArrowImages`): slicing decodes that
        slice only, so extraction holds one batch of decoded images at a time.
    labels : ndarray, shape (N,)
    name : str
    fingerprint : str
        Content hash (computed when not given).
    classes : tuple of str
        Human-readable class names, index = label value when known.
    modality : str
        ``"vision"``: which models can read the inputs (text datasets say ``"text"``).
    """

    inputs: Any
    labels: np.ndarray
    name: str = "arrays"
    fingerprint: str = ""
    classes: tuple[str, ...] = field(default=())
    modality: str = "vision"

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D; got shape {labels.shape}")
        if len(self.inputs) != labels.shape[0]:
            raise ValueError(
                f"{len(self.inputs)} images but {labels.shape[0]} labels; they must match"
            )
        object.__setattr__(self, "labels", labels)
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", data_fingerprint(self.inputs, labels))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, max_samples: int | None, seed: int = 0) -> ImageDataset:
        """A class-stratified random subset of at most ``max_samples`` images.

        Deterministic for a given ``seed``; keeps the original order of the
        chosen samples. Returns ``self`` when the dataset is already small enough.
        """
        if max_samples is None or max_samples >= len(self):
            return self
        if max_samples < 1:
            raise ValueError(f"max_samples must be positive; got {max_samples}")
        idx = stratified_subsample(self.labels, max_samples, seed)
        return self.take(idx, f"{self.name}[{max_samples},seed={seed}]")

    def take(self, idx: np.ndarray, name: str | None = None) -> ImageDataset:
        """The samples at positions ``idx``."""
        idx = np.asarray(idx, dtype=np.intp)
        if isinstance(self.inputs, np.ndarray):
            inputs: Any = self.inputs[idx]
        elif hasattr(self.inputs, "take"):  # a lazy sequence: pick rows, decode nothing
            inputs = self.inputs.take(idx)
        else:
            inputs = [self.inputs[i] for i in idx]
        sub_fp = subset_fingerprint(self.fingerprint, idx)
        return ImageDataset(inputs, self.labels[idx], name or self.name, sub_fp, self.classes)
