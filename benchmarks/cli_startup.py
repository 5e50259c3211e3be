"""CLI start-up time: ``pedrank --help`` against a bare ``python -c pass`` (issue 13, item 5).

The target is ``pedrank --help`` within 1 s of the bare interpreter. Each command runs
``--runs`` times in a fresh subprocess, alternating the two so that machine load hits both
alike (hyperfine-style: warm-up runs first, then mean, standard deviation, min and max of
the wall-clock time). The import list of ``--help`` is printed too, so a regression names
the module that made it slow.

Usage::

    python3 benchmarks/cli_startup.py [--runs 10] [--src src]

``--src`` puts that source tree first on ``PYTHONPATH`` (default: this checkout's ``src``),
so the script also measures an old checkout (``--src /tmp/old/src``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "sklearn", "pandas", "torch", "matplotlib", "tqdm")


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _summary(name: str, xs: list[float]) -> str:
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return (f"{name:28s} mean {statistics.mean(xs):6.3f} s ± {sd:5.3f}  "
            f"min {min(xs):6.3f}  max {max(xs):6.3f}  ({len(xs)} runs)")


def heavy_modules(env: dict[str, str]) -> list[str]:
    """Heavy third-party packages loaded by building the parser (what ``--help`` pays for)."""
    code = ("import sys, pedrank.cli; pedrank.cli.build_parser(); "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    args = p.parse_args(argv)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(args.src.resolve()), env.get("PYTHONPATH", "")])
    bare = [sys.executable, "-c", "pass"]
    helpcmd = [sys.executable, "-m", "pedrank", "--help"]
    for _ in range(args.warmup):
        _time(bare, env)
        _time(helpcmd, env)
    t_bare, t_help = [], []
    for _ in range(args.runs):
        t_bare.append(_time(bare, env))
        t_help.append(_time(helpcmd, env))
    diff = [h - b for h, b in zip(t_help, t_bare, strict=True)]
    print(f"source tree: {args.src}; python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(_summary("python -c pass", t_bare))
    print(_summary("python -m pedrank --help", t_help))
    print(_summary("difference (paired)", diff))
    print(f"heavy packages loaded by the parser: {' '.join(heavy_modules(env)) or 'none'}")
    verdict = "within" if statistics.median(diff) <= 1.0 else "NOT within"
    print(f"median difference {statistics.median(diff):.3f} s: {verdict} the 1 s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
