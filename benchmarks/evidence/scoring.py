#!/usr/bin/env python3
"""Scores behind the evidence report: every metric with and without PED, on the
full scoring sample (``scores.jsonl``) and on class-stratified bootstrap
resamples of it (``boot_scores.jsonl``).

Both files are resumable JSONL caches: one line per finished score, appended as
it finishes, so a killed run loses at most the score in progress and a rerun
computes only what is missing. Features come from the feature cache
(``pedrank.groundtruth.measure._features``); only (target, model) pairs with
ground-truth cells are scored, and those were extracted when the cells were
measured.

What is resampled: the scoring sample of a target is the training part of
split seed 0 (what a user with that labelled split would score). Resample ``j``
is :func:`pedrank.evaluation.stratified_resamples` row ``j`` of that sample's
labels with ``fraction=0.5``: a class-stratified half-sample without replacement
(the half-sample method: for a smooth statistic its spread over half-samples
matches the full sample's sampling spread). Not the bootstrap: a first run with
with-replacement resamples showed duplicated samples shifting several metrics'
rankings systematically (e.g. LogME's weighted tau on emoji-category: 0.91 on the
full sample, 0.53-0.73 on two bootstrap resamples), so its intervals described a
different statistic. Resamples are seeded by the sample's identity (so two
targets with the same scoring sample, emoji-category and emoji-google-twitter,
share their resamples and their scores). Every metric is recomputed on
``X[idx], y[idx]``; with PED the whole PED transform is recomputed too (the
source statistics are fixed: they come from the model's source images, not
the target).

Usage (the report runs this first; it can also run alone, e.g. in the
background, and be killed at any time)::

    OMP_NUM_THREADS=1 python3 benchmarks/evidence/scoring.py --n-resamples 20 --n-resamples-slow 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pedrank.core.evaluation import stratified_resamples  # noqa: E402
from pedrank.core.scoring import score  # noqa: E402
from pedrank.groundtruth.measure import (  # noqa: E402
    CellStore,
    FeaturesNotCached,
    MeasureConfig,
    _features,
    load_target,
    replicate_table,
    split_positions,
)

#: resampled ``--n-resamples`` times first (each well under a second per model here)
FAST_METRICS = ["logme", "sfda", "sfda_log", "gbc", "gbc_log", "hscore", "transrate", "parc"]
#: resampled ``--n-resamples-slow`` times after them (about 1-2 s per model and PED setting)
SLOW_METRICS = ["ncti", "nleep"]
METRICS = FAST_METRICS + SLOW_METRICS
#: class-stratified half-samples without replacement (see the module docstring)
FRACTION = 0.5
CFG = MeasureConfig(image_size=64, max_samples=1500, max_per_class=60)
#: the ground-truth cells (the lead's store; read only)
DEFAULT_CELLS = HERE / "cells.jsonl"


@dataclass
class Sample:
    """The scoring sample of one target: positions, labels and their identity."""

    target: object
    positions: np.ndarray
    labels: np.ndarray
    identity: str

    @property
    def seed(self) -> int:
        """Resampling seed: a stable function of the identity (not Python's salted hash)."""
        return zlib.crc32(self.identity.encode())


def scoring_sample(name: str) -> Sample:
    """The training part of split seed 0 of target ``name``."""
    target = load_target(name, CFG.max_samples, CFG.max_per_class)
    pos, _ = split_positions(target, 0, CFG.test_size)
    y = target.labels[pos]
    h = hashlib.sha256(target.pool_id.encode())
    h.update(np.ascontiguousarray(target.index[pos], dtype=np.int64).tobytes())
    h.update("\0".join(map(str, y)).encode())
    return Sample(target, pos, y, h.hexdigest()[:16])


def source_stats(model: str, size: int):
    """Source statistics from the offline sample (crops of the scikit-image/-learn photos
    and foolbox's 20 ImageNet photos) at the size the model runs at for ``size`` px, and
    their description."""
    from pedrank.models.source_samples import compute_source_stats
    from pedrank.models.zoo import get_entry

    entry = get_entry(model)
    if entry.kind != "vision":
        return None, "none (text model: PED uses the target's own statistics)"
    # the size the target features were extracted at (native for fixed graphs, whole
    # patches for ViTs, at least the minimum InceptionV3's stem takes)
    size = entry.input_size(size) or entry.preprocessing.size
    from pedrank.models.extract import default_cache_dir

    # The evidence's sample, pinned to the packaged statistics' kind: crops of the
    # scikit-image/-learn photos plus foolbox's ImageNet photos (the best real sample
    # available offline; the scores up to stop 18 used the crops only and were rescored in
    # stop 19). Crops' features are cached like any extraction (a rerun does not
    # recompute them).
    stats_ = compute_source_stats(model, image_size=size, cache_dir=default_cache_dir(),
                                  imagenet=True)
    return stats_, f"natural-image crops and ImageNet photos computed, {size} px"


def load_jsonl(path: Path) -> list[dict]:
    """The records of a JSONL cache (a torn last line from a killed run is skipped)."""
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def one_score(X, y, metric: str, ped: bool, src) -> tuple[float, float]:
    """``(score, cpu seconds)``; NaN when the metric fails on this sample."""
    from pedrank.core.ped import PED

    est = PED(fallback="target") if src is None else True
    t0 = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            val = float(score(X, y, metric=metric, ped=est if ped else False, source=src))
    except Exception as exc:  # noqa: BLE001 - record and go on: one failure is one NaN
        print(f"  {metric} ped={ped}: {type(exc).__name__}: {exc}", flush=True)
        val = float("nan")
    return val, round(time.process_time() - t0, 3)


def eligible(cells_path: Path, min_seeds: int, min_models: int) -> dict[str, list[str]]:
    """``{target: [model]}`` with enough ground-truth seeds (the report's filter)."""
    cells = CellStore(cells_path).load()
    reps = replicate_table(cells.values(), "ridge")
    reps = {t: [m for m, v in ms.items() if len(v) >= min_seeds] for t, ms in reps.items()}
    return {t: sorted(ms) for t, ms in reps.items() if len(ms) >= min_models}


class Scorer:
    """Features, samples and source statistics held in memory across passes."""

    def __init__(self, extract: bool = False) -> None:
        self.extract = extract  # load a model on a feature-cache miss (a fresh machine)
        self.samples: dict[str, Sample] = {}
        self.features: dict[tuple[str, str], np.ndarray] = {}
        self.sources: dict[str, tuple] = {}

    def sample(self, target: str) -> Sample:
        if target not in self.samples:
            self.samples[target] = scoring_sample(target)
        return self.samples[target]

    def data(self, target: str, model: str):
        """``(X, y, source)`` of the scoring sample (features from the cache)."""
        s = self.sample(target)
        key = (s.identity, model)
        if key not in self.features:
            # vision: cached_only, the ground-truth job extracts the image pool and this
            # reader never repeats that work; text pools are small and extracted here
            only = s.target.kind == "vision" and not self.extract
            self.features[key] = _features(model, s.target, CFG, cached_only=only)[s.positions]
        if model not in self.sources:
            self.sources[model] = source_stats(model, CFG.image_size)
        return self.features[key], s.labels, self.sources[model][0]


def _prefetch_model(model: str, targets: list[str]) -> tuple[str, float]:
    """Extract ``model``'s features on ``targets`` and its source sample into the cache
    (one worker process's task); returns ``(model, wall seconds)``."""
    t0 = time.perf_counter()
    sc = Scorer(extract=True)
    for target in targets:
        sc.data(target, model)
    return model, time.perf_counter() - t0


def prefetch(pairs: dict[str, list[str]], jobs: int) -> None:
    """Fill the feature cache for every vision pair in ``jobs`` processes, one model per
    task (a fresh machine's extraction is most of a rescoring's time, and one process
    leaves a core idle while it loads and preprocesses). Text pools are small and are
    extracted by the scoring pass itself."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from pedrank.models.zoo import get_entry

    by_model: dict[str, list[str]] = {}
    for target, models in pairs.items():
        for model in models:
            if get_entry(model).kind == "vision":
                by_model.setdefault(model, []).append(target)
    # a fresh worker per model: a model's weights and graph are freed with its process
    with ProcessPoolExecutor(jobs, max_tasks_per_child=1) as pool:
        futs = [pool.submit(_prefetch_model, m, ts) for m, ts in sorted(by_model.items())]
        for fut in as_completed(futs):
            model, wall = fut.result()
            print(f"prefetched {model}: {wall:.0f} s", flush=True)


def _append(path: Path, rec: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


def score_points(sc: Scorer, pairs: dict[str, list[str]], metrics: list[str], path: Path) -> None:
    """Full-sample scores missing from ``path`` (``scores.jsonl``)."""
    have = {(r["target"], r["model"], r["metric"], r["ped"]): r for r in load_jsonl(path)}
    ids = {t: sc.sample(t).identity for t in pairs}
    for target, models in pairs.items():
        twins = [t for t in ids if ids[t] == ids[target] and t != target]
        for model in models:
            todo = [(m, p) for m in metrics for p in (False, True)
                    if (target, model, m, p) not in have]
            for metric, ped in list(todo):  # a twin's score is this target's score
                twin = next((have[k] for t in twins if (k := (t, model, metric, ped)) in have),
                            None)
                if twin is not None:
                    rec = {**twin, "target": target}
                    _append(path, rec)
                    have[(target, model, metric, ped)] = rec
                    todo.remove((metric, ped))
            if not todo:
                continue
            try:
                X, y, src = sc.data(target, model)
            except FeaturesNotCached as exc:
                print(f"skipped for now: {exc}", flush=True)
                continue
            for metric, ped in todo:
                val, cpu = one_score(X, y, metric, ped, src)
                rec = {"target": target, "model": model, "metric": metric, "ped": ped,
                       "score": val, "seconds": cpu}
                _append(path, rec)
                have[(target, model, metric, ped)] = rec
            print(f"scored {target} / {model}: {len(todo)} scores", flush=True)


def score_resample(sc: Scorer, target: str, model: str, j: int, metrics: list[str],
                   have: set, path: Path) -> int:
    """Scores of resample ``j`` of (target, model) missing from ``have``; returns how many."""
    todo = [(m, p) for m in metrics for p in (False, True) if (target, model, m, p, j) not in have]
    if not todo:
        return 0
    try:
        X, y, src = sc.data(target, model)
    except FeaturesNotCached:
        return 0  # a later pass picks it up once the ground-truth job has extracted it
    s = sc.sample(target)
    idx = stratified_resamples(y, 1, seed=s.seed, start=j, fraction=FRACTION)[0]
    twins = [t for t, o in sc.samples.items() if o.identity == s.identity]
    for metric, ped in todo:
        val, cpu = one_score(X[idx], y[idx], metric, ped, src)
        for t in twins:  # identical scoring samples share the score
            rec = {"target": t, "model": model, "metric": metric, "ped": ped, "resample": j,
                   "seed": s.seed, "fraction": FRACTION, "score": val, "seconds": cpu}
            _append(path, rec)
            have.add((t, model, metric, ped, j))
    return len(todo)


def score_boot(sc: Scorer, args, path: Path) -> None:
    """Resamples ``0..n-1`` for every eligible pair, resample by resample (so whatever is
    finished when the run stops is a complete set of resamples for every model): first
    the fast metrics' ``--n-resamples``, then the slow ones' ``--n-resamples-slow``."""
    have = {(r["target"], r["model"], r["metric"], r["ped"], r["resample"])
            for r in load_jsonl(path)}
    fast = [m for m in args.metrics if m in FAST_METRICS]
    slow = [m for m in args.metrics if m not in FAST_METRICS]
    for metrics, n_res in ((fast, args.n_resamples), (slow, args.n_resamples_slow)):
        for j in range(n_res if metrics else 0):
            pairs = eligible(args.cells, args.min_seeds, args.min_models)  # new cells join in
            for t in pairs:
                sc.sample(t)
            t0 = time.process_time()
            n = 0
            scored = {(r["target"], r["model"]) for r in load_jsonl(HERE / "scores.jsonl")}
            for target, models in pairs.items():
                # pairs without full-sample scores yet wait for the end of the pass
                for model in (m for m in models if (target, m) in scored):
                    for jj in range(j + 1):  # a model whose cells just landed catches up
                        n += score_resample(sc, target, model, jj, metrics, have, path)
            print(f"resample {j} of {', '.join(metrics)}: {n} scores, "
                  f"{time.process_time() - t0:.0f} s CPU", flush=True)
            # then the full-sample scores of pairs whose cells just landed (their source
            # statistics can take minutes): they join the resamples in the next pass
            score_points(sc, pairs, args.metrics, HERE / "scores.jsonl")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=Path, default=DEFAULT_CELLS)
    p.add_argument("--metrics", nargs="+", default=METRICS)
    p.add_argument("--n-resamples", type=int, default=20)
    p.add_argument("--n-resamples-slow", type=int, default=5)
    p.add_argument("--min-seeds", type=int, default=5)
    p.add_argument("--min-models", type=int, default=4)
    p.add_argument("--points-only", action="store_true")
    p.add_argument("--extract", action="store_true",
                   help="extract image features that are not cached (by default a pair whose "
                        "features are missing waits for the ground-truth job to extract them)")
    p.add_argument("--jobs", type=int, default=1,
                   help="with --extract: fill the feature cache in this many processes "
                        "first (one model per task)")
    args = p.parse_args(argv)
    if args.extract and args.jobs > 1:
        prefetch(eligible(args.cells, args.min_seeds, args.min_models), args.jobs)
    sc = Scorer(extract=args.extract)
    if args.points_only:
        pairs = eligible(args.cells, args.min_seeds, args.min_models)
        score_points(sc, pairs, args.metrics, HERE / "scores.jsonl")
    else:
        score_boot(sc, args, HERE / "boot_scores.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
