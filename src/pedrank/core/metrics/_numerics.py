"""Numerical robustness shared by the metrics: exact rescaling and result guards.

*Exact rescaling.* A metric whose value does not change when all features are
multiplied by a constant (H-score, regularised H-score, PARC; GBC and SFDA
with their absolute constants rescaled alongside) is computed on ``X / c`` with
``c`` a power of two: dividing by a power of two is exact in binary floating
point (no rounding, barring subnormals), so the metric's arithmetic sees
entries of order 1 and its squares and Gram matrices can neither overflow
(|x| > 1e154) nor underflow (|x| < 1e-154). Inputs whose magnitude lies in
``[2^-100, 2^100]`` (about 1e-30 to 1e30) are left untouched (``c = 1``), so
published values and golden tests are bit-identical.

*Valid range.* Metrics that are not scale-invariant (LogME's fixed-point
solver, N-LEEP's mixture regulariser, NCTI's shrinkage, ETran's energy) check
that the feature magnitude lies in :data:`VALID_RANGE` and otherwise raise a
``ValueError`` that says how to rescale.
"""

from __future__ import annotations

import numpy as np

#: Feature magnitudes (max |x|) every metric accepts; scale-invariant metrics accept
#: any finite float64 input (they rescale exactly, see the module docstring).
VALID_RANGE = (1e-100, 1e100)

# Inputs whose largest |x| lies in [2^-_SAFE_EXP, 2^_SAFE_EXP] are not rescaled.
_SAFE_EXP = 100


def max_abs(X: np.ndarray) -> float:
    """Largest absolute entry of ``X`` (0.0 for an all-zero array)."""
    return float(max(abs(float(X.max())), abs(float(X.min()))))


def unit_scale(X: np.ndarray) -> float:
    """A power of two ``c`` with ``max|X / c|`` in [0.5, 1), or 1.0 when no rescaling is needed.

    ``c = 1`` when the largest |x| lies in [2^-100, 2^100] or X is all zero.
    """
    m = max_abs(X)
    if m == 0.0 or 2.0**-_SAFE_EXP <= m <= 2.0**_SAFE_EXP:
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(m)[1])))


def rescaled(X: np.ndarray) -> tuple[np.ndarray, float]:
    """``(X / c, c)`` with ``c = unit_scale(X)``; ``X`` itself (no copy) when ``c = 1``."""
    c = unit_scale(X)
    return (X if c == 1.0 else X / c), c


def check_magnitude(X: np.ndarray, metric: str, why: str) -> None:
    """Raise ``ValueError`` unless ``max|X|`` lies in :data:`VALID_RANGE` (or X is all zero).

    Parameters
    ----------
    X : ndarray
        Features.
    metric : str
        Metric name for the message.
    why : str
        Which constant of the metric makes it scale-dependent.
    """
    m = max_abs(X)
    lo, hi = VALID_RANGE
    if m != 0.0 and not lo <= m <= hi:
        raise ValueError(
            f"{metric}: the features' largest magnitude is {m:.3g}, outside the range "
            f"{lo:g}..{hi:g} this metric is defined on ({why}). Rescale the features, "
            "e.g. X / abs(X).max() or X / X.std(), and score every model the same way."
        )
