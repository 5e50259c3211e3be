"""``pedrank bench [CONFIG]``: run a models x datasets x metrics x PED grid and report it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pedrank.cli import CLIError, CLIFailure
from pedrank.cli._common import MAX_JOBS, number, out_dir, ped_param


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="benchmark metrics (with/without PED) over models x datasets",
        description="Score every model x dataset x metric, with and without PED, against "
                    "ground truth. Resumable: finished cells are kept in RESULTS/results.sqlite "
                    "and skipped on a rerun. Writes RESULTS/report.md, report.html, cells.csv "
                    "and PNG plots. Flags override the CONFIG file (TOML or YAML).")
    p.add_argument("config", nargs="?", type=Path, default=None,
                   help="TOML/YAML configuration (see the README's 'Benchmarks' section)")
    g = p.add_argument_group("grid")
    g.add_argument("--features", type=Path, help="directory of feature files")
    g.add_argument("--pattern", help="feature file name pattern (default {model}_{dataset}.npz)")
    g.add_argument("--source-pattern",
                   help="per-model source statistics file, e.g. {model}_source.npz, used "
                        "when a feature file has no source_mean/source_std")
    g.add_argument("--models", help="comma-separated model names (default: discovered)")
    g.add_argument("--datasets", help="comma-separated dataset names (default: discovered)")
    g.add_argument("--metrics", help="comma-separated metric names (default: logme,sfda)")
    g.add_argument("--groundtruth", "--gt",
                   help="ground-truth table name (self_supervised, supervised) or JSON path")
    g.add_argument("--no-ped", action="store_true", help="only the metrics without PED")
    g.add_argument("--no-baseline", action="store_true", help="only the PED variants")
    g.add_argument("--ped-param", action="append", type=ped_param, default=[],
                   metavar="NAME=VALUE",
                   help="PED hyper-parameter of the (single) PED variant, e.g. nsigma=0.6; "
                        "repeatable")
    r = p.add_argument_group("execution")
    r.add_argument("--results", type=out_dir, help="results folder (default bench-results)")
    r.add_argument("--jobs", "-j", type=number(int, lo=1, hi=MAX_JOBS),
                   help="parallel workers (default 1)")
    r.add_argument("--scheduler",
                   help="run on Dask: tcp://host:port of a dask.distributed scheduler, or "
                        "'local' for a LocalCluster of --jobs workers")
    r.add_argument("--scheduler-timeout", type=number(float, lo=0, hi=86400, lo_open=True),
                   metavar="SECONDS",
                   help="how long to wait for the Dask scheduler to answer and for a live "
                        "worker (default 30)")
    r.add_argument("--blas-threads", type=number(int, lo=1, hi=MAX_JOBS),
                   help="BLAS threads per worker (default: cores // jobs)")
    r.add_argument("--retry-failed", action="store_true",
                   help="recompute cells that failed in an earlier run")
    r.add_argument("--report-only", action="store_true",
                   help="do not compute; rewrite the report from the store")
    r.add_argument("--no-report", action="store_true", help="do not write the report")
    r.add_argument("--no-plots", action="store_true", help="report without PNG plots")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Any:
    from pedrank.pipeline.bench.config import (
        BenchConfig,
        PedVariant,
        config_from_mapping,
        load_config,
    )

    cfg = load_config(args.config) if args.config is not None else None
    data: dict[str, Any] = {}
    for key in ("features", "pattern", "source_pattern", "models", "datasets", "metrics",
                "groundtruth", "results", "jobs", "scheduler", "scheduler_timeout",
                "blas_threads"):
        val = getattr(args, key)
        if val is not None:
            data[key] = str(val) if isinstance(val, Path) else val
    if args.retry_failed:
        data["retry_failed"] = True
    if args.no_baseline:
        data["baseline"] = False
    # Flags are relative to the current directory, not to the config file.
    flags = config_from_mapping(data) if data else None
    if cfg is None:
        if flags is None or flags.features is None:
            raise CLIError("give a CONFIG file or at least --features DIR")
        cfg = flags
    elif flags is not None:
        for key in data:
            setattr(cfg, key, getattr(flags, key))
    if args.no_ped:
        cfg.ped = []
    if args.ped_param:
        if len(cfg.ped) > 1:
            raise CLIError("--ped-param is ambiguous with several [[ped]] variants in CONFIG")
        base = cfg.ped[0] if cfg.ped else PedVariant()
        cfg.ped = [PedVariant(base.name, {**base.params, **dict(args.ped_param)})]
    cfg.__post_init__()  # re-validate after the overrides
    assert isinstance(cfg, BenchConfig)
    return cfg


def run(args: argparse.Namespace) -> int:
    from pedrank.cli._progress import bar_factory
    from pedrank.pipeline.bench.runner import NoWorkerError, run_bench
    from pedrank.reports.bench_report import write_report

    cfg = build_config(args)
    n_failed = 0
    if not args.report_only:
        try:
            summary = run_bench(cfg, progress=bar_factory(not args.no_progress))
        except NoWorkerError as exc:
            raise CLIFailure(str(exc)) from None
        n_failed = summary.failed
        if summary.died_runs:
            print(f"pedrank bench: earlier run(s) {', '.join(map(str, summary.died_runs))} "
                  "had died (process gone); marked 'died', their unfinished cells run now",
                  file=sys.stderr)
        print(f"pedrank bench: {summary.n_cells} cells: {summary.skipped} already done, "
              f"{summary.computed} computed ({summary.failed} failed), "
              f"{summary.missing_inputs} without input file; {summary.wall_seconds:.2f} s "
              f"[{summary.executor}]")
        if summary.taken:
            print(f"pedrank bench: {summary.taken} cell(s) were finished or claimed by another "
                  "run on this store; not computed twice")
        if summary.changed:
            print(f"pedrank bench: {summary.changed} cell(s) had results for other inputs or "
                  "parameters; recomputed under new keys (earlier rows kept in the store)")
        for res in summary.failures[:10]:
            print(f"  failed: {res.model} / {res.dataset} / {res.metric} [{res.variant}]: "
                  f"{res.error}", file=sys.stderr)
        if len(summary.failures) > 10:
            print(f"  ... and {len(summary.failures) - 10} more (see the report)",
                  file=sys.stderr)
    if not args.no_report:
        files = write_report(cfg, plots=not args.no_plots)
        table = files.results.tables.get("weighted_tau")
        if table is not None:
            print("\nWeighted Kendall tau (bold = best per dataset):\n")
            print(table.to_markdown())
        print(f"\nreport: {files.markdown}  {files.html}")
        if files.results.missing:
            print(f"{len(files.results.missing)} cell(s) missing or failed: see the report")
    # Exit 1 when cells failed in this run, so scripts notice; the report is written anyway.
    return 1 if n_failed else 0
