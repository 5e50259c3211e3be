"""NCTI (Wang et al., ICCV 2023): structure of the three terms, pool combination, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pedrank
from pedrank.core.metrics import get_metric, ncti
from pedrank.core.metrics.ncti import NCTITerms, ncti_combine, ncti_terms


def blobs(counts, d, sep, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    centres = rng.normal(size=(len(counts), d)) * sep
    return centres[y] + noise * rng.normal(size=(len(y), d)), y


def test_collapsed_posteriors_give_hand_computed_vc_and_ncc():
    # Classes 200 sigma apart: the LDA posteriors are one-hot, so P_c (N_c x C)
    # is N_c copies of the unit vector e_c, a rank-1 matrix with the single
    # singular value sqrt(N_c). Hence vc = log(sum_c sqrt(N_c)) and ncc = 1.
    counts = (10, 20, 30)
    X, y = blobs(counts, d=5, sep=200.0)
    t = ncti_terms(X, y)
    assert t.ncc == pytest.approx(1.0, abs=1e-9)
    assert t.vc == pytest.approx(math.log(math.sqrt(10) + math.sqrt(20) + math.sqrt(30)),
                                 rel=1e-9)
    assert t.seli > 0


def test_separated_beats_identical_classes():
    X_sep, y = blobs((40, 40, 40), d=8, sep=5.0, seed=1)
    X_same = np.random.default_rng(2).normal(size=X_sep.shape)
    t_sep, t_same = ncti_terms(X_sep, y), ncti_terms(X_same, y)
    assert t_sep.ncc > t_same.ncc
    assert t_sep.seli > t_same.seli
    assert ncti(X_sep, y) > ncti(X_same, y)
    # ...and in the paper's pool-normalised form.
    pooled = ncti_combine({"sep": t_sep, "same": t_same})
    assert pooled["sep"] > pooled["same"]


def test_raw_score_is_weighted_sum_of_terms():
    X, y = blobs((15, 25), d=6, sep=2.0, seed=3)
    t = ncti_terms(X, y)
    assert ncti(X, y) == pytest.approx(t.seli + t.ncc - t.vc, rel=1e-12)
    assert ncti(X, y, weights=(0.0, 2.0, 0.5)) == pytest.approx(2 * t.ncc - 0.5 * t.vc,
                                                               rel=1e-12)


def test_combine_matches_hand_computed_min_max():
    terms = {
        "a": NCTITerms(seli=1.0, ncc=0.5, vc=1.0),
        "b": NCTITerms(seli=2.0, ncc=0.5, vc=3.0),
        "c": NCTITerms(seli=3.0, ncc=0.9, vc=2.0),
    }
    # min-max: seli -> (0, 0.5, 1); ncc -> (0, 0, 1); vc -> (0, 1, 0.5)
    # score = ncc + seli - vc -> a: 0 + 0 - 0 = 0; b: 0 + 0.5 - 1 = -0.5; c: 1 + 1 - 0.5 = 1.5
    assert ncti_combine(terms) == pytest.approx({"a": 0.0, "b": -0.5, "c": 1.5})


def test_combine_constant_term_contributes_nothing_and_needs_two_models():
    terms = {"a": NCTITerms(5.0, 0.2, 1.0), "b": NCTITerms(5.0, 0.4, 1.0)}
    assert ncti_combine(terms) == pytest.approx({"a": 0.0, "b": 1.0})
    with pytest.raises(ValueError, match="at least two"):
        ncti_combine({"a": terms["a"]})


def test_never_mutates_caller_arrays():
    X, y = blobs((12, 12, 12), d=4, sep=1.0, seed=4)
    Xb, yb = X.copy(), y.copy()
    ncti(X, y)
    np.testing.assert_array_equal(X, Xb)
    np.testing.assert_array_equal(y, yb)


def _nan_at_origin(X):
    X = X.copy()
    X[0, 0] = np.nan
    return X


@pytest.mark.parametrize("make, match", [
    (lambda X, y: (X[:3], [0, 1, 2]), "more samples than classes"),
    (lambda X, y: (X, y[:-1]), "labels but X has"),
    (lambda X, y: (X, np.zeros_like(y)), "at least 2"),
    (lambda X, y: (_nan_at_origin(X), y), "NaN"),
    (lambda X, y: (X[:, 0], y), "2-D"),
    (lambda X, y: (np.ones_like(X), y), "features are constant"),
    (lambda X, y: (np.eye(3)[y] * 5.0, y), "identical within every class"),
])
def test_rejects_bad_input(make, match):
    X, y = blobs((4, 3, 3), d=3, sep=1.0, seed=5)
    with pytest.raises(ValueError, match=match):
        ncti(*make(X, y))


def test_registered_and_composable_with_ped_through_score():
    spec = get_metric("ncti")
    assert spec.input == "features" and spec.ped_composable and spec.func is ncti
    X, y = blobs((20, 20), d=5, sep=1.0, seed=6)
    assert pedrank.score(X, y, metric="ncti") == pytest.approx(ncti(X, y), rel=1e-12)


def test_ped_composition_scores_the_ped_moved_features():
    # Close class means: PED moves these features (well-separated ones exit at step 0).
    X, y = blobs((25, 25, 25), d=6, sep=0.5, seed=8)
    source = pedrank.SourceStats.from_features(np.random.default_rng(9).normal(size=(300, 6)))
    moved = pedrank.PED().fit(source).transform(X, y)
    assert not np.allclose(moved, X)
    assert pedrank.score(X, y, metric="ncti", ped=True, source=source) == pytest.approx(
        ncti(moved, y), rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sep=st.floats(0.0, 4.0))
def test_invariant_to_sample_order_and_label_renaming(seed, sep):
    X, y = blobs((9, 14, 11), d=5, sep=sep, seed=seed)
    rng = np.random.default_rng(seed)
    base = ncti_terms(X, y)
    perm = rng.permutation(len(y))
    shuffled = ncti_terms(X[perm], y[perm])
    renamed = ncti_terms(X, np.array(["z", "b", "m"])[y])
    for other in (shuffled, renamed):
        assert other.seli == pytest.approx(base.seli, rel=1e-7)
        assert other.ncc == pytest.approx(base.ncc, rel=1e-7, abs=1e-12)
        assert other.vc == pytest.approx(base.vc, rel=1e-7)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1.0, 50.0))
def test_invariant_to_rotation_and_scaling_when_unshrunk(seed, scale):
    # With large feature variance the shrinkage sits at its 1e-10 floor and the
    # plain LDA is used; PCA + LDA are then invariant to rotations and scalings.
    X, y = blobs((10, 10, 10), d=4, sep=2.0, seed=seed, noise=10.0)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(4, 4)))
    base = ncti_terms(X, y)
    moved = ncti_terms(scale * X @ Q, y)
    assert moved.seli == pytest.approx(base.seli, rel=1e-6)
    assert moved.ncc == pytest.approx(base.ncc, rel=1e-6)
    assert moved.vc == pytest.approx(base.vc, rel=1e-6)
