"""ETran (Gholami et al., ICCV 2023): hand-computed energy and SVD terms, LDA cross-check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

import pedrank
from pedrank.core.metrics import etran, get_metric
from pedrank.core.metrics.etran import ETranTerms, etran_combine, etran_terms


def blobs(counts, d, sep, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    centres = rng.normal(size=(len(counts), d)) * sep
    return centres[y] + noise * rng.normal(size=(len(y), d)), y


# Four samples: two rows (3, 0) and two rows (0, 1); the classes mix both rows so
# that each class has within-class variation (the LDA term needs it).
X4 = np.array([[3.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
Y4 = np.array([0, 1, 0, 1])


def test_energy_term_hand_computed():
    # logsumexp(0, 0) = log 2 and logsumexp(log 3, 0) = log 4; classes mix both rows.
    rows = np.array([[0.0, 0.0], [math.log(3.0), 0.0]])
    X = np.tile(rows, (100, 1))  # 200 samples alternating log 2, log 4
    y = np.repeat([0, 1], 100)
    # Default 0.5%: floor(0.005 * 200) = 1 sample, the lowest value log 2.
    assert etran_terms(X, y).energy == pytest.approx(math.log(2.0), rel=1e-12)
    # All samples: (log 2 + log 4) / 2 = 1.5 log 2.
    assert etran_terms(X, y, energy_fraction=1.0).energy == pytest.approx(1.5 * math.log(2.0),
                                                                         rel=1e-12)
    # Lowest half: all the log 2 samples.
    assert etran_terms(X, y, energy_fraction=0.5).energy == pytest.approx(math.log(2.0),
                                                                         rel=1e-12)


@pytest.mark.parametrize("pad", [0, 3])  # pad=3 makes N < D (the direct SVD branch)
def test_svd_regression_term_hand_computed(pad):
    X = np.hstack([X4, np.zeros((4, pad))])
    # Singular values^2: 3^2 + 3^2 = 18 (column 1) and 1 + 1 = 2 (column 2); energy
    # 18/20 = 90% >= 80%, so k = 1 and U_1 = (1, 1, 0, 0)/sqrt(2).
    # One-hot Y of y = (0, 1, 0, 1): U_1^T Y = (1/sqrt 2, 1/sqrt 2), ||U_1^T Y||^2 = 1,
    # residual = ||Y||^2 - 1 = 4 - 1 = 3, S_reg = -3 / (N C) = -3 / 8.
    assert etran_terms(X, Y4).regression == pytest.approx(-3 / 8, rel=1e-12)
    # Keeping all the energy (k = 2): span{(1,1,0,0), (0,0,1,1)}; each one-hot column
    # projects to (1/2, 1/2, 1/2, 1/2), residual 1 per column, S_reg = -2 / 8.
    assert etran_terms(X, Y4, regression_energy=1.0).regression == pytest.approx(-2 / 8,
                                                                                 rel=1e-12)


def test_classification_term_matches_sklearn_lda():
    # Large within-class variance: lmax(Sw) > 5, so the SFDA shrinkage is at its
    # 1e-10 floor; scikit-learn's shrinkage LDA is an independent implementation.
    X, y = blobs((30, 40, 35), d=6, sep=2.0, seed=1, noise=3.0)
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=1e-10).fit(X, y)
    expected = lda.predict_proba(X)[np.arange(len(y)), y].mean()
    assert etran_terms(X, y).classification == pytest.approx(expected, rel=1e-9)


def test_raw_score_is_weighted_sum_of_terms():
    X, y = blobs((20, 25), d=5, sep=1.5, seed=2)
    t = etran_terms(X, y)
    assert etran(X, y) == pytest.approx(t.energy + t.classification + t.regression, rel=1e-12)
    assert etran(X, y, weights=(0.0, 1.0, 0.0)) == pytest.approx(t.classification, rel=1e-12)


def test_separated_beats_identical_classes():
    X_sep, y = blobs((40, 40, 40), d=8, sep=5.0, seed=3)
    X_same = np.random.default_rng(4).normal(size=X_sep.shape)
    t_sep, t_same = etran_terms(X_sep, y), etran_terms(X_same, y)
    assert t_sep.classification > t_same.classification
    assert t_sep.regression > t_same.regression
    assert etran(X_sep, y, weights=(0.0, 1.0, 1.0)) > etran(X_same, y, weights=(0.0, 1.0, 1.0))
    assert etran_combine({"sep": t_sep, "same": t_same})["sep"] > 0.5


def test_combine_matches_hand_computed_min_max():
    terms = {
        "a": ETranTerms(energy=1.0, classification=0.5, regression=-1.0),
        "b": ETranTerms(energy=2.0, classification=0.9, regression=-1.0),
        "c": ETranTerms(energy=3.0, classification=0.7, regression=-1.0),
    }
    # energy -> (0, 0.5, 1); classification -> (0, 1, 0.5); regression constant -> 0.
    # Official weights 0.15 / 0.85 / 0: a = 0; b = 0.075 + 0.85 = 0.925; c = 0.15 + 0.425.
    assert etran_combine(terms) == pytest.approx({"a": 0.0, "b": 0.925, "c": 0.575})
    # Equal weights on all three terms.
    assert etran_combine(terms, weights=(1, 1, 1)) == pytest.approx(
        {"a": 0.0, "b": 1.5, "c": 1.5})
    with pytest.raises(ValueError, match="at least two"):
        etran_combine({"a": terms["a"]})


def test_never_mutates_caller_arrays():
    X, y = blobs((12, 12), d=4, sep=1.0, seed=5)
    Xb, yb = X.copy(), y.copy()
    etran(X, y)
    np.testing.assert_array_equal(X, Xb)
    np.testing.assert_array_equal(y, yb)


def _nan_at_origin(X):
    X = X.copy()
    X[0, 0] = np.inf
    return X


@pytest.mark.parametrize("make, kwargs, match", [
    (lambda X, y: (X, y[:-1]), {}, "labels but X has"),
    (lambda X, y: (X, np.zeros_like(y)), {}, "at least 2"),
    (lambda X, y: (_nan_at_origin(X), y), {}, "NaN or infinite"),
    (lambda X, y: (X, y), {"energy_fraction": 0.0}, "energy_fraction"),
    (lambda X, y: (X, y), {"regression_energy": 1.5}, "regression_energy"),
    (lambda X, y: (np.repeat(np.eye(2), 3, axis=0), [0, 0, 0, 1, 1, 1]), {},
     "within-class variation"),
])
def test_rejects_bad_input(make, kwargs, match):
    X, y = blobs((5, 5), d=3, sep=1.0, seed=6)
    with pytest.raises(ValueError, match=match):
        etran(*make(X, y), **kwargs)


def test_registered_and_composable_with_ped_through_score():
    spec = get_metric("etran")
    assert spec.input == "features" and spec.ped_composable and spec.func is etran
    X, y = blobs((20, 20), d=5, sep=1.0, seed=7)
    assert pedrank.score(X, y, metric="etran") == pytest.approx(etran(X, y), rel=1e-12)


def test_ped_composition_scores_the_ped_moved_features():
    # Close class means: PED moves these features (well-separated ones exit at step 0).
    X, y = blobs((25, 25, 25), d=6, sep=0.5, seed=8)
    source = pedrank.SourceStats.from_features(np.random.default_rng(9).normal(size=(300, 6)))
    moved = pedrank.PED().fit(source).transform(X, y)
    assert not np.allclose(moved, X)
    assert pedrank.score(X, y, metric="etran", ped=True, source=source) == pytest.approx(
        etran(moved, y), rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sep=st.floats(0.0, 4.0))
def test_invariant_to_sample_order_and_label_renaming(seed, sep):
    X, y = blobs((9, 14, 11), d=5, sep=sep, seed=seed)
    base = etran_terms(X, y)
    perm = np.random.default_rng(seed).permutation(len(y))
    for other in (etran_terms(X[perm], y[perm]), etran_terms(X, np.array(["z", "b", "m"])[y])):
        assert other.energy == pytest.approx(base.energy, rel=1e-10)
        assert other.classification == pytest.approx(base.classification, rel=1e-8)
        assert other.regression == pytest.approx(base.regression, rel=1e-8, abs=1e-12)
