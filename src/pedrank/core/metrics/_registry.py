"""Registry of transferability metrics.

Each metric module decorates its public function with :func:`register`; the
registry is what :func:`pedrank.score`, :func:`pedrank.rank`, the CLI and the
benchmark runner use to look a metric up by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pedrank.core._threads import adaptive_threads

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
    """

    name: str
    func: Callable[..., float]
    input: MetricInput
    reference: str
    cost: str = ""
    supports_device: bool = False

    @property
    def ped_composable(self) -> bool:
        return self.input == "features"


_REGISTRY: dict[str, MetricSpec] = {}


MetricFunc = Callable[..., float]


def register(name: str, *, input: MetricInput = "features", reference: str, cost: str = "",
             supports_device: bool = False) -> Callable[[MetricFunc], MetricFunc]:
    """Class-free decorator registering a metric function under ``name``."""

    def deco(func: Callable[..., float]) -> Callable[..., float]:
        if name in _REGISTRY and getattr(_REGISTRY[name].func, "__wrapped__", None) is not func:
            raise RuntimeError(f"metric {name!r} registered twice")
        if name in _REGISTRY:
            return _REGISTRY[name].func
        # Thread policy of every metric (pedrank.core._threads): BLAS pools lowered
        # to the free cores, so a busy machine never makes a call slower than one thread.
        wrapped = adaptive_threads(func)
        _REGISTRY[name] = MetricSpec(name, wrapped, input, reference, cost, supports_device)
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
