from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from pedrank.core.metrics.gbc import gbc

# The package re-exports the function under the module's name, so
# ``import pedrank.core.metrics.gbc as m`` would give the function: fetch the module.
gbc_module = importlib.import_module("pedrank.core.metrics.gbc")


def _gbc_by_pairs(X, y, gaussian_type):
    """Direct transcription of the definition: one Bhattacharyya distance per ordered pair."""
    classes = np.unique(y)
    stats = {}
    for c in classes:
        Xc = X[y == c]
        var = np.maximum(Xc.var(axis=0), 1e-4)
        if gaussian_type == "spherical":
            var = np.array([var.mean()])
        stats[c] = (Xc.mean(axis=0), var)
    total = 0.0
    for a in classes:
        for b in classes:
            if a == b:
                continue
            (m1, s1), (m2, s2) = stats[a], stats[b]
            s = (s1 + s2) / 2
            quad = np.sum((m1 - m2) ** 2 / s) if s.size > 1 else np.sum((m1 - m2) ** 2) / s[0]
            db = quad / 8 + 0.5 * (np.sum(np.log(s)) - 0.5 * np.sum(np.log(s1))
                                   - 0.5 * np.sum(np.log(s2)))
            total += math.exp(-db)
    return -total


@pytest.mark.parametrize("gaussian_type", ["spherical", "diagonal"])
def test_identical_classes_give_minus_c_times_c_minus_1(gaussian_type):
    """Every DB is 0, so each of the C(C-1) ordered pairs contributes exp(0) = 1."""
    rng = np.random.default_rng(0)
    block = rng.normal(size=(15, 6))
    C = 4
    X = np.tile(block, (C, 1))
    y = np.repeat(np.arange(C), 15)
    assert gbc(X, y, gaussian_type=gaussian_type) == pytest.approx(-C * (C - 1), rel=1e-12)


def test_two_classes_one_dimension_by_hand():
    # class a = {0, 2}: mean 1, variance 1; class b = {10, 12}: mean 11, variance 1.
    # DB = (1/8) * 10^2 / 1 + 0 = 12.5 in both directions.
    X = np.array([[0.0], [2.0], [10.0], [12.0]])
    y = np.array(["a", "a", "b", "b"])
    expected = -2 * math.exp(-12.5)
    assert gbc(X, y) == pytest.approx(expected, rel=1e-12)
    assert gbc(X, y, gaussian_type="diagonal") == pytest.approx(expected, rel=1e-12)


def test_two_classes_unequal_variances_by_hand():
    # a: points (0,0),(2,0),(0,2),(2,2): mean (1,1), variances (1, 1)
    # b: points (4,1),(8,1): mean (6,1), variances (4, 0 -> floor 1e-4)
    X = np.array([[0, 0], [2, 0], [0, 2], [2, 2], [4, 1], [8, 1]], dtype=float)
    y = np.array([0, 0, 0, 0, 1, 1])
    # diagonal: s = (2.5, 0.50005); quadratic part (5^2 / 2.5) / 8 = 1.25
    db_diag = 1.25 + 0.5 * (math.log(2.5) + math.log(0.50005)
                            - 0.5 * (math.log(1) + math.log(1))
                            - 0.5 * (math.log(4) + math.log(1e-4)))
    assert gbc(X, y, gaussian_type="diagonal") == pytest.approx(-2 * math.exp(-db_diag),
                                                                rel=1e-12)
    # spherical: v_a = 1, v_b = (4 + 1e-4) / 2, s = (v_a + v_b) / 2
    v_b = (4 + 1e-4) / 2
    s = (1 + v_b) / 2
    db_sph = 25 / (8 * s) + 0.5 * (math.log(s) - 0.5 * math.log(1) - 0.5 * math.log(v_b))
    assert gbc(X, y) == pytest.approx(-2 * math.exp(-db_sph), rel=1e-12)


@pytest.mark.parametrize("gaussian_type", ["spherical", "diagonal"])
def test_matches_pairwise_definition(gaussian_type, monkeypatch):
    rng = np.random.default_rng(3)
    C, D = 7, 5
    y = rng.integers(0, C, size=140)
    X = rng.normal(size=(C, D))[y] * 1.5 + rng.normal(size=(140, D)) * rng.uniform(
        0.3, 2.0, size=D)
    expected = _gbc_by_pairs(X, y, gaussian_type)
    assert gbc(X, y, gaussian_type=gaussian_type) == pytest.approx(expected, rel=1e-10)
    # Force several class chunks in the diagonal path: same result.
    monkeypatch.setattr(gbc_module, "_CHUNK_ELEMENTS", 2 * C * D)
    assert gbc(X, y, gaussian_type=gaussian_type) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("gaussian_type", ["spherical", "diagonal"])
def test_separated_beats_identical(gaussian_type):
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 30)
    noise = rng.normal(size=(90, 4))
    separated = noise + 6.0 * np.eye(3, 4)[y]
    identical = noise
    assert gbc(separated, y, gaussian_type=gaussian_type) > gbc(
        identical, y, gaussian_type=gaussian_type)
    assert -6 <= gbc(separated, y, gaussian_type=gaussian_type) <= 0


def test_constant_feature_uses_variance_floor():
    X = np.array([[1.0, 5.0], [1.0, 5.0], [3.0, 5.0], [3.0, 5.0]])
    y = [0, 0, 1, 1]
    # Every class has zero variance: all variances floored to 1e-4, so
    # DB = (1/8) * 2^2 / 1e-4 = 5000 and exp(-DB) underflows to 0.
    assert gbc(X, y, gaussian_type="diagonal") == 0.0


def test_bad_inputs():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="gaussian_type"):
        gbc(X, [0, 0, 1, 1], gaussian_type="full")
    with pytest.raises(ValueError, match="class"):
        gbc(X, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="NaN"):
        gbc(np.array([[np.nan, 0], [0, 0], [1, 1], [1, 1]]), [0, 0, 1, 1])


def test_does_not_mutate_input():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    before = X.copy()
    gbc(X, np.repeat([0, 1, 2], 10), gaussian_type="diagonal")
    np.testing.assert_array_equal(X, before)
