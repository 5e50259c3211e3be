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
    got = ev.weighted_tau(scores, acc).statistic
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == expected
    # order of the mapping does not matter
    rev = dict(reversed(list(scores.items())))
    assert ev.weighted_tau(rev, acc).statistic == pytest.approx(got, nan_ok=True)
    # array-likes in the same order give the same result
    assert ev.weighted_tau(s, a).statistic == pytest.approx(got, nan_ok=True)


def test_other_correlations_equal_scipy():
    rng = np.random.default_rng(0)
    s, a = rng.normal(size=8), rng.normal(size=8)
    scores, acc = _maps(s, a)
    assert ev.kendall_tau(scores, acc).statistic == pytest.approx(stats.kendalltau(s, a).statistic)
    assert ev.pearson(scores, acc).statistic == pytest.approx(stats.pearsonr(s, a).statistic)
    assert ev.spearman(scores, acc).statistic == pytest.approx(stats.spearmanr(s, a).statistic)


def test_rel_and_recall_at_k_by_hand():
    scores = {"a": 0.9, "b": 0.8, "c": 0.1, "d": 0.5}
    acc = {"a": 70.0, "b": 90.0, "c": 100.0, "d": 80.0}
    # top-1 by score is a (70); best is c (100)
    assert ev.rel_at_k(scores, acc, 1).statistic == pytest.approx(0.7)
    assert ev.rel_at_k(scores, acc, 2).statistic == pytest.approx(0.9)
    assert ev.rel_at_k(scores, acc, 4).statistic == 1.0
    # ground-truth top-3: c, b, d -> a is not in it; top-4 includes a
    assert ev.recall_at_k(scores, acc, 3).statistic == 0.0
    assert ev.recall_at_k(scores, acc, 4).statistic == 1.0
    assert ev.recall_at_k({"x": 2.0, "y": 1.0}, {"x": 5.0, "y": 1.0}, 1).statistic == 1.0


def test_missing_models_and_extra_accuracies():
    with pytest.raises(ValueError, match="'z'"):
        ev.weighted_tau({"a": 1.0, "z": 2.0}, {"a": 1.0, "b": 3.0})
    # accuracies of unscored models are ignored
    assert ev.weighted_tau({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0, "c": 0.0}).statistic == 1.0
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


# ------------------------------------------------ result objects and array-like inputs


def test_results_carry_statistic_and_scipy_pvalue():
    rng = np.random.default_rng(1)
    s, a = rng.normal(size=10), rng.normal(size=10)
    for fn, ref in ((ev.kendall_tau, stats.kendalltau), (ev.pearson, stats.pearsonr),
                    (ev.spearman, stats.spearmanr)):
        res = fn(s, a)
        expected = ref(s, a)
        assert res.statistic == pytest.approx(expected.statistic)
        assert res.pvalue == pytest.approx(expected.pvalue)
        assert float(res) == res.statistic and f"{res:.3f}" == f"{res.statistic:.3f}"
    assert ev.weighted_tau(s, a).pvalue is None  # scipy gives none for weightedtau


def test_an_array_is_never_read_as_model_names():
    # Before: list(scores) of an array gave its values as "names" and a KeyError-like error.
    assert ev.weighted_tau(np.array([3.0, 2.0, 1.0]), [30.0, 20.0, 10.0]).statistic == 1.0
    with pytest.raises(ValueError, match="both as mappings"):
        ev.weighted_tau(np.array([1.0, 2.0]), {"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match="different lengths"):
        ev.weighted_tau([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="1-D"):
        ev.weighted_tau([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="finite"):
        ev.weighted_tau([1.0, np.nan], [1.0, 2.0])


def test_evaluate_returns_plain_floats_for_tables_and_json():
    import json

    out = ev.evaluate([3.0, 2.0, 1.0, 0.5], [3.0, 1.0, 2.0, 0.0])
    assert all(type(v) is float for v in out.values())
    json.dumps(out)


# ------------------------------------------------------------------------ uncertainty


def _replicates(rng, n_models=6, n_seeds=5, spread=0.5):
    base = np.linspace(60.0, 80.0, n_models)
    return base[:, None] + rng.normal(scale=spread, size=(n_models, n_seeds))


def test_tau_interval_statistic_is_tau_against_mean_accuracy():
    rng = np.random.default_rng(0)
    reps = _replicates(rng)
    scores = rng.normal(size=reps.shape[0])
    res = ev.weighted_tau_interval(scores, reps, n_boot=300, seed=1)
    assert res.statistic == pytest.approx(stats.weightedtau(scores, reps.mean(axis=1)).statistic)
    assert res.low <= res.high and res.draws.shape == (300,)
    assert res.confidence == 0.95 and res.interval == (res.low, res.high)
    # mapping input (ragged seeds allowed) gives the same point statistic
    names = [f"m{i}" for i in range(reps.shape[0])]
    sm = dict(zip(names, scores, strict=True))
    rm = {n: list(r[: 3 + i % 3]) for i, (n, r) in enumerate(zip(names, reps, strict=True))}
    tau = stats.weightedtau(scores, [np.mean(v) for v in rm.values()]).statistic
    assert ev.weighted_tau_interval(sm, rm, n_boot=50).statistic == pytest.approx(tau)


def test_tau_interval_noise_widens_the_interval():
    rng = np.random.default_rng(2)
    scores = np.linspace(0, 1, 8)
    quiet = ev.weighted_tau_interval(scores, _replicates(rng, 8, 5, 0.01), n_boot=400)
    noisy = ev.weighted_tau_interval(scores, _replicates(rng, 8, 5, 20.0), n_boot=400)
    assert quiet.low == pytest.approx(1.0) and quiet.high == pytest.approx(1.0)  # no noise
    assert noisy.high - noisy.low > 0.3


def test_tau_interval_with_score_draws_uses_them():
    rng = np.random.default_rng(3)
    reps = _replicates(rng, 5, 4, 0.01)
    scores = np.arange(5.0)
    draws = scores[:, None] + rng.normal(scale=3.0, size=(5, 50))
    fixed = ev.weighted_tau_interval(scores, reps, n_boot=200)
    varied = ev.weighted_tau_interval(scores, reps, draws, n_boot=200)
    assert fixed.low == pytest.approx(1.0) and varied.low < 0.99
    with pytest.raises(ValueError, match="2-D"):
        ev.weighted_tau_interval(scores, reps, draws[:, 0], n_boot=10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0), shift=st.floats(-50, 50))
def test_tau_interval_invariant_to_monotone_maps(seed, scale, shift):
    """Weighted tau uses ranks only: a strictly increasing map of the scores, or a positive
    affine map of the accuracies (it commutes with the resampled means), changes nothing."""
    rng = np.random.default_rng(seed)
    reps = _replicates(rng, 5, 4, 5.0)
    scores = rng.normal(size=5)
    ref = ev.weighted_tau_interval(scores, reps, n_boot=60, seed=seed)
    for s2, r2 in ((np.exp(scores), reps), (scores, scale * reps + shift)):
        got = ev.weighted_tau_interval(s2, r2, n_boot=60, seed=seed)
        assert got.statistic == pytest.approx(ref.statistic)
        np.testing.assert_allclose(got.draws, ref.draws, atol=1e-12)


def test_mean_over_targets_and_paired_gain():
    rng = np.random.default_rng(4)
    targets = [_replicates(rng, 6, 5, 3.0) for _ in range(4)]
    base = [ev.weighted_tau_interval(rng.normal(size=6), r, n_boot=200, seed=7) for r in targets]
    good = [ev.weighted_tau_interval(r.mean(axis=1), r, n_boot=200, seed=7) for r in targets]
    mean = ev.mean_over_targets(base)
    assert mean.statistic == pytest.approx(np.mean([b.statistic for b in base]))
    assert mean.low <= mean.high
    gain = ev.ped_gain(base, good)
    assert gain.statistic == pytest.approx(np.mean([g.statistic - b.statistic
                                                    for b, g in zip(base, good, strict=True)]))
    assert gain.n_positive + gain.n_negative + gain.n_ties == 4
    assert 0.0 <= gain.pvalue <= 1.0
    with pytest.raises(ValueError, match="n_boot"):
        ev.ped_gain(base, [ev.weighted_tau_interval(rng.normal(size=6), targets[0], n_boot=10)]
                    * 4)
    with pytest.raises(ValueError, match="one side"):
        ev.ped_gain({"a": 0.1}, {"b": 0.2})


@settings(max_examples=40, deadline=None)
@given(taus=st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=12))
def test_ped_gain_antisymmetric_and_sign_test_matches_scipy(taus):
    wo, wi = [t[0] for t in taus], [t[1] for t in taus]
    g = ev.ped_gain(wo, wi, n_boot=50)
    r = ev.ped_gain(wi, wo, n_boot=50)
    assert r.statistic == pytest.approx(-g.statistic, abs=1e-12)
    assert (r.n_positive, r.n_negative, r.n_ties) == (g.n_negative, g.n_positive, g.n_ties)
    assert r.pvalue == pytest.approx(g.pvalue)
    assert r.low == pytest.approx(-g.high, abs=1e-12) and r.high == pytest.approx(-g.low,
                                                                                 abs=1e-12)
    n = g.n_positive + g.n_negative
    expected = stats.binomtest(g.n_positive, n, 0.5).pvalue if n else 1.0
    assert g.pvalue == pytest.approx(expected)


def test_noise_ceiling():
    rng = np.random.default_rng(5)
    clean = ev.noise_ceiling(_replicates(rng, 6, 5, 0.01))
    assert clean.draws.size == 10
    np.testing.assert_allclose([clean.statistic, clean.min, clean.max], 1.0)
    noisy = ev.noise_ceiling(_replicates(rng, 6, 5, 30.0))
    assert noisy.statistic < 0.9 and noisy.min <= noisy.low <= noisy.high <= noisy.max
    # seeds beyond the shortest list are left out
    ragged = ev.noise_ceiling({"a": [1.0, 2.0, 9.0], "b": [0.0, 1.0], "c": [3.0, 4.0]})
    assert ragged.draws.size == 1
    with pytest.raises(ValueError, match="at least 2"):
        ev.noise_ceiling([[1.0], [2.0]])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_noise_ceiling_invariant_to_model_order(seed):
    rng = np.random.default_rng(seed)
    reps = _replicates(rng, 5, 4, 5.0)
    perm = rng.permutation(5)
    np.testing.assert_allclose(ev.noise_ceiling(reps[perm]).draws, ev.noise_ceiling(reps).draws)


def test_uncertainty_argument_checks():
    reps = np.ones((3, 2))
    with pytest.raises(ValueError, match="confidence"):
        ev.weighted_tau_interval([1, 2, 3], reps, confidence=1.0)
    with pytest.raises(ValueError, match="n_boot"):
        ev.weighted_tau_interval([1, 2, 3], reps, n_boot=0)
    with pytest.raises(ValueError, match="same models"):
        ev.weighted_tau_interval([1, 2], reps)
    with pytest.raises(ValueError, match="no entry"):
        ev.weighted_tau_interval({"a": 1.0, "b": 2.0}, {"a": [1.0]})


def test_module_examples_run_as_doctests():
    """The numpy-docstring Examples of pedrank.evaluation are executed (and must pass)."""
    import doctest

    import pedrank.core.evaluation as mod

    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 10 and res.failed == 0


def test_stratified_resamples_keep_classes_and_extend():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 5, size=60)
    idx = ev.stratified_resamples(y, 30, seed=3)
    assert idx.shape == (30, 60) and idx.dtype == np.int64
    assert (y[idx] == y).all()  # class of every position kept, so class sizes kept
    # with replacement: some positions repeat, and all stay in range
    assert any(np.unique(r).size < y.size for r in idx) and idx.min() >= 0 and idx.max() < 60
    # resample j depends on (seed, j) only: a longer run extends a shorter one
    np.testing.assert_array_equal(ev.stratified_resamples(y, 5, seed=3, start=10), idx[10:15])
    assert not (ev.stratified_resamples(y, 1, seed=4) == idx[:1]).all()
    # string labels work the same
    ys = np.array(["a", "b"] * 10)
    assert (ys[ev.stratified_resamples(ys, 3)] == ys).all()
    for bad in ({"n_resamples": -1}, {"n_resamples": 1.5}, {"n_resamples": 2, "start": -1}):
        with pytest.raises(ValueError, match="non-negative"):
            ev.stratified_resamples(y, **{"n_resamples": 1, **bad})
    with pytest.raises(ValueError, match="empty"):
        ev.stratified_resamples([], 2)


def test_stratified_resamples_mean_is_unbiased_per_class():
    """Each class's resampled positions are uniform over that class (bootstrap)."""
    y = np.repeat([0, 1], [4, 6])
    idx = ev.stratified_resamples(y, 4000, seed=0)
    counts = np.bincount(idx.ravel(), minlength=10) / (4000 * 1.0)
    np.testing.assert_allclose(counts, 1.0, atol=0.05)  # every position about once per row


def test_tau_interval_resample_choices():
    rng = np.random.default_rng(9)
    reps = _replicates(rng, 6, 5, 4.0)
    scores = reps.mean(axis=1)
    draws = scores[:, None] + rng.normal(scale=4.0, size=(6, 20))
    both = ev.weighted_tau_interval(scores, reps, draws, n_boot=300, seed=2)
    only_gt = ev.weighted_tau_interval(scores, reps, draws, n_boot=300, seed=2,
                                       resample="replicates")
    only_s = ev.weighted_tau_interval(scores, reps, draws, n_boot=300, seed=2,
                                      resample="samples")
    # "replicates" with draws = the old call without draws (the same random stream first)
    np.testing.assert_allclose(only_gt.draws, ev.weighted_tau_interval(scores, reps, n_boot=300,
                                                                       seed=2).draws)
    # "samples": the ground truth is fixed at the mean, so a draw equal to the scores gives 1
    exact = ev.weighted_tau_interval(scores, reps, np.repeat(scores[:, None], 3, axis=1),
                                     n_boot=50, resample="samples")
    np.testing.assert_allclose(exact.draws, 1.0)
    assert both.statistic == only_gt.statistic == only_s.statistic == pytest.approx(1.0)
    # both noise sources together spread at least as much as either (on these data)
    assert both.high - both.low >= max(only_s.high - only_s.low, only_gt.high - only_gt.low) - 0.05
    # paired: the same seed and shapes pick the same replicate and score draws for two
    # metrics (a monotone map of a metric gives the very same taus, draw by draw)
    other = ev.weighted_tau_interval(np.exp(scores / 10), reps, np.exp(draws / 10), n_boot=300,
                                     seed=2)
    np.testing.assert_allclose(other.draws, both.draws, atol=1e-12)
    with pytest.raises(ValueError, match="needs score_draws"):
        ev.weighted_tau_interval(scores, reps, n_boot=10, resample="both")
    with pytest.raises(ValueError, match="resample must be"):
        ev.weighted_tau_interval(scores, reps, draws, n_boot=10, resample="targets")


def test_resampled_scores_pair_draws_across_models():
    """Draw j of every model is computed on the same resample (same seed): the score draws
    weighted_tau_interval needs; a resample where the metric raises is NaN."""
    rng = np.random.default_rng(10)
    y = np.repeat([0, 1, 2], 15)
    X = rng.normal(size=(45, 3)) + y[:, None]
    seen = []

    def probe(Xb, yb):
        seen.append(Xb.copy())
        return float(Xb.sum())

    a = ev.resampled_scores(probe, X, y, 6, seed=4)
    b = ev.resampled_scores(lambda Xb, yb: float(2 * Xb.sum()), 2 * X, y, 6, seed=4)
    np.testing.assert_allclose(b, 4 * a)  # same rows: the sums scale together
    idx = ev.stratified_resamples(y, 6, seed=4)
    np.testing.assert_allclose(seen[2], X[idx[2]])

    def fails_on_first(Xb, yb, calls=[]):  # noqa: B006 - a call counter
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("undefined on this resample")
        return 1.0

    got = ev.resampled_scores(fails_on_first, X, y, 3)
    assert np.isnan(got[0]) and (got[1:] == 1.0).all()
    assert np.isnan(ev.resampled_scores(lambda Xb, yb: float("inf"), X, y, 2)).all()
    with pytest.raises(ValueError, match="rows"):
        ev.resampled_scores(probe, X[:-1], y, 2)


def test_stratified_half_samples_have_no_duplicates_and_keep_every_class():
    """fraction: subsampling without replacement (the half-sample method); every class
    keeps ceil(fraction * size) positions, at least 2, so no metric loses a class."""
    y = np.repeat(["a", "b", "c"], [9, 4, 2])
    idx = ev.stratified_resamples(y, 50, seed=5, fraction=0.5)
    assert idx.shape == (50, 5 + 2 + 2)
    for row in idx:
        assert np.unique(row).size == row.size  # no sample twice
        assert [int((y[row] == c).sum()) for c in "abc"] == [5, 2, 2]
    # resample j still depends on (seed, j) only
    np.testing.assert_array_equal(ev.stratified_resamples(y, 3, seed=5, start=7,
                                                          fraction=0.5), idx[7:10])
    # each position of a class is kept about fraction of the time
    counts = np.bincount(idx.ravel(), minlength=15)[:9] / 50
    np.testing.assert_allclose(counts, 5 / 9, atol=0.2)
    assert ev.stratified_resamples(y, 2, fraction=1.0).shape == (2, 15)
    with pytest.raises(ValueError, match="fraction"):
        ev.stratified_resamples(y, 2, fraction=0.0)
    got = ev.resampled_scores(lambda Xb, yb: float(len(yb)), np.zeros((15, 1)), y, 2,
                              fraction=0.5)
    np.testing.assert_array_equal(got, [9.0, 9.0])
