"""Opt-in float32 compute for the Gram-based metrics (issue 14, item 5).

The metrics validate and convert their input exactly as before (float64), and
every ``N x D``-sized product that dominates their cost -- the ``D x D`` Gram
or scatter matrix, its ``N x N`` dual, the PCA covariance -- goes through
:func:`gram` / :func:`cross`. With the default ``dtype="float64"`` those are
the plain float64 products (bit-identical to writing ``A.T @ A``). With
``dtype="float32"`` the operands are rounded to float32 and multiplied by the
float32 BLAS kernel (about twice the flops per second, half the memory
traffic), and the result is returned **as float64**: every factorisation,
eigendecomposition, fixed point, log and exponential after it stays in
float64. So float32 only adds the rounding of the inputs (relative 6e-8 per
entry; none for float32 feature files) and the float32 accumulation of the
products (about ``sqrt(N)`` ulps); the measured effect on the scores is in
``docs/performance.md``.

The metrics keep their float64 numerical-rank cut-offs (``max(N, D) * 2.2e-16``
of the largest eigenvalue) under float32. Measured on the project's real
features: raising them to float32's epsilon dropped genuine small directions
and moved LogME by 30%, TransRate by 14-16% and H-score by 6%, while with the
float64 cut-offs the same scores moved by at most a few 1e-7.

The compute dtype is a context variable set by the metric registry for the
duration of one metric call (``metric(X, y, dtype="float32")``), so the
helpers deep in a metric need no extra argument.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Accepted spellings of the compute dtype.
DTYPES = ("float64", "float32")

_COMPUTE: contextvars.ContextVar[type] = contextvars.ContextVar("pedrank_compute_dtype",
                                                               default=np.float64)


def check_dtype(dtype: Any) -> type:
    """``np.float64`` or ``np.float32`` for ``dtype``; ``ValueError`` for anything else.

    Accepts the strings ``"float64"`` / ``"float32"`` and the numpy types.
    """
    if dtype is None:
        return np.float64
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is not None and dt.type in (np.float64, np.float32) and \
            (not isinstance(dtype, str) or dtype in DTYPES):
        return dt.type
    raise ValueError(f"dtype must be 'float64' (the default) or 'float32'; got {dtype!r}.")


@contextlib.contextmanager
def compute_dtype(dtype: Any) -> Iterator[type]:
    """Run the enclosed metric code with :func:`gram` / :func:`cross` in ``dtype``."""
    token = _COMPUTE.set(check_dtype(dtype))
    try:
        yield _COMPUTE.get()
    finally:
        _COMPUTE.reset(token)


def current() -> type:
    """The compute dtype in effect (``np.float64`` unless a float32 call is running)."""
    return _COMPUTE.get()


def low_precision() -> bool:
    """Whether the current metric call computes its large products in float32."""
    return _COMPUTE.get() is np.float32


def _scaled(A: np.ndarray) -> tuple[np.ndarray, float]:
    """``(A * 2^-e).astype(compute dtype)`` and ``2^e`` with ``max|A| * 2^-e`` in [0.5, 1).

    The power of two is exact, so float32's narrower range (1e-38..3e38) never
    overflows or underflows a product of features that are finite in float64.
    """
    m = float(np.max(np.abs(A))) if A.size else 0.0
    if not m > 0.0:
        return A.astype(_COMPUTE.get()), 1.0
    scale = float(np.ldexp(1.0, int(np.frexp(m)[1])))
    out = np.empty(A.shape, dtype=_COMPUTE.get())
    np.multiply(A, 1.0 / scale, out=out, casting="same_kind")
    return out, scale


def cross(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A^T B`` in the compute dtype, returned as float64."""
    if not low_precision():
        return A.T @ B
    (A32, a), (B32, b) = _scaled(A), _scaled(B)
    return (A32.T @ B32).astype(np.float64) * (a * b)


def gram(A: np.ndarray, *, rows: bool = False) -> np.ndarray:
    """``A^T A`` (or ``A A^T`` with ``rows=True``) in the compute dtype, as float64."""
    if not low_precision():
        return A @ A.T if rows else A.T @ A
    A32, a = _scaled(A)
    G = A32 @ A32.T if rows else A32.T @ A32
    return G.astype(np.float64) * (a * a)


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` in the compute dtype, as float64 (for ``N x D`` times ``D x k`` products)."""
    if not low_precision():
        return A @ B
    (A32, a), (B32, b) = _scaled(A), _scaled(B)
    return (A32 @ B32).astype(np.float64) * (a * b)
