"""Fixtures for the benchmark tests: a small generated feature zoo and a probe metric."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pedrank.core.metrics import _registry
from pedrank.pipeline.bench.config import BenchConfig
from pedrank.pipeline.bench.synthetic import make_feature_zoo

MODELS = ("m1", "m2", "m3")
DATASETS = ("d1", "d2")
PROBE = "bench_probe"


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """3 models x 2 datasets of generated feature files (+ groundtruth.json)."""
    feat = tmp_path / "feat"
    make_feature_zoo(feat, MODELS, DATASETS, seed=7)
    return feat


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Register an in-process metric that counts its calls (a recomputation counter).

    It scores the between-class share of the total variance; only serial and
    in-process (threaded Dask) runs can see it, since worker processes do not
    share the test's registry.
    """
    calls: list[int] = []

    def bench_probe(X: np.ndarray, y: np.ndarray) -> float:
        calls.append(1)
        X = np.asarray(X, dtype=np.float64)
        _, codes = np.unique(np.asarray(y), return_inverse=True)
        means = np.stack([X[codes == c].mean(axis=0) for c in range(codes.max() + 1)])
        between = ((means[codes] - X.mean(axis=0)) ** 2).sum()
        return float(between / ((X - X.mean(axis=0)) ** 2).sum())

    spec = _registry.MetricSpec(PROBE, bench_probe, "features", "test probe", "O(N D)")
    monkeypatch.setitem(_registry._REGISTRY, PROBE, spec)
    return calls


@pytest.fixture
def make_config(zoo: Path, tmp_path: Path) -> Callable[..., BenchConfig]:
    """Build a config over ``zoo`` (logme, sfda and the probe; results in tmp_path)."""

    def make(results: str = "res", **kw: Any) -> BenchConfig:
        base: dict[str, Any] = dict(
            features=zoo, metrics=["logme", "sfda", PROBE],
            groundtruth=str(zoo / "groundtruth.json"), results=tmp_path / results,
            blas_threads=1)
        base.update(kw)
        return BenchConfig(**base)

    return make


def stored_scores(results: Path) -> dict[tuple[str, str, str, str], tuple[str, float | None]]:
    """(model, dataset, metric, variant) -> (status, score) of every stored cell."""
    from pedrank.pipeline.bench.store import ResultStore

    with ResultStore(results) as store:
        return {(c.model, c.dataset, c.metric, c.variant): (c.status, c.score)
                for c in store.all_cells()}


@pytest.fixture
def stored() -> Callable[[Path], dict[tuple[str, str, str, str], tuple[str, float | None]]]:
    return stored_scores
