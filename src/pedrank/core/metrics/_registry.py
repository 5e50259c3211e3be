"""Registry of transferability metrics.

Each metric module decorates its public function with :func:`register`; the
registry is what :func:`pedrank.score`, :func:`pedrank.rank`, the CLI and the
benchmark runner use to look a metric up by name.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pedrank.core._budget import MemoryBudgetError
from pedrank.core._threads import adaptive_threads
from pedrank.core.metrics._precision import compute_dtype, current, low_precision

MetricInput = Literal["features", "source_probs"]


@dataclass(frozen=True)
class MetricSpec:
    """What pedrank knows about a metric.

    Attributes
    ----------
    name : str
        Registry name (``pedrank.score(..., metric=name)``).
    func : callable
        ``func(X, y, **kwargs) -> float`` for feature metrics,
        ``func(source_probs, y, **kwargs) -> float`` for source-output metrics.
    input : {"features", "source_probs"}
        What the metric consumes. PED can only precede feature metrics.
    reference : str
        Paper reference.
    cost : str
        Big-O time cost.
    supports_device : bool
        Whether ``func`` accepts ``device=`` (PyTorch back end).
    supports_regression : bool
        Whether ``func`` accepts ``task="regression"`` with real-valued targets
        (N,) or (N, K) as ``y`` (LogME; the published forms of the other
        metrics are defined for class labels only).
    supports_dtype : bool
        Whether ``func`` accepts ``dtype="float32"``: its large Gram/scatter products
        computed in float32 (opt-in; see :mod:`pedrank.core.metrics._precision`).
    """

    name: str
    func: Callable[..., float]
    input: MetricInput
    reference: str
    cost: str = ""
    supports_device: bool = False
    supports_regression: bool = False
    supports_dtype: bool = False

    @property
    def ped_composable(self) -> bool:
        return self.input == "features"


_REGISTRY: dict[str, MetricSpec] = {}


MetricFunc = Callable[..., float]


_PACKAGE_DIR = str(Path(__file__).resolve().parents[2])

_DEGENERATE_ADVICE = (
    "the features are probably degenerate for this metric (constant or duplicated rows, "
    "classes that coincide, far fewer samples than dimensions) or of extreme magnitude. "
    "Check the feature extraction, standardise the features (X - X.mean(0)) / X.std(0), "
    "subsample fewer dimensions, or use another metric."
)


def _innermost_file(exc: BaseException) -> str:
    """The source file of the innermost frame of ``exc`` ("" when unknown)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(Path(tb.tb_frame.f_code.co_filename).resolve())


def _raised_by_pedrank(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by pedrank's own code (or by a call with bad arguments)."""
    path = _innermost_file(exc)
    return not path or path.startswith(_PACKAGE_DIR)


def _library(exc: BaseException) -> str:
    """The package whose code raised ``exc`` (numpy, scipy, sklearn, ...)."""
    parts = Path(_innermost_file(exc)).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return parts[parts.index(marker) + 1]
    return type(exc).__module__.split(".")[0]


def _guard(func: MetricFunc, name: str) -> MetricFunc:
    """Wrap a metric so that it returns a finite float or raises a pedrank ``ValueError``.

    Errors raised inside numpy/scipy/scikit-learn ("Eigenvalues did not converge",
    "array must not contain infs or NaNs", "increase reg_covar", ...) are re-raised
    with pedrank's advice (the original stays attached as ``__cause__``); a
    ``MemoryError`` becomes a :class:`~pedrank.core._budget.MemoryBudgetError`; a
    NaN or infinite result becomes a ``ValueError`` instead of reordering a ranking.
    """

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> float:
        try:
            value = func(*args, **kwargs)
        except MemoryBudgetError:
            raise
        except MemoryError as exc:
            raise MemoryBudgetError(
                f"{name}: ran out of memory on this input; subsample the rows (fewer samples), "
                "reduce the feature dimension, or merge rare classes."
            ) from exc
        except (ValueError, ArithmeticError, TypeError, IndexError) as exc:
            if _raised_by_pedrank(exc):
                raise  # pedrank's own message, or a call with bad arguments
            raise ValueError(
                f"{name}: the computation failed inside {_library(exc)} "
                f"({type(exc).__name__}); {_DEGENERATE_ADVICE}"
            ) from exc
        if not np.isfinite(float(value)):
            raise ValueError(f"{name}: the score is {float(value)} on these features; "
                             f"{_DEGENERATE_ADVICE}")
        return value

    guarded._pedrank_guarded = True  # type: ignore[attr-defined]
    return guarded


def _with_dtype(func: MetricFunc, name: str) -> MetricFunc:
    """Add the keyword ``dtype`` ("float64", or "float32") to a metric.

    The metric's large products run in that dtype for the call
    (:func:`pedrank.core.metrics._precision.compute_dtype`); a bad value is a
    ``ValueError`` before any work. ``None`` (the default) is float64, or the dtype
    of an enclosing metric call (``sfda_log`` calls ``sfda``). The PyTorch back end
    has no float32 switch here.
    """

    @functools.wraps(func)
    def call(*args: Any, dtype: Any = None, **kwargs: Any) -> float:
        with compute_dtype(current() if dtype is None else dtype):
            if low_precision() and kwargs.get("device") is not None:
                raise ValueError(f"{name}: dtype='float32' runs on the numpy path only; "
                                 "drop device= or use dtype='float64'.")
            return func(*args, **kwargs)

    sig = inspect.signature(inspect.unwrap(func))
    if "dtype" not in sig.parameters:
        params = list(sig.parameters.values())
        extra = inspect.Parameter("dtype", inspect.Parameter.KEYWORD_ONLY, default=None,
                                  annotation="str | None")
        at = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
        call.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=params[:at] + [extra] + params[at:])
    call._pedrank_guarded = True  # type: ignore[attr-defined]
    return call


def register(name: str, *, input: MetricInput = "features", reference: str, cost: str = "",
             supports_device: bool = False, supports_regression: bool = False,
             supports_dtype: bool = False) -> Callable[[MetricFunc], MetricFunc]:
    """Class-free decorator registering a metric function under ``name``.

    The function is returned wrapped by a guard: a finite float or a pedrank
    ``ValueError`` (see :func:`_guard`), whether it is called through the registry
    or imported directly. With ``supports_dtype`` it also takes ``dtype=``
    (:func:`_with_dtype`).
    """

    def deco(func: Callable[..., float]) -> Callable[..., float]:
        guarded = func if getattr(func, "_pedrank_guarded", False) else _guard(func, name)
        if supports_dtype and not getattr(func, "_pedrank_guarded", False):
            guarded = _with_dtype(guarded, name)
        if name in _REGISTRY:
            if inspect.unwrap(_REGISTRY[name].func) is not inspect.unwrap(guarded):
                raise RuntimeError(f"metric {name!r} registered twice")
            return _REGISTRY[name].func
        # Thread policy of every metric (pedrank.core._threads): BLAS pools lowered
        # to the free cores, so a busy machine never makes a call slower than one thread.
        wrapped = adaptive_threads(guarded)
        _REGISTRY[name] = MetricSpec(name, wrapped, input, reference, cost, supports_device,
                                     supports_regression, supports_dtype)
        return wrapped

    return deco


def get_metric(name: str) -> MetricSpec:
    """Look up a metric by (case-insensitive) name; ``ValueError`` lists the known ones."""
    key = str(name).lower().replace("-", "_")
    aliases = {"h_score": "hscore", "reg_hscore": "regularized_hscore",
               "n_leep": "nleep"}
    key = aliases.get(key, key)
    if key not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown metric {name!r}; choose one of: {known}")
    return _REGISTRY[key]


def available_metrics() -> list[MetricSpec]:
    """All registered metrics, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
