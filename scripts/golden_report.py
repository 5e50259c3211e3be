#!/usr/bin/env python3
"""Print the max relative error of pedrank against the official outputs (tests/golden/public.npz).

The same computations as ``tests/test_golden.py`` (which asserts each at 1e-9), as one
Markdown table for a closing note or a release check::

    python3 scripts/golden_report.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from _helpers import GOLDEN_CASES, load_golden, ped_params, rel_err  # noqa: E402

import pedrank  # noqa: E402
from pedrank.core.metrics import logme, sfda  # noqa: E402


def _row(name: str, case: dict) -> str:
    """One case: PED features (steps / official), one step, LogME, SFDA, PED+LogME, PED+SFDA."""
    source = pedrank.SourceStats.from_features(case["source_X"], eps=float(case["eps"]))
    params = ped_params(case)
    res = pedrank.ped_transform(case["X"], case["y"], source, **params)
    one = pedrank.ped_transform(case["X"], case["y"], source, max_steps=1,
                                **{**params, "exit_ratio": 0.99})
    suffix = "_corrected" if name == "wide" else ""
    ped = pedrank.PED(**params, eps=float(case["eps"])).fit(case["source_X"])
    cells = [
        f"{rel_err(res.features, case['ped_X']):.1e} ({res.n_steps}/{int(case['ped_steps'])})",
        f"{rel_err(one.features, case['one_step_X']):.1e}",
        f"{rel_err(logme(case['X'], case['y']), float(case['logme' + suffix])):.1e}",
        f"{rel_err(sfda(case['X'], case['y']), float(case['sfda'])):.1e}",
        f"{rel_err(pedrank.score(case['X'], case['y'], metric='logme', ped=ped), float(case['ped_logme' + suffix])):.1e}",  # noqa: E501
        f"{rel_err(pedrank.score(case['X'], case['y'], metric='sfda', ped=ped), float(case['ped_sfda'])):.1e}",  # noqa: E501
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> int:
    golden = load_golden()
    print("| case | PED features (steps / official) | one step | LogME | SFDA | PED+LogME "
          "| PED+SFDA |")
    print("|---|---|---|---|---|---|---|")
    for name in GOLDEN_CASES:
        print(_row(name, golden[name]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
