"""``pedrank reproduce`` on a tiny fake layout, checked against a hand computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pedrank.cli import main
from pedrank.core.metrics import _registry
from pedrank.core.source import SourceStats
from pedrank.pipeline.feature_files import save_feature_file
from pedrank.reports.reproduce import load_published

# Shipped ground truth (self_supervised, aircraft): infomin 83.78 > moco-v2 83.70 > insdis 79.70.
# Fake scores: infomin 3 > insdis 2 > moco-v2 1 -> top model right, last two swapped.
DIMS = {"infomin": 3, "insdis": 2, "moco-v2": 1}


def _weighted_tau_by_hand() -> float:
    # Hyperbolic weights 1/(r+1) for ranks r = 0, 1, 2 (ranked by score, best first):
    # pair (0,1) concordant, weight 1 + 1/2; (0,2) concordant, 1 + 1/3;
    # (1,2) discordant, 1/2 + 1/3. Ranking by accuracy gives the same weights mirrored.
    w01, w02, w12 = 1 + 1 / 2, 1 + 1 / 3, 1 / 2 + 1 / 3
    return (w01 + w02 - w12) / (w01 + w02 + w12)  # = 6/11


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """{model}_aircraft.npz with D = DIMS[model]; source stats in {model}_source.npz."""
    rng = np.random.default_rng(0)
    for model, d in DIMS.items():
        X = np.abs(rng.normal(1.0, 0.3, size=(24, d)))
        y = np.repeat([0, 1, 2], 8)
        save_feature_file(tmp_path / f"{model}_aircraft.npz", X, y)
        SourceStats.from_features(np.abs(rng.normal(1.0, 0.5, size=(50, d)))).save(
            tmp_path / f"{model}_source.npz")
    # A stand-in for LogME whose score (the feature dimension) is known by construction
    # and unchanged by PED, so the expected tau is the hand-computed one for both rows.
    spec = _registry.MetricSpec("logme", lambda X, y: float(np.asarray(X).shape[1]),
                                "features", "test stand-in")
    monkeypatch.setitem(_registry._REGISTRY, "logme", spec)
    return tmp_path


def test_load_published_reads_the_shipped_table():
    pub = load_published()
    assert pub["ped+logme"]["aircraft"] == 0.509
    assert pub["logme"]["aircraft"] == 0.223
    assert set(load_published("supervised_pool_sfda_readme")) >= {"sfda", "logme"}
    with pytest.raises(ValueError, match="unknown published pool"):
        load_published("nope")


def test_reproduce_matches_hand_computed_weighted_tau(layout: Path, capsys):
    rc = main(["reproduce", "--features", str(layout), "--metrics", "logme", "--no-plots",
               "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    tau = _weighted_tau_by_hand()
    assert tau == pytest.approx(6 / 11)
    assert "3 models x 1 datasets" in out
    # Ours, published and difference blocks each have a LogME and a PED+LogME row.
    ours_rows = [ln for ln in out.splitlines() if ln.startswith("| LogME |")]
    assert len(ours_rows) == 3
    ours, published, diff = ([c.strip().strip("*") for c in ln.split("|")[2:4]]
                             for ln in ours_rows)
    assert ours == [f"{tau:.3f}", f"{tau:.3f}"]
    assert published == ["0.223", "0.223"]
    assert diff == [f"{tau - 0.223:+.3f}", f"{tau - 0.223:+.3f}"]
    ped_rows = [ln for ln in out.splitlines() if ln.startswith("| PED+LogME |")]
    assert len(ped_rows) == 3
    ped_diff = [c.strip() for c in ped_rows[2].split("|")[2:4]]
    assert ped_diff == [f"{tau - 0.509:+.3f}", f"{tau - 0.509:+.3f}"]
    assert (layout / "pedrank-reproduce" / "reproduce.md").is_file()


def test_reproduce_comparison_object(layout: Path):
    from pedrank.pipeline.bench.runner import run_bench
    from pedrank.reports.reproduce import comparison_from_store, reproduce_config

    cfg, skipped = reproduce_config(layout, metrics=["logme", "not_a_metric"])
    assert skipped == ["not_a_metric"]
    assert cfg.source_pattern == "{model}_source.npz"
    run_bench(cfg, progress=False)
    cmp = comparison_from_store(cfg, skipped)
    tau = _weighted_tau_by_hand()
    assert cmp.ours.values[("logme", "none")]["aircraft"] == pytest.approx(tau, abs=1e-12)
    assert cmp.diff[("logme", "none")]["aircraft"] == pytest.approx(tau - 0.223, abs=1e-12)
    assert cmp.diff[("logme", "ped")]["aircraft"] == pytest.approx(tau - 0.509, abs=1e-12)
