#!/usr/bin/env python3
"""Evidence report: does a metric (with or without PED) rank the pool by its measured accuracy?

Reads the ground-truth cells (``benchmarks/evidence/cells.jsonl``, written by
``pedrank groundtruth measure``), writes the ground-truth tables as package
data (``src/pedrank/data/groundtruth/evidence_<protocol>.json``), reads the
scores (``scores.jsonl``: every metric with and without PED on each target's
scoring sample; ``boot_scores.jsonl``: the same on class-stratified
half-samples of it; both written by ``scoring.py``, which ``--score`` runs first),
and writes ``benchmarks/evidence/report.md`` + ``report.png`` + ``report.json``.

Statistics (all from :mod:`pedrank.evaluation`):

* per target: weighted tau (``scipy.stats.weightedtau``) between the full-sample
  scores and the mean accuracy over split seeds, with a 95% percentile bootstrap
  interval (:func:`~pedrank.evaluation.weighted_tau_interval`, ``--n-boot``
  draws) whose draws resample BOTH the ground-truth replicates (each model's
  seeds, with replacement) and the target samples (one of the target's
  class-stratified half-sample score sets, the same half-sample for every
  model); the intervals over each source alone are reported beside it;
* mean over targets: :func:`~pedrank.evaluation.mean_over_targets`;
* PED gain: :func:`~pedrank.evaluation.ped_gain`, paired draw by draw, with a
  two-sided sign test over targets;
* noise ceiling: :func:`~pedrank.evaluation.noise_ceiling`, the median weighted
  tau between two seeds' ground truths.

Usage::

    python3 benchmarks/evidence/report.py [--score] [--n-resamples 20] [--cells PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import scoring  # noqa: E402

from pedrank import evaluation as ev  # noqa: E402
from pedrank.core.scoring import is_saturated  # noqa: E402
from pedrank.groundtruth.measure import (  # noqa: E402
    CellStore,
    replicate_table,
    summarise,
    write_table,
)

#: headline order: the stable forms of SFDA and GBC next to the plain ones
DEFAULT_METRICS = ["logme", "sfda_log", "sfda", "gbc_log", "gbc", "hscore", "transrate",
                   "parc", "ncti", "nleep"]
KINDS = ("both", "replicates", "samples")


def load_scores(metrics: list[str]) -> tuple[dict, dict]:
    """``points[(target, model, metric, ped)]`` and ``boots[(target, model, metric, ped)]``
    = ``{resample: score}`` from the two JSONL caches (the last record of a key wins)."""
    points = {(r["target"], r["model"], r["metric"], r["ped"]): r["score"]
              for r in scoring.load_jsonl(HERE / "scores.jsonl") if r["metric"] in metrics}
    boots: dict = {}
    for r in scoring.load_jsonl(HERE / "boot_scores.jsonl"):
        if r["metric"] in metrics and r.get("fraction") == scoring.FRACTION:
            key = (r["target"], r["model"], r["metric"], r["ped"])
            boots.setdefault(key, {})[int(r["resample"])] = r["score"]
    return points, boots


def scored_models(reps: dict, points: dict, metrics: list[str], min_models: int
                  ) -> tuple[dict, dict]:
    """Each target's models restricted to those with a finite full-sample score for every
    metric with and without PED (all metrics are compared on the same models); returns the
    restricted replicates and ``{target: [models left out]}``."""
    out, left = {}, {}
    for t, rep in reps.items():
        ok = {m: v for m, v in rep.items()
              if all(np.isfinite(points.get((t, m, metric, p), np.nan))
                     for metric in metrics for p in (False, True))}
        left[t] = sorted(set(rep) - set(ok))
        if len(ok) >= min_models:
            out[t] = ok
    return out, left


def common_resamples(boots: dict, target: str, models: list[str], metric: str) -> list[int]:
    """Resamples finished (finite) for every model, with and without PED: the draws usable
    for this (target, metric) with the pairing ``ped_gain`` needs."""
    sets = [{j for j, v in boots.get((target, m, metric, p), {}).items() if np.isfinite(v)}
            for m in models for p in (False, True)]
    return sorted(set.intersection(*sets)) if sets else []


def target_intervals(metric: str, target: str, rep: dict, points: dict, boots: dict,
                     n_boot: int) -> dict | None:
    """``{ped: {kind: IntervalResult}}`` for one (metric, target), plus ``"n_resamples"``;
    ``None`` when a model's full-sample score is missing or not finite, or all scores tie."""
    models = sorted(rep)
    sc = {p: {m: points.get((target, m, metric, p), np.nan) for m in models} for p in (0, 1)}
    if not all(np.isfinite(v) for p in sc for v in sc[p].values()):
        return None
    # Every model tied (plain SFDA at exactly 1.0 on 6 models): the metric gives no order, and
    # weighted tau is undefined; the target is listed as not scored for this metric.
    if any(len(set(sc[p].values())) < 2 for p in sc):
        return None
    js = common_resamples(boots, target, models, metric)
    seed = zlib.crc32(target.encode())  # the same for both PED settings: paired draws
    out: dict = {"n_resamples": len(js)}
    for ped in (False, True):
        reps = {m: rep[m] for m in models}
        res = {"replicates": ev.weighted_tau_interval(sc[ped], reps, n_boot=n_boot, seed=seed)}
        if len(js) >= 2:
            draws = {m: [boots[(target, m, metric, ped)][j] for j in js] for m in models}
            for kind in ("both", "samples"):
                res[kind] = ev.weighted_tau_interval(sc[ped], reps, draws, n_boot=n_boot,
                                                     seed=seed, resample=kind)
        else:  # no target resamples yet: "both" is the replicates-only interval (said so)
            res["both"] = res["samples"] = res["replicates"]
        # Ties on every resample (plain SFDA at 1.0 on each half-sample although the full
        # sample orders the models): no draw has a tau, so neither does the interval, nor any
        # mean it enters; the target is listed as not scored, like an all-tied one.
        if any(not np.isfinite(r.draws).any() for r in res.values()):
            return None
        out[ped] = res
    return out


def score_notes(metric: str, target: str, rep: dict, points: dict) -> list[str]:
    """Saturation and exact ties among the full-sample scores (rounding decides those)."""
    notes = []
    for ped in (False, True):
        vals = np.array([points[(target, m, metric, ped)] for m in sorted(rep)])
        tag = "with PED" if ped else "without PED"
        if is_saturated(vals):
            notes.append(f"{tag}: saturated (relative spread < 1e-9)")
        _, counts = np.unique(vals, return_counts=True)
        n_tied = int(counts[counts > 1].sum())
        if n_tied:
            top = int((vals == vals.max()).sum())
            notes.append(f"{tag}: {n_tied} of {vals.size} models tied"
                         + (f", {top} at the top score {vals.max():.10g}" if top > 1 else ""))
    return notes


def analyse(args, points: dict, boots: dict, reps: dict) -> dict:
    """Per metric: per-target intervals, the mean over targets and the PED gain."""
    out: dict = {}
    for metric in args.metrics:
        per_t = {t: target_intervals(metric, t, rep, points, boots, args.n_boot)
                 for t, rep in reps.items()}
        skipped = sorted(t for t, r in per_t.items() if r is None)
        per_t = {t: r for t, r in per_t.items() if r is not None}
        if not per_t:
            continue
        res: dict = {"targets": per_t, "skipped": skipped, "notes": {
            t: score_notes(metric, t, reps[t], points) for t in per_t}}
        for ped in (False, True):
            res[ped] = {k: ev.mean_over_targets([per_t[t][ped][k] for t in per_t])
                        for k in KINDS}
        res["gain"] = {k: ev.ped_gain([per_t[t][False][k] for t in per_t],
                                      [per_t[t][True][k] for t in per_t]) for k in KINDS}
        out[metric] = res
    return out


def _fmt(r) -> str:
    return f"{r.statistic:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"


def _header(args, cells: dict, reps: dict, result: dict) -> list[str]:
    """Title, provenance and what the intervals resample."""
    n_res = sorted({r["targets"][t]["n_resamples"] for r in result.values() for t in r["targets"]})
    return [
        "# Evidence: do transferability metrics pick the better model?",
        "",
        f"Generated by `python3 benchmarks/evidence/report.py --protocol {args.protocol}"
        f" --n-boot {args.n_boot}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from "
        f"`benchmarks/evidence/cells.jsonl` ({len(cells)} cells), `scores.jsonl` and "
        "`boot_scores.jsonl`.",
        "",
        f"Ground truth: protocol `{args.protocol}` (see docs/evidence.md), the mean accuracy over "
        f"split seeds; {len(reps)} targets with at least {args.min_models} models of at least "
        f"{args.min_seeds} seeds.",
        "",
        "**What the intervals resample** (95% percentile bootstrap, "
        f"{args.n_boot} draws, `pedrank.evaluation`): each draw resamples (a) every model's "
        "split-seed accuracies with replacement (the ground truth of that draw is their mean) "
        "and (b) the target samples: it takes one of the target's class-stratified "
        "half-samples (without replacement) of the scoring sample (the training part of split "
        "seed 0), the same half-sample for every model, on which every metric, and PED, were "
        "recomputed (`benchmarks/evidence/scoring.py`; half-samples, not the bootstrap: "
        "duplicated samples shift several metrics systematically, see docs/evidence.md). "
        "Resamples per (target, metric) used: "
        f"{', '.join(map(str, n_res))} (fast metrics: up to `--n-resamples`; N-LEEP and NCTI: "
        "up to `--n-resamples-slow`; a (target, metric) with fewer than 2 falls back to (a) "
        "only, shown as `rep. only`). The mean over targets takes draw b of every target; "
        "the PED gain pairs without and with PED draw by draw (same replicate and sample "
        "resamples).",
        "",
    ]


def _headline(result: dict, ceiling: dict) -> list[str]:
    """The headline table (mean over targets, combined interval) and the noise ceiling."""
    lines = [
        "## Headline: mean weighted tau over targets",
        "",
        "| metric | targets | without PED | with PED | PED gain | wins/losses/ties | "
        "sign-test p |",
        "|---|---|---|---|---|---|---|",
    ]
    for metric, r in result.items():
        g = r["gain"]["both"]
        n_t = f"{len(r['targets'])}" + (f" (not scored: {', '.join(r['skipped'])})"
                                        if r["skipped"] else "")
        lines.append(f"| {metric} | {n_t} | {_fmt(r[False]['both'])} | {_fmt(r[True]['both'])} | "
                     f"{_fmt(g)} | {g.n_positive}/{g.n_negative}/{g.n_ties} | {g.pvalue:.3f} |")
    med = [c.statistic for c in ceiling.values()]
    lines += ["", f"Noise ceiling: {np.median(med):.3f} (median over targets of the median "
              "seed-vs-seed weighted tau; per target below).", "",
              "### The same means, by source of noise", "",
              "| metric | PED | replicates only | target samples only | both |",
              "|---|---|---|---|---|"]
    for metric, r in result.items():
        for ped in (False, True):
            lines.append(f"| {metric} | {'with' if ped else 'without'} | "
                         + " | ".join(_fmt(r[ped][k]) for k in ("replicates", "samples", "both"))
                         + " |")
    return lines + [""]


def _target_section(t: str, rep: dict, result: dict, ceiling) -> list[str]:
    """One target: the ground truth per model and every metric's tau."""
    lines = [
        f"### {t}", "",
        f"{len(rep)} models, seeds per model: {sorted({len(v) for v in rep.values()})}; "
        f"noise ceiling median {ceiling.statistic:.3f} (range {ceiling.min:.3f} to "
        f"{ceiling.max:.3f}, {ceiling.draws.size} seed pairs).", "",
        "| model | mean acc | std | 95% interval |", "|---|---|---|---|",
    ]
    for m, v in sorted(rep.items(), key=lambda kv: -np.mean(kv[1])):
        c = summarise(v)
        lines.append(f"| {m} | {c['mean']:.4f} | {c['std']:.4f} | [{c['lo']:.4f}, {c['hi']:.4f}] |")
    lines += ["", "| metric | resamples | tau without PED | tau with PED | scores |",
              "|---|---|---|---|---|"]
    for metric, r in result.items():
        if t not in r["targets"]:
            lines.append(f"| {metric} | – | not scored | not scored | |")
            continue
        tr = r["targets"][t]
        n = tr["n_resamples"]
        lines.append(f"| {metric} | {n if n >= 2 else 'rep. only'} | {_fmt(tr[False]['both'])} | "
                     f"{_fmt(tr[True]['both'])} | {'; '.join(r['notes'][t])} |")
    return lines + [""]


def _cost(cells: dict) -> list[str]:
    """Measured cost of each protocol (cells) and of each metric (CPU s per score)."""
    lines = ["## Measured cost", "",
             "Ground truth, per cell (seconds as recorded by `pedrank groundtruth measure`, "
             "wall time on the shared 2-core machine, excluding feature extraction):", "",
             "| protocol | cells | median s | max s |", "|---|---|---|---|"]
    for prot in sorted({c["protocol"] for c in cells.values()}):
        secs = [c["seconds"] for c in cells.values() if c["protocol"] == prot]
        lines.append(f"| {prot} | {len(secs)} | {np.median(secs):.2f} | {max(secs):.1f} |")
    recs = scoring.load_jsonl(HERE / "boot_scores.jsonl")
    lines += ["", "Scoring, per score on a resampled scoring sample (CPU seconds, 1 BLAS "
              "thread; twins counted once):", "", "| metric | PED | scores | median CPU s | "
              "max CPU s |", "|---|---|---|---|---|"]
    seen = {}
    for r in recs:
        seen[(r["model"], r["metric"], r["ped"], r["resample"], r["seed"])] = r
    by: dict = {}
    for r in seen.values():
        by.setdefault((r["metric"], r["ped"]), []).append(r["seconds"])
    for (metric, ped), v in sorted(by.items()):
        lines.append(f"| {metric} | {'with' if ped else 'without'} | {len(v)} | "
                     f"{np.median(v):.3f} | {max(v):.2f} |")
    return lines + [""]


def write_markdown(args, reps: dict, result: dict, cells: dict) -> str:
    """The Markdown report."""
    ceiling = {t: ev.noise_ceiling(r) for t, r in reps.items()}
    lines = _header(args, cells, reps, result) + _headline(result, ceiling)
    left = {t: ms for t, ms in getattr(args, "left_out", {}).items() if ms}
    if left:
        lines += ["Models with ground truth left out because some metric has no full-sample "
                  "score for them yet (features not cached when the scores were computed, or "
                  "the metric failed):", ""]
        lines += [f"* {t}: {', '.join(ms)}" for t, ms in left.items()] + [""]
    lines += ["## Per target", "", "`scores`: exact ties among the models' full-sample scores "
              "(their order is then arbitrary) and saturation.", ""]
    for t, rep in reps.items():
        lines += _target_section(t, rep, result, ceiling[t])
    lines += _cost(cells) + remaining(cells)
    lines += ["## Source statistics used by PED", ""]
    lines += [f"* {m}: {s[1]}" for m, s in sorted(getattr(args, "sources", {}).items())]
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
                if n < n_seeds and protocol in ("ridge", "finetune"):
                    missing_pairs.setdefault((protocol, target), []).append(model)
        secs = [c["seconds"] for c in cells.values() if c["protocol"] == protocol]
        med = f"{np.median(secs):.1f}" if secs else "not measured"
        lines.append(f"| {protocol} | {n_seeds} | {have} | {todo} | {med} |")
    for protocol in ("ridge", "finetune"):
        pairs = {t: ms for (p, t), ms in missing_pairs.items() if p == protocol}
        lines += ["", f"{protocol} (target: models still missing):", ""]
        lines += [f"* {t}: {', '.join(ms)}" for t, ms in pairs.items()] or ["* none"]
    n_ft = sum(len(ms) for (p, _), ms in missing_pairs.items() if p == "finetune")
    ft_secs = [c["seconds"] for c in cells.values() if c["protocol"] == "finetune"]
    if n_ft == 0:
        return lines + ["", "Finetune: every cell of the grid is measured.", ""]
    if not ft_secs:  # nothing measured yet: no cost to extrapolate from
        return lines + ["", f"Finetune: {n_ft} (model, target) pairs remain ({3 * n_ft} "
                        "cells); no cell is measured yet, so their cost is unknown.", ""]
    # A seed cell trains on the full training split, a grid point on 3/4 of it.
    point = 0.75 * float(np.median(ft_secs))
    lo, hi = 13 * point / 3600, 19 * point / 3600
    lines += ["", FINETUNE_COST.format(pairs=n_ft, cells=3 * n_ft, point=point, lo_pair=lo,
                                       hi_pair=hi, lo=n_ft * lo, hi=n_ft * hi)]
    return lines + [""]


#: the finetune estimate (a grid point's cost from the measured finetune cells)
FINETUNE_COST = (
    "Finetune cost estimate: {pairs} (model, target) pairs remain ({cells} cells). Each runs "
    "the 3 x 3 (lr, wd) grid on a validation part of seed 0's training split, 0-2 extension "
    "rounds of 3 points, then 3 seeds at the chosen point on the full training split (each "
    "about 4/3 of a grid point): 13-19 grid-point equivalents. A grid point takes about "
    "{point:.0f} s here (3/4 of the median measured seed cell; 64 px, 10 epochs, last 3 "
    "blocks trained), so {lo_pair:.2f}-{hi_pair:.2f} h per pair and {lo:.1f}-{hi:.1f} h for "
    "all of them with one worker."
)


def proxy_agreement(cells: dict, reps: dict, n_boot: int) -> list[str]:
    """Markdown: does the ridge probe order these models as this protocol's ground truth does?

    Per target, the weighted tau between the ridge-probe mean accuracies (as if they were a
    metric's scores) and this protocol's per-seed accuracies, with an interval over this
    protocol's seeds only. A high tau means the 17-model ridge evidence speaks for
    fine-tuning too; a low one means it does not.
    """
    ridge = replicate_table(cells.values(), "ridge")
    lines = ["## Agreement with the ridge-probe ground truth", "",
             "Weighted tau between the ridge-probe mean accuracy (5 seeds) and this protocol's "
             "accuracies, on the same models; 95% interval over this protocol's seeds "
             f"({n_boot} draws).", "",
             "| target | models | tau (ridge vs this protocol) |", "|---|---|---|"]
    taus = []
    for t, rep in reps.items():
        common = [m for m in rep if m in ridge.get(t, {})]
        if len(common) < 3:
            continue
        r = ev.weighted_tau_interval({m: float(np.mean(ridge[t][m])) for m in common},
                                     {m: rep[m] for m in common}, n_boot=n_boot)
        taus.append(r.statistic)
        lines.append(f"| {t} | {len(common)} | {_fmt(r)} |")
    if taus:
        lines += ["", f"Mean over targets: {np.mean(taus):+.3f}.", ""]
    return lines


def plot(result: dict, path: Path) -> Path:
    """Mean tau over targets with its combined interval, per metric, without/with PED."""
    from pedrank.reports.plots import plot_tau_intervals

    recs = [(m, ped, r[ped]["both"].statistic, r[ped]["both"].low, r[ped]["both"].high)
            for m, r in result.items() for ped in (False, True)]
    return plot_tau_intervals(
        recs, path.parent, stem=path.stem, formats=("png",),
        title=PLOT_TITLE)


#: short enough for the figure (the report's text says what the intervals resample)
PLOT_TITLE = "Mean weighted τ over targets, 95% interval"


def _json(result: dict) -> dict:
    """report.json: every interval as statistic/low/high (draws left out)."""
    def iv(r) -> dict:
        d = {"statistic": r.statistic, "low": r.low, "high": r.high}
        if isinstance(r, ev.GainResult):
            d.update(wins=r.n_positive, losses=r.n_negative, ties=r.n_ties, sign_p=r.pvalue)
        return d

    return {m: {
        "without": {k: iv(r[False][k]) for k in KINDS},
        "with": {k: iv(r[True][k]) for k in KINDS},
        "gain": {k: iv(r["gain"][k]) for k in KINDS},
        "targets": {t: {"n_resamples": tr["n_resamples"],
                        "without": iv(tr[False]["both"]), "with": iv(tr[True]["both"])}
                    for t, tr in r["targets"].items()},
        "notes": r["notes"],
    } for m, r in result.items()}


def source_note(model: str) -> str:
    """Where PED's source statistics of ``model`` come from (without computing them)."""
    from pedrank.models.source_samples import load_source_stats
    from pedrank.models.zoo import get_entry

    entry = get_entry(model)
    if entry.kind != "vision":
        return "none (text model: PED uses the target's own statistics)"
    size = entry.preprocessing.size if entry.extra.get("fixed_input_size") else 64
    if load_source_stats(model, size) is not None:
        return f"packaged natural-image crops, {size} px"
    return f"natural-image crops computed at scoring time, {size} px (not packaged)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", default="ridge")
    p.add_argument("--cells", type=Path, default=HERE / "cells.jsonl")
    p.add_argument("--metrics", nargs="+", default=DEFAULT_METRICS)
    p.add_argument("--min-seeds", type=int, default=5)
    p.add_argument("--min-models", type=int, default=4)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--score", action="store_true",
                   help="run scoring.py first (missing full-sample and resampled scores)")
    p.add_argument("--n-resamples", type=int, default=20)
    p.add_argument("--n-resamples-slow", type=int, default=5)
    p.add_argument("--tables-only", action="store_true")
    args = p.parse_args(argv)

    cells = CellStore(args.cells).load()
    about = (
        f"pedrank groundtruth measure, protocol {args.protocol}: see docs/evidence.md; "
        "cells in benchmarks/evidence/cells.jsonl."
    )
    out = ROOT / "src" / "pedrank" / "data" / "groundtruth" / f"evidence_{args.protocol}.json"
    write_table(cells.values(), args.protocol, out, about=about, min_seeds=args.min_seeds)
    print("wrote", out)
    if args.tables_only:
        return 0
    if args.score:
        scoring.main(["--cells", str(args.cells), "--n-resamples", str(args.n_resamples),
                      "--n-resamples-slow", str(args.n_resamples_slow), "--metrics",
                      *[m for m in args.metrics if m in scoring.METRICS]])
    reps = replicate_table(cells.values(), args.protocol)
    reps = {t: {m: v for m, v in ms.items() if len(v) >= args.min_seeds} for t, ms in reps.items()}
    reps = {t: ms for t, ms in reps.items() if len(ms) >= args.min_models}
    if not reps:
        print("no target has enough models yet")
        return 1
    points, boots = load_scores(args.metrics)
    reps, args.left_out = scored_models(reps, points, args.metrics, args.min_models)
    result = analyse(args, points, boots, reps)
    args.sources = {m: (None, source_note(m)) for ms in reps.values() for m in ms}
    # One report per protocol: the ridge headline keeps its historical name (README links it).
    stem = "report" if args.protocol == "ridge" else f"report_{args.protocol}"
    text = write_markdown(args, reps, result, cells)
    if args.protocol != "ridge":
        text += "\n".join(proxy_agreement(cells, reps, args.n_boot)) + "\n"
    (HERE / f"{stem}.md").write_text(text)
    plot(result, HERE / f"{stem}.png")
    (HERE / f"{stem}.json").write_text(json.dumps(_json(result), indent=1) + "\n")
    print("wrote", HERE / f"{stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
