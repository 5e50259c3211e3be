from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedrank.core.metrics import sfda
from pedrank.core.metrics._lda import largest_eigenvalue as _largest_eigenvalue


def test_never_mutates_caller_features():
    """Regression: the reference SFDA overwrites X in place during self-challenging."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    X = rng.normal(size=(90, 5)) + y[:, None]
    before = X.copy()
    sfda(X, y)
    np.testing.assert_array_equal(X, before)


def test_saturates_at_one_on_separated_data_and_ties_are_reported():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    X = rng.normal(scale=0.01, size=(80, 3)) + 100 * y[:, None]
    assert sfda(X, y) == 1.0
    assert sfda(X * 2, y) == 1.0


def test_separated_beats_identical():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 50)
    sep = rng.normal(size=(100, 4)) + 3 * y[:, None]
    same = rng.normal(size=(100, 4))
    assert sfda(sep, y) > sfda(same, y)


def test_power_iteration_estimate_close_to_exact():
    # A dominant eigenvalue (gap 10:1): three rounds from the row sums are enough.
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    A = Q @ np.diag(np.r_[10.0, rng.uniform(0.1, 1.0, 29)]) @ Q.T
    assert _largest_eigenvalue(A) == pytest.approx(10.0, rel=1e-3)


def test_constant_classes_rejected():
    X = np.repeat([[1.0, 2.0], [3.0, 4.0]], 5, axis=0)
    y = np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match="within-class variation"):
        sfda(X, y)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_property_order_and_renaming(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=45)
    y[:3] = [0, 1, 2]
    X = rng.normal(size=(45, 4)) + 0.7 * y[:, None]
    base = sfda(X, y)
    perm = rng.permutation(45)
    assert sfda(X[perm], y[perm]) == pytest.approx(base, rel=1e-9)
    assert sfda(X, np.array([9, -1, 4])[y]) == pytest.approx(base, rel=1e-9)
    assert 0.0 < base <= 1.0


def test_in_place_mixing_of_own_copy_changes_nothing_visible():
    """SFDA mixes its own float64 conversion in place (float32 / list input) and a
    new array for a caller's float64 array: same score, caller's arrays untouched."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 5, size=300)
    X64 = 0.5 * rng.normal(size=(5, 12))[y] + rng.normal(size=(300, 12))
    X32 = X64.astype(np.float32)
    kept64, kept32 = X64.copy(), X32.copy()
    expected = sfda(X32.astype(np.float64), y)
    assert sfda(X32, y) == expected
    assert sfda(X32.astype(np.float64).tolist(), y) == expected
    assert sfda(np.asfortranarray(X32.astype(np.float64)), y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(X64, kept64)
    np.testing.assert_array_equal(X32, kept32)
    view = X64[::2]  # a strided view of the caller's array: never written either
    sfda(view, y[::2])
    np.testing.assert_array_equal(X64, kept64)

    class Wrapper:  # an array-like exposing the caller's own float64 buffer
        def __array__(self, dtype=None, copy=None):
            return X64

    assert sfda(Wrapper(), y) == pytest.approx(sfda(kept64, y), rel=1e-12)
    np.testing.assert_array_equal(X64, kept64)
