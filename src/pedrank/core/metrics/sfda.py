"""SFDA — Self-challenging Fisher Discriminant Analysis (Shao et al., ECCV 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from scipy.linalg import blas
from scipy.special import softmax
from sklearn.covariance import shrunk_covariance

from pedrank.core._validation import LabelEncoding, check_features_labels, class_means, row_blocks
from pedrank.core.metrics._registry import register

_POWER_ITERATIONS = 3


def _within_scatter(X: np.ndarray, codes: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``Sw = sum_c prior_c Cov_c = (1/N) sum_i (x_i - m_{y_i})(x_i - m_{y_i})^T``.

    One centred product over row chunks instead of a loop of per-class
    covariances (and never an E[xx^T] - mm^T difference, which cancels). The
    chunks are centred into one reused buffer and accumulated by BLAS
    ``dsyrk`` into one triangle in place: 1.5-1.8 s instead of 2.5 s at
    20000 x 2048 (one thread; a plain Gram of X takes 1.3 s), no D x D
    temporary per chunk.
    """
    N, D = X.shape
    S = np.zeros((D, D), order="F")
    blocks = row_blocks(N, D, block_bytes=1 << 26)
    buf = np.empty((blocks[0].stop - blocks[0].start, D))
    for rows in blocks:
        R = buf[: rows.stop - rows.start]
        np.take(means, codes[rows], axis=0, out=R, mode="clip")  # clip: no buffered copy
        np.subtract(X[rows], R, out=R)
        # R.T is Fortran-ordered: dsyrk reads it without a copy (S += R^T R, upper).
        S = blas.dsyrk(1.0, R.T, beta=1.0, c=S, trans=0, lower=0, overwrite_c=1)
    upper = np.triu(S, 1)
    S = np.triu(S)
    S += upper.T
    S /= N
    return S


def _largest_eigenvalue(A: np.ndarray) -> float:
    """The reference's estimate of lambda_max(A): 3 power-iteration rounds from the row sums.

    Kept instead of an exact eigenvalue so the shrinkage (and so the score)
    equals the published implementation's.
    """
    x = A.sum(axis=1)
    y = x
    for _ in range(_POWER_ITERATIONS):
        t = A @ x
        y = t / np.linalg.norm(t)
        t = A @ y
        x = t / np.linalg.norm(t)
    return float(x @ A @ y)


def _posterior(X: np.ndarray, enc: LabelEncoding, lam: float | None,
               means: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Fit the regularised FDA classifier on (X, y); return p(y|x) (N x C) and lambda.

    The reference solves ``Sb v = e Sw' v`` and classifies with
    ``coef = M V V^T``. With all D generalised eigenvectors normalised so that
    ``V^T Sw' V = I``, ``V V^T = Sw'^{-1}`` exactly: the classifier is
    ``M Sw'^{-1}`` and Sb never matters. One Cholesky solve replaces the
    generalised eigenproblem (and the reference's second one).

    This is scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr",
    shrinkage=lam)`` (same posteriors to 1e-9, ``tests/metrics/
    test_perf_numerics.py``; shrinking the pooled covariance equals pooling
    the shrunk class covariances), kept hand-written for speed, measured:
    0.59 s against sklearn's 2.58 s CPU at 10000 x 1024 x 100, one thread
    (one pooled scatter and a Cholesky solve instead of per-class covariances
    and a least-squares solve). ETran's classification term shares it.
    """
    N, D = X.shape
    priors = enc.counts / N
    if means is None:
        means = class_means(X, enc)
    Sw = _within_scatter(X, enc.codes, means)
    if not np.trace(Sw) > 0:
        raise ValueError(
            "SFDA needs within-class variation, but every class's features are constant; "
            "check that the features are not all identical within classes."
        )
    if lam is None:
        lam = max(float(np.exp(-5.0 * _largest_eigenvalue(Sw))), 1e-10)
    Sw_shrunk = shrunk_covariance(Sw, shrinkage=lam)  # (1-lam) Sw + lam tr(Sw)/D I
    try:
        coef = linalg.cho_solve(linalg.cho_factor(Sw_shrunk), means.T).T      # C x D
    except linalg.LinAlgError:
        coef = (linalg.pinvh(Sw_shrunk) @ means.T).T
    intercept = -0.5 * np.einsum("cd,cd->c", means, coef) + np.log(priors)
    logits = X @ coef.T
    logits += intercept
    return softmax(logits, axis=1), lam


@register("sfda", reference="Shao et al., ECCV 2022 (SFDA: Not All Models Are Equal)",
          cost="O(N D^2 + D^3 + N D C)", supports_device=True)
def sfda(X: Any, y: Any, *, device: str | None = None) -> float:
    """SFDA: regularised Fisher discriminant analysis with self-challenging.

    1. Within-class scatter ``Sw``; shrinkage ``lambda = max(exp(-5 lmax(Sw)), 1e-10)``.
    2. Classify with the shrunk FDA model (``p(y|x)`` by softmax).
    3. Self-challenge: soften p with a second softmax; move each sample of
       class c towards the mean of the other classes' means,
       ``x <- p_c(x) x + (1 - p_c(x)) mbar_c``.
    4. Refit on the mixed features with the same lambda; score = mean p(y_i|x_i).

    The caller's ``X`` is never modified (the reference overwrites it).
    Well-separated data saturates at exactly 1.0; ties are real and reported
    as such.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Features.
    y : array-like, shape (N,)
        Labels, any hashable type.
    device : str, optional
        PyTorch back end device.

    Returns
    -------
    float
        Mean probability of the true class after self-challenging, in (0, 1].

    References
    ----------
    W. Shao, X. Zhao, Y. Ge, Z. Zhang, L. Yang, X. Wang, Y. Shan, P. Luo.
    "Not All Models Are Equal: Predicting Model Transferability in a
    Self-challenging Fisher Space." ECCV 2022.
    """
    F, enc = check_features_labels(X, y, copy=False)
    if device is not None:
        from pedrank.core.backends import torch_backend

        return float(torch_backend.sfda(F, enc.codes, enc.n_classes, device=device))
    N = F.shape[0]
    samples = np.arange(N)
    means = class_means(F, enc)  # shared by the first fit and the self-challenge
    prob, lam = _posterior(F, enc, None, means)
    softened = softmax(prob, axis=1)
    p_true = softened[samples, enc.codes][:, None]
    C = enc.n_classes
    # Mean of the *other* classes' means, for every class.
    others = (means.sum(axis=0)[None, :] - means) / (C - 1)
    # x <- p x + (1 - p) mbar, in row chunks. When F is certainly pedrank's own
    # float64 conversion (a non-float64 ndarray, or a list) it is mixed in place:
    # every chunk reads only its own rows, and that saves an N x D array. Any
    # other input (a float64 array, a DataFrame, a tensor) may share memory with
    # F, and the caller's data is never written: mix into a new array.
    owned = (isinstance(X, np.ndarray) and X.dtype != np.float64) or isinstance(X, (list, tuple))
    mixed = F if owned else np.empty_like(F)
    for block in row_blocks(*F.shape):
        pulled = (1.0 - p_true[block]) * others[enc.codes[block]]
        np.multiply(p_true[block], F[block], out=mixed[block])
        mixed[block] += pulled
    del F
    prob2, _ = _posterior(mixed, enc, lam)
    return float(prob2[samples, enc.codes].mean())
