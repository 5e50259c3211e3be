#!/usr/bin/env python3
"""Time and peak memory of pedrank against a faithful baseline (``baseline.py``).

Every measurement runs in a fresh subprocess so that its peak memory is clean:
the worker builds the synthetic data, resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``), calls the function once and reports wall time and
``VmHWM - VmRSS_before`` (the memory the call added at its peak, all
allocations included: numpy, BLAS/LAPACK work space, sklearn). Where
``clear_refs`` is not writable the worker falls back to tracemalloc.

Baseline runs are bounded by ``--cap`` seconds: a run that hits the cap is
killed and reported as ``> cap`` (with the peak memory reached so far as a
lower bound), never extrapolated silently.

Usage (the command that produced ``RESULTS.md`` is written at its top)::

    python3 benchmarks/run_benchmarks.py --out benchmarks/RESULTS.md
    python3 benchmarks/run_benchmarks.py --sizes 2000x256x20 --only logme,sfda
    python3 benchmarks/run_benchmarks.py --growth-only --out /tmp/growth.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FUNCS = ("ped_transform", "logme", "sfda", "nleep", "gbc", "parc", "score_ped_sfda")
DEFAULT_SIZES = "5000x512x50,20000x2048x100,20000x2048x397,50000x2048x100"
SOURCE_ROWS = 5000
LATENT = 32
# Growth sweep: vary one of N, D, C around a base size, pedrank only.
GROWTH_BASE = (8000, 1024, 64)
GROWTH_VALUES = {"N": (4000, 8000, 16000), "D": (256, 1024, 2048), "C": (32, 64, 128)}


# ------------------------------------------------------------------------- data


def make_data(N: int, D: int, C: int, seed: int = 0):
    """Synthetic features shaped like pooled CNN features of one model.

    A 32-dimensional latent space holds the class structure (so PCA at 80%
    variance keeps a few dozen components, as with real features), projected
    to D dimensions plus isotropic noise; classes overlap enough for PED to
    run its steps. Returns float32 X (N x D), int labels, float32 source
    features (5000 x D) from the same projection.
    """
    rng = np.random.default_rng(seed)
    r = min(LATENT, D)
    centres = rng.normal(scale=0.8, size=(C, r))
    W = rng.normal(size=(r, D)) / np.sqrt(r)
    y = rng.permutation(np.arange(N) % C)
    X = (centres[y] + rng.normal(size=(N, r))) @ W
    X += 0.3 * rng.standard_normal(size=(N, D))
    X += 1.0
    src = rng.normal(scale=1.2, size=(SOURCE_ROWS, r)) @ W
    src += 0.3 * rng.standard_normal(size=(SOURCE_ROWS, D))
    src += 1.0
    return X.astype(np.float32), y, src.astype(np.float32)


# ----------------------------------------------------------------------- worker


def _status() -> dict[str, int]:
    text = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", text).group(1)) * 1024
            for k in ("VmRSS", "VmHWM")}


def _fingerprint(moved: np.ndarray) -> float:
    # A scalar that changes with any class shift: weighted sum of the moved features.
    w = np.random.default_rng(123).standard_normal(moved.shape[1])
    return float((moved @ w).sum())


def _call(impl: str, func: str, X, y, src, args):
    if impl == "baseline":
        sys.path.insert(0, str(HERE))
        import baseline as B

        if func == "ped_transform":
            moved, steps = B.ped_transform(X, y, src, max_steps=args.ped_max_steps)
            return _fingerprint(moved), steps
        if func == "score_ped_sfda":
            return B.score_ped_sfda(X, y, src, max_steps=args.ped_max_steps), None
        if func == "nleep":
            return B.nleep(X, y, **_nleep_kwargs()), None
        if func == "parc":
            return B.parc(X, y, subsample=_parc_subsample()), None
        if func == "gbc":
            return B.gbc(X, y, **_gbc_kwargs()), None
        return getattr(B, func)(X, y), None
    import pedrank
    from pedrank.core.metrics import get_metric

    device = args.device
    if func == "ped_transform":
        stats = pedrank.SourceStats.from_features(src)
        res = pedrank.ped_transform(X, y, stats, max_steps=args.ped_max_steps, device=device)
        return _fingerprint(res.features), res.n_steps
    if func == "score_ped_sfda":
        stats = pedrank.SourceStats.from_features(src)
        ped = pedrank.PED(max_steps=args.ped_max_steps)
        return pedrank.score(X, y, metric="sfda", ped=ped, source=stats, device=device), None
    kw = {"device": device} if device is not None else {}
    return get_metric(func).func(X, y, **kw), None


def _nleep_kwargs() -> dict:
    """The baseline N-LEEP uses the package's GMM settings when it declares them."""
    try:
        from pedrank.core.metrics import nleep as mod
    except ImportError:
        return {}
    out = {}
    for attr, key in (("DEFAULT_RANDOM_STATE", "random_state"),
                      ("_RANDOM_STATE", "random_state"),
                      ("DEFAULT_COMPONENT_RATIO", "component_ratio")):
        if hasattr(mod, attr):
            out[key] = getattr(mod, attr)
    return out


def _parc_subsample():
    """The package's seeded stratified subsample, so both PARCs score the same rows."""
    try:
        from pedrank.core._validation import encode_labels
        try:
            from pedrank.core.sampling import stratified_subsample
        except ImportError:  # older pedrank (before pedrank.core.sampling)
            from pedrank.core.metrics.parc import stratified_subsample
    except ImportError:
        return None
    return lambda y, n_keep: stratified_subsample(encode_labels(y), n_keep, 1919)


def _gbc_kwargs() -> dict:
    return {}


def worker(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("impl")
    p.add_argument("func")
    p.add_argument("size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", required=True)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--device", default=None)
    p.add_argument("--ped-max-steps", type=int, default=6)
    args = p.parse_args(argv)
    N, D, C = (int(v) for v in args.size.split("x"))
    X, y, src = make_data(N, D, C, args.seed)
    if args.impl == "pedrank":   # import outside the measured call
        import pedrank  # noqa: F401
        from pedrank.core.metrics import available_metrics

        if any(m.name == args.func and m.input == "source_probs" for m in available_metrics()):
            # LEEP / NCE take a source model's softmax outputs: use a softmax
            # over the D feature columns, so "D" is the number of source classes.
            from scipy.special import softmax

            X = softmax(X.astype(np.float64), axis=1)

        if args.device is not None:
            import torch

            torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    else:
        sys.path.insert(0, str(HERE))
        import baseline  # noqa: F401
    import gc

    gc.collect()
    use_proc = True
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        use_proc = False
    times, peaks, cpus = [], [], []
    value = steps = None
    for _ in range(max(1, args.repeat)):
        gc.collect()
        if use_proc:
            Path("/proc/self/clear_refs").write_text("5")
            before = _status()["VmRSS"]
        else:
            import tracemalloc

            tracemalloc.start()
            before = 0
        Path(args.progress).write_text(json.dumps({"rss_before": before, "pid": os.getpid()}))
        t0 = time.perf_counter()
        c0 = time.process_time()
        value, steps = _call(args.impl, args.func, X, y, src, args)
        dt = time.perf_counter() - t0
        cpus.append(time.process_time() - c0)
        if use_proc:
            peak = _status()["VmHWM"] - before
        else:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        times.append(dt)
        peaks.append(peak)
        if dt > 2.0:       # repeats only for short calls (noise on a shared machine)
            break
    print(json.dumps({"time": min(times), "times": times, "cpu": min(cpus), "peak": max(peaks),
                      "value": float(value), "steps": steps,
                      "mem_method": "VmHWM" if use_proc else "tracemalloc",
                      "x64_bytes": N * D * 8}))


# ----------------------------------------------------------------------- parent


THREADS = 1


def _env() -> dict[str, str]:
    # Pin the BLAS/OpenMP pools of the worker. On a shared machine an idle-spinning
    # multi-threaded OpenBLAS is 20-60x slower for LAPACK calls (eigh of a 512 x 512
    # matrix: 3 s with 2 threads under load vs 0.15 s with 1), which would turn the
    # measurements into noise.
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(THREADS)
    return env


def measure(impl: str, func: str, size: str, cap: float, repeat: int, device: str | None,
            ped_max_steps: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        progress = fh.name
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", impl, func, size,
           "--progress", progress, "--repeat", str(repeat),
           "--ped-max-steps", str(ped_max_steps)]
    if device:
        cmd += ["--device", device]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    start = time.perf_counter()
    try:
        out, err = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        info: dict = {"capped": True, "time": None}
        try:
            prog = json.loads(Path(progress).read_text() or "{}")
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) * 1024
            info["peak_lower_bound"] = hwm - prog.get("rss_before", 0)
            info["elapsed_before_kill"] = time.perf_counter() - start
        except (OSError, ValueError, AttributeError):
            pass
        proc.kill()
        proc.communicate()
        return info
    finally:
        Path(progress).unlink(missing_ok=True)
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or ["?"])[-1], "time": None}
    return json.loads(out.strip().splitlines()[-1])


def _fmt_t(r: dict, cap: float, key: str = "time") -> str:
    if r.get("skipped"):
        return "-"
    if r.get("capped"):
        return f"> {cap:.0f} (capped)" if key == "time" else "-"
    if r.get("error"):
        return "error"
    t = r[key]
    return f"{t:.3f}" if t < 10 else f"{t:.1f}"


def _fmt_mb(r: dict) -> str:
    if r.get("skipped"):
        return "-"
    if r.get("capped"):
        lb = r.get("peak_lower_bound")
        return f">= {lb / 2**20:.0f}" if lb is not None else "?"
    if r.get("error"):
        return "-"
    return f"{r['peak'] / 2**20:.0f}"


def _ratio_value(a: dict, b: dict, key: str, cap: float) -> tuple[float | None, str]:
    """(baseline / pedrank for ``key``, prefix): prefix '>' or '>=' when the baseline was capped."""
    if b.get("time") is None or a.get("skipped"):
        return None, ""
    if a.get("capped"):
        if key == "time":
            return cap / max(b["time"], 1e-9), "> "
        if key == "cpu":
            return None, ""
        lb = a.get("peak_lower_bound")
        return (lb / max(b["peak"], 1), ">= ") if lb else (None, "")
    if a.get("time") is None:
        return None, ""
    return a[key] / max(b[key], 1e-9), ""


def _ratio(a: dict, b: dict, key: str, cap: float) -> str:
    val, prefix = _ratio_value(a, b, key, cap)
    return "-" if val is None else f"{prefix}{val:.1f}x"


def _agree(a: dict, b: dict) -> str:
    if a.get("time") is None or b.get("time") is None:
        return "-"
    va, vb = a["value"], b["value"]
    rel = abs(va - vb) / max(abs(va), abs(vb), 1e-300)
    s = f"{rel:.1e}"
    if a.get("steps") is not None or b.get("steps") is not None:
        s += f" (steps {a.get('steps')}/{b.get('steps')})"
    return s


def machine_info() -> str:
    import scipy
    import sklearn

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        tv = torch.__version__
    except ImportError:
        tv = "not installed"
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{cpu}, {os.cpu_count()} logical CPUs (shared with other jobs; load average at "
            f"start {load[0]:.1f}); Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, torch {tv}")


def agreement_check(size: str, funcs: list[str]) -> list[str]:
    """Baseline vs pedrank on a small input, in process: max relative difference."""
    sys.path.insert(0, str(HERE))
    import baseline as B

    import pedrank
    from pedrank.core.metrics import get_metric

    N, D, C = (int(v) for v in size.split("x"))
    X, y, src = make_data(N, D, C, seed=1)
    rows = []
    for func in funcs:
        try:
            if func == "ped_transform":
                moved_b, steps_b = B.ped_transform(X, y, src)
                res = pedrank.ped_transform(X, y, pedrank.SourceStats.from_features(src))
                rel = np.abs(res.features - moved_b).max() / np.abs(moved_b).max()
                rows.append(f"| {func} | max rel. diff of moved features {rel:.1e}; "
                            f"steps {steps_b} / {res.n_steps} |")
                continue
            if func == "score_ped_sfda":
                vb = B.score_ped_sfda(X, y, src)
                vp = pedrank.score(X, y, metric="sfda", ped=True,
                                   source=pedrank.SourceStats.from_features(src))
            elif func == "nleep":
                vb = B.nleep(X, y, **_nleep_kwargs())
                vp = get_metric(func).func(X, y)
            elif func == "parc":
                vb = B.parc(X, y, subsample=_parc_subsample())
                vp = get_metric(func).func(X, y)
            elif func == "gbc":
                vb = B.gbc(X, y, **_gbc_kwargs())
                vp = get_metric(func).func(X, y)
            else:
                vb = getattr(B, func)(X, y)
                vp = get_metric(func).func(X, y)
            rel = abs(vb - vp) / max(abs(vb), abs(vp), 1e-300)
            rows.append(f"| {func} | baseline {vb:.12g}, pedrank {vp:.12g}, rel. diff {rel:.1e} |")
        except Exception as exc:  # noqa: BLE001 - report, do not abort the benchmark
            rows.append(f"| {func} | not compared: {type(exc).__name__}: {exc} |")
    return rows


def growth(funcs: list[str], device: str | None, cap: float) -> list[str]:
    lines = ["| metric | varied | sizes (N x D x C) | wall s | CPU s | exponent (CPU) |",
             "|---|---|---|---|---|---|"]
    for func in funcs:
        for axis, values in GROWTH_VALUES.items():
            sizes, times, cpus = [], [], []
            for v in values:
                N, D, C = GROWTH_BASE
                N, D, C = (v if axis == "N" else N, v if axis == "D" else D,
                           v if axis == "C" else C)
                size = f"{N}x{D}x{C}"
                r = measure("pedrank", func, size, cap, 2, device, 6)
                sizes.append(size)
                times.append(r.get("time"))
                cpus.append(r.get("cpu"))
                print(f"  growth {func} {size}: {r}", file=sys.stderr, flush=True)
            if None not in cpus and cpus[0] > 0:
                expo = np.log(cpus[-1] / cpus[0]) / np.log(values[-1] / values[0])
                e = f"{expo:.2f}"
            else:
                e = "-"
            ts = ", ".join("-" if t is None else f"{t:.3f}" for t in times)
            cs = ", ".join("-" if t is None else f"{t:.3f}" for t in cpus)
            lines.append(f"| {func} | {axis} | {', '.join(sizes)} | {ts} | {cs} | {e} |")
    return lines


def summarise(path: str) -> str:
    """Compact Markdown table (one row per function, one column per size) from a --json file."""
    rows = json.loads(Path(path).read_text())
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    funcs = list(dict.fromkeys(r["func"] for r in rows))
    cell = {(r["size"], r["func"]): r for r in rows}
    head = ["| function | " + " | ".join(f"{s.replace('x', ' x ')}" for s in sizes) + " |",
            "|---|" + "---|" * len(sizes)]
    lines = []
    for func in funcs:
        parts = []
        for size in sizes:
            r = cell.get((size, func))
            if r is None:
                parts.append("-")
                continue
            rb, rp, cap = r["baseline"], r["pedrank"], r["cap"]
            if rp.get("time") is None:
                parts.append("not measured")
                continue
            n, d, _ = (int(v) for v in size.split("x"))
            w, pw = _ratio_value(rb, rp, "time", cap)
            c, pc = _ratio_value(rb, rp, "cpu", cap)
            m, pm = _ratio_value(rb, rp, "peak", cap)
            txt = (f"{pw}{w:.1f}x / {pc}{c:.1f}x" if w is not None and c is not None
                   else "-")
            txt += f", mem {pm}{m:.1f}x" if m is not None else ""
            txt += f", {rp['peak'] / (n * d * 8):.2f} X64"
            parts.append(txt)
        lines.append(f"| {func} | " + " | ".join(parts) + " |")
    return "\n".join(["Speed-up wall / CPU, memory ratio (baseline peak / pedrank peak), "
                      "pedrank peak in units of X in float64.\n"] + head + lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--summarise":
        print(summarise(sys.argv[2]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=DEFAULT_SIZES, help="comma list of NxDxC")
    p.add_argument("--only", default=",".join(FUNCS), help="comma list of functions")
    p.add_argument("--out", default=None, help="write the Markdown report here")
    p.add_argument("--cap", type=float, default=600.0,
                   help="seconds before a baseline run is killed (pedrank runs get 2x)")
    p.add_argument("--func-cap", default="",
                   help="per-function caps, e.g. nleep=90 (applies to baseline and pedrank)")
    p.add_argument("--device", default=None, help="pedrank device (torch back end)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--json", default=None, help="also save the raw measurements here")
    p.add_argument("--baseline-from", default=None,
                   help="reuse the baseline measurements of an earlier --json file (e.g. to "
                        "time a patched pedrank, PYTHONPATH=patched/src, against them)")
    p.add_argument("--check-size", default="2000x128x20",
                   help="size of the in-process agreement check ('' to skip)")
    p.add_argument("--growth", action="store_true", help="also run the N/D/C growth sweep")
    p.add_argument("--growth-only", action="store_true")
    p.add_argument("--growth-metrics", default="ped_transform,logme,sfda,nleep,gbc,parc,hscore")
    p.add_argument("--ped-max-steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP/torch threads of every worker (default 1: the machine "
                        "is shared; oversubscribed OpenBLAS threads make timings noise)")
    args = p.parse_args()
    global THREADS
    THREADS = args.threads
    funcs = [f for f in args.only.split(",") if f]
    reused = {}
    if args.baseline_from:
        for row in json.loads(Path(args.baseline_from).read_text()):
            reused[(row["size"], row["func"])] = row["baseline"]
    func_caps = {k: float(v) for k, v in
                 (item.split("=") for item in args.func_cap.split(",") if item)}
    unknown = set(funcs) - set(FUNCS)
    if unknown:
        p.error(f"unknown functions {sorted(unknown)}; choose from {FUNCS}")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cmd = "python3 " + " ".join([os.path.relpath(__file__)] + sys.argv[1:])
    if os.environ.get("PYTHONPATH"):
        cmd = f"PYTHONPATH={os.environ['PYTHONPATH']} {cmd}"
    report = ["# pedrank benchmark results\n",
              f"Command: `{cmd}`  \nStarted {started}.  \nMachine: {machine_info()}.\n",
              f"BLAS/OpenMP threads per worker: {args.threads}. pedrank imported from "
              f"`{_pedrank_location()}`"
              + (f"; baseline rows reused from `{args.baseline_from}`" if args.baseline_from
                 else "") + ".\n",
              "Times are wall-clock seconds of one call (pedrank: best of up to 3 when a call "
              "takes under 2 s); memory is the extra peak resident memory of the call "
              f"({'VmHWM' if Path('/proc/self/clear_refs').exists() else 'tracemalloc'}) "
              "over the process before the call, in MiB; each measurement in a fresh process. "
              "Inputs: float32 features (like real feature files), synthetic class-clustered "
              f"data (`make_data`), a {SOURCE_ROWS}-row source sample for PED. The baseline is "
              "`benchmarks/baseline.py` (faithful transcription of the published algorithms). "
              "`peak/X64` is the pedrank peak over the size of X in float64.\n"]
    if not args.growth_only:
        if args.check_size:
            report += [f"## Agreement check (in process, {args.check_size})\n",
                       "| function | result |", "|---|---|"]
            report += agreement_check(args.check_size, funcs)
            report.append("")
        targets = []
        for size in [s for s in args.sizes.split(",") if s]:
            N, D, C = (int(v) for v in size.split("x"))
            report += [f"## N={N}, D={D}, C={C} (X in float64: {N * D * 8 / 2**20:.0f} MiB)\n",
                       "| function | baseline wall s | pedrank wall s | speed-up (wall) | "
                       "baseline CPU s | pedrank CPU s | speed-up (CPU) | baseline MiB | "
                       "pedrank MiB | memory ratio | pedrank peak/X64 | rel. diff of results |",
                       "|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for func in funcs:
                print(f"{size} {func} ...", file=sys.stderr, flush=True)
                cap = func_caps.get(func, args.cap)
                pcap = cap if func in func_caps else 2 * args.cap
                rp = measure("pedrank", func, size, pcap, 3, args.device, args.ped_max_steps)
                if (size, func) in reused:
                    rb = reused[(size, func)]
                elif args.no_baseline:
                    rb = {"time": None, "skipped": True}
                else:
                    rb = measure("baseline", func, size, cap, 1, None, args.ped_max_steps)
                print(f"   pedrank {rp}\n   baseline {rb}", file=sys.stderr, flush=True)
                x64 = N * D * 8
                pk = f"{rp['peak'] / x64:.2f}" if rp.get("time") is not None else "-"
                if rp.get("error"):
                    pk = f"error: {rp['error'][:80]}"
                report.append(
                    f"| {func} | {_fmt_t(rb, cap)} | {_fmt_t(rp, pcap)} | "
                    f"{_ratio(rb, rp, 'time', cap)} | {_fmt_t(rb, cap, 'cpu')} | "
                    f"{_fmt_t(rp, pcap, 'cpu')} | {_ratio(rb, rp, 'cpu', cap)} | "
                    f"{_fmt_mb(rb)} | {_fmt_mb(rp)} | "
                    f"{_ratio(rb, rp, 'peak', cap)} | {pk} | {_agree(rb, rp)} |")
                targets.append((size, func, rb, rp, cap))
                if args.json:
                    Path(args.json).write_text(json.dumps(
                        [{"size": t[0], "func": t[1], "baseline": t[2], "pedrank": t[3],
                          "cap": t[4]} for t in targets], indent=1))
                _write(args.out, report + ["", "(run in progress)"])
            report.append("")
        report += _targets(targets)
    if args.growth or args.growth_only:
        N, D, C = GROWTH_BASE
        report += [f"## Cost growth (pedrank only; base N={N}, D={D}, C={C}; one of them "
                   "varied)\n",
                   "Exponent = log(t3/t1) / log(x3/x1) of the CPU times between the smallest "
                   "and largest size (1 = linear). Times under ~0.1 s are dominated by fixed "
                   "costs, so their exponents understate the asymptotic growth.\n"]
        report += growth([f for f in args.growth_metrics.split(",") if f], args.device,
                         2 * args.cap)
        report.append("")
    _write(args.out, report)
    print("\n".join(report))


def _pedrank_location() -> str:
    import pedrank

    where = Path(pedrank.__file__).resolve().parent.parent
    rel = os.path.relpath(where)
    return str(where) if rel.startswith("..") else rel


def _write(path: str | None, lines: list[str]) -> None:
    # Rewritten after every measurement so that a run cut short keeps its rows.
    if path:
        Path(path).write_text("\n".join(lines) + "\n")


def _targets(rows) -> list[str]:
    """Check the issue's targets on whatever rows were measured (wall and CPU time)."""
    out = ["## Targets (issue 6)\n",
           "Speed-ups are given for wall-clock and for CPU time (user + system of the worker "
           "process): on a machine shared with other jobs the CPU time is the steadier "
           "measure.\n"]
    want = {("20000x2048x397", "ped_transform"): (20, 20),
            ("20000x2048x100", "sfda"): (3, None), ("20000x2048x100", "logme"): (3, None),
            ("20000x2048x100", "score_ped_sfda"): (3, None)}
    for (size, func, rb, rp, cap) in rows:
        if (size, func) in want:
            tmin, mmin = want[(size, func)]
            if rp.get("time") is None or rb.get("skipped"):
                out.append(f"- {func} at {size}: not measured")
                continue
            parts, ok = [], True
            for key in ("time", "cpu"):
                val, prefix = _ratio_value(rb, rp, key, cap)
                label = "wall" if key == "time" else "CPU"
                if val is None:
                    parts.append(f"{label} speed-up n/a")
                    continue
                parts.append(f"{label} speed-up {prefix}{val:.1f}x")
                ok = ok and val >= tmin
            if mmin:
                val, prefix = _ratio_value(rb, rp, "peak", cap)
                parts.append(f"memory ratio {prefix}{(val or 0):.1f}x")
                ok = ok and val is not None and val >= mmin
            want_txt = f">= {tmin}x faster" + (f" and {mmin}x less memory" if mmin else "")
            out.append(f"- {func} at {size} (want {want_txt}): {', '.join(parts)} -> "
                       f"**{'MET' if ok else 'NOT MET'}**")
    for (size, func, _rb, rp, _cap) in rows:
        if size == "50000x2048x100":
            x64 = 50000 * 2048 * 8
            if rp.get("time") is None:
                out.append(f"- {func} at {size} peak memory: not measured "
                           f"({'capped' if rp.get('capped') else rp.get('error', '?')})")
                continue
            ok = rp["peak"] <= 3 * x64
            out.append(f"- {func} at {size} peak memory {rp['peak'] / x64:.2f} x X64 "
                       f"(want <= 3) -> **{'MET' if ok else 'NOT MET'}**")
    out.append("")
    return out


if __name__ == "__main__":
    main()
