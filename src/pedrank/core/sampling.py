"""Seeded, class-stratified subsampling shared by the metrics that subsample (PARC, N-LEEP)."""

from __future__ import annotations

import numpy as np

from pedrank.core._validation import LabelEncoding


def stratified_subsample(enc: LabelEncoding, n_keep: int, random_state: int | None) -> np.ndarray:
    """Sorted indices of a seeded subsample of ``n_keep`` rows, stratified by class.

    Class quotas follow the class proportions (largest-remainder rounding, so
    they sum to exactly ``n_keep``; every class keeps at least one sample when
    ``n_keep >= C``). Rows are drawn uniformly within each class by ranking
    random keys inside the class — one sort, no loop over classes.
    """
    counts = enc.counts
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
    rng = np.random.default_rng(random_state)
    keys = rng.random(n)
    order = np.lexsort((keys, enc.codes))  # grouped by class, random within class
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank_in_class = np.arange(n) - np.repeat(starts, counts)
    chosen = order[rank_in_class < quota[enc.codes[order]]]
    return np.sort(chosen)


__all__ = ["stratified_subsample"]
