from __future__ import annotations

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
    recs = pedrank.rank(models, metric="logme", ped=True, as_frame=False)
    assert [r["model"] for r in recs] == ["good", "noise"]
    assert [r["rank"] for r in recs] == [1, 2]
    ties = pedrank.core.scoring.ranking_records({"a": 1.0, "b": 1.0, "c": 0.5})
    assert [(r["model"], r["rank"]) for r in ties] == [("a", 1), ("b", 1), ("c", 3)]


def test_rank_frame_and_bad_entries():
    pd = pytest.importorskip("pandas")
    X, y, src = _data()
    df = pedrank.rank({"m": (X, y)}, metric="sfda")
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["rank", "model", "score"]
    with pytest.raises(ValueError, match="expected"):
        pedrank.rank({"m": X}, metric="sfda")
    with pytest.raises(ValueError, match="at least one"):
        pedrank.rank({}, metric="sfda")
