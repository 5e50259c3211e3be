"""H-score (Bao et al., ICIP 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from pedrank.core._budget import check_memory
from pedrank.core._linalg import class_means, class_sums
from pedrank.core._validation import LabelEncoding, check_features_labels
from pedrank.core.metrics import _precision
from pedrank.core.metrics._numerics import max_abs, rescaled
from pedrank.core.metrics._precision import compute_dtype
from pedrank.core.metrics._registry import register

# Relative cut-off of the pseudo-inverse, as in the reference implementations
# (``np.linalg.pinv(cov, rcond=1e-15)``).
_PINV_RCOND = 1e-15

# Below this estimated reciprocal condition number (1-norm, LAPACK dpocon) the
# Cholesky route is not taken. The 1-norm condition number bounds the 2-norm
# one from above, so no eigenvalue is anywhere near the pseudo-inverse's 1e-15
# cut-off: pinv(cov) is the inverse, and the two routes differ by rounding
# only. Measured: relative differences of 1e-15 to 2e-13 at estimated 1-norm
# condition numbers of 1e5 to 4e6 (ReLU-like features, D = 512); the gap
# grows like cond * 1e-19, so 1e7 keeps it well below 1e-10.
_CHOLESKY_MIN_RCOND = 1e-7


def _well_conditioned_cholesky(cov: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """Cholesky factor of ``cov`` when it is clearly non-singular, else None.

    One Cholesky (D^3/3) and LAPACK's O(D^2) condition estimate (``dpocon``)
    cost a fraction of the eigendecomposition that ``pinv`` needs (0.25 s
    against 2.3 s at D = 2048, one thread).
    """
    try:
        factor, lower = linalg.cho_factor(cov, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None
    rcond, info = lapack.dpocon(factor, float(np.abs(cov).sum(axis=0).max()), uplo="L")
    if info != 0 or not rcond >= _CHOLESKY_MIN_RCOND:
        return None
    return factor, lower


def between_class_scatter(Z: np.ndarray, enc: LabelEncoding) -> tuple[np.ndarray, np.ndarray]:
    """Class means of centred features, weighted for ``Cov(E[Z|y])``.

    ``Cov(E[Z|y])`` (sample covariance, ddof=1, of the N x D matrix whose row
    i is the mean of sample i's class) equals ``M^T diag(n) M / (N - 1)`` with
    ``M`` the C x D class means of the centred ``Z`` — the N x D matrix of
    repeated class means is never formed.

    Returns ``(M, n)`` so that callers can form traces without the D x D
    matrix when that is cheaper.
    """
    return class_means(Z, enc), enc.counts.astype(np.float64)


def trace_pinv_between(cov: np.ndarray, M: np.ndarray, n: np.ndarray, N: int, *,
                       positive_definite: bool = False) -> float:
    """``tr(pinv(cov) Cov(E[Z|y]))`` with ``Cov(E[Z|y]) = M^T diag(n) M / (N-1)``.

    ``tr(P M^T W M) = sum(W * (M P) * M)``: O(C D^2) instead of a D x D x D
    product. A covariance known to be well conditioned (a shrinkage estimate)
    is inverted through a Cholesky solve, several times faster than the
    eigendecomposition a pseudo-inverse needs. Any other covariance takes the
    same Cholesky route when LAPACK's condition estimate shows it well
    conditioned (then ``pinv`` is the inverse); a singular, semi-definite or
    ill-conditioned one uses ``pinv`` with the reference's cut-off.
    """
    if positive_definite:
        try:
            factor = linalg.cho_factor(cov, lower=True, check_finite=False)
        except linalg.LinAlgError:
            pass
        else:
            MP = linalg.cho_solve(factor, M.T, check_finite=False).T
            return float(np.einsum("cd,cd,c->", MP, M, n) / (N - 1))
    factor = _well_conditioned_cholesky(cov)
    if factor is not None:
        MP = linalg.cho_solve(factor, M.T, check_finite=False).T
        return float(np.einsum("cd,cd,c->", MP, M, n) / (N - 1))
    P = np.linalg.pinv(cov, rcond=_PINV_RCOND, hermitian=True)
    return float(np.einsum("cd,cd,c->", M @ P, M, n) / (N - 1))


def peak_bytes(N: int, D: int, C: int) -> float:
    """Peak memory of H-score / regularised H-score: the float64 copy of X plus the
    smaller Gram matrix and its eigenvectors (D x D primal when N >= D, N x N dual
    otherwise), plus the C x D class means: ``8 (N D + 3 min(N, D)^2 + 2 C D)``."""
    m = min(N, D)
    return 8.0 * (N * D + 3.0 * m * m + 2.0 * C * D)


def check_cost(name: str, N: int, D: int, C: int) -> None:
    """Memory guard shared by H-score and the regularised H-score."""
    check_memory(f"{name} (N={N}, D={D}, C={C})", peak_bytes(N, D, C),
                 "Subsample the rows or reduce the feature dimension (e.g. PCA).")


def gram_basis(Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``lam`` (descending order not assumed) and eigenvectors ``U`` of ``Xc Xc^T``.

    The N x N (dual) Gram matrix: when N < D it is the smaller one, and its non-zero
    eigenvalues are those of ``Xc^T Xc`` (the singular values squared).
    """
    lam, U = linalg.eigh(_precision.gram(Xc, rows=True), driver="evd")
    return lam, U


def hscore_dual(Xc: np.ndarray, enc: LabelEncoding) -> float:
    """H-score from the N x N Gram matrix (for N < D; no D x D matrix).

    With ``Xc = U S V^T`` (centred features), ``pinv(Cov) = (N-1) V S^-2 V^T`` and the
    class means ``M = diag(1/n) Y^T Xc``, so ``tr(pinv(Cov) M^T diag(n) M) / (N-1) =
    tr(U^T Y diag(1/n) Y^T U) = sum_c ||U^T y_c||^2 / n_c`` over the directions that
    the pseudo-inverse keeps (eigenvalues above 1e-15 of the largest, its cut-off).
    """
    lam, U = gram_basis(Xc)
    top = lam.max() if lam.size else 0.0
    if not top > 0:
        return 0.0
    keep = lam > _PINV_RCOND * top
    S = class_sums(U[:, keep], enc)  # C x k: U_k^T Y
    return float(np.einsum("ck,ck,c->", S, S, 1.0 / enc.counts))


@register(
    "hscore",
    input="features",
    reference="Bao et al., ICIP 2019 (H-score: An Information-theoretic Approach to "
              "Transferability in Task Transfer Learning)",
    cost="O(N·D² + D³)",
    supports_device=True,
    supports_dtype=True,
)
def hscore(X: Any, y: Any, *, device: str | None = None) -> float:
    """H-score: ``tr( pinv(Cov(X)) Cov(E[X|y]) )``.

    The ratio of between-class to total feature covariance: how much of the
    features' variance the labels explain, summed over discriminant
    directions. Covariances are sample covariances (ddof=1), and
    ``pinv`` uses the relative cut-off 1e-15, as in the published code
    (Transfer-Learning-Library ``tllib/ranking/hscore.py``). Values lie in
    ``[0, min(C - 1, D)]``; higher is better.

    The unregularised covariance of high-dimensional features estimated from
    few samples is ill-conditioned, which makes H-score unstable; see
    :func:`pedrank.core.metrics.regularized_hscore`.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features.
    y : array-like, shape (N,)
        Target labels (any type, at least two classes).
    device : str, optional
        ``"cpu"`` / ``"cuda"``: compute with the PyTorch back end.

    Other Parameters
    ----------------
    dtype : {"float64", "float32"}, optional
        Compute dtype of the large Gram/scatter products (default float64). float32 is
        opt-in: those products run in float32, everything after them in float64;
        measured on real features: at most 1.5e-6; the N < D (dual) form and covariances
        too ill-conditioned for the Cholesky route are computed in float64 anyway. See
        "float32" in ``docs/performance.md``.

    Returns
    -------
    float
        The H-score.

    References
    ----------
    Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir, L. Guibas.
    "An Information-theoretic Approach to Transferability in Task Transfer
    Learning", ICIP 2019.
    """
    Xf, enc = check_features_labels(X, y)
    check_cost("hscore", *Xf.shape, enc.n_classes)
    # H-score is invariant to scaling the features: an exact power-of-two rescaling
    # keeps its Gram matrices finite for any finite input (see _numerics).
    Xf, _ = rescaled(Xf)
    if device is not None:
        from pedrank.core.backends import torch_backend

        return float(torch_backend.hscore(Xf, enc.codes, enc.n_classes, device=device))
    N, D = Xf.shape
    # max_abs: two reductions, no N x D temporary of |X| (0.3 s at 20000 x 2048).
    magnitude = max_abs(Xf)
    Xf -= Xf.mean(axis=0)
    if not max_abs(Xf) > 1e-12 * magnitude:
        # Identical rows: what centring leaves is rounding noise, whose pseudo-inverse
        # would give an arbitrary score (1.0 was seen); the covariance is 0, so is H.
        return 0.0
    if N < D:
        # The pseudo-inverse's rank cut (1e-15 of the largest eigenvalue) cannot be
        # read from a float32 Gram (its null directions hold ~1e-7 noise: measured,
        # H-score 5 -> 6), so the dual form always runs in float64.
        with compute_dtype("float64"):
            return hscore_dual(Xf, enc)
    cov = _precision.gram(Xf)
    cov /= N - 1  # in place: the same quotients, no second D x D array
    if _precision.low_precision() and _well_conditioned_cholesky(cov) is None:
        # Singular or ill-conditioned: pinv needs the float64 covariance (as above).
        cov = (Xf.T @ Xf) / (N - 1)
    M, n = between_class_scatter(Xf, enc)
    return trace_pinv_between(cov, M, n, N)


__all__ = ["hscore", "between_class_scatter", "trace_pinv_between", "hscore_dual", "peak_bytes"]
