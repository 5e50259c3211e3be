#!/usr/bin/env python3
"""Evidence report: does a metric (with or without PED) rank the pool by its measured accuracy?

Reads the ground-truth cells (``benchmarks/evidence/cells.jsonl``, written by
``pedrank groundtruth measure``), writes the ground-truth tables as package
data (``src/pedrank/data/groundtruth/evidence_<protocol>.json``), scores every
(model, target) with every metric with and without PED (scores are cached in
``benchmarks/evidence/scores.jsonl``, so a rerun only scores what is new), and
writes ``benchmarks/evidence/report.md`` + ``report.png``.

Statistics (computed here with numpy/scipy; ``pedrank.evaluation`` gains
bootstrap helpers in a parallel branch, not merged when this was written):

* per target: weighted tau (``scipy.stats.weightedtau``) between scores and the
  mean accuracy over split seeds, with a 95% percentile bootstrap interval
  over the ground-truth replicates (each model's seeds resampled with
  replacement, ``--n-boot`` draws). Target samples are NOT resampled (scores
  are computed once; re-scoring every bootstrap sample was beyond this CPU
  budget) - the intervals are therefore too narrow by the score noise;
* mean over targets: the mean of the per-target draws;
* PED gain: tau(with PED) - tau(without), paired on the same draws, mean over
  targets with its interval, and a two-sided sign test over targets;
* noise ceiling: median weighted tau between two seeds' ground truths.

Usage::

    python3 benchmarks/evidence/report.py [--protocol ridge] [--metrics logme sfda ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pedrank.core.scoring import score  # noqa: E402
from pedrank.groundtruth.measure import (  # noqa: E402
    CellStore,
    MeasureConfig,
    _features,
    load_target,
    noise_ceiling,
    replicate_table,
    split_positions,
    summarise,
    write_table,
)

DEFAULT_METRICS = ["logme", "sfda", "gbc", "hscore", "transrate", "nleep", "ncti"]


def source_stats(model: str, size: int):
    """Packaged source statistics at ``size`` px, else computed from the offline crops."""
    from pedrank.models.source_samples import compute_source_stats, load_source_stats
    from pedrank.models.zoo import get_entry

    entry = get_entry(model)
    if entry.kind != "vision":
        return None, "none (text model: PED uses the target's own statistics)"
    if entry.extra.get("fixed_input_size"):
        size = entry.preprocessing.size
    stats_ = load_source_stats(model, size)
    if stats_ is not None:
        return stats_, f"packaged natural-image crops, {size} px"
    return compute_source_stats(model, image_size=size), f"natural-image crops computed, {size} px"


def scoring_sample(target, cfg: MeasureConfig) -> np.ndarray:
    """Positions (into ``target.index``) the metrics see: the training part of split seed 0."""
    train, _ = split_positions(target, 0, cfg.test_size)
    return train


def score_all(args, cells: dict, reps: dict) -> dict:
    """``{(target, model, metric, ped): score}``, cached in scores.jsonl."""
    from pedrank.core.ped import PED

    path = HERE / "scores.jsonl"
    cache: dict = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            cache[(r["target"], r["model"], r["metric"], r["ped"])] = r["score"]
    cfg = MeasureConfig(image_size=64, max_samples=1500, max_per_class=60)
    sources: dict = {}
    for tname, models in reps.items():
        target = load_target(tname, cfg.max_samples, cfg.max_per_class)
        pos = scoring_sample(target, cfg)
        y = target.labels[pos]
        for model in models:
            todo = [
                (m, p)
                for m in args.metrics
                for p in (False, True)
                if (tname, model, m, p) not in cache
            ]
            if not todo:
                continue
            X = _features(model, target, cfg)[pos]
            if model not in sources:
                sources[model] = source_stats(model, cfg.image_size)
            src, _ = sources[model]
            for metric, ped in todo:
                t0 = time.perf_counter()
                est = PED(fallback="target") if src is None else True
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        val = score(X, y, metric=metric, ped=est if ped else False, source=src)
                except Exception as exc:  # noqa: BLE001 - record and go on
                    print(f"  {tname} {model} {metric} ped={ped}: {exc}", flush=True)
                    val = float("nan")
                cache[(tname, model, metric, ped)] = val
                rec = {
                    "target": tname,
                    "model": model,
                    "metric": metric,
                    "ped": ped,
                    "score": val,
                    "seconds": round(time.perf_counter() - t0, 2),
                }
                with open(path, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            print(f"scored {tname} / {model}", flush=True)
    args.sources = {m: s[1] for m, s in sources.items()}
    return cache


def tau_draws(scores: dict, rep: dict, n_boot: int, seed: int) -> tuple[float, np.ndarray]:
    """Weighted tau against the mean ground truth and its bootstrap draws over replicates."""
    models = sorted(m for m in rep if np.isfinite(scores.get(m, np.nan)))
    s = np.array([scores[m] for m in models])
    mean = np.array([np.mean(rep[m]) for m in models])
    stat = float(stats.weightedtau(s, mean).statistic)
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    for b in range(n_boot):
        gt = np.array([np.mean(rng.choice(rep[m], size=len(rep[m]))) for m in models])
        draws[b] = stats.weightedtau(s, gt).statistic
    return stat, draws


def _ci(draws: np.ndarray) -> tuple[float, float]:
    d = draws[np.isfinite(draws)]
    return (
        (float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))) if d.size else (np.nan,) * 2
    )


def analyse(args, cache: dict, reps: dict) -> dict:
    """Per metric x PED: per-target tau + interval, mean over targets, PED gain, sign test."""
    out: dict = {}
    for metric in args.metrics:
        per_t: dict = {}
        for tname, rep in reps.items():
            row = {}
            for ped in (False, True):
                sc = {m: cache.get((tname, m, metric, ped), np.nan) for m in rep}
                # the same seed for both: draws are paired between without and with PED
                row[ped] = tau_draws(sc, rep, args.n_boot, seed=hash(tname) % 2**31)
            per_t[tname] = row
        res = {"targets": {}}
        for ped in (False, True):
            stats_ = np.array([per_t[t][ped][0] for t in per_t])
            draws = np.mean([per_t[t][ped][1] for t in per_t], axis=0)
            res[ped] = {"mean": float(np.nanmean(stats_)), "ci": _ci(draws)}
        gains = np.array([per_t[t][True][0] - per_t[t][False][0] for t in per_t])
        gdraws = np.mean([per_t[t][True][1] - per_t[t][False][1] for t in per_t], axis=0)
        pos, neg = int((gains > 1e-12).sum()), int((gains < -1e-12).sum())
        p = float(stats.binomtest(pos, pos + neg).pvalue) if pos + neg else float("nan")
        res["gain"] = {
            "mean": float(np.nanmean(gains)),
            "ci": _ci(gdraws),
            "wins": pos,
            "losses": neg,
            "ties": len(gains) - pos - neg,
            "sign_p": p,
        }
        for t in per_t:
            res["targets"][t] = {ped: (per_t[t][ped][0], _ci(per_t[t][ped][1])) for ped in (0, 1)}
        out[metric] = res
    return out


def _fmt(v: float, ci: tuple[float, float]) -> str:
    return f"{v:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def write_markdown(args, reps: dict, result: dict, cells: dict) -> str:
    """The Markdown report."""
    ceil = {t: noise_ceiling(r) for t, r in reps.items()}
    lines = [
        "# Evidence: do transferability metrics pick the better model?",
        "",
        f"Generated by `python3 benchmarks/evidence/report.py --protocol {args.protocol}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from "
        f"`benchmarks/evidence/cells.jsonl` ({len(cells)} cells).",
        "",
        f"Ground truth: protocol `{args.protocol}` (see docs/evidence.md), mean accuracy over "
        "split seeds. Intervals: 95% percentile bootstrap over ground-truth replicates only "
        "(target samples not resampled; computed in this script, not pedrank.evaluation).",
        "",
        "## Headline: mean weighted tau over targets",
        "",
        "| metric | without PED | with PED | PED gain | wins/losses/ties | sign-test p |",
        "|---|---|---|---|---|---|",
    ]
    for metric, r in result.items():
        g = r["gain"]
        lines.append(
            f"| {metric} | {_fmt(r[False]['mean'], r[False]['ci'])} | "
            f"{_fmt(r[True]['mean'], r[True]['ci'])} | {_fmt(g['mean'], g['ci'])} | "
            f"{g['wins']}/{g['losses']}/{g['ties']} | {g['sign_p']:.3f} |"
        )
    med = [c["median"] for c in ceil.values() if np.isfinite(c["median"])]
    lines += [
        "",
        f"Noise ceiling (median over targets of the median seed-vs-seed weighted tau): "
        f"{np.median(med):.3f}"
        if med
        else "",
        "",
        "## Per target",
        "",
    ]
    for t, rep in reps.items():
        c = ceil[t]
        lines += [
            f"### {t}",
            "",
            f"{len(rep)} models, seeds per model: {sorted({len(v) for v in rep.values()})}; "
            f"noise ceiling median {c['median']:.3f} (range {c['min']:.3f} to "
            f"{c['max']:.3f}, {c['pairs']} seed pairs).",
            "",
            "| model | mean acc | std | 95% interval |",
            "|---|---|---|---|",
        ]
        for m, v in sorted(rep.items(), key=lambda kv: -np.mean(kv[1])):
            c = summarise(v)
            lines.append(
                f"| {m} | {c['mean']:.4f} | {c['std']:.4f} | [{c['lo']:.4f}, {c['hi']:.4f}] |"
            )
        lines += ["", "| metric | tau without PED | tau with PED |", "|---|---|---|"]
        for metric, r in result.items():
            (a, ca), (b, cb) = r["targets"][t][0], r["targets"][t][1]
            lines.append(f"| {metric} | {_fmt(a, ca)} | {_fmt(b, cb)} |")
        lines.append("")
    lines += remaining(cells)
    lines += ["## Source statistics used by PED", ""]
    lines += [f"* {m}: {s}" for m, s in sorted(getattr(args, "sources", {}).items())]
    return "\n".join(lines) + "\n"


def remaining(cells: dict) -> list[str]:
    """Markdown lines: cells measured vs remaining per protocol over grid.json, with cell times."""
    from pedrank.groundtruth.measure import TARGETS, cell_key
    from pedrank.models.zoo import get_entry

    grid = json.loads((HERE / "grid.json").read_text())
    lines = [
        "## Cells measured and remaining (grid.json)",
        "",
        "| protocol | seeds | measured | remaining | median s per cell (excl. features) |",
        "|---|---|---|---|---|",
    ]
    missing_pairs: dict[str, list[str]] = {}
    for protocol, n_seeds in grid["protocols"].items():
        have = todo = 0
        for model in grid["models"]:
            entry = get_entry(model)
            if protocol == "finetune" and "finetune_split" not in entry.extra:
                continue
            for target in grid["targets"]:
                if TARGETS[target][0] != entry.kind:
                    continue
                n = sum(cell_key(model, target, protocol, s) in cells for s in range(n_seeds))
                have, todo = have + n, todo + n_seeds - n
                if n < n_seeds and protocol == "ridge":
                    missing_pairs.setdefault(target, []).append(model)
        secs = [c["seconds"] for c in cells.values() if c["protocol"] == protocol]
        med = f"{np.median(secs):.1f}" if secs else "not measured"
        lines.append(f"| {protocol} | {n_seeds} | {have} | {todo} | {med} |")
    lines += ["", "Ridge (target: models still missing):", ""]
    lines += [f"* {t}: {', '.join(ms)}" for t, ms in missing_pairs.items()]
    return lines + [""]


def plot(result: dict, path: Path) -> None:
    """Mean tau over targets with interval bars, per metric, without/with PED."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(result)
    x = np.arange(len(metrics))
    fig, ax = plt.subplots(figsize=(1.2 * len(metrics) + 2, 4))
    for k, (ped, label) in enumerate(((False, "without PED"), (True, "with PED"))):
        m = np.array([result[n][ped]["mean"] for n in metrics])
        lo = np.array([result[n][ped]["ci"][0] for n in metrics])
        hi = np.array([result[n][ped]["ci"][1] for n in metrics])
        ax.errorbar(x + (k - 0.5) * 0.25, m, yerr=[m - lo, hi - m], fmt="o", capsize=4, label=label)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, metrics)
    ax.set_ylabel("weighted tau (mean over targets)")
    ax.set_title("Metric vs measured ground truth (95% bootstrap over GT replicates)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", default="ridge")
    p.add_argument("--metrics", nargs="+", default=DEFAULT_METRICS)
    p.add_argument("--min-seeds", type=int, default=5)
    p.add_argument("--min-models", type=int, default=4)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--tables-only", action="store_true")
    args = p.parse_args(argv)

    cells = CellStore(HERE / "cells.jsonl").load()
    about = (
        f"pedrank groundtruth measure, protocol {args.protocol}: see docs/evidence.md; "
        "cells in benchmarks/evidence/cells.jsonl."
    )
    out = ROOT / "src" / "pedrank" / "data" / "groundtruth" / f"evidence_{args.protocol}.json"
    write_table(cells.values(), args.protocol, out, about=about, min_seeds=args.min_seeds)
    print("wrote", out)
    if args.tables_only:
        return 0
    reps = replicate_table(cells.values(), args.protocol)
    reps = {t: {m: v for m, v in ms.items() if len(v) >= args.min_seeds} for t, ms in reps.items()}
    reps = {t: ms for t, ms in reps.items() if len(ms) >= args.min_models}
    if not reps:
        print("no target has enough models yet")
        return 1
    cache = score_all(args, cells, reps)
    result = analyse(args, cache, reps)
    (HERE / "report.md").write_text(write_markdown(args, reps, result, cells))
    plot(result, HERE / "report.png")
    (HERE / "report.json").write_text(
        json.dumps(
            {
                m: {"without": r[False], "with": r[True], "gain": r["gain"]}
                for m, r in result.items()
            },
            indent=1,
        )
    )
    print("wrote", HERE / "report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
