from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pedrank import evaluation as ev


def _maps(s, a):
    names = [f"m{i}" for i in range(len(s))]
    return dict(zip(names, s, strict=True)), dict(zip(names, a, strict=True))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(3, 15), ties=st.booleans())
def test_weighted_tau_equals_scipy(seed, n, ties):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    a = rng.uniform(50, 100, size=n)
    if ties:
        s = np.round(s, 0)
        a = np.round(a, -1)
    scores, acc = _maps(s, a)
    expected = stats.weightedtau(s, a).statistic
    got = ev.weighted_tau(scores, acc)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == expected
    # order of the mapping does not matter
    rev = dict(reversed(list(scores.items())))
    assert ev.weighted_tau(rev, acc) == pytest.approx(got, nan_ok=True)


def test_other_correlations_equal_scipy():
    rng = np.random.default_rng(0)
    s, a = rng.normal(size=8), rng.normal(size=8)
    scores, acc = _maps(s, a)
    assert ev.kendall_tau(scores, acc) == pytest.approx(stats.kendalltau(s, a).statistic)
    assert ev.pearson(scores, acc) == pytest.approx(stats.pearsonr(s, a).statistic)
    assert ev.spearman(scores, acc) == pytest.approx(stats.spearmanr(s, a).statistic)


def test_rel_and_recall_at_k_by_hand():
    scores = {"a": 0.9, "b": 0.8, "c": 0.1, "d": 0.5}
    acc = {"a": 70.0, "b": 90.0, "c": 100.0, "d": 80.0}
    # top-1 by score is a (70); best is c (100)
    assert ev.rel_at_k(scores, acc, 1) == pytest.approx(0.7)
    assert ev.rel_at_k(scores, acc, 2) == pytest.approx(0.9)
    assert ev.rel_at_k(scores, acc, 4) == 1.0
    # ground-truth top-3: c, b, d -> a is not in it; top-4 includes a
    assert ev.recall_at_k(scores, acc, 3) == 0.0
    assert ev.recall_at_k(scores, acc, 4) == 1.0
    assert ev.recall_at_k({"x": 2.0, "y": 1.0}, {"x": 5.0, "y": 1.0}, 1) == 1.0


def test_missing_models_and_extra_accuracies():
    with pytest.raises(ValueError, match="'z'"):
        ev.weighted_tau({"a": 1.0, "z": 2.0}, {"a": 1.0, "b": 3.0})
    # accuracies of unscored models are ignored
    assert ev.weighted_tau({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0, "c": 0.0}) == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        ev.weighted_tau({"a": 1.0}, {"a": 1.0})
    with pytest.raises(ValueError, match="k must be"):
        ev.rel_at_k({"a": 1.0}, {"a": 1.0}, 0)
    with pytest.raises(ValueError, match="k must be"):
        ev.recall_at_k({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}, 0)


def test_evaluate_bundle():
    out = ev.evaluate({"a": 3.0, "b": 2.0, "c": 1.0}, {"a": 3.0, "b": 2.0, "c": 1.0})
    assert out["weighted_tau"] == pytest.approx(1.0)
    assert out["rel@1"] == 1.0 and out["recall@3"] == 1.0
