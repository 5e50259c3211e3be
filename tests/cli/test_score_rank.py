"""End-to-end CLI: `pedrank score` and `pedrank rank` on a temporary directory."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _helpers import blobs

import pedrank
from pedrank import SourceStats
from pedrank.cli import main
from pedrank.pipeline.feature_files import save_feature_file


@pytest.fixture()
def model_dir(tmp_path):
    X, y = blobs(n_per_class=25, n_classes=3, dim=5, separation=0.8, seed=0)
    rng = np.random.default_rng(0)
    src = SourceStats.from_features(rng.normal(size=(80, 5)))
    save_feature_file(tmp_path / "good.npz", X, y, src)
    save_feature_file(tmp_path / "noisy.npz", X + rng.normal(scale=3, size=X.shape), y, src)
    save_feature_file(tmp_path / "random.npz", rng.normal(size=X.shape), y, src)
    (tmp_path / "acc.json").write_text(json.dumps({"good": 90, "noisy": 70, "random": 40}))
    return tmp_path


def test_score_prints_the_library_value(model_dir, capsys):
    assert main(["score", str(model_dir / "good.npz"), "--metric", "logme", "--ped"]) == 0
    out = capsys.readouterr().out.strip()
    X = np.load(model_dir / "good.npz")["features"]
    y = np.load(model_dir / "good.npz")["labels"]
    src = SourceStats.load(model_dir / "good.npz")
    assert float(out) == pytest.approx(pedrank.score(X, y, "logme", ped=True, source=src),
                                       rel=1e-9)


def test_rank_with_accuracy_json_and_formats(model_dir, capsys):
    args = ["rank", str(model_dir), "--metric", "sfda", "--accuracy", str(model_dir / "acc.json")]
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["ranking"]][0] == "good"
    assert set(out["evaluation"]) >= {"weighted_tau", "kendall_tau", "rel@1", "recall@3"}
    assert main([*args, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank,model,score,accuracy" and len(lines) == 4
    assert main([*args, "--ped", "--nsigma", "0.3"]) == 0
    text = capsys.readouterr().out
    assert "PED+sfda" in text and "weighted_tau=" in text


@pytest.mark.parametrize(
    "argv_tail, message",
    [
        (["--metric", "bogus"], "unknown metric"),
        (["--accuracy", "missing.json"], "missing.json"),
    ],
)
def test_rank_errors_are_one_line_exit_2(model_dir, capsys, argv_tail, message):
    argv = ["rank", str(model_dir), *[a if a != "missing.json" else str(model_dir / a)
                                      for a in argv_tail]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"labels": np.arange(6) % 2}, "missing array 'features'"),
        ({"features": np.ones((6, 2)), "labels": np.arange(5) % 2}, "5 labels but X has 6"),
        ({"features": np.full((6, 2), np.nan), "labels": np.arange(6) % 2}, "NaN"),
        ({"features": np.ones((6, 2)), "labels": np.zeros(6)}, "at least 2"),
    ],
)
def test_bad_feature_files(tmp_path, capsys, arrays, message):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    assert main(["score", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(p) in err and len(err.splitlines()) == 1


def test_ped_without_source_tells_how_to_fix(tmp_path, capsys):
    X, y = blobs(seed=1)
    save_feature_file(tmp_path / "m.npz", X, y)
    assert main(["score", str(tmp_path / "m.npz"), "--ped"]) == 2
    assert "fallback" in capsys.readouterr().err
    with pytest.warns(pedrank.SourceFallbackWarning):
        assert main(["score", str(tmp_path / "m.npz"), "--ped", "--ped-fallback", "target"]) == 0


def test_empty_dir_and_console_script(tmp_path):
    assert main(["rank", str(tmp_path)]) == 2
    proc = subprocess.run([sys.executable, "-m", "pedrank", "rank", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no .npz feature files" in proc.stderr and "Traceback" not in proc.stderr


def test_metric_options_reach_the_metric(model_dir, capsys):
    path = model_dir / "good.npz"
    X, y = np.load(path)["features"], np.load(path)["labels"]
    argv = ["score", str(path), "-m", "nleep", "-o", "ratio=1", "--metric-option",
            "covariance-type=diag", "-o", "max_fit_samples=60"]
    assert main(argv) == 0
    expected = pedrank.score(X, y, "nleep", ratio=1, covariance_type="diag", max_fit_samples=60)
    assert float(capsys.readouterr().out) == pytest.approx(expected, rel=1e-9)
    assert main(["rank", str(model_dir), "-m", "parc", "-o", 'label_rdm="exact"',
                 "--format", "json"]) == 0
    ranking = json.loads(capsys.readouterr().out)["ranking"]
    good = next(r["score"] for r in ranking if r["model"] == "good")
    assert good == pytest.approx(pedrank.score(X, y, "parc", label_rdm="exact"), rel=1e-12)


@pytest.mark.parametrize("option, message", [
    ("bogus=1", "takes n_components, max_samples, random_state, label_rdm"),
    ("ratio", "expected KEY=VALUE"),
])
def test_bad_metric_options_are_one_line_errors(model_dir, capsys, option, message):
    assert main(["score", str(model_dir / "good.npz"), "-m", "parc", "-o", option]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_task_regression_scores_real_valued_targets(tmp_path, capsys):
    """Continuous labels: refused as classes (the message names --task regression), scored
    by LogME with --task regression, and a classification-only metric fails per model."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=120)
    for name, signal in (("good", 1.0), ("bad", 0.0)):
        X = rng.normal(size=(120, 6)) + signal * y[:, None]
        save_feature_file(tmp_path / f"{name}.npz", X, y)
    assert main(["rank", str(tmp_path), "-m", "logme"]) == 2
    assert "--task regression" in capsys.readouterr().err
    assert main(["rank", str(tmp_path), "-m", "logme", "--task", "regression",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["ranking"]] == ["good", "bad"]
    expected = pedrank.score(np.load(tmp_path / "good.npz")["features"], y, metric="logme",
                             task="regression")
    assert out["ranking"][0]["score"] == pytest.approx(expected, rel=1e-12)
    assert main(["score", str(tmp_path / "good.npz"), "-m", "logme", "--task",
                 "regression"]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(expected, rel=1e-9)
    assert main(["rank", str(tmp_path), "-m", "sfda", "--task", "regression"]) == 1
    assert "class labels only" in capsys.readouterr().err


def test_dtype_float32_scores_and_ranks(model_dir, capsys):
    """--dtype float32: the library's float32 value; refused (exit 2) where no float32 path."""
    path = str(model_dir / "good.npz")
    assert main(["score", path, "--metric", "logme", "--dtype", "float32"]) == 0
    X = np.load(model_dir / "good.npz")["features"]
    y = np.load(model_dir / "good.npz")["labels"]
    assert float(capsys.readouterr().out.strip()) == pytest.approx(
        pedrank.score(X, y, "logme", dtype="float32"), rel=1e-9)
    assert main(["rank", str(model_dir), "--metric", "sfda", "--dtype", "float32"]) == 0
    assert "good" in capsys.readouterr().out
    assert main(["score", path, "--metric", "gbc", "--dtype", "float32"]) == 2
    err = capsys.readouterr().err
    assert "--dtype float32" in err and "no float32 path" in err and "Traceback" not in err
