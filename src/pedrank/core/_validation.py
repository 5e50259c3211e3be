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
        if arr.dtype.kind not in "biuf":
            arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
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
    return arr


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
                  name: str = "y") -> LabelEncoding:
    """Remap arbitrary hashable labels to ``0..C-1``.

    Parameters
    ----------
    y : array-like, shape (N,)
        Labels of any sortable type (ints, strings, ...).
    n_samples : int, optional
        Expected length (the number of feature rows).
    min_classes : int
        Minimum number of distinct classes required.
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
    try:
        classes, codes, counts = np.unique(arr, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise ValueError(f"{name} labels must be mutually comparable (sortable): {exc}") from None
    if classes.shape[0] < min_classes:
        raise ValueError(
            f"{name} has {classes.shape[0]} distinct class(es); at least {min_classes} are needed "
            "to measure how well features separate classes."
        )
    return LabelEncoding(codes=codes.reshape(-1).astype(np.int64), classes=classes,
                         counts=counts.astype(np.int64))


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
