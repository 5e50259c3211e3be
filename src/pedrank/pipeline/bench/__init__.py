"""Benchmark grids: models x datasets x metrics x PED settings, resumable and parallel.

* :mod:`~pedrank.pipeline.bench.config` — the grid (TOML/YAML or flags);
* :mod:`~pedrank.pipeline.bench.store` — crash-safe SQLite result store keyed by content hash;
* :mod:`~pedrank.pipeline.bench.runner` — planning and execution (joblib processes or Dask);

Reports of a grid live in :mod:`pedrank.reports`. Used by ``pedrank bench`` and
``pedrank reproduce``.
"""

from pedrank.pipeline.bench.config import BenchConfig, PedVariant, config_from_mapping, load_config
from pedrank.pipeline.bench.runner import RunSummary, plan_grid, run_bench
from pedrank.pipeline.bench.store import ResultStore

__all__ = [
    "BenchConfig",
    "PedVariant",
    "ResultStore",
    "RunSummary",
    "config_from_mapping",
    "load_config",
    "plan_grid",
    "run_bench",
]
