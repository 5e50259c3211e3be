"""PARC — Pairwise Annotation Representation Comparison (Bolya et al., NeurIPS 2021)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from pedrank._validation import LabelEncoding, check_features_labels, one_hot
from pedrank.metrics._registry import register


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


def spearman_few_levels(x: np.ndarray, levels: np.ndarray) -> float:
    """Spearman correlation of ``x`` with a variable taking few distinct values.

    Equal to ``scipy.stats.spearmanr(x, levels)`` (average ranks for ties),
    but without the two stable argsorts of ``rankdata``, which dominate PARC's
    run time (N = 10000 gives 5e7 pairs). ``x`` is sorted once with
    ``np.sort``; the rank sum of each level but the most frequent one comes
    from a merge (``searchsorted`` of the sorted level subset into the sorted
    whole); the most frequent level's follows because all ranks sum to
    ``P (P + 1) / 2``. In PARC the frequent level is the cross-class pairs, so
    only the ~P/C same-class pairs are merged.
    """
    P = x.shape[0]
    values = np.unique(levels)  # np.sort-based: fast, and there are few values
    L = values.shape[0]
    counts = np.array([np.count_nonzero(levels == v) for v in values], dtype=np.int64)
    big = int(np.argmax(counts))
    xs = np.sort(x)
    # Rank sums of x per level, doubled so they stay integers:
    # 2 * average rank = (#less) + (#less or equal) + 1.
    rank_sum2 = np.zeros(L)
    for k in range(L):  # a handful of levels, not samples
        if k == big:
            continue
        sub = np.sort(x[levels == values[k]])
        lo = np.searchsorted(xs, sub, side="left")
        hi = np.searchsorted(xs, sub, side="right")
        rank_sum2[k] = float(lo.sum(dtype=np.int64) + hi.sum(dtype=np.int64) + sub.shape[0])
    rank_sum2[big] = float(P * (P + 1) - int(rank_sum2.sum()))
    # Sum of squared (average) ranks of x: closed form without ties, else by tie group.
    if not np.any(xs[1:] == xs[:-1]):
        sum_sq_x = float(P * (P + 1) * (2 * P + 1) // 6)
    else:
        starts = np.concatenate(([0], np.flatnonzero(xs[1:] != xs[:-1]) + 1))
        sizes = np.diff(np.concatenate((starts, [P])))
        avg = starts + (sizes + 1) / 2.0
        sum_sq_x = float(np.dot(sizes, avg * avg))
    # Average ranks of the levels (ascending values).
    before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank_y = before + (counts + 1) / 2.0
    mean = (P + 1) / 2.0
    cov = float(np.dot(rank_y, rank_sum2)) / 2.0 - P * mean * mean
    var_x = sum_sq_x - P * mean * mean
    var_y = float(np.dot(counts, rank_y * rank_y)) - P * mean * mean
    if var_x <= 0 or var_y <= 0:
        return float("nan")
    return cov / np.sqrt(var_x * var_y)


def _row_correlations(F: np.ndarray) -> np.ndarray:
    """``np.corrcoef(F)`` (rows as variables) with fewer N x N passes.

    Rows are centred and normalised first (N x k work), so the N x N result
    is one matrix product instead of a covariance followed by two divisions
    and a clip over N^2 entries.
    """
    Z = F - F.mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    return Z @ Z.T


def _upper_mask(n: int) -> np.ndarray:
    """Boolean mask of the strict upper triangle (row-major order of ``triu_indices``).

    8x smaller than the two int64 index arrays of ``np.triu_indices``
    (N = 15000: 225 MB vs 1.8 GB), and built once for both RDMs.
    """
    return np.triu(np.ones((n, n), dtype=bool), k=1)


@register(
    "parc",
    input="features",
    reference="Bolya et al., NeurIPS 2021 (PARC: Scalable Diverse Model Selection for "
              "Accessible Transfer Learning)",
    cost="O(N·D·k + N²·k + N² log N), memory O(N²), N <= max_samples, k = n_components",
)
def parc(X: Any, y: Any, *, n_components: int = 32, max_samples: int = 15000,
         random_state: int | None = 1919,
         label_rdm: Literal["reference", "exact"] = "reference") -> float:
    """PARC: Spearman correlation of feature and label dissimilarity matrices (x 100).

    1. Features are reduced with scikit-learn's
       ``PCA(n_components, svd_solver='randomized', random_state=1919,
       iterated_power=1)`` (the reference's settings; another PCA solver gives
       another number) and standardised per dimension.
    2. ``RDM_f = 1 - corrcoef(rows of the features)``, ``RDM_y = 1 -
       corrcoef(rows of the one-hot labels)``.
    3. ``PARC = 100 * spearman(upper triangle of RDM_f, upper triangle of
       RDM_y)``. Higher is better.

    Above ``max_samples`` rows, a stratified subsample of ``max_samples`` rows
    (seeded by ``random_state``) is scored, with the labels *of that
    subsample* (the PED/SFDA evaluation code scores the subsample's features
    against the features again by mistake).

    The two N x N matrices are inherent to PARC: memory is about
    ``3 * 8 * N^2`` bytes (5.4 GB at N = 15000); lower ``max_samples`` to
    bound it.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features.
    y : array-like, shape (N,)
        Target labels (any type, at least two classes).
    n_components : int
        PCA dimensions (32 in the reference). Capped at ``min(N, D)``; with
        ``D <= n_components`` the PCA is then a full rotation, which keeps the
        standardisation on decorrelated axes as in the reduced case.
    max_samples : int
        Subsample size above which PARC is computed on a stratified subsample.
    random_state : int or None
        Seed of the randomized PCA and of the subsample (the reference uses
        1919 for the PCA).
    label_rdm : {"reference", "exact"}
        ``"reference"`` (default) computes ``1 - np.corrcoef(one_hot)`` literally,
        as the published code does. Mathematically this matrix takes only two
        values (0 within a class, ``C / (C - 1)`` across classes), but in
        floating point the within-class and across-class entries differ by a
        few units in the last place, and the Spearman rank correlation turns
        those spurious sub-levels into different ranks. The reference numbers
        (and ``../golden/public.npz``) depend on that rounding, which varies
        with the BLAS library, the order of the classes and even the order of
        the samples (on ``../golden``'s ``small`` case, renaming the labels moves
        the reference value by 4.6%). ``"exact"`` uses the exact two-level
        matrix: platform independent, invariant to label renaming and (for
        N >= D, where the randomized PCA does not depend on row order) to
        sample order, but it can differ from published PARC values by several
        percent.

    Returns
    -------
    float
        The PARC score in [-100, 100].

    References
    ----------
    D. Bolya, R. Mittapalli, J. Hoffman. "Scalable Diverse Model Selection for
    Accessible Transfer Learning", NeurIPS 2021.
    """
    if label_rdm not in ("reference", "exact"):
        raise ValueError(f"label_rdm must be 'reference' or 'exact'; got {label_rdm!r}")
    if int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components must be a positive integer; got {n_components!r}")
    if int(max_samples) != max_samples or max_samples < 3:
        raise ValueError(f"max_samples must be an integer >= 3; got {max_samples!r}")
    Xf, enc = check_features_labels(X, y, copy=False)
    if Xf.shape[0] < 3:
        raise ValueError("PARC needs at least 3 samples (2 pairs) to rank dissimilarities.")
    if Xf.shape[0] > max_samples:
        keep = stratified_subsample(enc, int(max_samples), random_state)
        codes = enc.codes[keep]
        Xf = Xf[keep]
        # Re-encode: a class may be absent from the subsample only when
        # max_samples < C, and the one-hot matrix must use the subsample's labels.
        classes, codes = np.unique(codes, return_inverse=True)
        enc = LabelEncoding(codes=codes.reshape(-1), classes=classes,
                            counts=np.bincount(codes.reshape(-1)))
    if enc.counts.max() < 2:
        raise ValueError(
            "PARC needs at least one class with 2 or more samples: with only singleton "
            "classes every pair is a different-class pair and the label RDM is constant."
        )
    k = int(min(n_components, *Xf.shape))
    if k < 3:
        raise ValueError(
            f"PARC correlates rows of the PCA-reduced features, which needs at least 3 "
            f"dimensions (got {k} = min(n_components, N, D)); with 1 the correlation is "
            "undefined and with 2 it is always +-1."
        )
    feats = PCA(n_components=k, svd_solver="randomized", random_state=random_state,
                iterated_power=1).fit_transform(Xf)
    feats = StandardScaler().fit_transform(feats)
    upper = _upper_mask(feats.shape[0])
    # One N x N matrix at a time, updated in place, to bound peak memory.
    rdm = _row_correlations(feats)
    np.subtract(1.0, rdm, out=rdm)
    rdm_f = rdm[upper]
    del rdm
    if label_rdm == "reference":
        # Literally as the reference: its rounding decides the tie split.
        rdm = np.corrcoef(one_hot(enc))
        np.subtract(1.0, rdm, out=rdm)
        rdm_y = rdm[upper]
        del rdm
    else:
        # Exact: 0 for same-class pairs, 1 + 1/(C-1) otherwise; only the
        # ordering matters to Spearman, so "different class" (0/1) suffices.
        codes = enc.codes
        rdm_y = (codes[:, None] != codes[None, :])[upper].view(np.uint8)
    return float(100.0 * spearman_few_levels(rdm_f, rdm_y))


__all__ = ["parc", "spearman_few_levels", "stratified_subsample"]
