from __future__ import annotations

import math

import numpy as np
import pytest

from pedrank.core.metrics.transrate import coding_rate, transrate


@pytest.mark.parametrize("n, D", [(30, 7), (7, 30)])
def test_coding_rate_gram_identity(n, D):
    """The smaller Gram matrix gives the D x D log-determinant of the definition."""
    rng = np.random.default_rng(n)
    Z = rng.normal(size=(n, D))
    eps = 0.3
    direct = 0.5 * np.linalg.slogdet(np.eye(D) + D / (n * eps**2) * Z.T @ Z)[1]
    assert coding_rate(Z.copy(), eps) == pytest.approx(direct, rel=1e-10)


def test_one_dimension_by_hand():
    # X = [-1, -1, -1, 3] is already centred; eps = 1, D = 1.
    # R(Z)   = 1/2 log(1 + (1 + 1 + 1 + 9) / 4)  = 1/2 log 4
    # R(Z_0) = 1/2 log(1 + 3 / 3)                = 1/2 log 2   (n_0 = 3)
    # R(Z_1) = 1/2 log(1 + 9 / 1)                = 1/2 log 10  (n_1 = 1)
    # R(Z|Y) = 3/4 R(Z_0) + 1/4 R(Z_1)   (class-size weights, as in the paper)
    X = np.array([[-1.0], [-1.0], [-1.0], [3.0]])
    y = [0, 0, 0, 1]
    expected = 0.5 * math.log(4) - (0.75 * 0.5 * math.log(2) + 0.25 * 0.5 * math.log(10))
    assert transrate(X, y, eps=1.0) == pytest.approx(expected, rel=1e-12)


def test_duplicated_classes_score_zero():
    """Classes that are copies of the same rows carry no label information.

    Each class's Gram matrix is half of the whole one and its scale twice as
    large, so R(Z_c) = R(Z) for every class and TransRate = 0 exactly.
    """
    rng = np.random.default_rng(0)
    block = rng.normal(size=(25, 6))
    X = np.vstack([block, block])
    y = np.repeat([0, 1], 25)
    assert transrate(X, y) == pytest.approx(0.0, abs=1e-9)


def test_separated_beats_identical():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 30)
    noise = rng.normal(size=(90, 5))
    assert transrate(noise + 6.0 * np.eye(3, 5)[y], y) > transrate(noise, y)


@pytest.mark.parametrize("N, D", [(60, 8), (20, 60)])
def test_rotation_invariance(N, D):
    """Also for N < D, where the centred features have a null direction whose
    rounding noise, scaled by D / (N eps^2) ~ 3e8, must not leak into the score."""
    rng = np.random.default_rng(2)
    y = np.arange(N) % 3
    X = 10 * rng.normal(size=(N, D)) + y[:, None]
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    assert transrate(X @ Q, y) == pytest.approx(transrate(X, y), rel=1e-8)


def test_wide_features_use_sample_gram():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 10)
    X = rng.normal(size=(20, 500)) + y[:, None]
    assert np.isfinite(transrate(X, y))


def test_bad_eps_and_inputs():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="eps"):
        transrate(X, [0, 0, 1, 1], eps=0.0)
    with pytest.raises(ValueError, match="class"):
        transrate(X, [0, 0, 0, 0])


def test_does_not_mutate_input():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 3)) + 5
    before = X.copy()
    transrate(X, np.repeat([0, 1], 10))
    np.testing.assert_array_equal(X, before)
