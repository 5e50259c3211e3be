from __future__ import annotations

import numpy as np
import pytest

from pedrank.core.metrics.hscore import hscore


def _hscore_literal(X, y):
    """The published definition, literally: N x D matrix of class means, np.cov, pinv."""
    covf = np.cov(X, rowvar=False)
    g = np.zeros_like(X)
    for c in np.unique(y):
        g[y == c] = X[y == c].mean(axis=0)
    covg = np.cov(g, rowvar=False)
    return np.trace(np.linalg.pinv(covf, rcond=1e-15) @ covg)


def test_two_separated_points_by_hand():
    # X = [0, 0, 1, 1] with y = [0, 0, 1, 1]: E[X|y] = X, so Cov(E[X|y]) = Cov(X) = 1/3
    # and H = (1/3)^-1 * 1/3 = 1.
    X = np.array([[0.0], [0.0], [1.0], [1.0]])
    assert hscore(X, [0, 0, 1, 1]) == pytest.approx(1.0, rel=1e-12)


def test_identical_classes_score_zero():
    # Every class has mean (1, 2): E[X|y] is constant, its covariance is 0.
    X = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 3.0], [2.0, 1.0], [1.0, 3.0], [1.0, 1.0]])
    y = [0, 0, 1, 1, 2, 2]
    assert hscore(X, y) == pytest.approx(0.0, abs=1e-12)


def test_matches_literal_definition():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=200)
    X = rng.normal(size=(5, 12))[y] + rng.normal(size=(200, 12))
    assert hscore(X, y) == pytest.approx(_hscore_literal(X, y), rel=1e-9)


def test_bounded_by_discriminant_rank():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 25)
    X = 5.0 * rng.normal(size=(4, 6))[y] + rng.normal(size=(100, 6))
    h = hscore(X, y)
    # tr(Sigma^-1 Sigma_between) <= rank(Sigma_between) = C - 1 = 3
    assert 0 < h <= 3 + 1e-9


def test_separated_beats_overlapping():
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 40)
    noise = rng.normal(size=(120, 5))
    assert hscore(noise + 4.0 * np.eye(3, 5)[y], y) > hscore(noise + 0.2 * np.eye(3, 5)[y], y)


def test_does_not_mutate_input():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    before = X.copy()
    hscore(X, np.repeat(["a", "b", "c"], 10))
    np.testing.assert_array_equal(X, before)


def test_bad_inputs():
    with pytest.raises(ValueError, match="rows"):
        hscore(np.zeros((5, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="class"):
        hscore(np.zeros((5, 2)), [1] * 5)


def test_rank_deficient_falls_back_to_pinv():
    """Duplicated columns (singular covariance) and N < D take the pinv/dual route;
    both must equal the literal pinv formula."""
    rng = np.random.default_rng(7)
    y = np.arange(60) % 4
    X = rng.normal(size=(60, 10)) + y[:, None]
    dup = np.hstack([X, X[:, :4]])  # rank 10 of 14: Cholesky fails or is ill-conditioned
    wide = rng.normal(size=(30, 50)) + (np.arange(30) % 3)[:, None]
    assert hscore(dup, y) == pytest.approx(_hscore_literal(dup, y), rel=1e-8)
    yw = np.arange(30) % 3
    assert hscore(wide, yw) == pytest.approx(_hscore_literal(wide, yw), rel=1e-8)
