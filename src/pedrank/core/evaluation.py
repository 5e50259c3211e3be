"""How well a transferability ranking agrees with ground-truth transfer accuracy.

Every measure takes ``scores`` and ``accuracies`` as mappings keyed by model
name. Every scored model must have an accuracy (a ``ValueError`` names the
missing ones); accuracies of models that were not scored are ignored, so a
published table for a whole pool can be used with a subset of it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats


def _aligned(scores: Mapping[str, float], accuracies: Mapping[str, float],
             min_models: int = 2) -> tuple[list[str], np.ndarray, np.ndarray]:
    names = list(scores)
    missing = [n for n in names if n not in accuracies]
    if missing:
        raise ValueError(
            f"no ground-truth accuracy for model(s) {', '.join(map(repr, missing))}; "
            f"accuracies are known for {', '.join(map(repr, sorted(accuracies)))}"
        )
    if len(names) < min_models:
        raise ValueError(f"need at least {min_models} models to compare rankings; got {len(names)}")
    s = np.array([float(scores[n]) for n in names])
    a = np.array([float(accuracies[n]) for n in names])
    if not (np.isfinite(s).all() and np.isfinite(a).all()):
        raise ValueError("scores and accuracies must be finite")
    return names, s, a


def weighted_tau(scores: Mapping[str, float], accuracies: Mapping[str, float]) -> float:
    """Weighted Kendall tau (Vigna, 2015) between scores and accuracies.

    Exactly ``scipy.stats.weightedtau(scores, accuracies)`` with its defaults
    (hyperbolic weigher, ``rank=True``): the convention of the PED (ICCV 2023)
    and SFDA (ECCV 2022) papers. Swaps among top-ranked models weigh most.
    """
    _, s, a = _aligned(scores, accuracies)
    return float(stats.weightedtau(s, a).statistic)


def kendall_tau(scores: Mapping[str, float], accuracies: Mapping[str, float]) -> float:
    """Kendall tau-b (ties handled as :func:`scipy.stats.kendalltau` does)."""
    _, s, a = _aligned(scores, accuracies)
    return float(stats.kendalltau(s, a).statistic)


def pearson(scores: Mapping[str, float], accuracies: Mapping[str, float]) -> float:
    """Pearson linear correlation coefficient."""
    _, s, a = _aligned(scores, accuracies)
    return float(stats.pearsonr(s, a).statistic)


def spearman(scores: Mapping[str, float], accuracies: Mapping[str, float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    _, s, a = _aligned(scores, accuracies)
    return float(stats.spearmanr(s, a).statistic)


def _check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k}")
    return int(k)


def _top_k(s: np.ndarray, k: int) -> np.ndarray:
    # Stable sort on -score: among tied scores, the input order decides (no randomness).
    return np.argsort(-s, kind="stable")[: _check_k(k)]


def rel_at_k(scores: Mapping[str, float], accuracies: Mapping[str, float], k: int = 1) -> float:
    """rel@k: best accuracy among the k top-scored models / best accuracy overall."""
    _, s, a = _aligned(scores, accuracies, min_models=1)
    best = a.max()
    if best == 0:
        raise ValueError("rel@k is undefined when every accuracy is 0")
    return float(a[_top_k(s, k)].max() / best)


def recall_at_k(scores: Mapping[str, float], accuracies: Mapping[str, float], k: int = 3) -> float:
    """recall@k: 1.0 if the top-scored model is among the k most accurate models, else 0.0.

    Ties in accuracy at the k-th place count as inside the top k. (The PED
    code's version of this measure crashes; this is the measure it describes.)
    """
    k = _check_k(k)
    _, s, a = _aligned(scores, accuracies, min_models=1)
    top1 = _top_k(s, 1)[0]
    kth_best = np.sort(a)[::-1][min(k, a.size) - 1]
    return 1.0 if a[top1] >= kth_best else 0.0


def evaluate(scores: Mapping[str, float], accuracies: Mapping[str, float]) -> dict[str, float]:
    """All measures at once: weighted tau, Kendall tau-b, Pearson, Spearman, rel@1, recall@3."""
    return {
        "weighted_tau": weighted_tau(scores, accuracies),
        "kendall_tau": kendall_tau(scores, accuracies),
        "pearson": pearson(scores, accuracies),
        "spearman": spearman(scores, accuracies),
        "rel@1": rel_at_k(scores, accuracies, 1),
        "recall@3": recall_at_k(scores, accuracies, 3),
    }


__all__ = ["weighted_tau", "kendall_tau", "pearson", "spearman", "rel_at_k", "recall_at_k",
           "evaluate"]
