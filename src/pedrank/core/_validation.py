"""Shared input validation for every metric, PED and the public entry points.

Every public function funnels its inputs through here so that all of them
accept the same inputs, compute in float64, never mutate the caller's arrays
and fail with the same actionable ``ValueError`` messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelEncoding:
    """Labels remapped to ``0..C-1``.

    Attributes
    ----------
    codes : ndarray of int64, shape (N,)
        Label of each sample as an index into ``classes``.
    classes : ndarray, shape (C,)
        The distinct original labels, sorted.
    counts : ndarray of int64, shape (C,)
        Number of samples per class.
    """

    codes: np.ndarray
    classes: np.ndarray
    counts: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])


def check_matrix(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a validated 2-D real array, keeping its dtype when it is numeric.

    The checks of :func:`as_float_matrix` without the float64 conversion, so a
    caller that only needs some rows (a subsample) converts just those: a
    50000 x 2048 float32 feature file would otherwise cost 800 MB of float64
    before a metric even starts. Bool, integer and float arrays come back
    without a copy; anything else is converted to float64.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, is not numeric, or holds NaN/inf.
    """
    try:
        arr = np.asarray(X)
        if arr.dtype.kind == "c" or (arr.dtype == object and _holds_complex(arr)):
            raise ValueError(
                f"{name} is complex-valued; pedrank scores real features. Pass the real part "
                "(X.real) or the magnitude (abs(X)) if that is what the model's features mean."
            )
        if arr.dtype.kind not in "biuf":
            arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if "complex-valued" in str(exc):
            raise
        raise ValueError(f"{name} must be a numeric array; could not convert it: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features); got shape {arr.shape}. "
            "Reshape a single feature with X.reshape(-1, 1)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {arr.shape}); pass at least one sample and feature."
        )
    # A finite float64 sum proves every entry finite (NaN and inf propagate)
    # without the N x D boolean temporary of isfinite(); only a sum that
    # overflows (entries near 1e308) needs the element-wise check.
    if arr.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            finite_sum = bool(np.isfinite(arr.sum(dtype=np.float64)))
        if not (finite_sum or np.isfinite(arr).all()):
            bad = int(np.count_nonzero(~np.isfinite(arr).all(axis=1)))
            raise ValueError(
                f"{name} contains NaN or infinite values in {bad} row(s); "
                "drop or impute those samples before scoring."
            )
        if arr.dtype.itemsize > 8:
            _check_fits_float64(arr, name)
    return arr


def _holds_complex(arr: np.ndarray) -> bool:
    """Whether an object array holds Python/numpy complex numbers (numpy would drop the
    imaginary part with only a ComplexWarning)."""
    return any(isinstance(v, complex | np.complexfloating) for v in arr.flat)


def _check_fits_float64(arr: np.ndarray, name: str) -> None:
    """Refuse extended-precision values that overflow float64 (they would become inf)."""
    big = np.finfo(np.float64).max
    if np.any(np.abs(arr) > big):
        rows = int(np.count_nonzero((np.abs(arr) > big).any(axis=1)))
        raise ValueError(
            f"{name} holds {arr.dtype} values beyond the float64 range (|x| > 1.8e308) in "
            f"{rows} row(s); pedrank computes in float64. Rescale the features first "
            "(e.g. X / abs(X).max())."
        )


def as_float_matrix(X: Any, name: str = "X", *, copy: bool = True) -> np.ndarray:
    """Return ``X`` as a finite 2-D float64 array (a copy unless ``copy=False``).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, is not numeric, or holds NaN/inf.
    """
    arr = check_matrix(X, name)
    if copy:
        return np.array(arr, dtype=np.float64, copy=True)
    return np.asarray(arr, dtype=np.float64)


def check_int(value: Any, name: str, *, minimum: int = 1, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= ``minimum`` (or None if allowed).

    Integral floats (``5.0``) pass, as they always have for the metrics'
    size parameters; ``1.5``, strings and None (unless allowed) do not.
    """
    if allow_none and value is None:
        return
    try:
        ok = int(value) == value and value >= minimum
    except (TypeError, ValueError):
        ok = False
    if not ok:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {'None or ' if allow_none else ''}{what}; "
                         f"got {value!r}")


def encode_labels(y: Any, n_samples: int | None = None, *, min_classes: int = 2,
                  name: str = "y", allow_continuous: bool = False) -> LabelEncoding:
    """Remap arbitrary hashable labels to ``0..C-1``.

    Parameters
    ----------
    y : array-like, shape (N,)
        Labels of any sortable type (ints, strings, ...).
    n_samples : int, optional
        Expected length (the number of feature rows).
    min_classes : int
        Minimum number of distinct classes required.
    allow_continuous : bool
        Accept non-integral float labels with more distinct values than half
        the samples (by default refused as continuous targets, with a hint to
        use ``task="regression"``); for loaders that also serve regression
        targets. Integral floats (``0.0, 1.0, ...``) are class ids either way.

    Raises
    ------
    ValueError
        Wrong shape or length, NaN/None labels, labels mixing types (``1`` and
        ``'1'``), continuous float labels, or fewer than ``min_classes`` classes.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels; got shape {arr.shape}.")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} labels but X has {n_samples} rows; "
            "features and labels must describe the same samples in the same order."
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite labels; remove those samples.")
    if arr.dtype == object:
        if any(v is None for v in arr):
            raise ValueError(f"{name} contains None labels; remove those samples.")
        _check_one_label_type(arr.tolist(), name)
    elif isinstance(y, list | tuple):
        # numpy turns [1, '1', 2] into strings (merging 1 and '1') and [True, 1] into ints.
        _check_one_label_type(y, name)
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} holds complex numbers; labels must be classes (ints, "
                         "strings) or, for regression, real numbers.")
    try:
        classes, codes, counts = np.unique(arr, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise ValueError(f"{name} labels must be mutually comparable (sortable): {exc}") from None
    if (not allow_continuous and arr.dtype.kind == "f" and classes.shape[0] > arr.shape[0] / 2
            and not np.array_equal(classes, np.round(classes))):
        raise ValueError(
            f"{name} looks like continuous targets ({classes.shape[0]} distinct float values "
            f"for {arr.shape[0]} samples), not class labels: a classification metric would "
            "treat every value as its own class. For real-valued targets use "
            "task=\"regression\" (CLI: --task regression) with a metric that supports it "
            "(logme); for classes pass integer or string labels."
        )
    if classes.shape[0] < min_classes:
        raise ValueError(
            f"{name} has {classes.shape[0]} distinct class(es); at least {min_classes} are needed "
            "to measure how well features separate classes."
        )
    return LabelEncoding(codes=codes.reshape(-1).astype(np.int64), classes=classes,
                         counts=counts.astype(np.int64))


def _label_family(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "bool"
    if isinstance(v, int | float | np.integer | np.floating):
        return "number"
    if isinstance(v, str | np.str_):
        return "str"
    if isinstance(v, bytes | np.bytes_):
        return "bytes"
    return type(v).__name__


def _check_one_label_type(values: Any, name: str) -> None:
    """Refuse labels that mix kinds (1 and '1'): merged or split silently otherwise."""
    try:
        families = {_label_family(v) for v in values}
    except TypeError:
        return
    if len(families) > 1:
        raise ValueError(
            f"{name} mixes label types ({', '.join(sorted(families))}); e.g. 1 and '1' would "
            "be merged into one class or split into two depending on conversion. Convert all "
            "labels to one type first (e.g. [str(v) for v in y])."
        )


def check_features_labels(X: Any, y: Any, *, min_classes: int = 2,
                          copy: bool = True) -> tuple[np.ndarray, LabelEncoding]:
    """Validate a (features, labels) pair; return float64 ``X`` and encoded labels."""
    Xf = as_float_matrix(X, copy=copy)
    enc = encode_labels(y, Xf.shape[0], min_classes=min_classes)
    return Xf, enc


def check_probabilities(P: Any, name: str = "source_probs") -> np.ndarray:
    """Validate a row-stochastic matrix of source-model softmax outputs."""
    arr = as_float_matrix(P, name)
    if (arr < 0).any():
        raise ValueError(f"{name} has negative entries; pass softmax probabilities, not logits.")
    sums = arr.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(
            f"{name} rows must sum to 1 (softmax outputs); got row sums in "
            f"[{sums.min():.4g}, {sums.max():.4g}]. Apply scipy.special.softmax(logits, axis=1)."
        )
    return arr
