"""Shared input validation (``pedrank.core._validation``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pedrank.core._validation import as_float_matrix, check_matrix


def test_check_matrix_keeps_numeric_dtype_without_copy():
    X = np.ones((4, 3), dtype=np.float32)
    assert check_matrix(X) is X
    ints = np.arange(6).reshape(3, 2)
    assert check_matrix(ints) is ints
    assert check_matrix([[1, 2], [3, 4]]).shape == (2, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected_with_row_count(dtype, bad):
    X = np.zeros((5, 3), dtype=dtype)
    X[1, 2] = bad
    X[3, 0] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 row\(s\)"):
        check_matrix(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        as_float_matrix(X)


def test_huge_finite_values_pass_although_their_sum_overflows():
    """Regression: finiteness is proven by a float64 sum; an overflowing sum of
    finite values must fall back to the element-wise check, not fail."""
    X = np.full((3, 2), 1e308)
    assert check_matrix(X) is X
    np.testing.assert_array_equal(as_float_matrix(X), X)


@pytest.mark.parametrize("bad, match", [
    (np.zeros(3), "2-D"),
    (np.zeros((0, 3)), "empty"),
    ([["a", "b"], ["c", "d"]], "numeric"),
])
def test_bad_shapes_and_types(bad, match):
    with pytest.raises(ValueError, match=match):
        check_matrix(bad)


def test_as_float_matrix_copies_unless_asked_not_to():
    X = np.ones((2, 2))
    assert as_float_matrix(X) is not X
    assert as_float_matrix(X, copy=False) is X
    assert as_float_matrix(X.astype(np.float32)).dtype == np.float64


def test_check_int_messages_and_bounds():
    from pedrank.core._validation import check_int

    check_int(3, "k")
    check_int(5.0, "k")  # integral floats pass, as before
    check_int(None, "n", minimum=2, allow_none=True)
    for bad, kwargs, message in [
        (0, {}, "k must be a positive integer; got 0"),
        (1.5, {}, "k must be a positive integer; got 1.5"),
        ("3", {}, "k must be a positive integer; got '3'"),
        (None, {}, "k must be a positive integer; got None"),
        (2, {"minimum": 3}, "k must be an integer >= 3; got 2"),
        (1, {"minimum": 2, "allow_none": True}, "k must be None or an integer >= 2; got 1"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_int(bad, "k", **kwargs)


def test_complex_features_are_refused_not_truncated():
    """Regression (issue 12 item 5): complex input was accepted with a ComplexWarning."""
    with pytest.raises(ValueError, match="complex-valued"):
        check_matrix(np.ones((3, 2)) + 1j)
    with pytest.raises(ValueError, match="complex-valued"):
        check_matrix(np.array([[1 + 2j, 2.0]], dtype=object))


def test_long_double_beyond_float64_is_refused():
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("long double is float64 on this platform")
    X = np.ones((3, 2), dtype=np.longdouble)
    X[1, 1] = np.longdouble(10) ** 400
    with pytest.raises(ValueError, match=r"float64 range .* in 1 row"):
        check_matrix(X)
    ok = np.ones((3, 2), dtype=np.longdouble) * 1e300
    assert np.isfinite(as_float_matrix(ok)).all()


@pytest.mark.parametrize("labels", [[1, "1", 2, "2"],
                                    np.array([1, "1", 2, "2"], dtype=object),
                                    [True, 1, 0, False]])
def test_mixed_label_types_are_refused(labels):
    """Regression: [1, '1', 2, '2'] silently became 2 classes."""
    from pedrank.core._validation import encode_labels

    with pytest.raises(ValueError, match="mixes label types"):
        encode_labels(labels)


def test_continuous_float_labels_are_refused_unless_allowed():
    from pedrank.core._validation import encode_labels

    y = np.linspace(0, 1, 20)
    with pytest.raises(ValueError, match=r'task="regression".*--task regression'):
        encode_labels(y)
    assert encode_labels(y, allow_continuous=True).n_classes == 20
    assert encode_labels(np.arange(20) % 4 * 1.0).n_classes == 4  # integral class ids
    assert encode_labels(["a", "b", "a"]).n_classes == 2
    assert encode_labels([1, 2.0, 1]).n_classes == 2  # numbers of two Python types are fine
