from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from pedrank.core.metrics.nleep import nleep


def _data(seed=0, n_per_class=40, C=3, D=6, separation=2.0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(C), n_per_class)
    X = separation * rng.normal(size=(C, D))[y] + rng.normal(size=(y.size, D))
    return X, y


def _nleep_literal(X, y, ratio, seed):
    """The published recipe step by step, with an explicit one-hot P(y, z)."""
    N = len(y)
    classes = np.unique(y)
    Z = PCA(n_components=0.8).fit_transform(X)
    prob = GaussianMixture(n_components=ratio * len(classes), random_state=seed).fit(
        Z).predict_proba(Z)
    onehot = (y[:, None] == classes[None, :]).astype(float)
    pyz = onehot.T @ prob / N
    py_z = pyz / pyz.sum(axis=0)
    py_x = prob @ py_z.T
    idx = np.searchsorted(classes, y)
    return py_x[np.arange(N), idx]


def test_same_seed_same_result():
    X, y = _data()
    assert nleep(X, y, random_state=3) == nleep(X, y, random_state=3)
    assert nleep(X, y, random_state=3, log=True) == nleep(X, y, random_state=3, log=True)


def test_matches_published_recipe():
    X, y = _data(seed=1)
    p = _nleep_literal(X, y, ratio=2, seed=7)
    assert nleep(X, y, ratio=2, random_state=7) == pytest.approx(p.mean(), rel=1e-9)
    assert nleep(X, y, ratio=2, random_state=7, log=True) == pytest.approx(
        np.log(p).mean(), rel=1e-9)


def test_duplicated_classes_give_one_over_c():
    """Copies of the same rows: P(y|z) = 1/C for every component, so p(y|x) = 1/C."""
    rng = np.random.default_rng(2)
    block = rng.normal(size=(30, 4))
    C = 3
    X = np.tile(block, (C, 1))
    y = np.repeat(np.arange(C), 30)
    assert nleep(X, y, ratio=1) == pytest.approx(1 / C, rel=1e-9)
    assert nleep(X, y, ratio=1, log=True) == pytest.approx(-np.log(C), rel=1e-9)


def test_separated_beats_identical():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(3), 30)
    noise = rng.normal(size=(90, 4))
    separated = nleep(noise + 10.0 * np.eye(3, 4)[y], y, ratio=1)
    identical = nleep(np.tile(noise[:30], (3, 1)), y, ratio=1)
    assert separated > 0.95 > identical


def test_label_types_and_float32_input():
    X, y = _data(seed=4)
    names = np.array(["cat", "dog", "eel"])[y]
    ref = nleep(X, y)
    assert nleep(X, names) == ref
    # float32 features are converted to float64 before the mixture is fitted.
    assert np.isfinite(nleep(X.astype(np.float32), y))


def test_too_many_components_is_a_clear_error():
    X, y = _data(n_per_class=3, C=3)  # 9 samples, 5 * 3 = 15 components
    with pytest.raises(ValueError, match="ratio"):
        nleep(X, y)
    assert np.isfinite(nleep(X, y, ratio=1))


def test_bad_parameters():
    X, y = _data()
    with pytest.raises(ValueError, match="ratio"):
        nleep(X, y, ratio=0)
    with pytest.raises(ValueError, match="variance"):
        nleep(X, y, variance=1.5)


def test_does_not_mutate_input():
    X, y = _data(seed=5)
    before = X.copy()
    nleep(X, y, ratio=1)
    np.testing.assert_array_equal(X, before)


def test_pca_covariance_route_matches_full_svd_recipe():
    """N >= D uses scikit-learn's covariance_eigh PCA; the score equals the
    reference recipe with a full SVD (D >= 1000 and N < 10 D: sklearn's 'auto'
    would pick the full SVD there)."""
    rng = np.random.default_rng(11)
    C, D, n = 4, 1000, 1200
    y = rng.integers(0, C, size=n)
    X = 0.5 * rng.normal(size=(C, D))[y] + rng.normal(size=(n, D))
    Z = PCA(n_components=0.8, svd_solver="full").fit_transform(X)
    prob = GaussianMixture(n_components=C, random_state=0).fit(Z).predict_proba(Z)
    onehot = np.eye(C)[y]
    pyz = onehot.T @ prob / n
    expected = (prob @ (pyz / pyz.sum(axis=0)).T)[np.arange(n), y].mean()
    assert nleep(X, y, ratio=1) == pytest.approx(expected, rel=1e-9)


def test_max_fit_samples_fits_on_a_stratified_subsample():
    from pedrank.core._validation import encode_labels
    from pedrank.core.sampling import stratified_subsample

    X, y = _data(seed=5, n_per_class=60, C=3)
    keep = stratified_subsample(encode_labels(y), 60, random_state=2)
    Z = PCA(n_components=0.8).fit_transform(X)
    prob = GaussianMixture(n_components=6, random_state=2).fit(Z[keep]).predict_proba(Z)
    pyz = np.eye(3)[y].T @ prob / len(y)
    expected = (prob @ (pyz / pyz.sum(axis=0)).T)[np.arange(len(y)), y].mean()
    got = nleep(X, y, ratio=2, random_state=2, max_fit_samples=60)
    assert got == pytest.approx(expected, rel=1e-9)
    # max_fit_samples >= N is the reference fit on all rows
    assert nleep(X, y, ratio=2, max_fit_samples=10**6) == nleep(X, y, ratio=2)
    with pytest.raises(ValueError, match="max_fit_samples=5"):
        nleep(X, y, ratio=2, max_fit_samples=5)


def test_covariance_type_and_bad_options():
    X, y = _data(seed=6)
    assert 0 < nleep(X, y, covariance_type="diag") <= 1
    with pytest.raises(ValueError, match="covariance_type"):
        nleep(X, y, covariance_type="banana")
    with pytest.raises(ValueError, match="max_iter"):
        nleep(X, y, max_iter=0)
    with pytest.raises(ValueError, match="max_fit_samples"):
        nleep(X, y, max_fit_samples=1.5)


def test_expensive_reference_fit_warns_with_the_remedy(monkeypatch):
    import importlib

    # The module, not the function pedrank.core.metrics.nleep re-exports.
    mod = importlib.import_module("pedrank.core.metrics.nleep")
    monkeypatch.setattr(mod, "_SLOW_FIT_FLOPS", 10.0)
    X, y = _data(seed=7)
    with pytest.warns(mod.NLeepCostWarning, match="covariance_type='diag'.*max_fit_samples"):
        nleep(X, y, ratio=1)


def test_too_few_rows_per_full_covariance_warns():
    """Regression (measured: a 10000-row fit of 500 full 25 x 25 covariances scored
    0.19 against the reference's 0.66): warn when max_fit_samples leaves fewer rows
    per component than a full covariance needs."""
    rng = np.random.default_rng(8)
    y = np.repeat(np.arange(4), 50)
    X = rng.normal(size=(200, 20))  # isotropic: the PCA keeps ~15 of 20 dims
    with pytest.warns(UserWarning, match="rows per mixture component"):
        nleep(X, y, ratio=2, max_fit_samples=60)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nleep(X, y, ratio=2, max_fit_samples=60, covariance_type="diag")
