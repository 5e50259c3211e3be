"""Benchmark grids: models x datasets x metrics x PED settings, resumable and parallel.

* :mod:`~pedrank.bench.config` — the grid (TOML/YAML or flags);
* :mod:`~pedrank.bench.store` — crash-safe SQLite result store keyed by content hash;
* :mod:`~pedrank.bench.runner` — planning and execution (joblib processes or Dask);
* :mod:`~pedrank.bench.report` / :mod:`~pedrank.bench.plots` — paper-style report;
* :mod:`~pedrank.bench.reproduce` — the PED paper's experiment vs. its published table.

Used by the ``pedrank bench`` and ``pedrank reproduce`` commands.
"""

from pedrank.bench.config import BenchConfig, PedVariant, config_from_mapping, load_config
from pedrank.bench.report import write_report
from pedrank.bench.reproduce import load_published
from pedrank.bench.runner import RunSummary, plan_grid, run_bench
from pedrank.bench.store import ResultStore

__all__ = [
    "BenchConfig",
    "PedVariant",
    "ResultStore",
    "RunSummary",
    "config_from_mapping",
    "load_config",
    "load_published",
    "plan_grid",
    "run_bench",
    "write_report",
]
