#!/usr/bin/env python3
"""pedrank side by side with the peers' own published code (never vendored here).

Point ``--peer-dir`` at a folder holding local checkouts::

    DIR/LogME            github.com/thuml/LogME
    DIR/SFDA             github.com/TencentARC/SFDA
    DIR/PED              github.com/lixiaotong97/PED
    DIR/TLlib            github.com/thuml/Transfer-Learning-Library (tllib/ranking)
    DIR/transformer_ranker or an installed ``transformer-ranker`` (PyPI); only its
                         ``estimators`` modules are loaded (they need torch, not
                         transformers)

A peer whose code is missing is skipped and listed as such. Every measurement
runs in a fresh child process (wall time, CPU time and the peak resident
memory the call added, VmHWM, as in ``run_benchmarks.py``) on the data of
``run_benchmarks.make_data``; each peer gets its own copy of X where its code
writes into it (SFDA's and PED's ``SFDA_Score``). ``--threads default`` (the
default) leaves the BLAS/OpenMP thread pools as the libraries set them: the
cores the machine has, for pedrank and the peers alike; ``--threads 1`` pins
everything to one thread.

Loading notes (no peer file is modified): thuml/LogME and TLlib's ``logme.py``
decorate functions with ``numba.njit``, and the measured paths call them
(thuml's ``truncated_svd`` from its default fixed-point fit, TLlib's
``each_evidence`` for every class); where numba is not installed a stub whose
``njit`` returns the function unchanged lets the modules import, and those
functions then run as plain numpy (their bodies are BLAS/LAPACK calls on the
full arrays; numba's compile time is not paid). SFDA's and PED's
``metrics.py`` import ``utils.iterative_A`` (PARC helper, torch models); where
that ``utils`` cannot be imported a stub without it is used (the measured
functions do not call it).

Usage::

    python3 benchmarks/peers.py --peer-dir /tmp/peers --sizes 5000x512x50 --out /tmp/p.md
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# metric -> [(peer label, checkout folder, loader name)]
PEERS = {
    "logme": [("thuml/LogME", "LogME", "thuml_logme"), ("TLlib", "TLlib", "tllib_logme"),
              ("SFDA repo", "SFDA", "sfda_logme"), ("PED repo", "PED", "ped_logme"),
              ("transformer-ranker", "transformer_ranker", "tr_logme")],
    "sfda": [("SFDA repo", "SFDA", "sfda_sfda"), ("PED repo", "PED", "ped_sfda")],
    "hscore": [("TLlib", "TLlib", "tllib_hscore")],
    "regularized_hscore": [("TLlib", "TLlib", "tllib_reg_hscore"),
                           ("transformer-ranker", "transformer_ranker", "tr_hscore")],
    "transrate": [("TLlib", "TLlib", "tllib_transrate")],
    "nleep": [("SFDA repo", "SFDA", "sfda_nleep")],
}


# ------------------------------------------------------------------- loading peers


def _stub_modules() -> None:
    try:
        import numba  # noqa: F401
    except ImportError:
        numba = types.ModuleType("numba")
        numba.njit = lambda f=None, **kw: f if callable(f) else (lambda g: g)
        sys.modules["numba"] = numba


def _load_file(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _repo_metrics(folder: Path, name: str):
    """SFDA's / PED's metrics.py with their own ``utils`` if it imports, else a stub."""
    sys.path.insert(0, str(folder))
    try:
        import utils  # noqa: F401
    except Exception:  # noqa: BLE001 - torch models etc. missing: the stub suffices
        sys.modules.pop("utils", None)
        stub = types.ModuleType("utils")
        stub.iterative_A = None
        sys.modules["utils"] = stub
    return _load_file(name, folder / "metrics.py")


def _transformer_ranker_estimators(folder: Path):
    """The estimators package of transformer-ranker, without its transformers front end."""
    root = folder if (folder / "estimators").is_dir() else None
    if root is None:
        spec = importlib.util.find_spec("transformer_ranker")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("transformer-ranker not found")
        root = Path(list(spec.submodule_search_locations)[0])
    pkg = types.ModuleType("transformer_ranker")
    pkg.__path__ = [str(root)]
    sys.modules["transformer_ranker"] = pkg
    est = types.ModuleType("transformer_ranker.estimators")
    est.__path__ = [str(root / "estimators")]
    sys.modules["transformer_ranker.estimators"] = est
    base = _load_file("transformer_ranker.estimators.base", root / "estimators" / "base.py")
    est.base = base
    return (_load_file("transformer_ranker.estimators.logme", root / "estimators" / "logme.py"),
            _load_file("transformer_ranker.estimators.hscore", root / "estimators" / "hscore.py"))


def peer_callable(loader: str, peer_dir: Path):
    """``f(X, y) -> float`` running the peer's own code (X float32, y int labels 0..C-1)."""
    _stub_modules()
    if loader == "thuml_logme":
        mod = _load_file("thuml_LogME", peer_dir / "LogME" / "LogME.py")
        return lambda X, y: float(mod.LogME(regression=False).fit(X, y))
    if loader.startswith("tllib_"):
        ranking = peer_dir / "TLlib" / "tllib" / "ranking"
        if loader == "tllib_logme":
            mod = _load_file("tllib_logme", ranking / "logme.py")
            return lambda X, y: float(mod.log_maximum_evidence(X.astype(np.float64), y))
        if loader in ("tllib_hscore", "tllib_reg_hscore"):
            mod = _load_file("tllib_hscore", ranking / "hscore.py")
            fn = mod.h_score if loader == "tllib_hscore" else mod.regularized_h_score
            return lambda X, y: float(fn(X.astype(np.float64), y))
        mod = _load_file("tllib_transrate", ranking / "transrate.py")
        return lambda X, y: float(mod.transrate(X.astype(np.float64), y))
    if loader.startswith(("sfda_", "ped_")):
        repo = "SFDA" if loader.startswith("sfda_") else "PED"
        mod = _repo_metrics(peer_dir / repo, f"{repo}_metrics")
        what = loader.split("_", 1)[1]
        if what == "logme":
            return lambda X, y: float(mod.LogME_Score(X, y))
        if what == "nleep":
            return lambda X, y: float(mod.NLEEP(X.astype(np.float64), y))
        return lambda X, y: float(mod.SFDA_Score(X.copy(), y))  # it overwrites X
    if loader.startswith("tr_"):
        import torch

        logme_mod, hscore_mod = _transformer_ranker_estimators(peer_dir / "transformer_ranker")
        cls = logme_mod.LogME if loader == "tr_logme" else hscore_mod.HScore
        return lambda X, y: float(cls().fit(embeddings=torch.from_numpy(X),
                                            labels=torch.from_numpy(y)))
    raise ValueError(loader)


def peer_available(folder: str, peer_dir: Path) -> bool:
    if folder == "transformer_ranker":
        return (peer_dir / folder / "estimators").is_dir() or \
            importlib.util.find_spec("transformer_ranker") is not None
    return (peer_dir / folder).is_dir()


# ------------------------------------------------------------------------- worker


def worker(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("who")          # "pedrank" or a loader name
    p.add_argument("metric")
    p.add_argument("size")
    p.add_argument("--peer-dir", default=".")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from run_benchmarks import _status, make_data

    N, D, C = (int(v) for v in args.size.split("x"))
    X, y, _ = make_data(N, D, C)
    if args.who == "pedrank":
        from pedrank.core.metrics import get_metric

        func = get_metric(args.metric).func

        def call(X, y):
            return float(func(X, y))
    else:
        call = peer_callable(args.who, Path(args.peer_dir))
    try:
        import torch

        if "OMP_NUM_THREADS" in os.environ:
            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    except ImportError:
        pass
    import gc

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status()["VmRSS"]
    c0, t0 = time.process_time(), time.perf_counter()
    value = call(X, y)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status()["VmHWM"] - before
    print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak, "value": value}))


def run_child(who: str, metric: str, size: str, peer_dir: Path, threads: str,
              timeout: float) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        if threads == "default":
            env.pop(var, None)
        else:
            env[var] = threads
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", who, metric, size,
           "--peer-dir", str(peer_dir)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s (killed)"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- report


def _cell(r: dict) -> str:
    if r.get("error"):
        return f"error: {r['error']}"
    return f"{r['wall']:.2f} / {r['cpu']:.2f} / {r['peak'] / 2**20:.0f}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(argv[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer-dir", required=True, type=Path)
    p.add_argument("--sizes", default="5000x512x50,20000x2048x100,50000x2048x100,"
                                      "20000x2048x397")
    p.add_argument("--metrics", default="logme,sfda,hscore,regularized_hscore,transrate")
    p.add_argument("--threads", default="default", help="'default' or a thread count")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--exclude", default="",
                   help="comma-separated METRIC:PEER-LABEL pairs not to run (listed in the "
                        "output), e.g. 'logme:TLlib' for a peer known to run past --timeout")
    p.add_argument("--json", default=None)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    excluded = {tuple(e.split(":", 1)) for e in args.exclude.split(",") if ":" in e}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"Command: `python3 benchmarks/peers.py {' '.join(argv)}`, started {started}, "
             f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} logical CPUs, "
             f"threads: {args.threads}.", "",
             "Cells: wall s / CPU s / peak MiB (one call, fresh process). `speed-up` = the "
             "fastest peer's wall time over pedrank's; `rel. diff` = |peer - pedrank| / "
             "|pedrank| (peers that compute another quantity differ by design, see the notes "
             "in docs/performance.md).", "",
             "| metric | N x D x C | pedrank | peer | peer code | rel. diff | speed-up |",
             "|---|---|---|---|---|---|---|"]
    rows = []
    skipped, excluded_seen = set(), set()
    for size in [s for s in args.sizes.split(",") if s]:
        for metric in [m for m in args.metrics.split(",") if m]:
            mine = run_child("pedrank", metric, size, args.peer_dir, args.threads, args.timeout)
            peers = []
            for label, folder, loader in PEERS.get(metric, []):
                if (metric, label) in excluded:
                    excluded_seen.add(f"{label} for {metric}")
                    continue
                if not peer_available(folder, args.peer_dir):
                    skipped.add(f"{label} ({args.peer_dir / folder} missing)")
                    continue
                r = run_child(loader, metric, size, args.peer_dir, args.threads, args.timeout)
                peers.append((label, r))
                print(f"{size} {metric} {label}: {r}", file=sys.stderr, flush=True)
            ok = [r for _, r in peers if not r.get("error")]
            fastest = min((r["wall"] for r in ok), default=None)
            speed = (f"{fastest / mine['wall']:.1f}x" if fastest and not mine.get("error")
                     else "-")
            for i, (label, r) in enumerate(peers or [("-", {"error": "no peer code"})]):
                rel = "-"
                if not r.get("error") and not mine.get("error"):
                    rel = f"{abs(r['value'] - mine['value']) / max(abs(mine['value']), 1e-300):.1e}"
                lines.append(f"| {metric} | {size.replace('x', ' x ')} | "
                             f"{_cell(mine) if i == 0 else ''} | {label} | {_cell(r)} | {rel} | "
                             f"{speed if i == 0 else ''} |")
            rows.append({"size": size, "metric": metric, "pedrank": mine,
                         "peers": {label: r for label, r in peers}})
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=1))
            if args.out:
                Path(args.out).write_text("\n".join(lines) + "\n")
    if skipped:
        lines += ["", "Skipped (code not found): " + "; ".join(sorted(skipped)) + "."]
    if excluded_seen:
        lines += ["", "Not run (--exclude): " + "; ".join(sorted(excluded_seen)) + "."]
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
