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


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_floors_time_every_metric_and_its_floor(run_benchmarks, capsys):
    import json

    floors = _load_script("floors")
    assert set(floors.FLOORS) == set(floors.METRICS)
    for metric in floors.METRICS:
        floors.worker([metric, "300x16x4", "--repeat", "1"])
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["cpu"] >= 0 and out["floor_cpu"] >= 0, metric
        assert out["value"] == out["value"], metric  # a number, not NaN
    table = floors.render([{"size": "300x16x4", "metric": "logme",
                            "one": {"cpu": 2.0, "floor_cpu": 1.0, "wall": 2.5}}], False)
    assert table[-1].rstrip(" |").split(" | ")[4] == "2.00x"


def test_peers_script_skips_missing_peer_code_and_says_so(run_benchmarks, tmp_path):
    peers = _load_script("peers")
    out = tmp_path / "peers.md"
    assert peers.main(["--peer-dir", str(tmp_path / "none"), "--sizes", "200x8x3",
                       "--metrics", "hscore", "--out", str(out), "--threads", "1"]) == 0
    text = out.read_text()
    assert "Skipped (code not found): TLlib" in text
    row = next(line for line in text.splitlines() if line.startswith("| hscore"))
    assert "no peer code" in row and "error" not in row.split(" | ")[2]


def test_gpu_check_without_cuda_is_a_recorded_skip(tmp_path, monkeypatch):
    import torch

    spec = importlib.util.spec_from_file_location("gpu_check_skip", BENCH / "gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "gpu.md"
    assert gpu_check.main(["--device", "cuda", "--out", str(out)]) == 0
    assert "skipped: CUDA is not available" in out.read_text()
    assert gpu_check.main(["--device", "cuda", "--require"]) == 2


def test_evidence_report_skips_a_target_whose_resamples_all_tie():
    """Regression (stop 18): plain SFDA tied on every half-sample of one fine-tuning target
    (its full-sample scores did not tie), so every draw of the mean over targets was NaN and
    the report's plot stopped with "need finite tau"; the target is now not scored."""
    import numpy as np

    path = BENCH / "evidence" / "report.py"
    spec = importlib.util.spec_from_file_location("evidence_report", path)
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    models = ["a", "b", "c", "d"]
    rep = {m: [0.9 - 0.1 * i, 0.91 - 0.1 * i, 0.89 - 0.1 * i] for i, m in enumerate(models)}
    points = {("t", m, "sfda", p): 1.0 - 1e-3 * i for i, m in enumerate(models)
              for p in (False, True)}
    tied = {("t", m, "sfda", p): dict.fromkeys(range(5), 1.0) for m in models
            for p in (False, True)}
    assert report.target_intervals("sfda", "t", rep, points, tied, n_boot=50) is None
    spread = {("t", m, "sfda", p): {j: 1.0 - 1e-3 * i + 1e-5 * j for j in range(5)}
              for i, m in enumerate(models) for p in (False, True)}
    res = report.target_intervals("sfda", "t", rep, points, spread, n_boot=50)
    assert res is not None and np.isfinite(res[False]["both"].low)
