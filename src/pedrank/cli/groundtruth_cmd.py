"""``pedrank groundtruth``: measure ground-truth transfer accuracies, cell by cell, resumably.

``pedrank groundtruth measure --store cells.jsonl --models ... --targets ...``
measures every missing (model, target, protocol, seed) cell and appends each
to the store as it finishes; rerunning the same command continues where it
stopped. ``pedrank groundtruth summary --store cells.jsonl`` prints per-cell
mean, std and 95% interval. See :mod:`pedrank.groundtruth.measure`.
"""

from __future__ import annotations

import argparse
import time

from pedrank.cli import CLIError

PROTOCOLS = ("ridge", "probe", "finetune")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "groundtruth",
        help="measure ground-truth accuracies (resumable cells: model x target x protocol x seed)",
        description="Measure linear-probe / fine-tuning ground truth into a JSON-lines cell "
        "store; finished cells are kept, so rerunning resumes.",
    )
    gsub = p.add_subparsers(dest="action", metavar="ACTION")
    gsub.required = True
    m = gsub.add_parser("measure", help="measure the missing cells")
    m.add_argument("--store", required=True, help="JSON-lines cell store (created if missing)")
    m.add_argument("--models", nargs="+", default=None, help="zoo models (default: installed)")
    m.add_argument("--targets", nargs="+", default=None, help="targets (default: all)")
    m.add_argument("--protocols", nargs="+", default=["ridge", "probe"], choices=PROTOCOLS)
    m.add_argument("--seeds", type=int, default=5, help="split seeds 0..N-1 (default 5)")
    m.add_argument("--image-size", type=int, default=64, help="input side for resizable models")
    m.add_argument("--max-samples", type=int, default=1500, help="subset of large image sets")
    m.add_argument("--max-per-class", type=int, default=60, help="per-class subset of text sets")
    m.add_argument("--hours", type=float, default=None, help="stop starting cells after this")
    m.add_argument("--cache-dir", default=None, help="feature cache (default: pedrank's)")
    m.set_defaults(func=run_measure)
    s = gsub.add_parser("summary", help="mean, std and 95%% interval per cell")
    s.add_argument("--store", required=True)
    s.add_argument("--protocol", default="ridge", choices=PROTOCOLS)
    s.set_defaults(func=run_summary)


def run_measure(args: argparse.Namespace) -> int:
    from pedrank.groundtruth.measure import TARGETS, CellStore, MeasureConfig, run
    from pedrank.models.zoo import available_models

    models = args.models or available_models()
    if not models:
        raise CLIError("no zoo model is installed; see `pedrank zoo install --all`")
    targets = args.targets or list(TARGETS)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise CLIError(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    if args.seeds < 1:
        raise CLIError("--seeds must be at least 1")
    cfg = MeasureConfig(
        image_size=args.image_size,
        max_samples=args.max_samples,
        max_per_class=args.max_per_class,
        cache_dir=args.cache_dir,
    )
    deadline = time.time() + 3600 * args.hours if args.hours else None
    counts = run(
        CellStore(args.store),
        models,
        targets,
        protocols=args.protocols,
        seeds=range(args.seeds),
        cfg=cfg,
        deadline=deadline,
        log=lambda msg: print(msg, flush=True),
    )
    print(
        f"cells: {counts['done']} measured, {counts['skipped']} already in the store, "
        f"{counts['failed']} failed"
    )
    return 1 if counts["failed"] else 0


def run_summary(args: argparse.Namespace) -> int:
    from pedrank.groundtruth.measure import CellStore, replicate_table, summarise

    table = replicate_table(CellStore(args.store).load().values(), args.protocol)
    if not table:
        raise CLIError(f"no {args.protocol} cells in {args.store}")
    for target, models in sorted(table.items()):
        print(f"{target}")
        rows = sorted(((summarise(v), m) for m, v in models.items()), key=lambda r: -r[0]["mean"])
        for s, m in rows:
            print(
                f"  {m:28s} {s['mean']:.4f} +- {s['std']:.4f}  95% [{s['lo']:.4f}, "
                f"{s['hi']:.4f}]  n={s['n']}"
            )
    return 0
