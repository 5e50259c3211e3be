#!/usr/bin/env python3
"""float32 against float64 scores on the project's real feature sets (issue 14, item 5).

Reads, never writes, the extraction cache (``pedrank.models.extract.default_cache_dir``,
filled by ``pedrank groundtruth measure``): every cached model whose pool is one of
the ground-truth targets (``pedrank.groundtruth.measure.load_target``) is scored
with ``dtype="float64"`` and ``dtype="float32"`` by each metric. Reports the
relative error ``|s32 - s64| / |s64|`` per metric (max and median over every
(target, model) pair), and per target how the float32 ranking of the models
differs from the float64 one: models whose rank position changes, discordant
pairs, and the weighted tau between the two score vectors.

Usage::

    PYTHONPATH=src python3 benchmarks/float32_error.py --out benchmarks/raw/float32_error.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

METRICS = ("logme", "hscore", "regularized_hscore", "transrate", "sfda", "sfda_log",
           "etran", "ncti")
# (transrate_paper has no float32 path: refused, see docs/performance.md)


def cached_pools(cache: Path) -> dict[str, list[tuple[str, Path]]]:
    """pool id -> [(model, features.npy)] for every complete cache entry."""
    pools: dict[str, list[tuple[str, Path]]] = {}
    for key in sorted(cache.glob("features/*/key.json")):
        try:
            meta = json.loads(key.read_text())
        except (OSError, ValueError):
            continue
        npy = key.parent / "features.npy"
        data = str(meta.get("data", ""))
        if npy.exists() and data.startswith("pool:") and "features" in meta:
            pools.setdefault(data[len("pool:"):], []).append((str(meta["model"]), npy))
    return pools


def score_pair(metric: str, X: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(float64 score, float32 score, float64 CPU s, float32 CPU s); NaN for an error."""
    from pedrank.core.metrics import get_metric

    func = get_metric(metric).func
    out = []
    for dtype in ("float64", "float32"):
        c0 = time.process_time()
        try:
            value = float(func(X, y, dtype=dtype))
        except ValueError:
            value = float("nan")
        out += [value, time.process_time() - c0]
    return out[0], out[2], out[1], out[3]


def ranking_change(s64: dict[str, float], s32: dict[str, float]) -> dict[str, float]:
    """Rank positions changed, discordant pairs and weighted tau of float32 vs float64."""
    from pedrank.core.evaluation import weighted_tau

    names = [m for m in s64 if np.isfinite(s64[m]) and np.isfinite(s32[m])]
    a = np.array([s64[m] for m in names])
    b = np.array([s32[m] for m in names])
    ra, rb = np.argsort(np.argsort(-a)), np.argsort(np.argsort(-b))
    disc = sum(1 for i in range(len(names)) for j in range(i + 1, len(names))
               if (a[i] - a[j]) * (b[i] - b[j]) < 0)
    tau = float(weighted_tau(b, a)) if len(names) >= 2 else float("nan")
    return {"models": len(names), "rank_changes": int(np.sum(ra != rb)),
            "discordant_pairs": disc, "weighted_tau": float(tau)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", default="emoji-category,emoji-subcategory,emoji-google-twitter,"
                                        "digits,debian-sections,wordnet-supersense,"
                                        "fortune-category")
    p.add_argument("--metrics", default=",".join(METRICS))
    p.add_argument("--json", default=None)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    from pedrank.groundtruth.measure import load_target
    from pedrank.models.extract import default_cache_dir

    cache = default_cache_dir()
    pools = cached_pools(cache)
    metrics = [m for m in args.metrics.split(",") if m]
    rows, rankings = [], []
    for name in [t for t in args.targets.split(",") if t]:
        target = load_target(name)
        models = pools.get(target.pool_id, [])
        if len(models) == 0:
            print(f"{name}: no cached features (pool {target.pool_id})", flush=True)
            continue
        per_metric: dict[str, tuple[dict, dict]] = {m: ({}, {}) for m in metrics}
        for model, npy in models:
            X = np.load(npy, mmap_mode="r")[target.index]
            for metric in metrics:
                s64, s32, t64, t32 = score_pair(metric, X, target.labels)
                rel = abs(s32 - s64) / max(abs(s64), 1e-300)
                rows.append({"target": name, "model": model, "shape": list(X.shape),
                             "classes": int(len(np.unique(target.labels))), "metric": metric,
                             "float64": s64, "float32": s32, "rel_error": rel,
                             "cpu64": t64, "cpu32": t32})
                per_metric[metric][0][model], per_metric[metric][1][model] = s64, s32
                print(f"{name} {model} {metric}: {s64!r} {s32!r} rel {rel:.2e} "
                      f"({t64:.2f} / {t32:.2f} s)", flush=True)
        for metric, (a, b) in per_metric.items():
            rankings.append({"target": name, "metric": metric, **ranking_change(a, b)})
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "rankings": rankings}, indent=1))
    text = report(rows, rankings, metrics)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


def report(rows: list[dict], rankings: list[dict], metrics: list[str]) -> str:
    """Markdown: relative error per metric, then ranking changes per metric and target."""
    lines = [f"Command: `python3 benchmarks/float32_error.py`, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
             f"{os.getloadavg()[0]:.1f}.", "",
             "| metric | (target, model) pairs | max rel. error | median rel. error | "
             "errors (float64 / float32) | CPU s float64 / float32 (sum) |",
             "|---|---|---|---|---|---|"]
    for m in metrics:
        rs = [r for r in rows if r["metric"] == m]
        ok = [r["rel_error"] for r in rs if np.isfinite(r["rel_error"])]
        e64 = sum(not np.isfinite(r["float64"]) for r in rs)
        e32 = sum(not np.isfinite(r["float32"]) for r in rs)
        if rs:
            lines.append(f"| {m} | {len(rs)} | {max(ok, default=float('nan')):.1e} | "
                         f"{float(np.median(ok)) if ok else float('nan'):.1e} | {e64} / {e32} | "
                         f"{sum(r['cpu64'] for r in rs):.1f} / {sum(r['cpu32'] for r in rs):.1f} |")
    lines += ["", "| target | metric | models | rank changes | discordant pairs | "
              "weighted tau (float32 vs float64) |", "|---|---|---|---|---|---|"]
    for r in rankings:
        lines.append(f"| {r['target']} | {r['metric']} | {r['models']} | {r['rank_changes']} | "
                     f"{r['discordant_pairs']} | {r['weighted_tau']:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
