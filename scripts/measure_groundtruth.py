#!/usr/bin/env python3
"""Measure the zoo's ground-truth transfer accuracies and write them as package data.

Writes ``src/pedrank/data/groundtruth/zoo_vision_linear_probe.json`` and
``zoo_vision_finetune.json``: ``{dataset: {model: test accuracy}}`` plus
``"_about"`` (the command and settings) and ``"_details"`` (chosen
hyper-parameters), which :func:`pedrank.groundtruth.load` ignores. Tables are
rewritten after every (dataset, model) pair, so an interrupted run keeps what
it finished; features are cached (``--cache-dir``), so a rerun does not
re-extract them.

Example (the committed tables)::

    python3 scripts/measure_groundtruth.py
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pedrank.datasets import load_dataset
from pedrank.groundtruth.protocol import finetune, linear_probe, train_test_indices
from pedrank.models.extract import default_cache_dir, extract_zoo

DEFAULT_MODELS = [
    "efficientnet-lite0",
    "efficientnet-lite1",
    "efficientnet-lite2",
    "nude-classifier-b0",
]
DEFAULT_DATASETS = ["digits", "fashion-mnist", "opencv-digits"]
OUT = Path(__file__).resolve().parents[1] / "src" / "pedrank" / "data" / "groundtruth"


def _write(path: Path, table: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(table, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS)
    p.add_argument("--max-samples", type=int, default=1500, help="stratified subset per dataset")
    p.add_argument("--test-size", type=float, default=0.4)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--n-blocks", type=int, default=2)
    p.add_argument("--lrs", type=float, nargs="+", default=[0.01, 0.001])
    p.add_argument("--wds", type=float, nargs="+", default=[1e-4, 1e-3])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-finetune", action="store_true")
    p.add_argument("--cache-dir", default=str(default_cache_dir()))
    p.add_argument("--out-dir", default=str(OUT))
    args = p.parse_args(argv)

    cmd = "python3 scripts/measure_groundtruth.py " + " ".join(
        map(shlex.quote, argv or sys.argv[1:])
    )
    common = (
        "Measured with pedrank.groundtruth.protocol. Each dataset: class-stratified subset of "
        f"at most {args.max_samples} images (seed {args.seed}; fashion-mnist = its test split), "
        f"stratified train/test split with test_size={args.test_size} (seed {args.seed}), "
        f"inputs resized to {args.image_size}x{args.image_size} px (grey replicated to RGB, "
        "each model's own normalisation). Values: accuracy on the held-out test split."
    )
    about = {
        "linear_probe": common + " Linear probe: StandardScaler + multinomial LogisticRegression "
        "on frozen penultimate features, C in {0.01, 0.1, 1, 10} chosen by 3-fold stratified CV "
        "on the training split.",
        "finetune": common + f" Fine-tuning: last {args.n_blocks} MBConv blocks + head conv + new "
        f"linear classifier trained (bottom frozen: a CPU-budget approximation of full "
        f"fine-tuning), SGD momentum 0.9, cosine schedule, {args.epochs} epochs, batch 64, "
        f"grid lr in {args.lrs} x weight decay in {args.wds} chosen on a 25% validation part of "
        "the training split, then retrained on the whole training split, torch seed "
        f"{args.seed}.",
    }
    out = Path(args.out_dir)
    tables = {}
    kinds = ("linear_probe",) if args.no_finetune else ("linear_probe", "finetune")
    run = (
        f"`{cmd.strip()}` (models: {', '.join(args.models)}; datasets: {', '.join(args.datasets)})"
    )
    for kind in ("linear_probe", "finetune"):
        path = out / f"zoo_vision_{kind}.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        old.setdefault("_details", {})
        if kind in kinds:
            # Several runs (e.g. more models later) may fill one table: keep every command.
            runs = old.get("_runs", [])
            if run not in runs:
                runs.append(run)
            old["_runs"] = runs
            old["_about"] = about[kind] + " Produced by: " + "; ".join(runs) + "."
        tables[kind] = (path, old)

    # Phase 1 (cheap): features + linear probe everywhere; phase 2: fine-tuning.
    splits = {}
    for ds_name in args.datasets:
        ds = load_dataset(ds_name, max_samples=args.max_samples, seed=args.seed)
        tr, te = train_test_indices(ds.labels, args.test_size, args.seed)
        splits[ds_name] = (ds, tr, te)
        print(f"[{ds_name}] {len(ds)} images: {tr.size} train / {te.size} test", flush=True)
        for model in args.models:
            t0 = time.perf_counter()
            fs = extract_zoo(
                model, ds, image_size=args.image_size, cache_dir=args.cache_dir, progress=False
            )
            t_ext = time.perf_counter() - t0
            X = fs.features
            pr = linear_probe(X[tr], ds.labels[tr], X[te], ds.labels[te], seed=args.seed)
            path, table = tables["linear_probe"]
            table.setdefault(ds_name, {})[model] = round(pr.accuracy, 4)
            table["_details"].setdefault(ds_name, {})[model] = {"C": pr.C, "cv": pr.cv_accuracy}
            _write(path, table)
            t_lp = time.perf_counter() - t0 - t_ext
            print(
                f"  {model}: extract {t_ext:.1f}s, probe {pr.accuracy:.4f} "
                f"(C={pr.C:g}, {t_lp:.1f}s)",
                flush=True,
            )
    if not args.no_finetune:
        for ds_name, (ds, tr, te) in splits.items():
            for model in args.models:
                t1 = time.perf_counter()
                images = ds.inputs
                ft = finetune(
                    model, images[tr], ds.labels[tr], images[te], ds.labels[te],
                    image_size=args.image_size, lrs=args.lrs, weight_decays=args.wds,
                    epochs=args.epochs, n_blocks=args.n_blocks, seed=args.seed,
                )  # fmt: skip
                path, table = tables["finetune"]
                table.setdefault(ds_name, {})[model] = round(ft.accuracy, 4)
                table["_details"].setdefault(ds_name, {})[model] = {
                    "lr": ft.lr, "weight_decay": ft.weight_decay, "val": ft.val_accuracy,
                    "grid_val": ft.grid,
                }  # fmt: skip
                _write(path, table)
                print(
                    f"  [{ds_name}] {model}: finetune {ft.accuracy:.4f} (lr={ft.lr:g}, "
                    f"wd={ft.weight_decay:g}, {time.perf_counter() - t1:.1f}s)",
                    flush=True,
                )
    print("written:", ", ".join(str(t[0]) for t in tables.values()))
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
