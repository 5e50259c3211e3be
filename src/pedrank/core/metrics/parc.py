"""PARC — Pairwise Annotation Representation Comparison (Bolya et al., NeurIPS 2021)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from pedrank.core._budget import check_memory
from pedrank.core._linalg import one_hot
from pedrank.core._validation import LabelEncoding, check_int, check_matrix, encode_labels
from pedrank.core.metrics._numerics import rescaled
from pedrank.core.metrics._registry import register
from pedrank.core.sampling import stratified_subsample


def spearman_few_levels(x: np.ndarray, levels: np.ndarray) -> float:
    """Spearman correlation of ``x`` with a variable taking few distinct values.

    Equal to ``scipy.stats.spearmanr(x, levels)`` (average ranks for ties),
    but without the two stable argsorts of ``rankdata``, which dominate PARC's
    run time (N = 10000 gives 5e7 pairs). See :func:`_spearman_coded`.
    """
    values, codes = np.unique(np.asarray(levels), return_inverse=True)
    return _spearman_coded(np.asarray(x, dtype=np.float64), codes.reshape(-1), values)


def _spearman_coded(x: np.ndarray, codes: np.ndarray, level_values: np.ndarray, *,
                    overwrite_x: bool = False) -> float:
    """Spearman correlation of ``x`` with ``level_values[codes]``.

    ``codes`` are small integers naming a level, ``level_values`` their values
    (only their order matters; they need not be sorted). ``x`` is sorted once;
    the rank sum of each level but the most frequent one comes from a merge
    (``searchsorted`` of the sorted level subset into the sorted whole); the
    most frequent level's follows because all ranks sum to ``P (P + 1) / 2``.
    In PARC the frequent level is the cross-class pairs, so only the ~P/C
    same-class pairs are merged. With ``overwrite_x`` the level subsets are
    taken first and ``x`` is then sorted in place: no second P-long array.
    """
    P = x.shape[0]
    counts_all = np.bincount(codes, minlength=level_values.shape[0])
    present = np.flatnonzero(counts_all)
    # Levels in ascending order of value (the order Spearman ranks them in).
    present = present[np.argsort(level_values[present], kind="stable")]
    counts = counts_all[present].astype(np.int64)
    L = present.shape[0]
    big = int(np.argmax(counts))
    subsets = {k: np.sort(x[codes == present[k]]) for k in range(L) if k != big}
    if overwrite_x:
        x.sort()
        xs = x
    else:
        xs = np.sort(x)
    # Rank sums of x per level, doubled so they stay integers:
    # 2 * average rank = (#less) + (#less or equal) + 1.
    rank_sum2 = np.zeros(L)
    for k, sub in subsets.items():  # a handful of levels, not samples
        lo = np.searchsorted(xs, sub, side="left")
        hi = np.searchsorted(xs, sub, side="right")
        rank_sum2[k] = float(lo.sum(dtype=np.int64) + hi.sum(dtype=np.int64) + sub.shape[0])
    rank_sum2[big] = float(P * (P + 1) - int(rank_sum2.sum()))
    # Sum of squared (average) ranks of x: the closed form without ties, less
    # (t^3 - t) / 12 per tie group of size t (the spread of the ranks a group
    # shares). Only the positions of ties are materialised, never P-long
    # rank arrays.
    sum_sq_x = float(P * (P + 1) * (2 * P + 1) // 6)
    tied_at = np.flatnonzero(xs[1:] == xs[:-1])  # xs[i] == xs[i + 1]
    if tied_at.shape[0]:
        run_starts = np.flatnonzero(np.diff(tied_at, prepend=-2) != 1)
        sizes = (np.diff(np.append(run_starts, tied_at.shape[0])) + 1).astype(np.float64)
        sum_sq_x -= float(np.sum(sizes ** 3 - sizes)) / 12.0  # float: t^3 overflows int64
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


def _upper_blocks(n: int, max_elements: int = 1 << 22
                  ) -> Iterator[tuple[int, int, np.ndarray, slice]]:
    """Row blocks ``(a, b, mask, where)`` covering the strict upper triangle of an n x n matrix.

    ``mask`` selects, inside rows ``a:b`` and columns ``a:``, the entries above
    the diagonal; ``where`` is their place in the upper triangle laid out in
    row-major order (that of ``np.triu_indices``), so ``out[where] =
    block[mask]`` fills a P-long vector block by block. Blocks hold about
    ``max_elements`` entries (32 MB of float64) instead of an n x n matrix or
    mask (N = 15000: 1.8 GB and 225 MB).
    """
    step = max(1, max_elements // max(n, 1))
    start = 0
    for a in range(0, n - 1, step):
        b = min(a + step, n - 1)
        # Rows a..b-1 hold (n-1-a) + ... + (n-b) entries above the diagonal.
        count = (b - a) * (2 * n - a - b - 1) // 2
        yield a, b, np.triu(np.ones((b - a, n - a), dtype=bool), k=1), slice(start, start + count)
        start += count


def _informative_components(feats: np.ndarray, magnitude: float) -> np.ndarray:
    """Drop PCA components whose variance is rounding noise (below 1e-24 of the largest).

    When ``k`` exceeds the rank of the centred features (N <= k, or collinear
    features) the last components hold only rounding noise; standardising would
    blow that noise up to unit variance, and whether scikit-learn's scaler does so
    depends on its absolute threshold, i.e. on the feature scale (found by
    tests/fuzz: N = D = 6 gave 0.0 at scale 1 and -28 at scale 1e-300). Full-rank
    inputs are unchanged. ``magnitude`` is ``max|X|`` of the features PCA saw.
    """
    var = feats.var(axis=0)
    # Noise: below 1e-24 of the largest variance, or a standard deviation below 1e-12
    # of the feature magnitude (duplicated rows leave only the centring's rounding).
    keep = var > max(var.max() * 1e-24, (1e-12 * magnitude) ** 2)
    if keep.all():
        return feats
    if keep.sum() < 3:
        raise ValueError(
            f"PARC correlates rows of the PCA-reduced features, which needs at least 3 "
            f"informative dimensions; these features have {int(keep.sum())} (rank-deficient: "
            "constant, duplicated or collinear features). Add samples or use another metric."
        )
    return feats[:, keep]


def _feature_rdm_upper(F: np.ndarray) -> np.ndarray:
    """Upper triangle of ``1 - np.corrcoef(F)`` (rows as variables), built in row blocks.

    Rows are centred and normalised first (N x k work), so each block of the
    correlation matrix is one matrix product; only the P = N (N - 1) / 2 pair
    values are ever held, never the N x N matrix.
    """
    Z = F - F.mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    n = Z.shape[0]
    out = np.empty(n * (n - 1) // 2)
    for a, b, mask, where in _upper_blocks(n):
        block = Z[a:b] @ Z[a:].T
        np.subtract(1.0, block, out=block)
        out[where] = block[mask]
    return out


def _label_levels_reference(enc: LabelEncoding) -> tuple[np.ndarray, np.ndarray]:
    """Level codes of the upper triangle of ``1 - np.corrcoef(one_hot)``, as the reference.

    The matrix is computed literally (its last-place rounding decides PARC's
    tie split, see :func:`parc`), but its upper triangle is kept as small
    integer codes into the handful of distinct values it holds (three in
    practice: the cross-class value and two roundings of 0), one byte per
    pair instead of eight. Returns ``(codes, level_values)``.
    """
    rdm = np.corrcoef(one_hot(enc))
    np.subtract(1.0, rdm, out=rdm)
    n = rdm.shape[0]
    codes = np.empty(n * (n - 1) // 2, dtype=np.uint8)
    found: list[float] = []  # distinct values in order of discovery; code = position
    known = np.empty(0)  # the same values sorted ...
    known_codes = np.empty(0, dtype=np.int64)  # ... and their codes
    for a, b, mask, where in _upper_blocks(n):
        vals = rdm[a:b, a:][mask]
        idx = np.minimum(np.searchsorted(known, vals), max(known.shape[0] - 1, 0))
        hit = known[idx] == vals if known.shape[0] else np.zeros(vals.shape, dtype=bool)
        if not hit.all():
            found.extend(np.unique(vals[~hit]).tolist())
            known_codes = np.argsort(found, kind="stable")
            known = np.asarray(found)[known_codes]
            if len(found) > np.iinfo(codes.dtype).max + 1:
                codes = codes.astype(np.uint32)  # pathological rounding; never observed
            idx = np.searchsorted(known, vals)
        codes[where] = known_codes[idx]
    return codes, np.asarray(found)


def _label_levels_exact(enc: LabelEncoding) -> tuple[np.ndarray, np.ndarray]:
    """Level codes of the exact label RDM: 0 same class, 1 different class."""
    labels = enc.codes
    n = labels.shape[0]
    codes = np.empty(n * (n - 1) // 2, dtype=np.uint8)
    for a, b, mask, where in _upper_blocks(n):
        codes[where] = (labels[a:b, None] != labels[None, a:])[mask]
    return codes, np.array([0.0, 1.0])


def peak_bytes(N: int, D: int, label_rdm: str = "reference") -> float:
    """Peak memory of PARC on N (<= max_samples) rows: the float64 X and its PCA, plus
    the pair arrays: the literal N x N label matrix (reference, 8 N^2) or 4.5 N^2
    bytes (exact; one float64 and a few bytes per pair).

    Memory is dominated by the N (N - 1) / 2 pairs: the feature dissimilarities
    are built in row blocks and kept as one float64 per pair, the label levels as
    one byte per pair (``label_rdm="exact"``: about ``4.5 * N^2`` bytes, 1 GB at
    N = 15000). The reference label matrix is computed literally, one N x N
    float64 matrix that lives only until its levels are coded (1.8 GB at
    N = 15000, the peak of the default mode). Above ``max_samples`` only the
    subsample is converted to float64.
    """
    pairs = 8.0 * N * N if label_rdm == "reference" else 4.5 * N * N
    return 8.0 * 2 * N * D + pairs


@register(
    "parc",
    input="features",
    reference="Bolya et al., NeurIPS 2021 (PARC: Scalable Diverse Model Selection for "
              "Accessible Transfer Learning)",
    cost="O(N·D·k + N²·k + N² log N), memory 8·N² bytes (reference labels) or 4.5·N², "
         "N <= max_samples, k = n_components",
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

    Memory grows as N^2 (N <= ``max_samples``): 1.8 GB at N = 15000 by
    default, 1 GB with ``label_rdm="exact"`` (see :func:`peak_bytes`). Lower
    ``max_samples`` to bound memory.

    Parameters
    ----------
    X, y : array-like, shapes (N, D) and (N,)
        Target features and their labels (labels of any type, at least two classes).
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
    check_int(n_components, "n_components")
    check_int(max_samples, "max_samples", minimum=3)
    Xf, enc = _scored_rows(X, y, int(max_samples), random_state, label_rdm)
    feats = _reduced_features(Xf, n_components, random_state)
    del Xf
    # Label levels first: the reference's literal N x N label matrix is the
    # largest temporary, and no P-long array exists yet while it does.
    if label_rdm == "reference":
        level_codes, level_values = _label_levels_reference(enc)
    else:
        level_codes, level_values = _label_levels_exact(enc)
    rdm_f = _feature_rdm_upper(feats)
    return float(100.0 * _spearman_coded(rdm_f, level_codes, level_values, overwrite_x=True))


def _scored_rows(X: Any, y: Any, max_samples: int, random_state: int | None,
                 label_rdm: str) -> tuple[np.ndarray, LabelEncoding]:
    """The float64 rows PARC scores and their labels, checked and rescaled.

    All rows, or above ``max_samples`` a stratified subsample. ``X`` is
    validated without converting it: only the rows scored are turned into
    float64 (a 50000 x 2048 float32 input would cost 800 MB). The subsample's
    labels are re-encoded, because the one-hot label matrix must use the
    subsample's classes. Refuses inputs beyond the memory budget (see
    :func:`peak_bytes`) and labels with only singleton classes.
    """
    Xf, enc = _subsample(X, y, max_samples, random_state)
    n = Xf.shape[0]
    check_memory(f"PARC (N={n} after subsampling, D={Xf.shape[1]})",
                 peak_bytes(n, Xf.shape[1], label_rdm),
                 f"Lower max_samples (now {max_samples}; memory grows as N^2) or use "
                 "label_rdm='exact'.")
    # PARC is invariant to scaling the features (PCA, then standardisation, then
    # correlations): an exact power-of-two rescaling keeps its PCA finite.
    Xf, _ = rescaled(Xf)
    if enc.counts.max() < 2:
        raise ValueError(
            "PARC needs at least one class with 2 or more samples: with only singleton "
            "classes every pair is a different-class pair and the label RDM is constant."
        )
    return Xf, enc


def _subsample(X: Any, y: Any, max_samples: int, random_state: int | None
               ) -> tuple[np.ndarray, LabelEncoding]:
    """All rows as float64 with their labels, or a seeded stratified subsample of them."""
    Xa = check_matrix(X)
    enc = encode_labels(y, Xa.shape[0])
    if Xa.shape[0] < 3:
        raise ValueError("PARC needs at least 3 samples (2 pairs) to rank dissimilarities.")
    if Xa.shape[0] <= max_samples:
        return np.asarray(Xa, dtype=np.float64), enc
    keep = stratified_subsample(enc, max_samples, random_state)
    # A class may be absent from the subsample only when max_samples < C.
    classes, codes = np.unique(enc.codes[keep], return_inverse=True)
    sub = LabelEncoding(codes=codes.reshape(-1), classes=classes,
                        counts=np.bincount(codes.reshape(-1)))
    return np.asarray(Xa[keep], dtype=np.float64), sub


def _reduced_features(Xf: np.ndarray, n_components: int, random_state: int | None
                      ) -> np.ndarray:
    """Step 1 of PARC: the reference's randomized PCA, then standardisation per dimension.

    ``k = min(n_components, N, D)`` dimensions, at least 3 (with 1 the row
    correlations are undefined, with 2 always +-1); components that hold only
    rounding noise are dropped before standardising (see
    :func:`_informative_components`).
    """
    k = int(min(n_components, *Xf.shape))
    if k < 3:
        raise ValueError(
            f"PARC correlates rows of the PCA-reduced features, which needs at least 3 "
            f"dimensions (got {k} = min(n_components, N, D)); with 1 the correlation is "
            "undefined and with 2 it is always +-1."
        )
    magnitude = float(np.max(np.abs(Xf)))
    feats = PCA(n_components=k, svd_solver="randomized", random_state=random_state,
                iterated_power=1).fit_transform(Xf)
    return StandardScaler().fit_transform(_informative_components(feats, magnitude))

__all__ = ["parc", "spearman_few_levels", "stratified_subsample"]
