"""The fast numerical kernels of the metrics against the library routines they replace.

Each kernel in ``pedrank.core.metrics`` that re-derives a library result from
a cheaper product (see ``docs/performance.md``) is checked here against the
library to 1e-10 on inputs that exercise it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf, ledoit_wolf_shrinkage

from pedrank.core.metrics.regularized_hscore import _ledoit_wolf_from_gram


def _features(n: int, d: int, seed: int = 0, offset: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, min(8, d))) @ rng.normal(size=(min(8, d), d))
    return np.maximum(latent + 0.3 * rng.normal(size=(n, d)) + offset, 0.0)


@pytest.mark.parametrize("n, d", [(200, 30), (50, 120), (400, 1), (1000, 64), (30, 30)])
def test_ledoit_wolf_from_gram_matches_sklearn(n, d):
    X = _features(n, d, seed=n + d)
    Xc = X - X.mean(axis=0)
    cov, shrink = _ledoit_wolf_from_gram(Xc.copy())
    assert shrink == pytest.approx(ledoit_wolf_shrinkage(Xc), rel=1e-10, abs=1e-14)
    ref_cov, ref_shrink = ledoit_wolf(Xc)
    assert shrink == pytest.approx(ref_shrink, rel=1e-10, abs=1e-14)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-12 * np.abs(ref_cov).max())


def test_ledoit_wolf_from_gram_does_not_modify_its_input():
    Xc = _features(100, 20)
    Xc -= Xc.mean(axis=0)
    before = Xc.copy()
    _ledoit_wolf_from_gram(Xc)
    np.testing.assert_array_equal(Xc, before)


def _pinv_trace(cov, M, n, N):
    P = np.linalg.pinv(cov, rcond=1e-15, hermitian=True)
    return float(np.einsum("cd,cd,c->", M @ P, M, n) / (N - 1))


@pytest.mark.parametrize("scale", [1.0, 1e-9, 0.0])
def test_hscore_trace_cholesky_route_equals_pinv(scale):
    """Well conditioned: Cholesky; ill conditioned (scale 1e-9) or singular (0): pinv."""
    from pedrank.core.metrics.hscore import _well_conditioned_cholesky, trace_pinv_between

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40))
    X[:, 0] = X[:, 1] + scale * rng.normal(size=300)  # collinear pair for a small scale
    X -= X.mean(axis=0)
    cov = X.T @ X / 299
    M = rng.normal(size=(5, 40))
    n = np.full(5, 60.0)
    assert (_well_conditioned_cholesky(cov) is not None) == (scale == 1.0)
    assert trace_pinv_between(cov, M, n, 300) == pytest.approx(_pinv_trace(cov, M, n, 300),
                                                               rel=1e-10)


@pytest.mark.parametrize("n", [2, 3, 70, 300])
def test_eigh_project_matches_eigh(n):
    from scipy import linalg

    from pedrank.core.metrics._spectral import eigh_project

    rng = np.random.default_rng(n)
    A = rng.normal(size=(2 * n + 5, n))
    G = A.T @ A
    B = rng.normal(size=(n, 4))
    w, VtB = eigh_project(G, B)
    w_ref, V = linalg.eigh(G)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-12 * w_ref.max())
    # Eigenvectors are defined up to sign: compare squares and the reconstruction.
    np.testing.assert_allclose(VtB**2, (V.T @ B) ** 2, rtol=1e-8, atol=1e-10)
    # Sign-free check of the whole projection: (V^T B)^T diag(1/w) (V^T B) = B^T G^-1 B.
    np.testing.assert_allclose(VtB.T @ (VtB / w[:, None]), B.T @ linalg.solve(G, B), rtol=1e-8)


def test_logme_one_hot_projection_matches_dense():
    from pedrank.core.metrics.logme import _xty

    rng = np.random.default_rng(0)
    F = rng.normal(size=(50, 6))
    codes = rng.integers(0, 4, size=50)
    Y = np.eye(4)[codes]
    np.testing.assert_allclose(_xty(F, Y), F.T @ Y, rtol=1e-12, atol=1e-12)
    Yr = rng.normal(size=(50, 3))  # real-valued targets take the dense product
    np.testing.assert_allclose(_xty(F, Yr), F.T @ Yr, rtol=1e-12)


def test_row_logsumexp_matches_scipy():
    from scipy.special import logsumexp

    from pedrank.core.metrics.etran import _row_logsumexp

    X = _features(3000, 40, seed=5) * 30.0  # large values: the max shift matters
    X[0] = -1e3
    np.testing.assert_allclose(_row_logsumexp(X), logsumexp(X, axis=1), rtol=1e-13)


@pytest.mark.parametrize("n, d", [(400, 50), (30, 80)])
def test_ncti_pca_matches_sklearn_up_to_sign(n, d):
    from sklearn.decomposition import PCA

    from pedrank.core.metrics.ncti import _fit_pca

    X = _features(n, d, seed=7)
    k = min(12, n, d)
    var, Z = _fit_pca(X, k)
    ref = PCA(n_components=k, svd_solver="full").fit(X)
    np.testing.assert_allclose(var, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(Z), np.abs(ref.transform(X)), rtol=1e-7, atol=1e-9)


def test_thread_policy_never_raises_a_limit_and_honours_the_override(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    from pedrank.core import _threads
    from pedrank.core.metrics import get_metric

    monkeypatch.setenv("PEDRANK_NUM_THREADS", "1")
    assert _threads.available_threads() == 1
    with threadpool_limits(limits=1):
        with _threads.limit_threads(8):  # a larger count never raises the user's limit
            assert max(i["num_threads"] for i in threadpool_info()) == 1
    monkeypatch.delenv("PEDRANK_NUM_THREADS")
    assert 1 <= _threads.available_threads() <= (os.cpu_count() or 1)
    # Registered metrics run under the policy and keep their signature and docstring.
    spec = get_metric("logme")
    assert spec.func.__wrapped__.__name__ == "logme" and "LogME" in spec.func.__doc__


@pytest.mark.parametrize("C, lam", [(2, 1e-3), (5, 0.2), (7, 1e-10)])
def test_shrunk_lda_posterior_equals_sklearn_lda(C, lam):
    """SFDA's (and ETran's) shrunk LDA is scikit-learn's LDA with the same shrinkage.

    ``sum_c prior_c shrunk(Cov_c) = shrunk(sum_c prior_c Cov_c)`` (the shrinkage
    is linear), so the pooled-then-shrunk covariance of SFDA is sklearn's.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from pedrank.core._validation import encode_labels
    from pedrank.core.metrics._lda import shrunk_lda

    rng = np.random.default_rng(C)
    y = np.arange(300) % C
    X = _features(300, 12, seed=C) + rng.normal(size=(C, 12))[y]
    enc = encode_labels(y)
    ours = shrunk_lda(X, enc, lam).proba
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=lam).fit(X, y)
    np.testing.assert_allclose(ours, lda.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_pool_min_max_is_sklearn_minmax_scale():
    from pedrank.core.metrics.ncti import NCTITerms, ncti_combine

    terms = {"a": NCTITerms(1.0, 0.5, 2.0), "b": NCTITerms(3.0, 0.5, 1.0),
             "c": NCTITerms(2.0, 0.5, 1.5)}
    out = ncti_combine(terms)  # ncc constant over the pool: contributes 0
    assert out == pytest.approx({"a": 0.0 - 1.0, "b": 1.0 - 0.0, "c": 0.5 - 0.5})
