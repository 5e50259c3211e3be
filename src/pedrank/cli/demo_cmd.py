"""``pedrank demo``: rank the installed model zoo on a real dataset, with and without PED.

End to end and offline: load a labelled dataset (default: scikit-learn's
digits), extract every installed zoo vision model's penultimate features
(cached), score them with LogME, SFDA, GBC and N-LEEP, each with and without
PED (Li et al., ICCV 2023), and compare each ranking with the measured ground
truth (``zoo_vision_finetune`` / ``zoo_vision_linear_probe``) by weighted
Kendall tau. Features and scores are cached under ``--cache-dir``, so a second
run only reads files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.cli import CLIError

DEFAULT_METRICS = ("logme", "sfda", "gbc", "nleep")
GT_TABLES = {"finetune": "zoo_vision_finetune", "probe": "zoo_vision_linear_probe"}
SCORE_CACHE_FORMAT = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    from pedrank.models.extract import default_cache_dir

    p = sub.add_parser(
        "demo",
        help="rank the installed model zoo on a real dataset, with and without PED",
        description=(
            "Extract features of every installed zoo vision model on a labelled dataset, rank "
            "the models with LogME/SFDA/GBC/N-LEEP with and without PED, and compare each "
            "ranking with the measured transfer accuracies (weighted Kendall tau). Everything "
            "is cached; a second run takes seconds."
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
        type=int,
        default=None,
        help="class-stratified subset of the dataset (faster; e.g. 300 for a smoke test)",
    )
    p.add_argument("--image-size", type=int, default=64, help="input side in px (default 64)")
    p.add_argument(
        "--ground-truth",
        choices=tuple(GT_TABLES),
        default="finetune",
        help="which measured accuracy to compare with (default: finetune)",
    )
    p.add_argument(
        "--cache-dir",
        default=str(default_cache_dir()),
        help="feature/score cache (default $PEDRANK_CACHE or ~/.cache/pedrank)",
    )
    p.add_argument("--device", default=None, help="torch device for extraction (cpu, cuda)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="seed of the --max-samples subset")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- score cache


def _score_cache_path(
    cache_dir: str, feature_path: Path | None, key: dict[str, Any]
) -> Path | None:
    if feature_path is None:
        return None
    ident = json.dumps({"features": str(feature_path.parent.name), **key}, sort_keys=True)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
    return Path(cache_dir).expanduser() / "scores" / f"{digest}.json"


def _read_score(path: Path | None) -> float | None:
    if path is None or not path.exists():
        return None
    try:
        return float(json.loads(path.read_text())["score"])
    except (ValueError, KeyError, OSError):
        return None


def _write_score(path: Path | None, value: float, key: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump({"score": value, **key}, fh)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the demo


def _resolve_models(requested: list[str] | None) -> tuple[list[str], list[tuple[str, str]]]:
    """(installed models to rank, [(missing model, install hint)])."""
    from pedrank.models.zoo import get_entry, registered_models

    names = requested or registered_models("vision")
    installed, missing = [], []
    for n in names:
        entry = get_entry(n)  # KeyError for unknown names: a user error
        if entry.kind != "vision":
            raise CLIError(f"{n!r} is a {entry.kind} model; the demo ranks vision models")
        if entry.is_available():
            installed.append(n)
        else:
            missing.append((n, entry.install))
    return installed, missing


def _ground_truth(dataset: str, which: str) -> tuple[dict[str, float], str]:
    from pedrank.groundtruth import tables as groundtruth

    name = GT_TABLES[which]
    try:
        table = groundtruth.load(name)
    except ValueError:
        return {}, name
    return dict(table.get(dataset, {})), name


def _score_all(
    feats: dict[str, Any],
    labels: np.ndarray,
    sources: dict[str, Any],
    metrics: list[str],
    cache_dir: str,
) -> dict[tuple[str, bool], dict[str, float]]:
    from pedrank.core.ped import PED, SourceFallbackWarning
    from pedrank.core.scoring import score

    out: dict[tuple[str, bool], dict[str, float]] = {}
    for metric in metrics:
        for use_ped in (False, True):
            col = out.setdefault((metric, use_ped), {})
            for model, fs in feats.items():
                src = sources.get(model)
                key = {
                    "format": SCORE_CACHE_FORMAT,
                    "metric": metric,
                    "ped": use_ped,
                    "source": None if src is None else hashlib.sha256(
                        src.mean.tobytes() + src.std.tobytes()
                    ).hexdigest()[:16],
                }  # fmt: skip
                path = _score_cache_path(cache_dir, fs.cache_path, key)
                val = _read_score(path)
                if val is None:
                    if use_ped:
                        ped: Any = PED() if src is not None else PED(fallback="target")
                    else:
                        ped = False
                    with warnings.catch_warnings():
                        # The fallback is announced once in the model table, not per metric.
                        warnings.simplefilter("ignore", SourceFallbackWarning)
                        val = float(score(fs.features, labels, metric=metric, ped=ped, source=src))
                    _write_score(path, val, key)
                col[model] = val
    return out


def _status(message: str) -> None:
    # Progress on stderr (stdout stays the table / JSON), one line per step, so that
    # a run in a log or CI shows where the minutes go even without a progress bar.
    print(f"pedrank demo: {message}", file=sys.stderr, flush=True)


def _fmt(v: float | None, width: int = 10) -> str:
    # 5 significant digits keep e.g. GBC's -1.0677e-26 inside the column.
    if v is None or not np.isfinite(v):
        return "n/a".rjust(width)
    return f"{v:.5g}".rjust(width)


def run(args: argparse.Namespace) -> int:
    from pedrank.cli._progress import bar_factory
    from pedrank.core.evaluation import weighted_tau
    from pedrank.core.metrics import get_metric
    from pedrank.datasets import load_dataset
    from pedrank.models.extract import extract_zoo
    from pedrank.models.source_samples import load_source_stats
    from pedrank.models.zoo import MissingDependencyError, get_entry

    if args.max_samples is not None and args.max_samples < 2:
        raise CLIError("--max-samples must be at least 2")
    for m in args.metrics:
        if get_metric(m).input != "features":
            raise CLIError(f"metric {m!r} needs source-model probabilities; the demo uses features")
    installed, missing = _resolve_models(args.models)
    skipped: list[tuple[str, str]] = []
    if args.models is None:
        # By default, leave out models whose graph only runs at a fixed input size other
        # than the demo's: running e.g. VGG16 at 240 px costs many minutes on a CPU.
        for name in list(installed):
            entry = get_entry(name)
            native = getattr(entry.preprocessing, "size", None)
            if entry.extra.get("fixed_input_size") and native != args.image_size:
                installed.remove(name)
                skipped.append((name, f"runs only at {native} px; rank it with "
                                      f"--models ... {name} (extracted at {native} px)"))
    if not installed:
        hints = "; ".join(f"{n}: {h}" for n, h in missing)
        raise CLIError(
            "no zoo vision model is installed; install them with pip install 'pedrank[zoo]' "
            f"or individually ({hints})"
        )
    try:
        ds = load_dataset(args.dataset, max_samples=args.max_samples, seed=args.seed)
    except (FileNotFoundError, ImportError) as exc:
        raise CLIError(str(exc)) from None
    gt, gt_name = _ground_truth(args.dataset, args.ground_truth)
    # The other table too: the printed table shows both ground truths side by side.
    other = next(k for k in GT_TABLES if k != args.ground_truth)
    gt_other, gt_other_name = _ground_truth(args.dataset, other)

    t0 = time.perf_counter()
    feats: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    failed: list[tuple[str, str]] = []
    n_cached = 0
    for i, model in enumerate(installed, start=1):
        entry = get_entry(model)
        size = None if entry.extra.get("fixed_input_size") else args.image_size
        t_model = time.perf_counter()
        _status(f"[{i}/{len(installed)}] {model}: features of {len(ds.labels)} {args.dataset} "
                "samples ...")
        try:
            fs = extract_zoo(
                model, ds, image_size=size, cache_dir=args.cache_dir, device=args.device,
                batch_size=args.batch_size, progress=bar_factory(),
            )  # fmt: skip
        except MissingDependencyError:
            raise
        except Exception as exc:  # one broken model must not stop the ranking of the others
            native = getattr(entry.preprocessing, "size", None)
            if size is not None and native is not None and native != size:
                # Typically an ONNX graph with a fixed input size. Not retried at the native
                # size automatically: that can cost minutes per model on a CPU.
                why = (
                    f"does not run at {size} px (native input {native} px; "
                    f"try --image-size {native})"
                )
            else:
                why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            failed.append((model, why))
            continue
        feats[model] = fs
        n_cached += fs.from_cache
        _status(f"[{i}/{len(installed)}] {model}: "
                f"{'from cache' if fs.from_cache else 'extracted'} in "
                f"{time.perf_counter() - t_model:.1f} s")
        sources[model] = load_source_stats(model, size or entry.preprocessing.size)
    t_extract = time.perf_counter() - t0
    if len(feats) < 2:
        raise CLIError(
            "ranking needs at least 2 models with features; "
            + "; ".join(f"{m}: {e}" for m, e in failed)
        )

    t1 = time.perf_counter()
    _status(f"scoring {len(feats)} models with {', '.join(args.metrics)}, without and with PED "
            "...")
    scores = _score_all(feats, ds.labels, sources, list(args.metrics), args.cache_dir)
    t_score = time.perf_counter() - t1

    def taus_for(acc: dict[str, float]) -> dict[tuple[str, bool], float | None]:
        out: dict[tuple[str, bool], float | None] = {}
        for k, col in scores.items():
            common = [m for m in col if m in acc]
            out[k] = (
                float(weighted_tau({m: col[m] for m in common}, {m: acc[m] for m in common}))
                if len(common) >= 2
                else None
            )
        return out

    taus = taus_for(gt)
    taus_other = taus_for(gt_other)

    if args.format == "json":
        print(
            json.dumps(
                {
                    "dataset": args.dataset,
                    "n_samples": len(ds),
                    "image_size": args.image_size,
                    "ground_truth": gt_name,
                    "accuracy": {m: gt.get(m) for m in feats},
                    "scores": {f"{'ped+' if p else ''}{m}": col for (m, p), col in scores.items()},
                    "weighted_tau": {f"{'ped+' if p else ''}{m}": t for (m, p), t in taus.items()},
                    "other_ground_truth": {
                        "name": gt_other_name,
                        "accuracy": {m: gt_other.get(m) for m in feats},
                        "weighted_tau": {
                            f"{'ped+' if p else ''}{m}": t for (m, p), t in taus_other.items()
                        },
                    },
                    "missing": dict(missing),
                    "skipped": dict(skipped),
                    "failed": dict(failed),
                    "seconds": {"extract": t_extract, "score": t_score},
                },
                indent=2,
            )
        )
        return 0

    print(
        f"pedrank demo: {len(feats)} zoo models on {args.dataset!r} ({len(ds)} images, "
        f"{args.image_size}x{args.image_size} px); ground truth: {gt_name}"
    )
    name_w = max(len("model"), *(len(m) for m in feats)) + 2
    print()
    labels = {"finetune": "fine-tune", "probe": "probe"}
    lab, lab_o = labels[args.ground_truth], labels[other]
    by_acc = sorted(feats, key=lambda m: (-gt.get(m, -np.inf), -gt_other.get(m, -np.inf)))
    print(f"{'model':<{name_w}}{lab:>10}{lab_o:>10}  source statistics")
    for m in by_acc:
        src = "packaged (natural-image crops)" if sources[m] is not None else "target (fallback)"
        print(f"{m:<{name_w}}{_fmt(gt.get(m))}{_fmt(gt_other.get(m))}  {src}")
    print()
    cols = [(m, p) for m in args.metrics for p in (False, True)]
    header = "".join(f"{('PED+' if p else '') + m:>12}" for m, p in cols)
    print(f"{'scores':<{name_w}}{header}")
    for m in by_acc:
        print(f"{m:<{name_w}}" + "".join(_fmt(scores[c][m], 12) for c in cols))
    for name, t in ((f"tau ({lab})", taus), (f"tau ({lab_o})", taus_other)):
        print(f"{name:<{name_w}}" + "".join(_fmt(t[c], 12) for c in cols))
    print()
    for metric in args.metrics:
        for p in (False, True):
            col = scores[(metric, p)]
            order = " > ".join(sorted(col, key=lambda m: -col[m]))
            print(f"{('PED+' if p else '') + metric:>12}: {order}")
    print(
        f"\ntau = weighted Kendall tau of each ranking against the measured accuracies "
        f"({gt_name}, {gt_other_name}), over the models that have one"
    )
    for acc, name in ((gt, gt_name), (gt_other, gt_other_name)):
        if not acc:
            print(f"no ground truth for {args.dataset!r} in {name}")
        elif any(m not in acc for m in feats):
            print(f"not in {name}: {', '.join(m for m in feats if m not in acc)}")
    print(
        f"\ntimes: extraction {t_extract:.1f} s ({n_cached}/{len(feats)} from cache), "
        f"scoring {t_score:.1f} s; cache: {args.cache_dir}"
    )
    if missing:
        print("\nnot installed (not ranked):")
        for n, hint in missing:
            print(f"  {n}: {hint}")
    if skipped:
        print("\nskipped by default (not ranked):")
        for n, why in skipped:
            print(f"  {n}: {why}")
    if failed:
        print("\nfailed (not ranked):")
        for n, err in failed:
            print(f"  {n}: {err}")
    return 0
