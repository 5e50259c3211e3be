"""The opt-in float32 compute path (issue 14, item 5): agreement, validation, finite-or-error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pedrank
from pedrank.core.metrics import _precision, available_metrics, get_metric

FLOAT32_METRICS = ("logme", "hscore", "regularized_hscore", "transrate", "sfda", "sfda_log",
                   "etran", "ncti")

# Declared bound on |s32 - s64| / |s64| on well-posed features (docs/performance.md gives
# the measured values on the project's real features; these are a margin above them).
BOUND = {"sfda_log": 3e-3, "sfda": 1e-4, "transrate": 1e-3}
DEFAULT_BOUND = 1e-5


def _relu_features(N: int, D: int, C: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(N) % C
    X = np.maximum(rng.normal(size=(N, D)) + 1.5 * rng.normal(size=(C, D))[y], 0.0)
    return X.astype(np.float32), y


def test_exactly_these_metrics_take_float32():
    assert {m.name for m in available_metrics() if m.supports_dtype} == set(FLOAT32_METRICS)


@pytest.mark.parametrize("metric", FLOAT32_METRICS)
@pytest.mark.parametrize("N, D, C", [(1500, 96, 12), (120, 200, 6)])
def test_float32_agrees_with_float64_within_the_declared_bound(metric, N, D, C, monkeypatch):
    # A fixed thread count: the adaptive policy follows the load average, and a different
    # BLAS thread count between the two float64 calls changes the last bit (seen for NCTI
    # in CI), which is not what the identity check below is about.
    monkeypatch.setenv("PEDRANK_NUM_THREADS", "1")
    X, y = _relu_features(N, D, C, seed=N + D)
    func = get_metric(metric).func
    s64 = func(X, y)
    s32 = func(X, y, dtype="float32")
    assert s64 == func(X, y, dtype="float64")  # the default path is the float64 one
    assert abs(s32 - s64) <= BOUND.get(metric, DEFAULT_BOUND) * abs(s64)


def test_float32_is_not_bit_identical_so_the_switch_is_real():
    X, y = _relu_features(800, 64, 8, seed=3)
    assert get_metric("logme").func(X, y) != get_metric("logme").func(X, y, dtype="float32")


@pytest.mark.parametrize("bad", ["float16", "f4", "double", 32, np.int32, "Float32"])
def test_bad_dtype_is_refused(bad):
    X, y = _relu_features(100, 8, 3, seed=0)
    with pytest.raises(ValueError, match="dtype must be 'float64'"):
        get_metric("logme").func(X, y, dtype=bad)


def test_validation_still_refuses_bad_input_in_float32():
    X, y = _relu_features(100, 8, 3, seed=0)
    X = X.astype(np.float64)
    X[3, 2] = np.nan
    for metric in FLOAT32_METRICS:
        with pytest.raises(ValueError):
            get_metric(metric).func(X, y, dtype="float32")
    with pytest.raises(ValueError):
        get_metric("hscore").func(X[:, :5].astype(complex), y, dtype="float32")


def test_score_and_rank_take_dtype_and_refuse_it_for_other_metrics():
    X, y = _relu_features(300, 16, 4, seed=1)
    assert pedrank.score(X, y, metric="logme", dtype="float32") == pytest.approx(
        pedrank.score(X, y, metric="logme"), rel=1e-5)
    with pytest.raises(ValueError, match="no float32 path"):
        pedrank.score(X, y, metric="gbc", dtype="float32")
    with pytest.raises(ValueError, match="dtype must be"):
        pedrank.score(X, y, metric="logme", dtype="half")
    # an option error, raised once, not reported as every model's failure
    with pytest.raises(ValueError, match="no float32 path"):
        pedrank.rank({"a": (X, y), "b": (X * 2, y)}, metric="parc", dtype="float32")
    result = pedrank.rank({"a": (X, y), "b": (X[:, :8], y)}, metric="sfda", dtype="float32")
    assert not result.failed and len(result.records) == 2


def test_transrate_paper_refuses_float32():
    X, y = _relu_features(200, 16, 4, seed=5)
    with pytest.raises(ValueError, match="no float32 path"):
        get_metric("transrate").func(X, y, variant="paper", dtype="float32")
    with pytest.raises(TypeError):
        get_metric("transrate_paper").func(X, y, dtype="float32")


@pytest.mark.filterwarnings("ignore:PED. no source statistics")
def test_ped_then_float32_metric():
    X, y = _relu_features(300, 16, 4, seed=2)
    s64 = pedrank.score(X, y, metric="sfda_log", ped=pedrank.PED(fallback="target"))
    s32 = pedrank.score(X, y, metric="sfda_log", ped=pedrank.PED(fallback="target"),
                        dtype="float32")
    assert s32 == pytest.approx(s64, rel=BOUND["sfda_log"])


def test_nested_metric_call_keeps_the_callers_dtype():
    """sfda_log calls sfda: the inner call must not fall back to float64."""
    with _precision.compute_dtype("float32"):
        assert _precision.low_precision()
    assert not _precision.low_precision()  # reset after the call
    X, y = _relu_features(300, 16, 4, seed=4)
    s = get_metric("sfda_log").func
    assert s(X, y, dtype="float32") != s(X, y)


def test_prescale_keeps_huge_and_tiny_products_finite():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 4))
    for scale in (1e-100, 1e100):  # beyond float32's range (1e-38..3e38) squared
        with _precision.compute_dtype("float32"):
            G = _precision.gram(A * scale)
        np.testing.assert_allclose(G, (A * scale).T @ (A * scale), rtol=1e-5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metric=st.sampled_from(FLOAT32_METRICS), n=st.integers(8, 60), d=st.integers(1, 40),
       c=st.integers(2, 5), log_scale=st.integers(-30, 30), seed=st.integers(0, 2**16),
       dup=st.booleans())
def test_float32_score_is_finite_or_an_error(metric, n, d, c, log_scale, seed, dup):
    """Any finite input: a finite float32 score, or a pedrank ValueError (never NaN/inf)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0**log_scale
    if dup:
        X[:, : d // 2] = X[:, :1]  # collinear columns: rank-deficient Grams
    y = np.arange(n) % c
    try:
        value = get_metric(metric).func(X, y, dtype="float32")
    except ValueError:
        return
    assert np.isfinite(value)


def test_float32_scatter_that_is_not_positive_definite_is_refitted_in_float64(monkeypatch):
    """Regression: pinvh of an indefinite float32 scatter moved SFDA 0.977 -> 0.683."""
    from pedrank.core.metrics import _lda

    real = _lda.within_scatter

    def indefinite_in_float32(X, codes, means):
        S = real(X, codes, means)
        if _precision.low_precision():
            # indefinite, same trace: stands in for float32 rounding gone wrong
            S[0, 1] = S[1, 0] = 1e3 * np.trace(S)
        return S

    monkeypatch.setattr(_lda, "within_scatter", indefinite_in_float32)
    X, y = _relu_features(600, 24, 5, seed=6)
    for metric in ("sfda", "sfda_log"):
        func = get_metric(metric).func
        assert func(X, y, dtype="float32") == func(X, y)
