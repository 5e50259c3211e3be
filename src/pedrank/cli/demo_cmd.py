"""``pedrank demo``: ``pedrank select`` on the installed model zoo and a bundled dataset.

End to end and offline: every installed zoo vision model on a labelled
dataset (default: scikit-learn's digits), scored by LogME, SFDA, GBC and
N-LEEP with and without PED (Li et al., ICCV 2023) through the one pipeline
(:func:`pedrank.pipeline.select.select`: features cached, PED once per model),
plus what only the zoo has: a comparison of each ranking with the measured
ground truth (``zoo_vision_finetune`` / ``zoo_vision_linear_probe``) by
weighted Kendall tau.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

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

DEFAULT_METRICS = ("logme", "sfda", "gbc", "nleep")
GT_TABLES = {"finetune": "zoo_vision_finetune", "probe": "zoo_vision_linear_probe"}
GT_LABELS = {"finetune": "fine-tune", "probe": "probe"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    from pedrank.models.extract import default_cache_dir

    p = sub.add_parser(
        "demo",
        help="rank the installed model zoo on a real dataset, with and without PED",
        description=(
            "pedrank select on every installed zoo vision model and a labelled dataset: "
            "LogME/SFDA/GBC/N-LEEP with and without PED, the recommendation, and each "
            "ranking compared with the measured transfer accuracies (weighted Kendall tau). "
            "Features are cached; a second run takes seconds."
        ),
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="digits (default, always available), fashion-mnist, opencv-digits, lfw-subset, or "
        "an image folder with one sub-folder per class",
    )
    p.add_argument("--models", nargs="+", default=None, help="zoo models (default: all vision)")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), help="metric names")
    p.add_argument(
        "--max-samples",
        type=number(int, lo=2),
        default=None,
        help="class-stratified subset of the dataset (faster; e.g. 300 for a smoke test)",
    )
    p.add_argument("--image-size", type=number(int, lo=8, hi=MAX_IMAGE_SIZE), default=64,
                   help="input side in px (default 64)")
    p.add_argument(
        "--ground-truth",
        choices=tuple(GT_TABLES),
        default="finetune",
        help="which measured accuracy to compare with (default: finetune)",
    )
    p.add_argument(
        "--cache-dir",
        type=out_dir,
        default=str(default_cache_dir()),
        help="feature cache (default $PEDRANK_CACHE or ~/.cache/pedrank)",
    )
    p.add_argument("--device", type=device, default=None,
                   help="torch device for extraction (cpu, cuda)")
    p.add_argument("--batch-size", type=number(int, lo=1, hi=MAX_BATCH), default=64)
    p.add_argument("--seed", type=number(int, lo=0, hi=MAX_SEED), default=0,
                   help="seed of the --max-samples subset")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- the zoo


def _zoo_models(requested: list[str] | None, image_size: int
                ) -> tuple[list[Any], dict[str, str], dict[str, str]]:
    """(specs to rank, {missing model: install hint}, {skipped model: why})."""
    from pedrank.models.loaders import resolve_model
    from pedrank.models.zoo import get_entry, registered_models

    specs, missing, skipped = [], {}, {}
    for n in requested or registered_models("vision"):
        entry = get_entry(n)  # KeyError for unknown names: a user error
        if entry.kind != "vision":
            raise CLIError(f"{n!r} is a {entry.kind} model; the demo ranks vision models")
        if not entry.is_available():
            missing[n] = entry.install
            continue
        native = getattr(entry.preprocessing, "size", None)
        fixed = bool(entry.extra.get("fixed_input_size"))
        if fixed and requested is None and native != image_size:
            # Running e.g. VGG16 at 240 px costs many minutes on a CPU: only on request.
            skipped[n] = f"runs only at {native} px; rank it with --models ... {n}"
            continue
        specs.append(resolve_model(n, image_size=None if fixed else image_size, kind="vision"))
    if not specs:
        hints = "; ".join(f"{n}: {h}" for n, h in missing.items())
        raise CLIError(
            "no zoo vision model is installed; install them with pip install 'pedrank[zoo]' "
            f"or individually ({hints})"
        )
    return specs, missing, skipped


def _ground_truth(dataset: str, which: str) -> tuple[dict[str, float], str]:
    from pedrank.groundtruth import tables as groundtruth

    name = GT_TABLES[which]
    try:
        table = groundtruth.load(name)
    except ValueError:
        return {}, name
    return dict(table.get(dataset, {})), name


def _taus(sel: Any, acc: dict[str, float]) -> dict[str, float | None]:
    """Weighted Kendall tau of every column against ``acc``, over the models that have one."""
    from pedrank.core.evaluation import weighted_tau

    out: dict[str, float | None] = {}
    for c in sel.columns:
        col = {m: v for m, v in sel.scores(c).items() if m in acc}
        # float(): a plain number whether weighted_tau returns a float or a result object.
        out[c] = float(weighted_tau(col, {m: acc[m] for m in col})) if len(col) >= 2 else None
    return out


def _key(column: str) -> str:
    """JSON key of a column, as the demo has always written it (``ped+logme``)."""
    return column.replace("PED+", "ped+")


def _fmt(v: float | None, width: int = 10) -> str:
    # 5 significant digits keep e.g. GBC's -1.0677e-26 inside the column.
    if v is None or not np.isfinite(v):
        return "n/a".rjust(width)
    return f"{v:.5g}".rjust(width)


# --------------------------------------------------------------------------- output


def _json(args: argparse.Namespace, sel: Any, gts: list[tuple[str, dict, dict]],
          missing: dict, skipped: dict) -> str:
    (gt_name, gt, taus), (other_name, other, taus_o) = gts
    models = [r.name for r in sel.runs]
    return json.dumps({
        "dataset": args.dataset, "n_samples": sel.dataset["n_samples"],
        "image_size": args.image_size, "ground_truth": gt_name,
        "accuracy": {m: gt.get(m) for m in models},
        "scores": {_key(c): sel.scores(c) for c in sel.columns},
        "weighted_tau": {_key(c): t for c, t in taus.items()},
        "other_ground_truth": {"name": other_name, "accuracy": {m: other.get(m) for m in models},
                               "weighted_tau": {_key(c): t for c, t in taus_o.items()}},
        "recommendation": sel.recommendation.text,
        "source_statistics": sel.sources,
        "missing": missing, "skipped": skipped, "failed": sel.failed, "notes": sel.notes,
        "seconds": {"extract": sel.timings["extraction"],
                    "source_statistics": sel.timings["source_statistics"],
                    "score": sel.timings["scoring"]},
    }, indent=2)


def _print_table(args: argparse.Namespace, sel: Any, gts: list[tuple[str, dict, dict]],
                 labels: tuple[str, str]) -> None:
    (gt_name, gt, taus), (other_name, other, taus_o) = gts
    models = [r.name for r in sel.runs]
    print(f"pedrank demo: {len(models)} zoo models on {args.dataset!r} "
          f"({sel.dataset['n_samples']} images, {args.image_size}x{args.image_size} px); "
          f"ground truth: {gt_name}\n")
    w = max(len("model"), *(len(m) for m in models)) + 2
    by_acc = sorted(models, key=lambda m: (-gt.get(m, -np.inf), -other.get(m, -np.inf)))
    print(f"{'model':<{w}}{labels[0]:>10}{labels[1]:>10}  source statistics")
    for m in by_acc:
        print(f"{m:<{w}}{_fmt(gt.get(m))}{_fmt(other.get(m))}  {sel.sources[m]}")
    scores = {c: sel.scores(c) for c in sel.columns}
    print(f"\n{'scores':<{w}}" + "".join(f"{c:>12}" for c in sel.columns))
    for m in by_acc:
        print(f"{m:<{w}}" + "".join(_fmt(scores[c].get(m), 12) for c in sel.columns))
    for name, t in ((f"tau ({labels[0]})", taus), (f"tau ({labels[1]})", taus_o)):
        print(f"{name:<{w}}" + "".join(_fmt(t[c], 12) for c in sel.columns))
    print()
    for c in sel.columns:
        print(f"{c:>12}: {' > '.join(sorted(scores[c], key=lambda m: -scores[c][m]))}")
    print(f"\n{sel.recommendation.text}")
    print(f"\ntau = weighted Kendall tau of each ranking against the measured accuracies "
          f"({gt_name}, {other_name}), over the models that have one")
    for acc, name in ((gt, gt_name), (other, other_name)):
        if not acc:
            print(f"no ground truth for {args.dataset!r} in {name}")
        elif any(m not in acc for m in models):
            print(f"not in {name}: {', '.join(m for m in models if m not in acc)}")


def _print_tail(sel: Any, missing: dict, skipped: dict, cache_dir: str) -> None:
    t = sel.timings
    n_cached = sum(r.from_cache for r in sel.runs)
    print(f"\ntimes: extraction {t['extraction']:.1f} s ({n_cached}/{len(sel.runs)} from cache), "
          f"source statistics {t['source_statistics']:.1f} s, scoring {t['scoring']:.1f} s; "
          f"cache: {cache_dir}")
    for title, items in (("not installed (not ranked)", missing),
                         ("skipped by default (not ranked)", skipped),
                         ("failed (not ranked)", sel.failed)):
        if items:
            print(f"\n{title}:")
            for n, why in items.items():
                print(f"  {n}: {why}")
    for note in sel.notes:
        print(f"note: {note}")


def run(args: argparse.Namespace) -> int:
    from pedrank.cli.select_cmd import run_selection

    check_device(args.device)  # flags first: a device this machine lacks names --device
    specs, missing, skipped = _zoo_models(args.models, args.image_size)
    # image_size=None: each spec carries its own input size (fixed-size graphs keep theirs).
    sel = run_selection(args, specs, args.dataset, metrics=args.metrics, ped="both",
                        image_size=None)
    if len(sel.runs) < 2:
        raise CLIError("ranking needs at least 2 models with features; "
                       + "; ".join(f"{m}: {e}" for m, e in sel.failed.items()))
    other = next(k for k in GT_TABLES if k != args.ground_truth)
    gts = []
    for which in (args.ground_truth, other):
        acc, name = _ground_truth(args.dataset, which)
        gts.append((name, acc, _taus(sel, acc)))
    if args.format == "json":
        print(_json(args, sel, gts, missing, skipped))
        return 0
    _print_table(args, sel, gts, (GT_LABELS[args.ground_truth], GT_LABELS[other]))
    _print_tail(sel, missing, skipped, args.cache_dir)
    return 0
