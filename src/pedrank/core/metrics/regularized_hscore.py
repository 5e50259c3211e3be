"""Regularised H-score with Ledoit-Wolf shrinkage (Ibrahim et al., ICLR 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.core._linalg import class_sums
from pedrank.core._validation import LabelEncoding, check_features_labels
from pedrank.core.metrics import _precision
from pedrank.core.metrics._numerics import rescaled
from pedrank.core.metrics._registry import register
from pedrank.core.metrics.hscore import (
    between_class_scatter,
    check_cost,
    gram_basis,
    trace_pinv_between,
)


def ledoit_wolf_shrinkage_dual(Xc: np.ndarray, gram: np.ndarray) -> tuple[float, float]:
    """Ledoit-Wolf shrinkage ``a`` and ``mu = tr(S)/D`` of centred ``Xc`` from its N x N Gram.

    scikit-learn's ``ledoit_wolf_shrinkage`` sums the entries of ``X2^T X2`` and the
    squared entries of ``X^T X`` (D x D blocks, O(N D^2)); the same sums are
    ``||rowsum(X^2)||^2`` and ``||X X^T||_F^2`` (O(N^2 D)), which this uses with
    scikit-learn's formula otherwise unchanged.
    """
    N, D = Xc.shape
    row_sq = np.einsum("nd,nd->n", Xc, Xc)
    trace = float(row_sq.sum()) / N  # tr(S), S the population covariance
    mu = trace / D
    beta_ = float(row_sq @ row_sq)
    delta_ = float(np.sum(gram * gram)) / N**2
    beta = 1.0 / (D * N) * (beta_ / N - delta_)
    delta = (delta_ - 2.0 * mu * trace + D * mu**2) / D
    beta = min(beta, delta)
    return (0.0 if beta == 0 else beta / delta), mu


def regularized_hscore_dual(Xc: np.ndarray, enc: LabelEncoding) -> float:
    """Regularised H-score from the N x N Gram matrix (for N < D; no D x D matrix).

    ``Cov_a = (1 - a) S + a mu I`` has eigenvalues ``(1 - a) lam_i / N + a mu`` on the
    row space of ``Xc`` (``lam_i`` those of ``Xc Xc^T``) and ``a mu`` elsewhere; the
    class means lie in the row space, so with ``Xc = U S V^T`` the trace is
    ``(1 - a) sum_c sum_i lam_i (u_i^T y_c)^2 / (n_c ((1 - a) lam_i / N + a mu)) / (N - 1)``.
    """
    N = Xc.shape[0]
    gram = _precision.gram(Xc, rows=True)
    a, mu = ledoit_wolf_shrinkage_dual(Xc, gram)
    del gram
    lam, U = gram_basis(Xc)
    lam = np.clip(lam, 0.0, None)
    denom = (1.0 - a) * lam / N + a * mu
    keep = denom > 0
    S = class_sums(U[:, keep], enc)  # C x k: U_k^T Y
    weights = lam[keep] / denom[keep]
    trace = float(np.einsum("ck,ck,k,c->", S, S, weights, 1.0 / enc.counts)) / (N - 1)
    return (1.0 - a) * trace


def _ledoit_wolf_from_gram(Xc: np.ndarray) -> tuple[np.ndarray, float]:
    """``sklearn.covariance.ledoit_wolf(Xc)`` for centred ``Xc``, from one Gram and the row norms.

    scikit-learn's ``ledoit_wolf_shrinkage`` forms ``X2^T X2`` (``X2 = X**2``)
    and ``X^T X`` block by block: two more N x D^2 products on top of the
    covariance itself (12.2 of 15.7 s at 20000 x 2048). Both sums it needs
    have closed forms: ``sum(X2^T X2) = sum_i ||x_i||^4`` (row norms, O(N D))
    and ``sum((X^T X)^2) = N^2 ||S||_F^2`` from the covariance ``S`` already
    formed. Same formula as scikit-learn's (Ledoit & Wolf, J. Multivar. Anal.
    88, 2004), same clipping of the shrinkage to [0, 1]; agrees with it to
    ~1e-13 (``tests/metrics/test_perf_numerics.py``).

    Returns ``((1 - a) S + a mu I, a)`` with ``S = Xc^T Xc / N`` and ``mu = tr(S) / D``.
    """
    n, p = Xc.shape
    S = _precision.gram(Xc)
    S /= n
    emp_cov_trace = np.diag(S).copy()
    mu = emp_cov_trace.sum() / p
    if p == 1:
        return S, 0.0
    row_sq = np.einsum("ij,ij->i", Xc, Xc)
    beta_ = float(row_sq @ row_sq)           # sum_i ||x_i||^4 = sum(X2^T X2)
    delta_ = float(np.vdot(S, S))            # ||S||_F^2 = sum((X^T X)^2) / n^2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * emp_cov_trace.sum() + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0 else beta / delta
    S *= 1.0 - shrinkage
    S.flat[:: p + 1] += shrinkage * mu
    return S, shrinkage


@register(
    "regularized_hscore",
    input="features",
    reference="Ibrahim et al., ICLR 2022 (Newer is not always better: rethinking "
              "transferability metrics, their peculiarities, stability and performance)",
    cost="O(N·D² + D³)",
    supports_dtype=True,
)
def regularized_hscore(X: Any, y: Any) -> float:
    """Shrinkage-regularised H-score: ``tr( Cov_a(X)^{-1} (1 - a) Cov(E[X|y]) )``.

    ``Cov_a`` is the Ledoit-Wolf estimate ``(1 - a) S + a mu I`` of the
    feature covariance (``S`` the population covariance, ``mu = tr(S)/D``)
    with its data-driven shrinkage ``a``; the between-class covariance is
    shrunk by the same factor ``(1 - a)``. This keeps the score stable where
    ``S`` is ill-conditioned (D close to or above N).

    Conventions follow the published formula of the Transfer-Learning-Library
    (``tllib/ranking/hscore.py``), which reproduces the value 1.177842480406727
    on scikit-learn's iris: features are centred first,
    ``sklearn.covariance.ledoit_wolf`` (population covariance) gives
    ``Cov_a`` and ``a``, and ``Cov(E[X|y])`` is a sample covariance (ddof=1).
    The reference takes a pseudo-inverse (cut-off 1e-15); ``Cov_a`` is
    positive definite whenever ``a > 0`` or the features have full rank, so a
    Cholesky solve gives the same trace, faster (the pseudo-inverse remains
    the fall-back for a singular estimate).

    Scale-invariant; computed on an exact power-of-two rescaling, so any
    finite input works. When N < D the N x N (dual) Gram matrix replaces the
    D x D covariance (:func:`regularized_hscore_dual`; same value).

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features.
    y : array-like, shape (N,)
        Target labels (any type, at least two classes).

    Other Parameters
    ----------------
    dtype : {"float64", "float32"}, optional
        Compute dtype of the large Gram/scatter products (default float64). float32 is
        opt-in: those products run in float32, everything after them in float64;
        measured on real features: at most 1.6e-5 (median 6e-8). See "float32" in
        ``docs/performance.md``.

    Returns
    -------
    float
        The regularised H-score (higher is better).

    References
    ----------
    S. Ibrahim, N. Ponomareva, R. Mazumder. "Newer is not always better:
    Rethinking transferability metrics, their peculiarities, stability and
    performance", ICLR 2022 (arXiv:2110.06893).
    """
    Xf, enc = check_features_labels(X, y)
    check_cost("regularized_hscore", *Xf.shape, enc.n_classes)
    Xf, _ = rescaled(Xf)  # scale-invariant: exact power-of-two rescaling (see _numerics)
    N, D = Xf.shape
    # Centring first makes the Ledoit-Wolf estimate exact for the centred data
    # (the reference does the same before fitting).
    Xf -= Xf.mean(axis=0)
    if N < D:
        return regularized_hscore_dual(Xf, enc)
    cov_a, shrinkage = _ledoit_wolf_from_gram(Xf)
    M, n = between_class_scatter(Xf, enc)
    return (1.0 - float(shrinkage)) * trace_pinv_between(cov_a, M, n, N,
                                                       positive_definite=True)


__all__ = ["regularized_hscore", "regularized_hscore_dual", "ledoit_wolf_shrinkage_dual"]
