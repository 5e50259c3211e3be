"""TransRate — coding-rate transferability (Huang et al., ICML 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.core._budget import check_memory
from pedrank.core._validation import check_features_labels
from pedrank.core.metrics import _precision
from pedrank.core.metrics._numerics import rescaled
from pedrank.core.metrics._registry import register

_VARIANTS = ("official", "paper")


def _half_logdet_identity_plus(Z: np.ndarray, log_a: float) -> float:
    """``1/2 logdet(I + a Z^T Z)`` for ``a = exp(log_a)``, finite for any finite ``Z``.

    ``logdet(I_D + a Z^T Z) = logdet(I_n + a Z Z^T)`` (Sylvester), so the smaller of
    the two Gram matrices is decomposed: O(n D min(n, D) + min(n, D)^3). ``Z`` is
    divided by a power of two ``c`` first (exact), and each term ``log(1 + a lam)``
    is evaluated as ``logaddexp(0, log a + 2 log c + log lam')``: neither ``Z^T Z``
    nor ``a lam`` can overflow or underflow, whatever the feature scale.

    Eigenvalues below the numerical-rank threshold (as in
    ``numpy.linalg.matrix_rank``) are set to exactly 0: the scale ``a`` can be huge
    (1e8 D / n for the paper's form at eps = 1e-4), so rounding noise in a null
    direction of G (the centring direction when N <= D, or a constant feature)
    would otherwise contribute ``log(1 + a * noise)``, neither 0 nor stable.
    """
    n, D = Z.shape
    Zs, c = rescaled(Z)
    G = _precision.gram(Zs, rows=n < D)
    lam = np.linalg.eigvalsh(G)
    if not lam.size or not lam[-1] > 0:
        return 0.0
    cutoff = lam[-1] * max(G.shape) * np.finfo(np.float64).eps
    lam = lam[lam > cutoff]
    return float(0.5 * np.logaddexp(0.0, log_a + 2.0 * np.log(c) + np.log(lam)).sum())


def coding_rate(Z: np.ndarray, eps: float, *, variant: str = "official") -> float:
    """Coding rate of the ``n`` rows of ``Z`` (already centred by the caller).

    ``variant="official"`` (the authors' released code, TLlib):
    ``R(Z, eps) = 1/2 logdet(I + 1/(n eps) Z^T Z)``.
    ``variant="paper"`` (the paper's written Eq. 2):
    ``R(Z, eps) = 1/2 logdet(I + D/(n eps^2) Z^T Z)``.

    Parameters
    ----------
    Z : ndarray, shape (n, D)
        Rows to code.
    eps : float
        Distortion.
    variant : {"official", "paper"}
        Which scale (see above).
    """
    n, D = Z.shape
    if variant == "official":
        log_a = -np.log(n) - np.log(eps)
    elif variant == "paper":
        log_a = np.log(D) - np.log(n) - 2.0 * np.log(eps)
    else:
        raise ValueError(f"variant must be one of {_VARIANTS}; got {variant!r}")
    return _half_logdet_identity_plus(Z, float(log_a))


def peak_bytes(N: int, D: int) -> float:
    """Peak memory of TransRate: the float64 copy of X, its class-sorted copy, and the
    smaller Gram matrix with its eigen-workspace: ``8 (2 N D + 3 min(N, D)^2)``."""
    m = min(N, D)
    return 8.0 * (2.0 * N * D + 3.0 * m * m)


@register(
    "transrate",
    input="features",
    reference="Huang et al., ICML 2022 (TransRate: Frustratingly Easy Transferability "
              "Estimation); the authors' released code",
    cost="O(N·D·min(N,D) + min(N,D)³ + C·min(N/C,D)³)",
    supports_dtype=True,
)
def transrate(X: Any, y: Any, *, eps: float = 1e-4, variant: str = "official") -> float:
    """TransRate: coding rate of all features minus the class-conditional coding rate.

    With ``Z`` the features centred on their overall mean and ``Z_c`` the ``n_c``
    rows of class ``c`` (kept in the global centring), the default
    (``variant="official"``) is the quantity of the authors' released code (the
    snippet of the paper's appendix, also in the Transfer-Learning-Library):

        R(Z, eps)     = 1/2 logdet(I + 1/(N eps) Z^T Z)
        R(Z, eps | Y) = (1/C) sum_c R(Z_c, eps),   R(Z_c) with scale 1/(n_c eps)
        TransRate     = R(Z, eps) - R(Z, eps | Y).

    ``variant="paper"`` (registered as ``transrate_paper``) is the paper's written
    form: scale ``D / (n eps^2)`` and class-size weights ``n_c / N`` instead of
    ``1/C``. The two differ by 0.4% to 90x on real features; rankings can differ.
    Higher is better: the whole feature set should be rich (large ``R(Z)``) while
    each class is compact (small ``R(Z_c)``).

    Not scale-invariant (``eps`` is absolute); every term is computed in a form
    that cannot overflow (see :func:`_half_logdet_identity_plus`), so any finite
    input gives a finite score.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features.
    y : array-like, shape (N,)
        Target labels (any type, at least two classes).
    eps : float
        Distortion of the coding rate (default 1e-4, as in the authors' code).
    variant : {"official", "paper"}
        Which published form (see above).

    Other Parameters
    ----------------
    dtype : {"float64", "float32"}, optional
        Compute dtype of the large Gram/scatter products (default float64). float32 is
        opt-in: those products run in float32, everything after them in float64;
        measured on real features: at most 3.4e-4 (median 9e-8); ``variant="paper"``
        refuses float32 (measured 5% on synthetic features). See "float32" in
        ``docs/performance.md``.

    Returns
    -------
    float
        The TransRate score (higher is better).

    References
    ----------
    L.-K. Huang, J. Huang, Y. Rong, Q. Yang, Y. Wei. "Frustratingly Easy
    Transferability Estimation", ICML 2022.
    """
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be 'official' or 'paper'; got {variant!r}")
    if variant == "paper" and _precision.low_precision():
        # Measured: its scale D / (n eps^2) turns float32 rounding of the small
        # eigenvalues into 5% score changes (docs/performance.md).
        raise ValueError("transrate(variant='paper') has no float32 path: its scale "
                         "D/(n eps^2) amplifies float32 rounding; use dtype='float64'.")
    if not (isinstance(eps, int | float | np.floating) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    Xf, enc = check_features_labels(X, y)
    N, D = Xf.shape
    check_memory(f"TransRate (N={N}, D={D})", peak_bytes(N, D),
                 "Subsample the rows or reduce the feature dimension (e.g. PCA).")
    Xf -= Xf.mean(axis=0)
    total = coding_rate(Xf, eps, variant=variant)
    # Group rows by class once; each class needs its own log-determinant, so
    # the loop is over classes (C factorisations), never over samples or pairs.
    order = np.argsort(enc.codes, kind="stable")
    blocks = np.split(Xf[order], np.cumsum(enc.counts)[:-1])
    rates = np.array([coding_rate(Z_c, eps, variant=variant) for Z_c in blocks])
    weights = (np.full(enc.n_classes, 1.0 / enc.n_classes) if variant == "official"
               else enc.counts / N)
    return float(total - weights @ rates)


@register(
    "transrate_paper",
    input="features",
    reference="Huang et al., ICML 2022 (TransRate), the paper's written Eq. 2-3",
    cost="O(N·D·min(N,D) + min(N,D)³ + C·min(N/C,D)³)",
)
def transrate_paper(X: Any, y: Any, *, eps: float = 1e-4) -> float:
    """TransRate in the paper's written form: scale ``D/(n eps^2)``, class-size weights.

    ``transrate(X, y, eps=eps, variant="paper")``; pedrank's default before 0.2
    (see :func:`transrate` for the difference to the authors' code).
    """
    return transrate(X, y, eps=eps, variant="paper")


__all__ = ["transrate", "transrate_paper", "coding_rate"]
