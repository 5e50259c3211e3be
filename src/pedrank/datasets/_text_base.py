"""Pieces shared by the text-dataset loaders (:mod:`pedrank.datasets.text`,
:mod:`pedrank.datasets.debian_packages`), in their own module so the loaders and the
name dispatch in ``text`` do not import each other."""

from __future__ import annotations

import numpy as np

from pedrank.core.sampling import subsample_per_class

__all__ = ["TextDatasetUnavailable", "finish_texts"]


class TextDatasetUnavailable(FileNotFoundError):
    """The Debian package holding a text dataset is not installed (message: how to install)."""


def finish_texts(
    texts: list[str],
    labels: list[str],
    max_per_class: int | None,
    seed: int,
    min_per_class: int,
) -> tuple[list[str], np.ndarray]:
    """Drop classes below ``min_per_class``, then a seeded per-class subsample."""
    lab = np.asarray(labels, dtype=str)
    if min_per_class > 1 and lab.size:
        classes, counts = np.unique(lab, return_counts=True)
        keep = np.isin(lab, classes[counts >= min_per_class])
        texts = [t for t, k in zip(texts, keep, strict=True) if k]
        lab = lab[keep]
    idx = subsample_per_class(lab, max_per_class, seed)
    return [texts[i] for i in idx], lab[idx]
