"""The scripts in ``benchmarks/``: the baseline's fidelity and the GPU check's dry run.

The baseline (a loop-by-loop transcription of the published algorithms) is
what every speed-up in ``benchmarks/RESULTS.md`` is measured against, so it
must compute the same numbers as the package; these tests keep both honest.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def run_benchmarks():
    sys.path.insert(0, str(BENCH))
    try:
        import run_benchmarks as rb

        yield rb
    finally:
        sys.path.remove(str(BENCH))


def test_baseline_agrees_with_pedrank_on_every_benchmarked_function(run_benchmarks):
    rows = run_benchmarks.agreement_check("600x32x6", list(run_benchmarks.FUNCS))
    assert len(rows) == len(run_benchmarks.FUNCS)
    for row in rows:
        diffs = [float(v) for v in re.findall(r"rel\. diff(?: of moved features)? ([0-9.e+-]+)",
                                               row)]
        assert diffs, row  # "not compared: ..." would mean the baseline crashed
        assert max(diffs) <= 1e-9, row
    ped_row = next(r for r in rows if r.startswith("| ped_transform"))
    steps = re.search(r"steps (\d+) / (\d+)", ped_row)
    assert steps and steps.group(1) == steps.group(2) and int(steps.group(1)) >= 1


def test_worker_handles_source_probability_metrics(run_benchmarks, tmp_path, capsys):
    import json

    for func in ("leep", "nce"):
        run_benchmarks.worker(["pedrank", func, "300x16x4", "--progress",
                               str(tmp_path / "p.json")])
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["value"] == out["value"] and out["time"] >= 0  # a number, timed


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="torch not installed (CI installs it): pip install pedrank[torch]")
def test_gpu_check_dry_run_on_cpu(run_benchmarks, tmp_path):
    spec = importlib.util.spec_from_file_location("gpu_check", BENCH / "gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    out = tmp_path / "gpu.md"
    assert gpu_check.main(["--device", "cpu", "--sizes", "400x24x4", "--out", str(out)]) == 0
    table = [line for line in out.read_text().splitlines() if line.startswith("| ")][1:]
    assert {line.split(" | ")[0][2:] for line in table} == set(gpu_check.FUNCTIONS)
    for line in table:
        rel = float(line.rstrip(" |").split(" | ")[-1])
        assert rel <= 1e-8, line
