"""Benchmark grids: models x datasets x metrics x PED settings, resumable and parallel.

* :mod:`~pedrank.pipeline.bench.config` — the grid (TOML/YAML or flags);
* :mod:`~pedrank.pipeline.bench.store` — crash-safe SQLite result store keyed by content hash;
* :mod:`~pedrank.pipeline.bench.runner` — planning and execution (joblib processes or Dask);

Reports of a grid live in :mod:`pedrank.reports`. Used by ``pedrank bench`` and
``pedrank reproduce``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first access, so that reading a grid's config (the CLI's option types)
# does not import the metrics (scikit-learn) or the store.
_EXPORTS: dict[str, str] = {
    "BenchConfig": "config",
    "PedVariant": "config",
    "config_from_mapping": "config",
    "load_config": "config",
    "RunSummary": "runner",
    "plan_grid": "runner",
    "run_bench": "runner",
    "ResultStore": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
