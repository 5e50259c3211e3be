"""The shared shrunk LDA of SFDA, ETran and NCTI (core/metrics/_lda.py) is scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from pedrank.core._validation import encode_labels
from pedrank.core.metrics import _lda


def _data(N: int, D: int, C: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(N) % C
    X = rng.normal(size=(N, D)) * rng.uniform(0.5, 2.0, size=D) + 2.0 * rng.normal(size=(C, D))[y]
    return X, y


@pytest.mark.parametrize("N, D, C, lam", [(300, 12, 2, 1e-3), (300, 12, 5, 0.2),
                                          (40, 60, 4, 0.05)])
def test_shrunk_lda_posteriors_equal_sklearn_lsqr(N, D, C, lam):
    """Primal (N >= D) and dual (N < D, Woodbury) branches against solver='lsqr'."""
    X, y = _data(N, D, C, seed=C)
    fit = _lda.shrunk_lda(X, encode_labels(y), lam)
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=lam).fit(X, y)
    np.testing.assert_allclose(fit.proba, ref.predict_proba(X), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(fit.logits - fit.logits.mean(axis=1, keepdims=True),
                               _centred(ref.decision_function(X), C), rtol=1e-8, atol=1e-8)
    assert fit.lam == lam


def _centred(decision: np.ndarray, C: int) -> np.ndarray:
    """sklearn's decision_function, as C centred logits (binary: one column d -> (-d/2, d/2))."""
    if C == 2:
        decision = np.stack([-decision / 2, decision / 2], axis=1)
    return decision - decision.mean(axis=1, keepdims=True)


@pytest.mark.parametrize("C, lam", [(3, 0.01), (6, 0.3)])
def test_eigen_lda_equals_sklearn_eigen(C, lam):
    """NCTI's transform (up to each column's sign) and posteriors against solver='eigen'."""
    X, y = _data(400, 10, C, seed=10 + C)
    low, proba = _lda.eigen_lda(X, encode_labels(y), lam)
    ref = LinearDiscriminantAnalysis(solver="eigen", shrinkage=lam).fit(X, y)
    ref_low = ref.transform(X)
    assert low.shape == ref_low.shape == (400, C - 1)
    signs = np.sign(np.sum(low * ref_low, axis=0))
    np.testing.assert_allclose(low * signs, ref_low, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(proba, ref.predict_proba(X), rtol=1e-8, atol=1e-11)


def test_default_shrinkage_is_sfdas_power_iteration_estimate():
    X, y = _data(500, 8, 4, seed=1)
    enc = encode_labels(y)
    from pedrank.core._linalg import class_means

    Sw = _lda.within_scatter(X, enc.codes, class_means(X, enc))
    lmax = float(np.linalg.eigvalsh(Sw)[-1])
    assert _lda.largest_eigenvalue(Sw) == pytest.approx(lmax, rel=1e-2)  # 3 rounds: an estimate
    assert _lda.shrunk_lda(X, enc).lam == pytest.approx(_lda.sfda_shrinkage(
        _lda.largest_eigenvalue(Sw)), rel=1e-12)
    assert _lda.sfda_shrinkage(1e6) == 1e-10  # the floor


def test_within_scatter_is_the_pooled_class_covariance():
    X, y = _data(200, 6, 3, seed=2)
    enc = encode_labels(y)
    from pedrank.core._linalg import class_means

    expected = sum(np.cov(X[y == c].T, bias=True) * np.mean(y == c) for c in range(3))
    np.testing.assert_allclose(_lda.within_scatter(X, enc.codes, class_means(X, enc)),
                               expected, rtol=1e-12, atol=1e-12)


def test_no_within_class_variation_names_the_metric():
    X = np.repeat(np.eye(3), 5, axis=0)
    y = np.repeat(np.arange(3), 5)
    with pytest.raises(ValueError, match="ETran needs within-class variation"):
        _lda.shrunk_lda(X, encode_labels(y), who="ETran")


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 600])
@pytest.mark.parametrize("order", ["C", "F"])
def test_symmetrize_upper_matches_the_triu_formula_bit_for_bit(n, order):
    """The syrk triangle copied into the other half, blockwise (within_scatter's last step)."""
    from pedrank.core._linalg import symmetrize_upper

    A = np.asarray(np.random.default_rng(n).normal(size=(n, n)), order=order)
    want = np.triu(A)
    want += np.triu(A, 1).T
    got = symmetrize_upper(A.copy(order="K"))
    assert np.array_equal(got, want) and np.array_equal(got, got.T)
