"""PED dynamics: the official code's defects fixed, invariances, no mutation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import blobs
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import pedrank
from pedrank import PED, CoincidentClassMeansWarning, SourceFallbackWarning, SourceStats
from pedrank.core.ped import MAX_STEPS_CAP, ped_transform


def _overlapping(seed=0, n=30, C=4, D=6):
    return blobs(n_per_class=n, n_classes=C, dim=D, spread=1.0, separation=0.5, seed=seed)


def _stats(D, seed=1):
    rng = np.random.default_rng(seed)
    return SourceStats.from_features(rng.normal(size=(200, D)))


def test_labels_need_not_be_0_to_c_minus_1():
    """Regression: the official code mis-indexes labels that are not 0..C-1."""
    X, y = _overlapping()
    src = _stats(X.shape[1])
    ref = ped_transform(X, y, src)
    names = np.array(["cat", "dog", "emu", "gnu"])[y]
    sparse_ints = (y * 7 + 100)
    assert ped_transform(X, names, src).features == pytest.approx(ref.features, abs=0)
    np.testing.assert_array_equal(ped_transform(X, sparse_ints, src).features, ref.features)
    assert ref.n_steps > 0


def test_coincident_class_means_exert_no_push_and_warn():
    """Regression: coincident means give NaN in the official code and switch PED off."""
    X, y = _overlapping(C=3)
    # Class 2 := a copy of class 0 -> identical means, overlapping balls.
    X = np.vstack([X, X[y == 0]])
    y = np.concatenate([y, np.full(int((y == 0).sum()), 3)])
    src = _stats(X.shape[1])
    with pytest.warns(CoincidentClassMeansWarning):
        res = ped_transform(X, y, src)
    assert np.isfinite(res.features).all()
    assert res.n_steps > 0  # the other pairs still move


def test_float32_input_is_computed_in_float64():
    """Regression: float32 input must not be mixed precision."""
    X, y = _overlapping()
    src = _stats(X.shape[1])
    X32 = X.astype(np.float32)
    res32 = ped_transform(X32, y, src)
    res64 = ped_transform(X32.astype(np.float64), y, src)
    assert res32.features.dtype == np.float64
    np.testing.assert_array_equal(res32.features, res64.features)


def test_inputs_never_mutated():
    X, y = _overlapping()
    src = _stats(X.shape[1])
    X0, y0, m0, s0 = X.copy(), y.copy(), src.mean.copy(), src.std.copy()
    est = PED().fit(src)
    est.transform(X, y)
    ped_transform(X, y, src)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(src.mean, m0)
    np.testing.assert_array_equal(src.std, s0)


def test_no_overlap_leaves_features_unchanged_without_warnings():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = np.eye(3)[y] * 1000.0 + rng.normal(scale=0.01, size=(60, 3))
    src = SourceStats(np.zeros(3), np.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ped_transform(X, y, src)
    assert res.n_steps == 0 and not res.moved
    np.testing.assert_array_equal(res.features, X)
    assert res.changes == (0.0,)


def test_classes_translate_rigidly_and_steps_follow_exit_rule():
    X, y = _overlapping()
    src = _stats(X.shape[1])
    res = ped_transform(X, y, src, exit_ratio=0.5)
    shift = res.features - X
    for c in np.unique(y):
        rows = shift[y == c]
        np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), atol=1e-12)
    accepted = res.ratios[: res.n_steps]
    assert all(r > 0.5 for r in accepted)
    if res.n_steps < 6:
        assert res.ratios[res.n_steps] <= 0.5


def test_parameter_validation():
    X, y = _overlapping()
    src = _stats(X.shape[1])
    bad = [("max_steps", 0), ("max_steps", -1), ("max_steps", 2.5), ("max_steps", True),
           ("max_steps", MAX_STEPS_CAP + 1), ("max_steps", 100_000_000),
           ("exit_ratio", -1.0), ("exit_ratio", 0.0), ("exit_ratio", 1.5),
           ("time_step", 0.0), ("time_step", float("inf")), ("nsigma", -0.6),
           ("nsigma", float("nan")), ("constant", 0.0), ("constant", "1")]
    for name, value in bad:
        with pytest.raises(ValueError, match=name):
            ped_transform(X, y, src, **{name: value})
        with pytest.raises(ValueError, match=name):  # validated in fit, before any work
            PED(**{name: value}).fit(np.zeros((3, X.shape[1])))
    with pytest.raises(ValueError, match="dimension"):
        ped_transform(X, y, _stats(X.shape[1] + 1))
    with pytest.raises(ValueError, match="eps"):
        PED(eps=0.0).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="fallback"):
        PED(fallback="nope").fit(np.zeros((3, 2)))
    # exit_ratio = 1 rejects the first step (its ratio is 1): PED leaves X unchanged
    assert ped_transform(X, y, src, exit_ratio=1.0).n_steps == 0
    assert 6 < ped_transform(X, y, src, max_steps=MAX_STEPS_CAP).n_steps < MAX_STEPS_CAP


def test_cli_runaway_parameters_are_refused_at_once(tmp_path):
    """``--max-steps 100000000 --exit-ratio -1`` used to run practically forever."""
    from pedrank.cli import main

    X, y = _overlapping()
    path = tmp_path / "m.npz"
    np.savez(path, features=X, labels=y)
    argv = ["score", str(path), "--ped", "--ped-fallback", "target", "--max-steps",
            "100000000", "--exit-ratio", "-1"]
    assert main(argv) == 2


def test_unfitted_transform_raises_not_fitted_error():
    X, y = _overlapping()
    with pytest.raises(NotFittedError, match="fit"):
        PED().transform(X, y)
    assert issubclass(NotFittedError, ValueError)  # the CLI reports it as one line


def test_sklearn_conventions_params_clone_fit_transform():
    X, y = _overlapping()
    rng = np.random.default_rng(3)
    source_X = rng.normal(size=(100, X.shape[1]))
    est = PED(nsigma=0.3)
    assert est.set_params(max_steps=4) is est and est.get_params()["max_steps"] == 4
    fitted = est.fit(source_X)
    assert fitted is est and est.n_features_in_ == X.shape[1]
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "source_")
    a = PED(nsigma=0.3, max_steps=4).fit_transform(X, y, source=source_X)
    np.testing.assert_array_equal(a, est.transform(X, y))
    with pytest.raises(ValueError, match="source="):
        PED().fit_transform(X, y)
    with pytest.warns(SourceFallbackWarning):
        b = PED(fallback="target").fit_transform(X, y)
    np.testing.assert_array_equal(b, ped_transform(X, y, SourceStats.from_features(X)).features)
    with pytest.raises(ValueError, match="dimension"):
        est.transform(X[:, :-1], y)


def test_missing_source_is_an_error_with_instructions():
    X, y = _overlapping()
    with pytest.raises(ValueError, match="source statistics"):
        ped_transform(X, y, None)
    with pytest.raises(ValueError, match="fallback='target'"):
        PED().transform(X, y)
    with pytest.raises(ValueError, match="source"):
        pedrank.score(X, y, metric="logme", ped=True)


def test_target_fallback_is_explicit_and_warns():
    X, y = _overlapping()
    with pytest.warns(SourceFallbackWarning):
        moved = PED(fallback="target").transform(X, y)
    expected = ped_transform(X, y, SourceStats.from_features(X)).features
    np.testing.assert_allclose(moved, expected, rtol=0, atol=0)


def test_estimator_fit_on_features_or_stats_and_records_result():
    X, y = _overlapping()
    rng = np.random.default_rng(3)
    source_X = rng.normal(size=(100, X.shape[1]))
    a = PED(nsigma=0.3).fit(source_X).transform(X, y)
    est = PED(nsigma=0.3).fit(SourceStats.from_features(source_X))
    b = est.transform(X, y)
    np.testing.assert_array_equal(a, b)
    assert est.result_.n_steps >= 1
    assert est.get_params()["nsigma"] == 0.3


def test_memory_stays_on_class_means():
    """No C x C x D array: a transform at C=300, D=512 needs far less than C*C*D floats."""
    import tracemalloc

    rng = np.random.default_rng(0)
    C, D, n = 300, 512, 4
    y = np.repeat(np.arange(C), n)
    X = rng.normal(size=(C * n, D))
    src = SourceStats(np.zeros(D), np.ones(D))
    tracemalloc.start()
    ped_transform(X, y, src, max_steps=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * C * C * D * 8  # the official code's pairwise array: 369 MB


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), nsigma=st.sampled_from([0.3, 0.6, 1.2]))
def test_property_sample_order_and_label_renaming(seed, nsigma):
    X, y = _overlapping(seed=seed, n=10, C=3, D=4)
    src = _stats(4, seed=seed + 1)
    res = ped_transform(X, y, src, nsigma=nsigma)
    perm = np.random.default_rng(seed).permutation(y.size)
    res_p = ped_transform(X[perm], y[perm], src, nsigma=nsigma)
    np.testing.assert_allclose(res_p.features, res.features[perm], rtol=1e-12, atol=1e-12)
    assert res_p.n_steps == res.n_steps
    renamed = np.array([-5, 17, 3])[y]
    res_r = ped_transform(X, renamed, src, nsigma=nsigma)
    np.testing.assert_allclose(res_r.features, res.features, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_property_never_mutates_and_stays_finite(seed):
    X, y = _overlapping(seed=seed, n=8, C=3, D=5)
    X32 = X.astype(np.float32)
    before = X32.copy()
    res = ped_transform(X32, y, _stats(5, seed))
    np.testing.assert_array_equal(X32, before)
    assert np.isfinite(res.features).all()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), gap=st.floats(50.0, 1e4))
def test_property_no_overlap_no_change(seed, gap):
    rng = np.random.default_rng(seed)
    C, D = 3, 4
    y = np.repeat(np.arange(C), 6)
    X = np.eye(C, D)[y] * gap + rng.uniform(-1, 1, size=(y.size, D))
    res = ped_transform(X, y, SourceStats(np.zeros(D), np.ones(D)))
    assert res.n_steps == 0
    np.testing.assert_array_equal(res.features, X)


# ------------------------------------------------------ scikit-learn's estimator checks

# PED.transform needs the target labels y (PED moves whole classes); scikit-learn's checks
# call transform(X) and so fail on that one documented exemption. Each expected failure below
# is checked to still fail (xfail_strict), so this list cannot go stale.
_NEEDS_Y = "transform(X) without y: PED needs the target labels (documented exemption)"
_Y_FAILURES = dict.fromkeys(
    ["check_n_features_in_after_fitting", "check_estimators_dtypes", "check_dtype_object",
     "check_estimators_nan_inf", "check_estimators_pickle", "check_f_contiguous_array_estimator",
     "check_transformer_data_not_an_array", "check_transformer_general",
     "check_transformer_preserve_dtypes", "check_methods_sample_order_invariance",
     "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent",
     "check_fit2d_predict1d"], _NEEDS_Y)
_NO_SOURCE = ("fit_transform(X, y) without source= is refused unless fallback='target' "
              "(it would standardise X with its own statistics)")


def _expected_failures(est):
    out = dict(_Y_FAILURES)
    if est.fallback == "error":
        out.update(dict.fromkeys(
            ["check_fit_score_takes_y", "check_pipeline_consistency",
             "check_transformer_data_not_an_array", "check_transformer_general",
             "check_transformer_preserve_dtypes"], _NO_SOURCE))
    return out


@parametrize_with_checks([PED(), PED(fallback="target")],
                         expected_failed_checks=_expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SourceFallbackWarning)
        check(estimator)


def test_one_table_of_ped_ranges_for_every_entry_point():
    """PED.fit, ped_transform, the bench config and the CLI accept and refuse the same values.

    They used to disagree: the bench config and the CLI took exit_ratio=0 and max_steps=0,
    which PED refused, and PED took time_step=1e200, which overflowed inside the dynamics.
    """
    import argparse

    from pedrank.cli._common import add_metric_options, ped_param
    from pedrank.core.ped_params import PED_PARAM_RANGES, check_ped_param
    from pedrank.pipeline.bench.config import PedVariant

    X, y = _overlapping()
    src = _stats(X.shape[1])
    parser = argparse.ArgumentParser()
    add_metric_options(parser)
    flags = {a.dest: a.type for a in parser._actions if a.dest in PED_PARAM_RANGES}
    assert set(flags) == set(PED_PARAM_RANGES) - {"eps"}  # eps is --ped-param eps=... only
    cases = {
        "time_step": ([1e-9, 0.1, 1e3], [0.0, -0.1, 1e3 * 1.001, 1e200]),
        "nsigma": ([0.3, 100.0], [0.0, -0.6, 101.0, 1e300]),
        "constant": ([1.0, 1e6], [0.0, 2e6]),
        "exit_ratio": ([1e-6, 0.5, 1.0], [0.0, -1.0, 1.5]),
        "max_steps": ([1, 6, MAX_STEPS_CAP], [0, -1, MAX_STEPS_CAP + 1, 2.5, True]),
        "eps": ([1e-3, 1e6], [0.0, 1e7]),
    }
    assert set(cases) == set(PED_PARAM_RANGES)
    for name, (good, bad) in cases.items():
        for value in good:
            check_ped_param(name, value)
            PED(**{name: value}).fit(np.zeros((3, X.shape[1])))
            PedVariant("v", {name: value}).resolved_params()
            assert ped_param(f"{name}={value}") == (name, value)
            if name in flags:
                assert flags[name](str(value)) == value
            ped_transform(X, y, src, **{name: value})
        for value in bad:
            with pytest.raises(ValueError, match=name):
                PED(**{name: value}).fit(np.zeros((3, X.shape[1])))
            with pytest.raises(ValueError, match=name):
                ped_transform(X, y, src, **{name: value})
            with pytest.raises(ValueError, match=name):
                PedVariant("v", {name: value}).resolved_params()
            with pytest.raises(argparse.ArgumentTypeError, match=name):
                ped_param(f"{name}={str(value).lower()}")
            if name in flags and not isinstance(value, bool):
                with pytest.raises(argparse.ArgumentTypeError):
                    flags[name](str(value))


def test_source_scale_warning_when_clipped_dimensions_dominate() -> None:
    """Regression (stop 18): nsfwjs-mobilenetv2's natural-crop source statistics had 263 of
    1280 dimensions exactly 0 (std clipped at eps) carrying 74% of the standardised target
    variance, which threw its PED rankings off without a word."""
    import warnings

    from pedrank import PED, SourceScaleWarning, SourceStats

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = rng.normal(size=(90, 6)) * 0.05 + y[:, None] * 0.05
    X[:, :2] += rng.uniform(0, 0.2, size=(90, 2))  # active on the target ...
    mean, std = np.zeros(6), np.full(6, 0.05)
    std[:2] = 0.0  # ... never on the source
    with pytest.warns(SourceScaleWarning, match=r"in 2 of 6 feature dimensions"):
        PED().fit(SourceStats(mean, std)).transform(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SourceScaleWarning)
        PED().fit(SourceStats(mean, np.full(6, 0.05))).transform(X, y)  # nothing clipped
