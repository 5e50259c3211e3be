"""``pedrank score FEATURES.npz``: one model's score on one task."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pedrank.cli._common import add_metric_options, build_ped, check_scoring, metric_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score one feature file",
                       description="Score one model's features (a feature .npz) on its task.")
    p.add_argument("features", type=Path, help="feature file (features, labels, ...)")
    add_metric_options(p)
    p.add_argument("--source", type=Path, default=None,
                   help="source statistics .npz (mean, std) if not inside the feature file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at module level: building the parser stays cheap (`--help` < 1 s).

    from pedrank.core.metrics import get_metric
    from pedrank.core.scoring import score
    from pedrank.core.source import SourceStats
    from pedrank.pipeline.feature_files import load_feature_file

    spec = get_metric(args.metric)
    ff = load_feature_file(args.features, require_features=spec.input == "features",
                           task=args.task)
    source = ff.source
    if args.source is not None:
        try:
            source = SourceStats.load(args.source)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{args.source}: cannot read source statistics ({exc})") from None
    check_scoring(args, spec, args.features, source is not None)
    ped = build_ped(args)
    options = metric_options(args, spec)
    try:
        value = score(ff.features, ff.labels, metric=spec.name, task=args.task,
                      ped=ped if ped else False,
                      source=source, source_probs=ff.source_probs, device=args.device,
                      dtype=args.dtype, **options)
    except ValueError as exc:
        raise ValueError(f"{args.features}: {exc}") from None
    if args.format == "json":
        print(json.dumps({"file": str(args.features), "metric": spec.name,
                          "ped": bool(args.ped), "score": value}))
    else:
        print(f"{value:.10g}")
    return 0
