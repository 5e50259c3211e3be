"""LogME — Log of Maximum Evidence (You et al., ICML 2021; JMLR 2022 fixed-point solver)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg, sparse

from pedrank.core._array_kernels import logme_evidence, logme_fixed_point
from pedrank.core._budget import check_memory
from pedrank.core._linalg import one_hot
from pedrank.core._validation import as_float_matrix, check_features_labels
from pedrank.core.metrics import _precision
from pedrank.core.metrics._numerics import VALID_RANGE, check_magnitude, max_abs
from pedrank.core.metrics._registry import register
from pedrank.core.metrics._spectral import eigh_project


def _spectrum(F: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Non-zero squared singular values of F and the matching left singular vectors.

    Uses the eigen-decomposition of the smaller Gram matrix (D x D when N > D,
    N x N otherwise) instead of an SVD of the N x D matrix.

    Returns ``sigma`` (k,), ``proj`` such that ``proj(Y) = U^T Y`` (k x K), and k.
    """
    N, D = F.shape
    if N > D:
        evals, V = linalg.eigh(_precision.gram(F), driver="evd")
    else:
        evals, U = linalg.eigh(_precision.gram(F, rows=True), driver="evd")
    # Numerical rank, as numpy.linalg.matrix_rank does: directions below the
    # noise floor carry no signal and their u = F v / s would be garbage.
    cutoff = evals.max() * max(N, D) * np.finfo(np.float64).eps
    keep = evals > cutoff
    sigma = evals[keep]
    if N > D:
        # U = F V / s, so U^T Y = (V^T F^T Y) / s without forming U (N x k).
        V = V[:, keep]
        s = np.sqrt(sigma)
        return sigma, (lambda Y: (V.T @ (F.T @ Y)) / s[:, None]), int(keep.sum())
    U = U[:, keep]
    return sigma, (lambda Y: U.T @ Y), int(keep.sum())


def _xty(F: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``F^T Y``; for a one-hot ``Y`` as per-class sums (N*D adds instead of N*D*C)."""
    rows, cols = np.nonzero(Y)
    if Y.shape[1] > 1 and rows.shape[0] == Y.shape[0] and np.array_equal(rows, np.arange(
            Y.shape[0])) and np.all(Y[rows, cols] == 1.0):
        indicator = sparse.csr_matrix((np.ones(rows.shape[0]), (cols, rows)),
                                      shape=(Y.shape[1], Y.shape[0]))
        return np.asarray(indicator @ F).T
    return F.T @ Y


def _spectrum_x2(F: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``sigma``, ``x2 = (U^T Y)^2`` (k x K) and k, as ``_spectrum`` then ``proj(Y) ** 2``.

    For N > D the eigenvectors of the D x D Gram are never formed:
    ``eigh_project`` returns ``V^T (F^T Y)`` directly (0.75 s instead of
    1.6 s for the eigendecomposition at D = 2048, one thread).
    """
    N, D = F.shape
    if N <= D:
        sigma, proj, k = _spectrum(F)
        return sigma, proj(Y) ** 2, k
    evals, VtB = eigh_project(_precision.gram(F), _xty(F, Y))
    cutoff = evals.max() * max(N, D) * np.finfo(np.float64).eps
    keep = evals > cutoff
    sigma = evals[keep]
    return sigma, VtB[keep] ** 2 / sigma[:, None], int(keep.sum())


def _evidence(alpha: np.ndarray, beta: np.ndarray, sigma: np.ndarray, res2: np.ndarray,
              m2: np.ndarray, N: int, D: int, k: int) -> np.ndarray:
    """Log-evidence / N (:func:`pedrank.core._array_kernels.logme_evidence`)."""
    return logme_evidence(alpha, beta, sigma, res2, m2, N, D, k)


def logme_evidences(F: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per-column maximum log-evidence / N of Bayesian linear regressions ``Y[:, j] ~ F``.

    All columns share one decomposition of ``F``; the fixed-point iteration of
    You et al. (JMLR 2022) runs for all columns at once, each column stopping
    at its own iteration, exactly as the per-column reference loop would.
    """
    N, D = F.shape
    sigma, x2, k = _spectrum_x2(F, Y)                   # x2: k x K
    if k == 0:
        raise ValueError(
            "logme: the features are all zero, so there is nothing to regress the labels on "
            "(the evidence is undefined). Check the feature extraction (a dead layer?)."
        )
    res_x2 = (Y**2).sum(axis=0) - x2.sum(axis=0)        # energy outside the kept subspace
    # The fixed point is the one array-API implementation the torch back end runs too.
    return logme_fixed_point(sigma, x2, res_x2, N, D, k)


def peak_bytes(N: int, D: int, K: int) -> float:
    """Peak memory of LogME: the float64 X, the smaller Gram matrix with its
    eigenvectors and workspace (``3 min(N, D)^2``), the N x K targets (one-hot
    columns for classification) and the k x K projections:
    ``8 (N D + 3 min(N, D)^2 + 2 N K + min(N, D) K)``."""
    m = min(N, D)
    return 8.0 * (N * D + 3.0 * m * m + 2.0 * N * K + m * K)


def _prepare_features(F: np.ndarray) -> np.ndarray:
    """Check LogME's valid feature range; rescale tiny features exactly.

    The fixed-point solver (start alpha = beta = 1, 1e-5 added to the denominators)
    is not scale-invariant. Below unit scale its result does not depend on the
    scale (the evidence maximum is scale-invariant and the jitter is negligible
    there; measured constant to 1e-8 from 1e-30 to 1), so features smaller than
    2^-100 are multiplied by a power of two (exact) before their Gram matrix
    underflows. Above 1e100 the Gram matrix overflows: a ValueError says to rescale.
    """
    m = max_abs(F)
    if 0.0 < m < 2.0**-100:
        return F * float(np.ldexp(1.0, -int(np.frexp(m)[1])))
    check_magnitude(F, "logme", "its fixed-point solver adds 1e-5 to alpha's and beta's "
                    f"denominators; above {VALID_RANGE[1]:g} the Gram matrix overflows")
    return F


def _resolve_task(y_arr: np.ndarray, task: str | None, regression: bool | None) -> str:
    """``task`` as given, else from the old ``regression`` flag, else guessed from ``y``.

    A 2-D float target with several columns is read as regression; anything else
    as class labels (continuous 1-D floats are refused later, with advice).
    """
    if task is None:
        if regression is not None:
            task = "regression" if regression else "classification"
        elif y_arr.ndim == 2 and y_arr.shape[1] > 1 and y_arr.dtype.kind == "f":
            task = "regression"
        else:
            task = "classification"
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
    return task


@register("logme", reference="You et al., ICML 2021 (LogME); fixed-point solver, JMLR 2022",
          cost="O(N D min(N, D) + min(N, D)^3 + C min(N, D))", supports_device=True,
          supports_regression=True, supports_dtype=True)
def logme(X: Any, y: Any, *, task: str | None = None, regression: bool | None = None,
          device: str | None = None) -> float:
    """LogME: mean over targets of the maximum log-evidence per sample.

    For each class ``c`` (or each column of a real-valued target), a Bayesian
    linear regression ``y_c = X w + noise`` with prior ``w ~ N(0, 1/alpha I)``
    and noise precision ``beta``; the evidence
    ``log p(y_c | X, alpha, beta)`` is maximised over (alpha, beta) by the
    fixed-point iteration (start 1, 1; at most 11 iterations; stop when
    ``alpha/beta`` changes by <= 1e-3 relative). Score = mean over targets of
    evidence / N.

    Regression (``task="regression"``): as in the LogME paper (You et al., ICML
    2021, Sec. 4: "for regression, y is the real-valued label"), each column of
    the real-valued target (N,) or (N, K) is one fixed-point problem with its
    continuous values as ``y``; the score is the mean over columns.

    Differences from the reference code: the ``(D - k)/2 log(alpha)`` term of
    ``log|A|`` for the D - k zero singular values is kept (the reference drops
    it, which is wrong when N < D); one eigen-decomposition of the smaller Gram
    matrix serves all classes.

    Valid range: the fixed-point solver's result is independent of the feature
    scale below unit scale, but its 1e-5 jitter makes it decline for large
    features (measured on 36 x 6 blobs: -0.319 at scale 1, -0.342 at 100, -0.64
    at 1000), so compare models whose features have similar magnitudes, or
    standardise them all. Features above 1e100 raise ``ValueError``; all-zero
    features raise ``ValueError`` (nothing to regress on).

    Parameters
    ----------
    X : array-like, shape (N, D)
        Features.
    y : array-like, shape (N,) or (N, K)
        Class labels (any hashable type), or, with ``task="regression"``, a
        real-valued (N,) or (N, K) target.
    task : {"classification", "regression"}, optional
        Default: ``"regression"`` when ``y`` is a 2-D float array with several
        columns, else ``"classification"``. Continuous float labels given for
        classification are refused with a message suggesting ``task="regression"``.
    regression : bool, optional
        Older spelling of ``task="regression"`` (kept for compatibility).
    device : str, optional
        PyTorch back end device (classification only).

    Other Parameters
    ----------------
    dtype : {"float64", "float32"}, optional
        Compute dtype of the large Gram/scatter products (default float64). float32 is
        opt-in: those products run in float32, everything after them in float64;
        measured on the project's real features (51 model-target pairs, 5 targets):
        relative error median 1e-7, at most 7.5e-3 (a score near 0, absolute 1e-4); no
        ranking changed. See "float32" in ``docs/performance.md``.

    Returns
    -------
    float
        LogME score (higher is better).

    References
    ----------
    K. You, Y. Liu, J. Wang, M. Long. "LogME: Practical Assessment of
    Pre-trained Models for Transfer Learning." ICML 2021.
    K. You et al. "Ranking and Tuning Pre-trained Models: A New Paradigm for
    Exploiting Model Hubs." JMLR 2022.
    """
    y_arr = np.asarray(y)
    if _resolve_task(y_arr, task, regression) == "regression":
        if device is not None:
            raise ValueError("logme(task='regression') has no PyTorch back end; use device=None.")
        F = as_float_matrix(X, copy=False)
        if y_arr.dtype.kind not in "biuf":
            raise ValueError("regression targets must be real numbers; for class labels use "
                             "task='classification'.")
        Y = as_float_matrix(y_arr.reshape(y_arr.shape[0], -1) if y_arr.ndim else y_arr,
                            "y", copy=False)
        if Y.shape[0] != F.shape[0]:
            raise ValueError(
                f"y has {Y.shape[0]} rows but X has {F.shape[0]}; they must describe the same "
                "samples."
            )
        check_memory(f"LogME (N={F.shape[0]}, D={F.shape[1]}, {Y.shape[1]} targets)",
                     peak_bytes(*F.shape, Y.shape[1]),
                     "Subsample the rows or reduce the feature dimension.")
        return float(logme_evidences(_prepare_features(F), Y).mean())
    F, enc = check_features_labels(X, y, copy=False)
    check_memory(f"LogME (N={F.shape[0]}, D={F.shape[1]}, C={enc.n_classes})",
                 peak_bytes(*F.shape, enc.n_classes),
                 "Subsample the rows, reduce the feature dimension, or use fewer classes.")
    F = _prepare_features(F)
    if device is not None:
        from pedrank.core.backends import torch_backend

        return float(torch_backend.logme(F, enc.codes, enc.n_classes, device=device))
    return float(logme_evidences(F, one_hot(enc)).mean())
