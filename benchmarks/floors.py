#!/usr/bin/env python3
"""Each metric against its arithmetic floor, and with one against the default BLAS threads.

For every (metric, size) a fresh child process builds the synthetic data of
``run_benchmarks.make_data`` (float32 features, like real feature files), then
times, in the same process and on the same input:

* the metric (``pedrank.core.metrics.get_metric(name).func``);
* its **floor**: the dense products the algorithm cannot avoid, starting from
  the same float32 input (so the float64 conversion, one pass over X, is in
  both). See ``FLOORS`` below for each definition.

Times are **CPU seconds** of the child (``time.process_time``: user + system,
all threads), minimum over ``--repeat`` calls: the machine these numbers come
from is shared, and CPU time of a single-threaded call is much steadier than
wall time there. The floor ratio is ``metric CPU / floor CPU`` with one BLAS
thread.

Threads (``--threads``): besides one BLAS/OpenMP thread (environment pinned to
1), the metric is run with the library defaults (those variables removed),
on the machine as it is ("quiet") and with a competing CPU load that this
script starts itself (``--busy``: one pure-Python spinning process per logical
CPU). Those columns are **wall** seconds (what a user waits), minimum over the
repeats.

Usage::

    python3 benchmarks/floors.py --sizes 20000x2048x100 --json /tmp/f.json --out /tmp/f.md
    python3 benchmarks/floors.py --sizes 5000x512x50 --metrics logme,sfda --threads
    python3 benchmarks/floors.py --nleep 20000x2048x100   # N-LEEP cost split (item 7)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
METRICS = ("logme", "hscore", "regularized_hscore", "transrate", "sfda", "etran", "ncti",
           "ped_transform")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ------------------------------------------------------------------------ floors


def _f64(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


def _class_sums(F: np.ndarray, y: np.ndarray, C: int) -> np.ndarray:
    """X^T Y for one-hot Y: a sparse indicator product, N*D adds (the cheapest form)."""
    from scipy import sparse

    n = y.shape[0]
    ind = sparse.csr_matrix((np.ones(n), (y, np.arange(n))), shape=(C, n))
    return np.asarray(ind @ F)


def floor_gram(X, y, C, src=None):
    """LogME, H-score, regularised H-score: one X^T X Gram + one X^T Y."""
    F = _f64(X)
    G = F.T @ F
    return G, _class_sums(F, y, C)


def _scatter_solve(F: np.ndarray, y: np.ndarray, C: int) -> np.ndarray:
    from scipy import linalg

    M = _class_sums(F, y, C) / np.bincount(y, minlength=C)[:, None]
    R = F - M[y]
    Sw = R.T @ R / F.shape[0]
    Sw.flat[:: Sw.shape[0] + 1] += 1e-6 * np.trace(Sw) / Sw.shape[0]
    return linalg.cho_solve(linalg.cho_factor(Sw), M.T)


def floor_sfda(X, y, C, src=None):
    """SFDA (the issue's definition): within-class scatter + one D x D solve with C right sides.

    SFDA refits on the self-challenged features, so the algorithm itself needs
    two scatters and two solves: its best possible ratio to this floor is
    about 2 (see ``docs/performance.md``).
    """
    return _scatter_solve(_f64(X), y, C)


def floor_sfda_two_scatter(X, y, C, src=None):
    """SFDA's own minimum: two within-class scatters and two D x D solves.

    SFDA fits its shrunk LDA on X, moves every sample towards the other classes'
    means (the self-challenge), and fits again on those mixed features: a second,
    different N x D^2 scatter and a second solve that no algebra removes (the
    mixing weights depend on the first fit's posteriors). The mixed features are
    stood in for by ``0.5 (X + M[y])`` (same size and cost).
    """
    F = _f64(X)
    first = _scatter_solve(F, y, C)
    M = _class_sums(F, y, C) / np.bincount(y, minlength=C)[:, None]
    mixed = 0.5 * (F + M[y])
    return first, _scatter_solve(mixed, y, C)


def floor_transrate(X, y, C, src=None):
    """TransRate: the Gram of all (centred) features plus the Gram of every class's rows.

    Its log-determinants need exactly these (the smaller side of each); the
    eigenvalue computations on top are not counted.
    """
    F = _f64(X)
    F = F - F.mean(axis=0)
    N, D = F.shape
    G = F.T @ F if N >= D else F @ F.T
    order = np.argsort(y, kind="stable")
    Fs = F[order]
    bounds = np.cumsum(np.bincount(y, minlength=C))[:-1]
    out = [G]
    for Z in np.split(Fs, bounds):
        out.append(Z @ Z.T if Z.shape[0] < D else Z.T @ Z)
    return out


def floor_etran(X, y, C, src=None):
    """ETran: X^T X Gram (regression term) + within-class scatter (LDA term) + one exp pass.

    The three terms need two different D x D products (the SVD regression uses
    uncentred features, the LDA class-centred ones) and the energy term one
    exp over X.
    """
    F = _f64(X)
    G = F.T @ F
    Sw = _scatter_solve(F, y, C)
    e = np.exp(F - F.max(axis=1, keepdims=True)).sum(axis=1)
    return G, Sw, e


def floor_ncti(X, y, C, src=None):
    """NCTI: the centred Gram of its PCA + the projection on 64 components (N x D x 64)."""
    F = _f64(X)
    F = F - F.mean(axis=0)
    G = F.T @ F
    k = min(64, min(F.shape))
    return G, F @ G[:, :k]


def floor_ped(X, y, C, src=None):
    """PED: one pass over X (float64 + class sums) + the C x C class-mean distances."""
    from scipy.spatial.distance import cdist

    F = _f64(X)
    M = _class_sums(F, y, C) / np.bincount(y, minlength=C)[:, None]
    return cdist(M, M)


FLOORS = {"logme": floor_gram, "hscore": floor_gram, "regularized_hscore": floor_gram,
          "transrate": floor_transrate, "sfda": floor_sfda, "etran": floor_etran,
          "ncti": floor_ncti, "ped_transform": floor_ped}

# A second, algorithm-specific floor where the one-product floor is below
# what the algorithm must compute (reported next to it as "own floor").
OWN_FLOORS = {"sfda": floor_sfda_two_scatter}


# ------------------------------------------------------------------------ worker


def _metric_call(name: str, dtype: str = "float64"):
    import pedrank
    from pedrank.core.metrics import get_metric

    if name == "ped_transform":
        def call(X, y, src):
            return float(pedrank.ped_transform(X, y, pedrank.SourceStats.from_features(src))
                         .features[:, 0].sum())
        return call
    func = get_metric(name).func
    if dtype != "float64":
        return lambda X, y, src: float(func(X, y, dtype=dtype))
    return lambda X, y, src: float(func(X, y))


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    cpus, walls, out = [], [], None
    for _ in range(max(1, repeat)):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(cpus), min(walls), out


def worker(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("metric")
    p.add_argument("size")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-floor", action="store_true")
    p.add_argument("--dtype", default="float64")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from run_benchmarks import make_data

    N, D, C = (int(v) for v in args.size.split("x"))
    X, y, src = make_data(N, D, C)
    call = _metric_call(args.metric)
    cpu, wall, value = _timed(lambda: call(X, y, src), args.repeat)
    res = {"cpu": cpu, "wall": wall, "value": value}
    if args.dtype != "float64":
        call32 = _metric_call(args.metric, args.dtype)
        res["cpu32"], res["wall32"], res["value32"] = _timed(lambda: call32(X, y, src),
                                                             args.repeat)
    if not args.no_floor:
        fl = FLOORS[args.metric]
        res["floor_cpu"], res["floor_wall"], _ = _timed(lambda: fl(X, y, C, src), args.repeat)
        if args.metric in OWN_FLOORS:
            own = OWN_FLOORS[args.metric]
            res["own_floor_cpu"], _, _ = _timed(lambda: own(X, y, C, src), args.repeat)
    from threadpoolctl import threadpool_info

    res["threads"] = sorted({(i["internal_api"], i["num_threads"]) for i in threadpool_info()})
    print(json.dumps(res))


# ------------------------------------------------------------------------ parent


def _env(one_thread: bool) -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        if one_thread:
            env[var] = "1"
        else:
            env.pop(var, None)
    return env


def run_child(metric: str, size: str, *, one_thread: bool, repeat: int, floor: bool,
              timeout: float, dtype: str = "float64") -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", metric, size,
           "--repeat", str(repeat), "--dtype", dtype] + ([] if floor else ["--no-floor"])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=_env(one_thread),
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


class BusyLoad:
    """One pure-Python spinning process per logical CPU, for the duration of a ``with``."""

    def __init__(self, n: int | None = None):
        self.n = n or os.cpu_count() or 1
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                      for _ in range(self.n)]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.kill()
            proc.wait()


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def run_table(sizes: list[str], metrics: list[str], repeat: int, threads: bool,
              timeout: float, log, dtype: str = "float64") -> tuple[list[dict], list[str]]:
    rows: list[dict] = []
    for size in sizes:
        for metric in metrics:
            row = {"size": size, "metric": metric}
            row["one"] = run_child(metric, size, one_thread=True, repeat=repeat, floor=True,
                                   timeout=timeout,
                                   dtype=dtype if metric != "ped_transform" else "float64")
            if threads:
                row["default"] = run_child(metric, size, one_thread=False, repeat=repeat,
                                           floor=False, timeout=timeout)
                with BusyLoad():
                    row["one_busy"] = run_child(metric, size, one_thread=True, repeat=repeat,
                                                floor=False, timeout=timeout)
                    row["default_busy"] = run_child(metric, size, one_thread=False,
                                                    repeat=repeat, floor=False, timeout=timeout)
            log(json.dumps(row))
            rows.append(row)
    return rows, render(rows, threads, dtype != "float64")


def render(rows: list[dict], threads: bool, low: bool = False) -> list[str]:
    head = ("| metric | N x D x C | CPU s (1 thread) | floor CPU s | metric / floor |"
            " own floor CPU s | metric / own floor |"
            + (" float32 CPU s | float32 / float64 | float32 rel. diff |" if low else "")
            + (" wall 1 thread | wall default | wall 1 thread, busy | wall default, busy |"
               if threads else ""))
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        one = r["one"]
        if one.get("error"):
            lines.append(f"| {r['metric']} | {r['size']} | error: {one['error'][:60]} |")
            continue
        ratio = one["cpu"] / max(one["floor_cpu"], 1e-9)
        cells = [r["metric"], r["size"].replace("x", " x "), _fmt(one["cpu"]),
                 _fmt(one["floor_cpu"]), f"{ratio:.2f}x"]
        own = one.get("own_floor_cpu")
        cells += [_fmt(own), f"{one['cpu'] / own:.2f}x" if own else "-"]
        if low:
            c32 = one.get("cpu32")
            rel = (abs(one["value32"] - one["value"]) / max(abs(one["value"]), 1e-300)
                   if c32 is not None else None)
            cells += [_fmt(c32), f"{c32 / one['cpu']:.2f}" if c32 else "-",
                      f"{rel:.1e}" if rel is not None else "-"]
        if threads:
            for key in ("one", "default", "one_busy", "default_busy"):
                cells.append(_fmt(r.get(key, {}).get("wall")))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# ------------------------------------------------------------------------ N-LEEP


def nleep_split(size: str) -> list[str]:
    """N-LEEP's cost split: PCA, k-means initialisation, EM (per iteration), scoring.

    Runs in this process with one BLAS thread (set by the caller's environment
    or threadpoolctl) and reports CPU seconds.
    """
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(HERE))
    from run_benchmarks import make_data
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    from pedrank.core.metrics import get_metric

    N, D, C = (int(v) for v in size.split("x"))
    X, y, _ = make_data(N, D, C)
    out = []
    with threadpool_limits(1):
        c0 = time.process_time()
        score = get_metric("nleep").func(X, y)
        total = time.process_time() - c0
        c0 = time.process_time()
        Z = PCA(n_components=0.8, svd_solver="covariance_eigh").fit_transform(
            X.astype(np.float64))
        t_pca = time.process_time() - c0
        K = 5 * C
        c0 = time.process_time()
        KMeans(n_clusters=K, n_init=1, random_state=0).fit(Z)
        t_km = time.process_time() - c0
        c0 = time.process_time()
        gmm = GaussianMixture(n_components=K, random_state=0).fit(Z)
        t_gmm = time.process_time() - c0
        n_iter = int(gmm.n_iter_)
        c0 = time.process_time()
        GaussianMixture(n_components=K, random_state=0, max_iter=1, init_params="random_from_data",
                        ).fit(Z)
        t_one = time.process_time() - c0
    t_em = max(t_gmm - t_km, 0.0)
    out += [f"N-LEEP at {size} (d = {Z.shape[1]} PCA dimensions, K = {K} components, "
            f"{n_iter} EM iterations; CPU s, one thread): score {score:.6f}", "",
            "| part | CPU s |", "|---|---|",
            f"| whole nleep() call | {total:.2f} |",
            f"| PCA (covariance route) | {t_pca:.2f} |",
            f"| k-means initialisation (one run) | {t_km:.2f} |",
            f"| EM, {n_iter} iterations (GMM fit minus k-means) | {t_em:.2f} |",
            f"| a 1-iteration fit (random init, one E+M step and the final E step) | "
            f"{t_one:.3f} |",
            f"| nleep / EM at {n_iter} iterations (the floor) | {total / max(t_em, 1e-9):.2f}x |"]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(argv[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="20000x2048x100,50000x2048x100")
    p.add_argument("--metrics", default=",".join(METRICS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", action="store_true",
                   help="also time default threads, quiet and under a competing load")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--json", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--nleep", default=None, metavar="NxDxC", help="N-LEEP cost split only")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="float32: also time each metric with dtype='float32' (same process)")
    args = p.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = [f"Command: `python3 benchmarks/floors.py {' '.join(argv)}`, started {started}, "
            f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} logical CPUs.", ""]
    if args.nleep:
        lines = head + nleep_split(args.nleep)
    else:
        rows, lines = run_table([s for s in args.sizes.split(",") if s],
                                [m for m in args.metrics.split(",") if m], args.repeat,
                                args.threads, args.timeout,
                                lambda s: print(s, file=sys.stderr, flush=True), args.dtype)
        lines = head + lines
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
