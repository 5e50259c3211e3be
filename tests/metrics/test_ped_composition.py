"""PED composes with every registered feature metric through ``pedrank.score``.

Iterates the registry, so a metric added later is covered automatically.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import blobs

import pedrank
from pedrank import SourceStats
from pedrank.core.metrics import available_metrics

FEATURE_METRICS = [m.name for m in available_metrics() if m.input == "features"]


def _source(dim: int, seed: int = 9) -> SourceStats:
    return SourceStats.from_features(np.random.default_rng(seed).normal(size=(200, dim)))


def test_registry_has_feature_metrics():
    # The six metrics of this group at least; the loop below must not be vacuous.
    assert {"nleep", "gbc", "parc", "hscore", "regularized_hscore", "transrate"} <= set(
        FEATURE_METRICS)


@pytest.mark.parametrize("metric", FEATURE_METRICS)
def test_ped_changes_score_on_overlapping_classes(metric):
    X, y = blobs(n_per_class=30, n_classes=3, dim=6, spread=1.0, separation=0.6, seed=0)
    src = _source(6)
    result = pedrank.ped_transform(X, y, src)
    assert result.n_steps > 0  # precondition: the classes overlap, PED moves them
    plain = pedrank.score(X, y, metric=metric, ped=False)
    moved = pedrank.score(X, y, metric=metric, ped=True, source=src)
    assert np.isfinite(plain) and np.isfinite(moved)
    assert moved != pytest.approx(plain, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("metric", FEATURE_METRICS)
def test_ped_is_identity_without_overlap(metric):
    X, y = blobs(n_per_class=30, n_classes=3, dim=6, spread=1.0, separation=3.0, seed=1)
    src = _source(6)
    assert pedrank.ped_transform(X, y, src).n_steps == 0  # precondition: no overlap
    plain = pedrank.score(X, y, metric=metric, ped=False)
    moved = pedrank.score(X, y, metric=metric, ped=True, source=src)
    assert plain != 0.0  # not a trivially underflowed score (GBC far apart is -0.0)
    assert moved == pytest.approx(plain, rel=1e-12)
