"""``pedrank select DATA --models SPEC ...``: rank your own models on your own data.

A thin layer over :func:`pedrank.pipeline.select.select`: extract features
(cached), source statistics per model, every metric with and without PED, the
ranking and a one-line recommendation that says whether the best model's lead
exceeds the score's sampling noise.

Exit status: 0 every model was scored; 3 some models failed (the others are
ranked and the failed ones listed with their reasons); 1 every model failed;
2 bad input (one line naming the input and the fix).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from pedrank.cli import CLIError
from pedrank.cli._common import (
    MAX_BATCH,
    MAX_IMAGE_SIZE,
    MAX_SEED,
    check_device,
    device,
    number,
    out_dir,
)

EXIT_ALL_FAILED = 1
EXIT_SOME_FAILED = 3

EPILOG = (
    "model specs: a zoo name (e.g. efficientnet-lite0; see docs/models.md), PATH.onnx, TorchScript "
    "PATH.pt/.ts, hf:ID_OR_DIR, timm:NAME, python:MODULE:FUNC. Exit status: 0 all models "
    "scored, 3 some failed (the rest ranked), 1 all failed, 2 bad input."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "select", help="rank your own models on your own data (extract, score, recommend)",
        description="Rank candidate models for fine-tuning on DATA: extract their features "
                    "(cached), score them with and without PED, print the ranking and a "
                    "recommendation with its sampling noise.", epilog=EPILOG)
    p.add_argument("data", help="an image folder (one sub-folder per class), a "
                                ".csv/.tsv/.jsonl/.parquet file, a datasets save_to_disk folder, "
                                "or a built-in dataset name (digits, ...)")
    p.add_argument("--models", nargs="+", required=True, metavar="SPEC", help="model specs")
    p.add_argument("--metric", "-m", action="append", default=None,
                   help="metric (repeatable); default: logme, sfda, gbc")
    ped = p.add_mutually_exclusive_group()
    ped.add_argument("--ped", dest="ped", action="store_const", const=True, default="both",
                     help="only with PED (default: with and without, side by side)")
    ped.add_argument("--no-ped", dest="ped", action="store_const", const=False,
                     help="only without PED")
    p.add_argument("--source-data", default=None, metavar="PATH",
                   help="a sample resembling the models' pre-training data, for PED's source "
                        "statistics (default: packaged zoo statistics, else a bundled generic "
                        "sample)")
    p.add_argument("--max-samples", type=number(int, lo=2), default=None, metavar="N",
                   help="class-stratified subset of DATA")
    p.add_argument("--image-size", type=number(int, lo=8, hi=MAX_IMAGE_SIZE), default=None,
                   help="input side in px")
    p.add_argument("--batch-size", type=number(int, lo=1, hi=MAX_BATCH), default=64)
    p.add_argument("--device", type=device, default=None,
                   help="torch device for extraction (cpu, cuda)")
    p.add_argument("--cache-dir", type=out_dir, default=None,
                   help="feature cache (default $PEDRANK_CACHE or ~/.cache/pedrank)")
    p.add_argument("--layer", default=None, help="feature layer / ONNX output name")
    p.add_argument("--text-column", default=None, help="text column of a table file")
    p.add_argument("--label-column", default=None, help="label column of a table file")
    p.add_argument("--task", choices=("classification", "regression"), default="classification")
    p.add_argument("--bootstrap", type=number(int, lo=2, hi=10000), default=30, metavar="B",
                   help="resamples for the recommendation's noise estimate (default 30; 0: off)")
    p.add_argument("--seed", type=number(int, lo=0, hi=MAX_SEED), default=0)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="compute dtype of the metrics' large Gram/scatter products (float32: "
                        "faster, small measured error, docs/performance.md; metrics without "
                        "a float32 path stay float64)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write selection.md, selection.html and selection.png to DIR")
    p.set_defaults(func=run)


def _validate(args: argparse.Namespace) -> None:
    for flag, value, low in (("--max-samples", args.max_samples, 2), ("--batch-size",
                             args.batch_size, 1), ("--image-size", args.image_size, 1),
                             ("--bootstrap", args.bootstrap, 0)):
        if value is not None and value < low:
            raise CLIError(f"{flag} must be at least {low}; got {value}")
    if args.source_data is not None and not Path(args.source_data).exists():
        raise CLIError(f"--source-data {args.source_data}: no such file or folder")


def _status_handler() -> logging.Handler:
    """Progress lines of the pipeline on stderr (stdout stays the table / JSON)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pedrank select: %(message)s"))
    return handler


def run_selection(args: argparse.Namespace, models: list[Any], data: Any, **extra: Any) -> Any:
    """Call :func:`select` with the shared options, overridden by ``extra`` (also used by
    ``pedrank demo``)."""
    from pedrank.pipeline.select import select

    check_device(args.device)  # a device this machine lacks: one line naming --device
    logger = logging.getLogger("pedrank.pipeline")
    handler = _status_handler()
    logger.addHandler(handler)
    old, old_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False  # shown once, prefixed, not also by the CLI's plain handler
    try:
        options = {"max_samples": args.max_samples, "image_size": args.image_size,
                   "batch_size": args.batch_size, "device": args.device,
                   "cache_dir": args.cache_dir, "seed": args.seed,
                   "dtype": getattr(args, "dtype", "float64")}
        return select(models, data, **{**options, **extra})
    except ImportError as exc:  # an optional package the input needs: say which
        raise CLIError(str(exc).splitlines()[0]) from None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
        logger.propagate = old_propagate


def print_table(sel: Any) -> None:
    """The ranking (best first), sources, recommendation, times and failures."""
    ds = sel.dataset
    what = f"{ds['n_samples']} samples" + (f", {ds['n_classes']} classes" if ds.get("n_classes")
                                           else "")
    print(f"{len(sel.runs)} models on {ds['name']!r} ({what}); columns: {', '.join(sel.columns)}")
    if sel.runs:
        print()
        print(_table(sel))
        print("\nsource statistics (PED):")
        for m in sel.models:
            print(f"  {m}: {sel.sources[m]}")
    print(f"\n{sel.recommendation.text}")
    for note in sel.notes:
        print(f"note: {note}")
    t = sel.timings
    n_cached = sum(r.from_cache for r in sel.runs)
    print(f"times: extraction {t['extraction']:.1f} s ({n_cached}/{len(sel.runs)} from cache), "
          f"source statistics {t['source_statistics']:.1f} s, scoring {t['scoring']:.1f} s "
          f"(bootstrap {t['bootstrap']:.1f} s)")
    if sel.failed:
        print("\nfailed (not ranked):")
        for m, why in sel.failed.items():
            print(f"  {m}: {why}")


def _table(sel: Any) -> str:
    """Score and rank per column (the rank column is named ``<column> #``), best first."""
    from pedrank.cli._common import format_records

    cells = {(r["model"], r["column"]): r for r in sel.records}
    rows = []
    for m in sel.models:
        row: dict[str, Any] = {"model": m}
        for c in sel.columns:
            row[c] = cells[(m, c)]["score"]
            row[f"{c} #"] = cells[(m, c)]["rank"]
        rows.append(row)
    keys = ["model"] + [k for c in sel.columns for k in (c, f"{c} #")]
    return format_records(rows, keys, "table")


def _csv(sel: Any) -> str:
    from pedrank.cli._common import format_records

    return format_records(sel.records, ["model", "metric", "ped", "column", "score", "rank"],
                          "csv")


def exit_status(sel: Any) -> int:
    """0 all scored, 3 some failed, 1 all failed."""
    if not sel.runs:
        return EXIT_ALL_FAILED
    return EXIT_SOME_FAILED if sel.failed else 0


def run(args: argparse.Namespace) -> int:
    _validate(args)
    sel = run_selection(
        args, args.models, args.data, metrics=args.metric, ped=args.ped,
        source_data=args.source_data, task=args.task, text_column=args.text_column,
        label_column=args.label_column, n_bootstrap=args.bootstrap, layer=args.layer,
    )
    if args.format == "json":
        print(sel.to_json())
    elif args.format == "csv":
        print(_csv(sel))
    else:
        print_table(sel)
    if args.report:
        from pedrank.reports.selection import write_report

        paths = write_report(sel, args.report)
        if paths["png"] is None:
            print("report: no PNG (matplotlib is not installed)", file=sys.stderr)
        print(f"report: {', '.join(str(p) for p in paths.values() if p)}", file=sys.stderr)
    if not sel.runs:
        print("pedrank select: error: every model failed: " + "; ".join(
            f"{m}: {why}" for m, why in sel.failed.items()), file=sys.stderr)
    return exit_status(sel)
