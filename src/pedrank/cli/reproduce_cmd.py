"""``pedrank reproduce --features DIR``: the PED paper's table vs. the published one."""

from __future__ import annotations

import argparse
from pathlib import Path

from pedrank._fs import atomic_write_text
from pedrank.cli import CLIFailure
from pedrank.cli._common import MAX_JOBS, number, out_dir, ped_param


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce", help="rerun the PED paper's experiment and compare with its table",
        description="Run LogME/SFDA/GBC/N-LEEP/PARC with and without PED on the 12 "
                    "self-supervised models x 11 datasets of the PED paper (ICCV 2023) from "
                    "DIR/{model}_{dataset}.npz feature files, and print the weighted Kendall "
                    "tau next to the published values with the difference per cell. Source "
                    "statistics come from each feature file (source_mean/source_std) or from "
                    "DIR/{model}_source.npz or DIR/source/{model}.npz. Resumable like "
                    "`pedrank bench`.")
    p.add_argument("--features", type=Path, required=True,
                   help="directory of {model}_{dataset}.npz feature files")
    p.add_argument("--source-pattern", default=None,
                   help="per-model source statistics file relative to DIR "
                        "(default: autodetect {model}_source.npz or source/{model}.npz)")
    p.add_argument("--results", type=out_dir, default=None,
                   help="results folder (default DIR/pedrank-reproduce)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated subset of logme,sfda,gbc,nleep,parc")
    p.add_argument("--groundtruth", "--gt", default="self_supervised",
                   help="ground-truth table name or JSON path (default self_supervised)")
    p.add_argument("--ped-param", action="append", type=ped_param, default=[],
                   metavar="NAME=VALUE",
                   help="PED hyper-parameter (default: the paper's), repeatable")
    p.add_argument("--jobs", "-j", type=number(int, lo=1, hi=MAX_JOBS), default=1,
                   help="parallel workers (default 1)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address or 'local'")
    p.add_argument("--no-plots", action="store_true", help="report without PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pedrank.cli._progress import bar_factory
    from pedrank.pipeline.bench.runner import NoWorkerError, run_bench
    from pedrank.reports.bench_report import write_report
    from pedrank.reports.reproduce import comparison_from_store, reproduce_config

    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    cfg, skipped = reproduce_config(
        args.features, results=args.results, metrics=metrics, groundtruth=args.groundtruth,
        source=args.source_pattern, jobs=args.jobs, scheduler=args.scheduler,
        ped_params=dict(args.ped_param))
    try:
        summary = run_bench(cfg, progress=bar_factory(not args.no_progress))
    except NoWorkerError as exc:
        raise CLIFailure(str(exc)) from None
    files = write_report(cfg, plots=not args.no_plots)
    cmp = comparison_from_store(cfg, skipped)
    print(f"PED paper reproduction: {cmp.n_models} models x {cmp.n_datasets} datasets found in "
          f"{args.features}; {summary.computed} cells computed, {summary.skipped} reused, "
          f"{summary.failed} failed.")
    if skipped:
        print(f"metrics not available in this installation (left out): {', '.join(skipped)}")
    print()
    print(cmp.to_markdown())
    text = cmp.to_markdown()
    out = cfg.results / "reproduce.md"
    atomic_write_text(out, "# PED paper reproduction\n\n" + text + "\n")
    print(f"comparison: {out}; full report: {files.markdown}")
    if files.results.missing:
        print(f"{len(files.results.missing)} cell(s) missing or failed: see the report")
    return 1 if summary.failed else 0
