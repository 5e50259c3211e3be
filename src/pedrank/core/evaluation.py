"""How well a transferability ranking agrees with ground-truth transfer accuracy — and how
sure that agreement is.

Point measures (:func:`weighted_tau`, :func:`kendall_tau`, :func:`pearson`,
:func:`spearman`, :func:`rel_at_k`, :func:`recall_at_k`) take ``scores`` and
``accuracies`` either as two mappings keyed by model name or as two array-likes of
the same length (one entry per model, in the same order). With mappings, every
scored model must have an accuracy (a ``ValueError`` names the missing ones);
accuracies of models that were not scored are ignored, so a published table for a
whole pool can be used with a subset of it. An array is never read as model names.
They return result objects, as :mod:`scipy.stats` does: ``.statistic``, and
``.pvalue`` where scipy gives one; ``float(result)`` and ``f"{result:.3f}"`` give the
statistic.

Uncertainty (issue 10, item 4): :func:`weighted_tau_interval` bootstraps the
weighted tau of one target over ground-truth replicates (the accuracy of each model
per split seed), over target samples (scores recomputed on the class-stratified
resamples of :func:`stratified_resamples`, e.g. by :func:`resampled_scores`), or
over both at once;
:func:`mean_over_targets` averages per-target results with a paired interval;
:func:`ped_gain` is the paired gain of PED (with minus without) with its interval
and a sign test (:func:`scipy.stats.binomtest`); :func:`noise_ceiling` is the tau of
one replicate ground truth against another — the best agreement any score can
expect.

References: Vigna, "A weighted correlation index for rankings with ties", WWW 2015
(weighted tau); Li et al., ICCV 2023 and Shao et al., ECCV 2022 (the convention of
``scipy.stats.weightedtau`` defaults); Efron & Tibshirani, "An Introduction to the
Bootstrap", 1993 (percentile intervals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

# ------------------------------------------------------------------------ results


@dataclass(frozen=True)
class EvaluationResult:
    """A measure's value (``statistic``) and, where scipy gives one, its ``pvalue``.

    ``float(result)`` is the statistic, so results drop into arithmetic and tables.
    """

    statistic: float
    pvalue: float | None = None

    def __float__(self) -> float:
        return float(self.statistic)

    def __format__(self, spec: str) -> str:
        return format(float(self.statistic), spec)


@dataclass(frozen=True)
class IntervalResult:
    """A statistic with a percentile bootstrap interval ``[low, high]``.

    ``draws`` are the bootstrap replicates of the statistic (kept so that results of
    several targets can be averaged with a paired interval); ``confidence`` is the
    interval's nominal coverage.
    """

    statistic: float
    low: float
    high: float
    confidence: float
    draws: np.ndarray = field(repr=False)

    def __float__(self) -> float:
        return float(self.statistic)

    def __format__(self, spec: str) -> str:
        return format(float(self.statistic), spec)

    @property
    def interval(self) -> tuple[float, float]:
        """``(low, high)``."""
        return (self.low, self.high)


@dataclass(frozen=True)
class GainResult(IntervalResult):
    """The mean paired gain over targets, its interval and a two-sided sign test.

    ``n_positive`` / ``n_negative`` / ``n_ties`` count the targets where the gain is
    above / below / equal to 0; ``pvalue`` is ``scipy.stats.binomtest`` of the
    positives among the non-tied targets against 1/2 (1.0 when all are tied).
    """

    n_positive: int = 0
    n_negative: int = 0
    n_ties: int = 0
    pvalue: float = 1.0


@dataclass(frozen=True)
class NoiseCeiling(IntervalResult):
    """Weighted tau between replicate ground truths (one seed against another).

    ``statistic`` is the median over seed pairs, ``[low, high]`` the central
    ``confidence`` range of the pair taus, ``draws`` the tau of every pair.
    """

    @property
    def min(self) -> float:
        return float(np.min(self.draws))

    @property
    def max(self) -> float:
        return float(np.max(self.draws))


# ------------------------------------------------------------------ input handling


def _values(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one value per model (1-D); got shape {arr.shape}")
    return arr


def _aligned(scores: Any, accuracies: Any, min_models: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, accuracies)`` as float arrays in the same model order."""
    if isinstance(scores, Mapping) != isinstance(accuracies, Mapping):
        raise ValueError(
            "pass scores and accuracies both as mappings {model: value} or both as "
            "array-likes of the same length; got one of each"
        )
    if isinstance(scores, Mapping):
        names = list(scores)
        missing = [n for n in names if n not in accuracies]
        if missing:
            raise ValueError(
                f"no ground-truth accuracy for model(s) {', '.join(map(repr, missing))}; "
                f"accuracies are known for {', '.join(map(repr, sorted(accuracies)))}"
            )
        s = np.array([float(scores[n]) for n in names])
        a = np.array([float(accuracies[n]) for n in names])
    else:
        s, a = _values(scores, "scores"), _values(accuracies, "accuracies")
        if s.shape != a.shape:
            raise ValueError(f"scores and accuracies have different lengths: {s.size} and {a.size}")
    if s.size < min_models:
        raise ValueError(f"need at least {min_models} models to compare rankings; got {s.size}")
    if not (np.isfinite(s).all() and np.isfinite(a).all()):
        raise ValueError("scores and accuracies must be finite")
    return s, a


def _pvalue(res: Any) -> float | None:
    p = getattr(res, "pvalue", None)
    return None if p is None or np.isnan(p) else float(p)


# ------------------------------------------------------------------ point measures


def weighted_tau(scores: Any, accuracies: Any) -> EvaluationResult:
    """Weighted Kendall tau (Vigna, 2015) between scores and accuracies.

    Exactly ``scipy.stats.weightedtau(scores, accuracies)`` with its defaults
    (hyperbolic weigher, ``rank=True``): the convention of the PED (ICCV 2023)
    and SFDA (ECCV 2022) papers. Swaps among top-ranked models weigh most.
    scipy gives no p-value for it (``pvalue`` is ``None``).

    Parameters
    ----------
    scores, accuracies : mapping {model: value} or array-like of shape (n_models,)
        Both mappings, or both array-likes in the same model order.

    Returns
    -------
    EvaluationResult

    Examples
    --------
    >>> weighted_tau({"a": 0.9, "b": 0.5, "c": 0.1}, {"a": 80.0, "b": 70.0, "c": 60.0})
    EvaluationResult(statistic=1.0, pvalue=None)
    >>> round(float(weighted_tau([3.0, 2.0, 1.0], [1.0, 2.0, 3.0])), 12)
    -1.0
    """
    s, a = _aligned(scores, accuracies)
    return EvaluationResult(float(stats.weightedtau(s, a).statistic))


def kendall_tau(scores: Any, accuracies: Any) -> EvaluationResult:
    """Kendall tau-b with its p-value (ties handled as :func:`scipy.stats.kendalltau`).

    Examples
    --------
    >>> kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]).statistic
    1.0
    """
    s, a = _aligned(scores, accuracies)
    res = stats.kendalltau(s, a)
    return EvaluationResult(float(res.statistic), _pvalue(res))


def pearson(scores: Any, accuracies: Any) -> EvaluationResult:
    """Pearson linear correlation coefficient with its p-value (:func:`scipy.stats.pearsonr`).

    Examples
    --------
    >>> round(pearson([1, 2, 3], [2, 4, 7]).statistic, 4)
    0.9934
    """
    s, a = _aligned(scores, accuracies)
    res = stats.pearsonr(s, a)
    return EvaluationResult(float(res.statistic), _pvalue(res))


def spearman(scores: Any, accuracies: Any) -> EvaluationResult:
    """Spearman rank correlation (average ranks for ties) with its p-value.

    Examples
    --------
    >>> spearman([1, 2, 3], [2, 4, 7]).statistic
    1.0
    """
    s, a = _aligned(scores, accuracies)
    res = stats.spearmanr(s, a)
    return EvaluationResult(float(res.statistic), _pvalue(res))


def _check_k(k: int) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k}")
    return int(k)


def _top_k(s: np.ndarray, k: int) -> np.ndarray:
    # Stable sort on -score: among tied scores, the input order decides (no randomness).
    return np.argsort(-s, kind="stable")[: _check_k(k)]


def rel_at_k(scores: Any, accuracies: Any, k: int = 1) -> EvaluationResult:
    """rel@k: best accuracy among the k top-scored models / best accuracy overall.

    Examples
    --------
    >>> rel_at_k([0.9, 0.1], [70.0, 100.0], k=1).statistic
    0.7
    """
    s, a = _aligned(scores, accuracies, min_models=1)
    best = a.max()
    if best == 0:
        raise ValueError("rel@k is undefined when every accuracy is 0")
    return EvaluationResult(float(a[_top_k(s, k)].max() / best))


def recall_at_k(scores: Any, accuracies: Any, k: int = 3) -> EvaluationResult:
    """recall@k: 1.0 if the top-scored model is among the k most accurate models, else 0.0.

    Ties in accuracy at the k-th place count as inside the top k. (The PED
    code's version of this measure crashes; this is the measure it describes.)

    Examples
    --------
    >>> recall_at_k([0.9, 0.5, 0.1], [80.0, 90.0, 70.0], k=2).statistic
    1.0
    """
    k = _check_k(k)
    s, a = _aligned(scores, accuracies, min_models=1)
    top1 = _top_k(s, 1)[0]
    kth_best = np.sort(a)[::-1][min(k, a.size) - 1]
    return EvaluationResult(1.0 if a[top1] >= kth_best else 0.0)


def evaluate(scores: Any, accuracies: Any) -> dict[str, float]:
    """All point measures at once, as plain floats (a row for a table or JSON):
    weighted tau, Kendall tau-b, Pearson, Spearman, rel@1, recall@3.

    Examples
    --------
    >>> evaluate([3.0, 2.0, 1.0], [3.0, 2.0, 1.0])["weighted_tau"]
    1.0
    """
    return {
        "weighted_tau": float(weighted_tau(scores, accuracies)),
        "kendall_tau": float(kendall_tau(scores, accuracies)),
        "pearson": float(pearson(scores, accuracies)),
        "spearman": float(spearman(scores, accuracies)),
        "rel@1": float(rel_at_k(scores, accuracies, 1)),
        "recall@3": float(recall_at_k(scores, accuracies, 3)),
    }


# --------------------------------------------------------------------- uncertainty


def _check_confidence(confidence: float, n_boot: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer; got {n_boot}")


def _percentiles(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    ok = draws[np.isfinite(draws)]
    if ok.size == 0:
        return (float("nan"), float("nan"))
    tail = 50.0 * (1.0 - confidence)
    lo, hi = np.percentile(ok, [tail, 100.0 - tail])
    return float(lo), float(hi)


def _ragged(values: Any, name: str, names: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-model lists (mapping or 2-D array-like) as a NaN-padded matrix and row counts."""
    if isinstance(values, Mapping):
        if names is None:
            raise ValueError(f"{name} is a mapping, so scores must be one too")
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{name} has no entry for model(s) {', '.join(map(repr, missing))}")
        rows = [np.asarray(values[n], dtype=np.float64).reshape(-1) for n in names]
    else:
        if names is not None:
            raise ValueError(f"scores is a mapping, so {name} must be one too")
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (models x replicates); got shape {arr.shape}")
        rows = list(arr)
    counts = np.array([r.size for r in rows])
    if counts.min(initial=1) < 1:
        raise ValueError(f"every model needs at least one value in {name}")
    out = np.full((len(rows), int(counts.max(initial=1))), np.nan)
    for i, r in enumerate(rows):  # one row per model (tens of models): no per-sample loop
        out[i, : r.size] = r
    if not np.isfinite(out[np.arange(out.shape[1]) < counts[:, None]]).all():
        raise ValueError(f"{name} must be finite")
    return out, counts


def _resampled_means(values: np.ndarray, counts: np.ndarray, n_boot: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_models): each model's mean over a with-replacement resample of its values."""
    width = values.shape[1]
    u = rng.random((n_boot, values.shape[0], width))
    idx = np.minimum((u * counts[None, :, None]).astype(np.int64), counts[None, :, None] - 1)
    picked = np.take_along_axis(values[None, :, :], idx, axis=2)
    mask = np.arange(width)[None, None, :] < counts[None, :, None]
    return np.where(mask, picked, 0.0).sum(axis=2) / counts[None, :]


def weighted_tau_interval(scores: Any, replicates: Any, score_draws: Any = None, *,
                          n_boot: int = 1000, confidence: float = 0.95,
                          seed: int | None = 0, resample: str | None = None) -> IntervalResult:
    """Weighted tau of one target with a bootstrap interval.

    The statistic is the weighted tau between ``scores`` and each model's mean
    replicate accuracy. Each bootstrap replicate resamples every model's replicate
    accuracies with replacement (their mean is that draw's ground truth) and, when
    ``score_draws`` is given, takes one score draw per model (the same draw index for
    every model: draw ``j`` must come from the same resample of target samples for
    all models); the interval is the percentile interval of those taus.

    Parameters
    ----------
    scores : mapping {model: score} or array-like of shape (n_models,)
        The metric's score of each model on the full target set.
    replicates : mapping {model: [accuracy per seed]} or array-like (n_models, n_seeds)
        Ground-truth accuracies per split seed (models may have different numbers of
        seeds when given as a mapping).
    score_draws : mapping {model: [score per draw]} or array-like (n_models, n_draws), optional
        Scores recomputed on bootstrap resamples of the target samples.
    n_boot : int
        Bootstrap replicates.
    confidence : float
        Coverage of the percentile interval.
    seed : int or None
        Seed of the resampling. The same seed, models and shapes give the same
        resamples, so two calls (say without and with PED) are paired draw by draw
        (for every ``resample`` choice: both random streams are always drawn).
    resample : {"both", "replicates", "samples"} or None
        What each bootstrap draw resamples: the ground-truth replicates and the
        score draws (``"both"``, the default when ``score_draws`` is given), the
        replicates only (scores fixed; the default without ``score_draws``), or the
        score draws only (ground truth fixed at the mean; ``"samples"``). Comparing
        the three shows which source of noise dominates.

    Returns
    -------
    IntervalResult
        ``statistic``, ``low``, ``high`` and the ``draws``.

    Examples
    --------
    >>> reps = {"a": [80.0, 81.0, 79.5], "b": [70.0, 72.0, 71.0], "c": [60.0, 75.0, 50.0]}
    >>> res = weighted_tau_interval({"a": 3.0, "b": 2.0, "c": 1.0}, reps, n_boot=200)
    >>> res.statistic
    1.0
    >>> bool(res.low < res.high <= 1.0)
    True

    Scores recomputed on 3 resamples of the target samples (one column per
    resample), resampled together with the replicates:

    >>> draws = {"a": [3.0, 2.9, 3.1], "b": [2.0, 3.0, 2.1], "c": [1.0, 1.2, 0.9]}
    >>> both = weighted_tau_interval({"a": 3.0, "b": 2.0, "c": 1.0}, reps, draws, n_boot=200)
    >>> only = weighted_tau_interval({"a": 3.0, "b": 2.0, "c": 1.0}, reps, draws, n_boot=200,
    ...                              resample="samples")
    >>> bool(both.low <= only.high), both.statistic
    (True, 1.0)
    """
    _check_confidence(confidence, n_boot)
    names = list(scores) if isinstance(scores, Mapping) else None
    s = (np.array([float(scores[n]) for n in names]) if names is not None
         else _values(scores, "scores"))
    acc, counts = _ragged(replicates, "replicates", names)
    if acc.shape[0] != s.size or s.size < 2:
        raise ValueError(f"need the same models (at least 2) in scores ({s.size}) and "
                         f"replicates ({acc.shape[0]})")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    resample = _check_resample(resample, score_draws is not None)
    rng = np.random.default_rng(seed)
    mean_acc = np.nansum(acc, axis=1) / counts
    point = float(stats.weightedtau(s, mean_acc).statistic)
    acc_b = _resampled_means(acc, counts, int(n_boot), rng)
    if resample == "samples":
        acc_b = np.broadcast_to(mean_acc, acc_b.shape)
    s_b = _score_draw_matrix(s, score_draws, names, resample, int(n_boot), rng)
    draws = np.array([stats.weightedtau(sb, ab).statistic for sb, ab in zip(s_b, acc_b,
                                                                             strict=True)])
    low, high = _percentiles(draws, confidence)
    return IntervalResult(point, low, high, float(confidence), draws)


def _check_resample(resample: str | None, have_draws: bool) -> str:
    """The resampling choice of :func:`weighted_tau_interval`, defaulted and checked."""
    if resample is None:
        return "both" if have_draws else "replicates"
    if resample not in ("both", "replicates", "samples"):
        raise ValueError(f"resample must be 'both', 'replicates' or 'samples'; got {resample!r}")
    if resample != "replicates" and not have_draws:
        raise ValueError(f"resample={resample!r} needs score_draws (scores recomputed on "
                         "resampled target samples); pass them or use resample='replicates'")
    return resample


def _score_draw_matrix(s: np.ndarray, score_draws: Any, names: list[str] | None,
                       resample: str, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_models) scores of each bootstrap draw: one score draw (the same index for
    every model) per draw, or the fixed scores when the samples are not resampled. The
    draw indices are taken from ``rng`` either way, so paired calls stay paired."""
    if score_draws is None:
        return np.broadcast_to(s, (n_boot, s.size))
    sd, sd_counts = _ragged(score_draws, "score_draws", names)
    if sd.shape[0] != s.size or (sd_counts != sd.shape[1]).any():
        raise ValueError("score_draws needs the same number of draws for every model")
    s_b = sd[:, rng.integers(0, sd.shape[1], size=n_boot)].T
    return np.broadcast_to(s, (n_boot, s.size)) if resample == "replicates" else s_b

def stratified_resamples(labels: Any, n_resamples: int, *, seed: int = 0,
                         start: int = 0, fraction: float | None = None) -> np.ndarray:
    """Class-stratified resamples of a target's samples, as positions.

    Without ``fraction`` (the bootstrap), resample ``j`` draws, for every class, as
    many positions of that class as it has, uniformly with replacement, and puts
    them where that class's positions were: ``labels[idx[j]]`` equals ``labels``,
    so every resample keeps the class sizes (the metrics need every class present;
    Efron & Tibshirani, 1993, ch. 6: the stratified bootstrap).

    With ``fraction`` (subsampling), it draws ``ceil(fraction * size)`` positions of
    each class (at least 2, at most all) *without* replacement, in class order.
    ``fraction=0.5`` is the half-sample method (McCarthy, 1969): the spread of a
    smooth statistic over half-samples matches its sampling spread on the full
    sample, and no sample is duplicated, which matters for metrics that a
    duplicated sample shifts systematically (LogME's evidence, H-score's rank,
    PARC's correlations, N-LEEP's mixture).

    Scoring ``X[idx[j]], labels[idx[j]]`` for each ``j`` gives the score draws of
    :func:`weighted_tau_interval`.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Class label per sample.
    n_resamples : int
        How many resamples.
    seed : int
        Seed. Resample ``j`` depends on ``seed`` and ``j`` only (one
        :class:`numpy.random.SeedSequence` child per resample), so a longer run
        extends a shorter one and a resumed run redraws the same resamples.
    start : int
        Index of the first resample returned (resample ``start + i`` in row ``i``).
    fraction : float in (0, 1], optional
        Subsample this share of every class without replacement (see above).

    Returns
    -------
    ndarray of int64, shape (n_resamples, n_samples) or (n_resamples, n_kept)

    Examples
    --------
    >>> y = [0, 0, 0, 1, 1]
    >>> idx = stratified_resamples(y, 4, seed=1)
    >>> idx.shape
    (4, 5)
    >>> bool((np.asarray(y)[idx] == y).all())
    True
    >>> bool((stratified_resamples(y, 2, seed=1, start=2) == idx[2:]).all())
    True
    >>> half = stratified_resamples(y, 3, seed=1, fraction=0.5)
    >>> half.shape, all(np.unique(r).size == r.size for r in half)
    ((3, 4), True)
    """
    y = np.asarray(labels).reshape(-1)
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 0:
        raise ValueError(f"n_resamples must be a non-negative integer; got {n_resamples}")
    if isinstance(start, bool) or int(start) != start or start < 0:
        raise ValueError(f"start must be a non-negative integer; got {start}")
    if y.size == 0:
        raise ValueError("labels is empty: there is nothing to resample")
    if fraction is not None and not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    children = np.random.SeedSequence(int(seed)).spawn(int(start) + int(n_resamples))
    if fraction is None:
        out = np.empty((int(n_resamples), y.size), dtype=np.int64)
        for row, child in enumerate(children[int(start):]):
            rng = np.random.default_rng(child)
            for pos in groups:  # one draw per class (a handful to a hundred classes)
                out[row, pos] = pos[rng.integers(0, pos.size, size=pos.size)]
        return out
    keep = [min(g.size, max(2, int(np.ceil(fraction * g.size)))) for g in groups]
    out = np.empty((int(n_resamples), sum(keep)), dtype=np.int64)
    for row, child in enumerate(children[int(start):]):
        rng = np.random.default_rng(child)
        out[row] = np.concatenate([g[np.sort(rng.permutation(g.size)[:k])]
                                   for g, k in zip(groups, keep, strict=True)])
    return out


def resampled_scores(score: Callable[[np.ndarray, np.ndarray], float], features: Any,
                     labels: Any, n_resamples: int, *, seed: int = 0, start: int = 0,
                     fraction: float | None = None) -> np.ndarray:
    """A metric recomputed on class-stratified bootstrap resamples of the target samples.

    ``score(features[idx], labels[idx])`` for each row ``idx`` of
    :func:`stratified_resamples` ``(labels, n_resamples, seed=seed, start=start,
    fraction=fraction)`` (``fraction=0.5``: half-samples, no sample duplicated).
    Called with the same ``seed`` for every model of a target, draw ``j`` of every
    model comes from the same resample, as :func:`weighted_tau_interval` needs for
    its ``score_draws``. A failing resample (the metric raises ``ValueError`` or
    returns a non-finite value) is ``nan``; leave such draws out for every model.

    Parameters
    ----------
    score : callable ``(X, y) -> float``
        The metric, e.g. ``lambda X, y: pedrank.score(X, y, metric="logme")``.
    features : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    n_resamples, seed, start, fraction
        As :func:`stratified_resamples`.

    Returns
    -------
    ndarray of float64, shape (n_resamples,)

    Examples
    --------
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> draws = resampled_scores(lambda X, y: float(X[y == 1].mean() - X[y == 0].mean()),
    ...                          X, y, 5, seed=2)
    >>> draws.shape, bool(np.isfinite(draws).all())
    ((5,), True)
    """
    X = np.asarray(features)
    y = np.asarray(labels).reshape(-1)
    if X.shape[0] != y.size:
        raise ValueError(f"features has {X.shape[0]} rows but labels has {y.size} entries")
    out = np.full(int(n_resamples), np.nan)
    rows = stratified_resamples(y, n_resamples, seed=seed, start=start, fraction=fraction)
    for j, idx in enumerate(rows):
        try:
            out[j] = float(score(X[idx], y[idx]))
        except ValueError:  # e.g. a resample on which the metric is undefined
            continue
    out[~np.isfinite(out)] = np.nan
    return out


def _as_results(results: Any, name: str) -> list[IntervalResult]:
    items = list(results.values()) if isinstance(results, Mapping) else list(results)
    if not items or not all(isinstance(r, IntervalResult) for r in items):
        raise ValueError(f"{name} must be a non-empty sequence or mapping of IntervalResult "
                         "(from weighted_tau_interval)")
    sizes = {r.draws.size for r in items}
    if len(sizes) != 1:
        raise ValueError(f"{name}: results were bootstrapped with different n_boot {sorted(sizes)}")
    return items


def mean_over_targets(results: Any) -> IntervalResult:
    """The mean of per-target results, with the interval of the mean of their draws.

    Targets are independent, so draw ``b`` of the mean is the mean over targets of
    their draw ``b``; its percentile interval is the mean's interval.

    Parameters
    ----------
    results : sequence or mapping {target: IntervalResult}
        Per-target :func:`weighted_tau_interval` results with the same ``n_boot``.

    Returns
    -------
    IntervalResult

    Examples
    --------
    >>> reps = [[80.0, 81.0], [70.0, 72.0], [60.0, 65.0]]
    >>> t1 = weighted_tau_interval([3.0, 2.0, 1.0], reps, n_boot=100)
    >>> t2 = weighted_tau_interval([1.0, 2.0, 3.0], reps, n_boot=100)
    >>> round(mean_over_targets({"one": t1, "two": t2}).statistic, 12)
    0.0
    """
    items = _as_results(results, "results")
    confidence = items[0].confidence
    draws = np.mean([r.draws for r in items], axis=0)
    low, high = _percentiles(draws, confidence)
    return IntervalResult(float(np.mean([r.statistic for r in items])), low, high,
                          confidence, draws)


def ped_gain(without: Any, with_ped: Any, *, n_boot: int = 1000, confidence: float = 0.95,
             seed: int | None = 0) -> GainResult:
    """The paired gain of PED (with minus without), with its interval and a sign test.

    Parameters
    ----------
    without, with_ped : sequence or mapping of IntervalResult, or array-like of float
        Per-target taus without and with PED, the same targets in the same order
        (mappings are aligned by target). With :class:`IntervalResult` (computed with
        the same ``seed`` and shapes, so their draws are paired) the interval is the
        percentile interval of the mean paired gain over the draws; with plain floats
        it comes from resampling the targets (``n_boot``, ``seed``).
    n_boot, confidence, seed
        Bootstrap replicates (plain floats only), coverage, seed.

    Returns
    -------
    GainResult
        Mean gain over targets (``statistic``), interval, the counts of targets
        where PED helps, hurts or ties, and the sign test's two-sided ``pvalue``.

    Examples
    --------
    >>> res = ped_gain([0.1, 0.2, 0.3, 0.0], [0.2, 0.1, 0.5, 0.1])
    >>> round(res.statistic, 3), res.n_positive, res.n_negative
    (0.075, 3, 1)
    >>> res.pvalue
    0.625
    """
    _check_confidence(confidence, n_boot)
    a, b = _paired_targets(without, with_ped)
    gains = np.array([float(y) - float(x) for x, y in zip(a, b, strict=True)])
    if not np.isfinite(gains).all():
        raise ValueError("every target's tau must be finite")
    draws = _gain_draws(a, b, gains, int(n_boot), seed)
    low, high = _percentiles(draws, confidence)
    pos, neg = int((gains > 0).sum()), int((gains < 0).sum())
    p = float(stats.binomtest(pos, pos + neg, 0.5).pvalue) if pos + neg else 1.0
    return GainResult(float(gains.mean()), low, high, float(confidence), draws,
                      n_positive=pos, n_negative=neg, n_ties=gains.size - pos - neg, pvalue=p)


def _paired_targets(without: Any, with_ped: Any) -> tuple[list[Any], list[Any]]:
    """The two sides as lists in the same target order (mappings aligned by key)."""
    if isinstance(without, Mapping) != isinstance(with_ped, Mapping):
        raise ValueError("pass without and with_ped both as mappings or both as sequences")
    if isinstance(without, Mapping):
        missing = sorted(set(without) ^ set(with_ped))
        if missing:
            raise ValueError(f"targets present on one side only: {missing}")
        return [without[k] for k in without], [with_ped[k] for k in without]
    a, b = list(without), list(with_ped)
    if len(a) != len(b) or not a:
        raise ValueError(f"need the same, non-zero number of targets; got {len(a)} and {len(b)}")
    return a, b


def _gain_draws(a: list[Any], b: list[Any], gains: np.ndarray, n_boot: int,
                seed: int | None) -> np.ndarray:
    """Bootstrap draws of the mean gain: paired result draws, else resampled targets."""
    if all(isinstance(r, IntervalResult) for r in a + b):
        wo, wi = _as_results(a, "without"), _as_results(b, "with_ped")
        if wo[0].draws.size != wi[0].draws.size:
            raise ValueError("without and with_ped were bootstrapped with different n_boot")
        return np.mean([y.draws - x.draws for x, y in zip(wo, wi, strict=True)], axis=0)
    picks = np.random.default_rng(seed).integers(0, gains.size, size=(n_boot, gains.size))
    return gains[picks].mean(axis=1)


def noise_ceiling(replicates: Any, *, confidence: float = 0.95) -> NoiseCeiling:
    """Weighted tau of one replicate ground truth against another, over all seed pairs.

    If the accuracies of two split seeds rank the models differently, no score can
    agree with "the" ground truth better than they agree with each other: the
    median pair tau is the ceiling to read every metric's tau against.

    Parameters
    ----------
    replicates : mapping {model: [accuracy per seed]} or array-like (n_models, n_seeds)
        Seed ``s`` of every model must come from the same split; with a mapping,
        the seeds beyond the shortest list are left out.
    confidence : float
        Central range of the pair taus reported as ``[low, high]``.

    Returns
    -------
    NoiseCeiling
        Median pair tau, range, and every pair's tau (``draws``).

    Examples
    --------
    >>> reps = {"a": [80.0, 81.0, 79.0], "b": [70.0, 72.0, 71.0], "c": [60.0, 61.0, 62.0]}
    >>> noise_ceiling(reps).statistic
    1.0
    """
    _check_confidence(confidence, 1)
    names = list(replicates) if isinstance(replicates, Mapping) else None
    acc, counts = _ragged(replicates, "replicates", names)
    n_seeds = int(counts.min())
    if n_seeds < 2 or acc.shape[0] < 2:
        raise ValueError("the noise ceiling needs at least 2 models with at least 2 seeds each")
    i, j = np.triu_indices(n_seeds, k=1)
    taus = np.array([stats.weightedtau(acc[:, a], acc[:, b]).statistic
                     for a, b in zip(i, j, strict=True)])
    low, high = _percentiles(taus, confidence)
    return NoiseCeiling(float(np.nanmedian(taus)), low, high, float(confidence), taus)


__all__ = [
    "EvaluationResult",
    "GainResult",
    "IntervalResult",
    "NoiseCeiling",
    "evaluate",
    "kendall_tau",
    "mean_over_targets",
    "noise_ceiling",
    "pearson",
    "ped_gain",
    "recall_at_k",
    "rel_at_k",
    "resampled_scores",
    "spearman",
    "stratified_resamples",
    "weighted_tau",
    "weighted_tau_interval",
]
