"""Seeded, class-stratified subsampling: the one home of pedrank's samplers.

Two quota rules share one draw (:func:`_rank_within_class`: one random key per row,
rows ranked by key inside their class — a vectorised "shuffle each class"):

* :func:`stratified_subsample` keeps ``n_keep`` rows in all, class quotas proportional
  to the class sizes (the metrics that subsample — PARC, N-LEEP — and
  :meth:`pedrank.datasets.ImageDataset.subset`);
* :func:`subsample_per_class` keeps at most ``max_per_class`` rows of each class
  (the text datasets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.core._validation import LabelEncoding, encode_labels


def _encoding(labels: Any) -> LabelEncoding:
    if isinstance(labels, LabelEncoding):
        return labels
    return encode_labels(labels, min_classes=1, name="labels")


def _rank_within_class(enc: LabelEncoding, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank): row indices grouped by class in random order, and each one's rank
    inside its class (0 for the first drawn)."""
    keys = np.random.default_rng(seed).random(enc.codes.shape[0])
    order = np.lexsort((keys, enc.codes))  # grouped by class, random within class
    starts = np.concatenate(([0], np.cumsum(enc.counts)[:-1]))
    rank = np.arange(order.shape[0]) - np.repeat(starts, enc.counts)
    return order, rank


def _proportional_quotas(counts: np.ndarray, n_keep: int) -> np.ndarray:
    """Class quotas proportional to ``counts`` summing to exactly ``n_keep`` (largest
    remainder; at least one per class when ``n_keep >= C``)."""
    n = int(counts.sum())
    exact = counts * (n_keep / n)
    quota = np.floor(exact).astype(np.int64)
    if n_keep >= counts.size:
        quota = np.maximum(quota, 1)
    short = n_keep - int(quota.sum())
    if short > 0:
        room = counts - quota
        order = np.lexsort((-room, -(exact - np.floor(exact))))  # largest remainder first
        order = order[room[order] > 0]
        quota[order[:short]] += 1
    elif short < 0:
        # The minimum of one per class overshot: trim the largest quotas.
        order = np.argsort(-quota, kind="stable")
        for idx in order[: -short]:
            quota[idx] -= 1
    return quota


def stratified_subsample(labels: Any, n_keep: int, random_state: int | None) -> np.ndarray:
    """Sorted indices of a seeded subsample of ``n_keep`` rows, stratified by class.

    Parameters
    ----------
    labels : array-like of shape (N,) or LabelEncoding
        One label per row (any sortable type), or labels already encoded.
    n_keep : int
        Rows to keep, ``1 <= n_keep <= N``.
    random_state : int or None
        Seed of the draw; the same seed gives the same rows.

    Returns
    -------
    numpy.ndarray of int
        Sorted row indices. Class quotas follow the class proportions
        (largest-remainder rounding, so they sum to exactly ``n_keep``; every class
        keeps at least one row when ``n_keep >= C``).

    Examples
    --------
    >>> stratified_subsample(["a"] * 6 + ["b"] * 3, 6, random_state=0).size
    6
    """
    enc = _encoding(labels)
    n = enc.codes.shape[0]
    if not 1 <= int(n_keep) <= n:
        raise ValueError(f"n_keep must be between 1 and the number of rows ({n}); got {n_keep}")
    quota = _proportional_quotas(enc.counts, int(n_keep))
    order, rank = _rank_within_class(enc, random_state)
    return np.sort(order[rank < quota[enc.codes[order]]])


def subsample_per_class(labels: Any, max_per_class: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a seeded per-class subsample, in increasing (source) order.

    Parameters
    ----------
    labels : sequence
        One label per item.
    max_per_class : int or None
        Keep at most this many items of each class (all when ``None``).
    seed : int
        Seed of the random draw; the same seed gives the same subset.

    Returns
    -------
    numpy.ndarray of int
        Sorted indices into ``labels``.

    Examples
    --------
    >>> subsample_per_class(["a", "a", "a", "b"], 2, seed=0).size
    3
    """
    lab = np.asarray(labels)
    if max_per_class is None:
        return np.arange(lab.shape[0])
    if int(max_per_class) < 1:
        raise ValueError(f"max_per_class must be a positive integer or None; got {max_per_class}")
    order, rank = _rank_within_class(_encoding(lab), seed)
    return np.sort(order[rank < int(max_per_class)])


__all__ = ["stratified_subsample", "subsample_per_class"]
