"""Fidelity contract: the official implementation's outputs (tests/golden/public.npz).

PED features, accepted steps, one-step features/change, LogME, SFDA, PED+LogME,
PED+SFDA to 1e-9 relative. For the N < D case ``wide`` LogME must be the
*corrected* value (the reference drops a log|A| term there).
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import GOLDEN_CASES, ped_params, rel_err

import pedrank
from pedrank.core.metrics import logme, sfda

TOL = 1e-9


def _source(case):
    return pedrank.SourceStats.from_features(case["source_X"], eps=float(case["eps"]))


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_ped_transform_matches_official(golden, name):
    case = golden[name]
    res = pedrank.ped_transform(case["X"], case["y"], _source(case), **ped_params(case))
    assert res.n_steps == int(case["ped_steps"])
    assert rel_err(res.features, case["ped_X"]) < TOL


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_one_step_matches_official(golden, name):
    case = golden[name]
    params = ped_params(case)
    # The first step's ratio is 1, so any exit_ratio < 1 accepts it; max_steps=1 stops there.
    params["exit_ratio"] = 0.99
    res = pedrank.ped_transform(case["X"], case["y"], _source(case), max_steps=1, **params)
    assert rel_err(res.features, case["one_step_X"]) < TOL
    assert res.changes[0] == pytest.approx(float(case["one_step_change"]), rel=TOL)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_logme_matches_official(golden, name):
    case = golden[name]
    key = "logme_corrected" if name == "wide" else "logme"
    assert logme(case["X"], case["y"]) == pytest.approx(float(case[key]), rel=TOL)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_sfda_matches_official(golden, name):
    case = golden[name]
    assert sfda(case["X"], case["y"]) == pytest.approx(float(case["sfda"]), rel=TOL)


@pytest.mark.parametrize("name", GOLDEN_CASES)
@pytest.mark.parametrize("metric", ["logme", "sfda"])
def test_ped_plus_metric_matches_official(golden, name, metric):
    case = golden[name]
    key = f"ped_{metric}"
    if name == "wide" and metric == "logme":
        key = "ped_logme_corrected"
    ped = pedrank.PED(**ped_params(case), eps=float(case["eps"])).fit(case["source_X"])
    value = pedrank.score(case["X"], case["y"], metric=metric, ped=ped)
    assert value == pytest.approx(float(case[key]), rel=TOL)


def test_wide_logme_corrected_agrees_with_icml_solver(golden):
    """The corrected fixed-point value agrees with the original ICML-2021 solver (1e-3)."""
    case = golden["wide"]
    value = logme(case["X"], case["y"])
    assert value == pytest.approx(float(case["logme_icml"]), rel=1e-3)
    # ... and is not the reference's wrong value.
    assert abs(value - float(case["logme"])) > 1.0


def test_golden_inputs_not_mutated(golden):
    case = golden["medium"]
    X = case["X"].copy()
    y = case["y"].copy()
    pedrank.score(X, y, metric="sfda", ped=True, source=_source(case))
    np.testing.assert_array_equal(X, case["X"])
    np.testing.assert_array_equal(y, case["y"])


GOLDEN_SHA256 = "20865f0d7a659b401be5edd7a3260a35eaa09ec072480aebef5a03ff09263ef2"


def test_golden_file_is_the_recorded_one():
    """tests/golden/public.npz is byte-identical to the file described in its README."""
    import hashlib

    from _helpers import GOLDEN

    assert hashlib.sha256(GOLDEN.read_bytes()).hexdigest() == GOLDEN_SHA256


def test_golden_holds_every_case(golden):
    assert sorted(golden) == sorted(GOLDEN_CASES)
    for case in golden.values():
        assert {"X", "y", "source_X", "ped_X", "ped_steps", "logme", "sfda", "parc"} <= set(case)


def test_golden_report_script_prints_every_case_within_tolerance():
    """``scripts/golden_report.py`` (the closing-note table) covers every case, all < 1e-9."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "golden_report.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True).stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("| ") and not ln.startswith("| case")]
    assert [r.split("|")[1].strip() for r in rows] == list(GOLDEN_CASES)
    errors = [float(v) for v in re.findall(r"\d\.\de[+-]\d\d", out)]
    assert len(errors) == 6 * len(GOLDEN_CASES)
    assert max(errors) < TOL
