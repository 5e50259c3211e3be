"""``pedrank rank DIR``: rank every model of a directory of feature files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pedrank.cli import CLIError
from pedrank.cli._common import (
    add_metric_options,
    build_ped,
    check_scoring,
    format_records,
    metric_options,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank", help="rank the models of a directory of feature files",
        description="Rank models from DIR/MODEL.npz feature files; with --accuracy, compare "
                    "the ranking with ground-truth accuracies (weighted Kendall tau, ...).")
    p.add_argument("directory", type=Path, help="directory holding one MODEL.npz per model")
    add_metric_options(p)
    p.add_argument("--accuracy", type=Path, default=None,
                   help="JSON of ground-truth accuracies: {model: acc} or "
                        "{dataset: {model: acc}} with --dataset")
    p.add_argument("--dataset", default=None, help="dataset key inside --accuracy")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=run)


def _accuracies(path: Path, dataset: str | None) -> dict[str, float]:
    from pedrank.groundtruth import load_file

    try:
        table = load_file(path)
    except (ValueError, OSError) as exc:
        raise CLIError(f"--accuracy {path}: not a readable accuracy JSON ({exc})") from None
    if dataset is not None:
        if dataset not in table:
            raise CLIError(f"{path}: no dataset {dataset!r}; it has {', '.join(sorted(table))}")
        return table[dataset]
    if len(table) != 1:
        raise CLIError(f"{path}: holds several datasets ({', '.join(sorted(table))}); "
                       "choose one with --dataset")
    return next(iter(table.values()))


def run(args: argparse.Namespace) -> int:
    # Imported here, not at module level: building the parser stays cheap (`--help` < 1 s).
    from pedrank.core.evaluation import evaluate
    from pedrank.core.metrics import get_metric
    from pedrank.core.scoring import is_saturated, ranking_records, saturation_message, score
    from pedrank.pipeline.feature_files import load_feature_file
    from pedrank.pipeline.select import check_same_samples

    spec = get_metric(args.metric)
    if not args.directory.is_dir():
        raise CLIError(f"{args.directory}: not a directory; pass a folder of MODEL.npz files")
    files = sorted(args.directory.glob("*.npz"))
    if not files:
        raise CLIError(f"{args.directory}: no .npz feature files found")
    acc = _accuracies(args.accuracy, args.dataset) if args.accuracy else None
    ped = build_ped(args)
    options = metric_options(args, spec)
    loaded = [load_feature_file(f, require_features=spec.input == "features",
                           task=args.task) for f in files]
    # Files made from different samples (or labels in another order) must not be ranked.
    check_same_samples({ff.path.name: (ff.labels, ff.data_hash) for ff in loaded})
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    for f, ff in zip(files, loaded, strict=True):
        check_scoring(args, spec, f, ff.source is not None)
        try:
            scores[ff.name] = score(ff.features, ff.labels, metric=spec.name, task=args.task,
                                    ped=ped if ped else False, source=ff.source,
                                    source_probs=ff.source_probs, device=args.device,
                                    dtype=args.dtype, **options)
        except ValueError as exc:
            # One model's failure must not abort or reorder the others: it is listed
            # after the ranked models and the exit status says so.
            failed[ff.name] = f"{f}: {exc}"
    records = ranking_records(scores)
    columns = ["rank", "model", "score"]
    measures = None
    if acc is not None:
        for r in records:
            r["accuracy"] = acc.get(r["model"])
        columns.append("accuracy")
        measures = evaluate(scores, acc) if len(scores) >= 2 else None
        if measures is None:
            raise CLIError("comparing with accuracies needs at least 2 models")
    label = f"{'PED+' if args.ped else ''}{spec.name}"
    saturated = is_saturated(scores.values())
    if args.format == "json":
        print(json.dumps({"metric": label, "ranking": records, "evaluation": measures,
                          "failed": failed, "saturated": saturated}, indent=2))
    elif args.format == "csv":
        rows = records + [{"rank": "", "model": m, "score": "failed"} for m in failed]
        print(format_records(rows, columns, "csv"))
    else:
        print(f"{label} ranking of {len(records)} models in {args.directory}")
        print(format_records(records, columns, "table"))
        if measures:
            print()
            print("  ".join(f"{k}={v:.4f}" for k, v in measures.items()))
    if saturated:
        print(f"warning: {saturation_message(spec.name)}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} model(s) could not be scored:", file=sys.stderr)
        for name, why in failed.items():
            print(f"  {name}: {why}", file=sys.stderr)
        return 1
    return 0
