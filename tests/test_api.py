from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import blobs

import pedrank
from pedrank import PED, SourceStats


def _data(seed=0):
    X, y = blobs(n_per_class=30, n_classes=3, dim=6, separation=0.6, seed=seed)
    src = SourceStats.from_features(np.random.default_rng(seed + 9).normal(size=(100, 6)))
    return X, y, src


def test_score_composes_ped_and_metric():
    X, y, src = _data()
    moved = pedrank.ped_transform(X, y, src).features
    assert pedrank.score(X, y, "logme", ped=True, source=src) == pedrank.metrics.logme(moved, y)
    est = PED(nsigma=0.3).fit(src)
    moved3 = pedrank.ped_transform(X, y, src, nsigma=0.3).features
    assert pedrank.score(X, y, "sfda", ped=est) == pedrank.core.metrics.sfda(moved3, y)
    assert pedrank.score(X, y, "sfda") == pedrank.core.metrics.sfda(X, y)


def test_score_errors():
    X, y, src = _data()
    with pytest.raises(ValueError, match="unknown metric"):
        pedrank.score(X, y, "nope")
    with pytest.raises(ValueError, match="ped must be"):
        pedrank.score(X, y, "logme", ped="yes")
    with pytest.raises(ValueError, match="at least 2"):
        pedrank.score(X, np.zeros(len(y)), "logme")


def test_rank_records_and_ties():
    X, y, src = _data()
    rng = np.random.default_rng(1)
    noise = rng.normal(size=X.shape)
    models = {"good": (X, y, src), "noise": {"features": noise, "labels": y, "source": src}}
    result = pedrank.rank(models, metric="logme", ped=True)
    assert isinstance(result, pedrank.RankResult)
    assert [r["model"] for r in result.records] == ["good", "noise"]
    assert [r["rank"] for r in result.records] == [1, 2]
    assert result.failed == {} and not result.saturated and result.warning is None
    ties = pedrank.core.scoring.ranking_records({"a": 1.0, "b": 1.0, "c": 0.5})
    assert [(r["model"], r["rank"]) for r in ties] == [("a", 1), ("b", 1), ("c", 3)]


def test_rank_frame_and_bad_entries():
    pd = pytest.importorskip("pandas")
    X, y, src = _data()
    df = pedrank.rank({"m": (X, y)}, metric="sfda").to_frame()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["rank", "model", "score", "error"]
    with pytest.raises(ValueError, match="expected"):
        pedrank.rank({"m": X}, metric="sfda")
    with pytest.raises(ValueError, match="at least one"):
        pedrank.rank({}, metric="sfda")
    with pytest.raises(ValueError, match="to_frame"):
        pedrank.rank({"m": (X, y)}, metric="sfda", as_frame=True)


def test_a_model_that_cannot_be_scored_never_reorders_the_ranking():
    """Regression (issue 12 item 1): all-zero features made LogME return NaN and the
    NaN reordered every model (worst first). Now the model is listed as failed."""
    X, y, _ = _data()
    noise = np.random.default_rng(3).normal(size=X.shape)
    models = {"zeros": (np.zeros_like(X), y), "good": (X, y), "noise": (noise, y)}
    result = pedrank.rank(models, metric="logme")
    assert [r["model"] for r in result.records] == ["good", "noise"]
    assert list(result.failed) == ["zeros"] and "logme" in result.failed["zeros"]
    assert "could not be scored" in result.warning
    pd = pytest.importorskip("pandas")
    frame = result.to_frame()
    assert list(frame["model"]) == ["good", "noise", "zeros"]
    assert frame["rank"].isna().tolist() == [False, False, True]
    assert frame["error"].iloc[-1] == result.failed["zeros"] and isinstance(frame, pd.DataFrame)


def test_ranking_records_refuses_non_finite_scores():
    with pytest.raises(ValueError, match="non-finite"):
        pedrank.core.scoring.ranking_records({"a": 1.0, "b": float("nan")})


def test_saturated_scores_are_flagged():
    from pedrank.core.scoring import RankResult, is_saturated

    assert is_saturated([1.0, 1.0 - 1e-12, 1.0 - 5e-10])
    assert not is_saturated([1.0, 1.0 - 1e-6])
    assert not is_saturated([0.3])
    result = RankResult([{"rank": 1, "model": "a", "score": 1.0}], {}, True, "sfda")
    assert "sfda_log" in result.warning


def test_cli_rank_lists_failed_models_after_the_ranked_ones_and_exits_1(tmp_path, capsys):
    """Regression (issue 12 item 1): `pedrank rank` put an all-zero model first, exit 0."""
    from pedrank.cli import main
    from pedrank.pipeline.feature_files import save_feature_file

    X, y, src = _data()
    noise = np.random.default_rng(5).normal(size=X.shape)
    save_feature_file(tmp_path / "good.npz", X, y, src)
    save_feature_file(tmp_path / "noise.npz", noise, y, src)
    save_feature_file(tmp_path / "zeros.npz", np.zeros_like(X), y, src)
    assert main(["rank", str(tmp_path), "--metric", "logme"]) == 1
    captured = capsys.readouterr()
    rows = [line.split() for line in captured.out.splitlines()]
    ranked = [r[1] for r in rows if len(r) >= 3 and r[0].isdigit()]
    assert ranked == ["good", "noise"]
    assert "zeros" not in captured.out
    assert "1 model(s) could not be scored" in captured.err and "all zero" in captured.err
    assert main(["rank", str(tmp_path), "--metric", "logme", "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["ranking"]] == ["good", "noise"]
    assert list(out["failed"]) == ["zeros"] and out["saturated"] is False
