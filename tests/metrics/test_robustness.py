"""Robustness of the metrics (issue 12 items 1, 3, 5; issue 10 item 5).

Finite-or-error at any feature scale, the dual (N x N) forms against the primal
ones, the stable variants against the plain formulas, the memory guards, label
checks and the regression path of LogME. Every regression test names the input
that failed before.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

import pedrank
from pedrank.core import MemoryBudgetError, set_memory_budget
from pedrank.core import metrics as M
from pedrank.core._budget import memory_budget, parse_bytes
from pedrank.core._validation import encode_labels
from pedrank.core.metrics import get_metric
from pedrank.core.metrics.gbc import gbc_log
from pedrank.core.metrics.hscore import between_class_scatter, hscore_dual, trace_pinv_between
from pedrank.core.metrics.regularized_hscore import (
    ledoit_wolf_shrinkage_dual,
    regularized_hscore_dual,
)
from pedrank.core.metrics.sfda import sfda_log


def _blobs(N=36, D=6, C=3, sep=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(N) % C
    return rng.normal(size=(N, D)) + sep * rng.normal(size=(C, D))[y], y


FEATURE_METRICS = ["logme", "sfda", "sfda_log", "gbc", "gbc_log", "hscore",
                   "regularized_hscore", "transrate", "transrate_paper", "nleep", "parc",
                   "ncti", "etran"]


@pytest.fixture(autouse=True)
def _default_budget():
    yield
    set_memory_budget(None)


@pytest.mark.filterwarnings("ignore::pedrank.core.ped.SourceFallbackWarning")
@pytest.mark.parametrize("metric", FEATURE_METRICS + ["ped"])
@pytest.mark.parametrize("exponent", [-300, -150, -30, 0, 30, 150, 300])
def test_finite_or_clear_error_at_every_scale(metric, exponent):
    """Regression: GBC, H-score and TransRate returned NaN at |x| ~ 1e150; SFDA called
    features scaled by 1e-300 "constant"; LogME returned NaN on tiny features."""
    X, y = _blobs()
    X = X * 10.0**exponent
    try:
        if metric == "ped":
            value = pedrank.score(X, y, "hscore", ped=pedrank.PED(fallback="target"))
        else:
            value = get_metric(metric).func(X, y)
    except ValueError as exc:
        msg = str(exc)
        assert "rescale" in msg.lower() or "range" in msg, msg
        assert "constant" not in msg
        return
    assert np.isfinite(value)


@pytest.mark.parametrize("metric", ["hscore", "regularized_hscore", "parc", "gbc",
                                    "gbc_log", "sfda", "etran", "transrate"])
def test_scale_handled_exactly_where_the_formula_allows(metric):
    """Scale-invariant metrics give the same score at 1e-300 .. 1e300; SFDA, ETran and
    TransRate are finite there (their constants make them scale-dependent)."""
    X, y = _blobs()
    X = X * 50.0  # GBC: class variances far above its 1e-4 floor
    fn = get_metric(metric).func
    ref = fn(X, y)
    for exponent in (-300, -100, 100, 300):
        value = fn(X * 2.0 ** (exponent * 3.3), y)
        assert np.isfinite(value)
        if metric in ("hscore", "regularized_hscore", "parc") or (
                metric.startswith("gbc") and exponent > 0):
            assert value == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_sfda_rescaling_is_exact_with_lambda_from_the_original_scale():
    """SFDA at 2^400 x (a power of two, exact) equals the plain formula on features whose
    Sw has the same lambda: here lambda hits its 1e-10 floor at both scales."""
    X, y = _blobs(sep=6.0)
    X = X * 8.0
    assert M.sfda(X * 2.0**400, y) == pytest.approx(M.sfda(X * 2.0**10, y), rel=1e-12)


@pytest.mark.parametrize("N, D", [(20, 50), (12, 200), (30, 31)])
def test_dual_forms_agree_with_primal(N, D):
    """H-score, regularised H-score and SFDA: the N x N form equals the D x D one."""
    from sklearn.covariance import ledoit_wolf, ledoit_wolf_shrinkage, shrunk_covariance

    rng = np.random.default_rng(N)
    y = np.arange(N) % 3
    X = rng.normal(size=(N, D)) + y[:, None] * rng.normal(size=D)
    enc = encode_labels(y)
    Xc = X - X.mean(0)
    cov = Xc.T @ Xc / (N - 1)
    Mb, n = between_class_scatter(Xc, enc)
    assert hscore_dual(Xc, enc) == pytest.approx(trace_pinv_between(cov, Mb, n, N), rel=1e-8)
    cov_a, a = ledoit_wolf(Xc)
    primal = (1 - a) * trace_pinv_between(cov_a, Mb, n, N, positive_definite=True)
    assert regularized_hscore_dual(Xc, enc) == pytest.approx(primal, rel=1e-8)
    assert ledoit_wolf_shrinkage_dual(Xc, Xc @ Xc.T)[0] == pytest.approx(
        ledoit_wolf_shrinkage(Xc), rel=1e-10)
    # SFDA: the shared LDA's dual branch (N < D) against the primal formula written out.
    from pedrank.core._linalg import class_means
    from pedrank.core.metrics import _lda

    means = class_means(X, enc)
    p_dual, lam_dual, _ = _lda.shrunk_lda(X, enc, None, means)
    Sw = _lda.within_scatter(X, enc.codes, means)
    lam = max(float(np.exp(-5.0 * _lda.largest_eigenvalue(Sw))), 1e-10)
    assert lam_dual == pytest.approx(lam, rel=1e-9)
    coef = np.linalg.solve(shrunk_covariance(Sw, shrinkage=lam), means.T).T
    logits = X @ coef.T - 0.5 * np.einsum("cd,cd->c", means, coef) + np.log(enc.counts / N)
    expected = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    np.testing.assert_allclose(p_dual, expected, rtol=1e-6, atol=1e-9)


def test_wide_inputs_use_no_d_by_d_matrix():
    """N << D: H-score, regularised H-score, SFDA and ETran fit a budget that a D x D
    float64 matrix (D = 40000: 12.8 GB) would exceed."""
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    X = rng.normal(size=(40, 40000)) + y[:, None]
    set_memory_budget("200M")
    for metric in ("hscore", "regularized_hscore", "sfda", "etran"):
        assert np.isfinite(get_metric(metric).func(X, y))


def test_sfda_log_matches_the_plain_formula_where_representable():
    X, y = _blobs(sep=0.8, seed=3)
    plain = M.sfda(X, y)
    assert 0.3 < plain < 0.99
    assert sfda_log(X, y) == pytest.approx(-np.log1p(-plain), rel=1e-9)
    assert M.sfda(X, y, stable=True) == sfda_log(X, y)


def test_sfda_log_ranks_models_that_sfda_ties_at_one():
    """issue 10 item 5: SFDA is 1.0 (rounded) for both, sfda_log still orders them."""
    X, y = _blobs(sep=30.0, seed=1)
    far = X + 30.0 * np.eye(3, 6)[y]
    assert M.sfda(X, y) == M.sfda(far, y) == 1.0
    a, b = sfda_log(X, y), sfda_log(far, y)
    assert np.isfinite(a) and np.isfinite(b) and b > a
    result = pedrank.rank({"near": (X, y), "far": (far, y)}, metric="sfda")
    assert result.saturated and "sfda_log" in result.warning
    result = pedrank.rank({"near": (X, y), "far": (far, y)}, metric="sfda_log")
    assert not result.saturated and result.records[0]["model"] == "far"


def test_gbc_log_matches_the_plain_formula_where_representable():
    X, y = _blobs(sep=1.0, seed=2)
    g = M.gbc(X, y)
    assert -6 < g < -1e-3
    assert gbc_log(X, y) == pytest.approx(-np.log(-g), rel=1e-12)
    assert gbc_log(X, y, gaussian_type="diagonal") == pytest.approx(
        -np.log(-M.gbc(X, y, gaussian_type="diagonal")), rel=1e-12)


def test_gbc_log_ranks_models_that_gbc_ties_at_zero():
    """issue 10 item 5: unit within-class noise, class means 200 and 400 apart: every
    Bhattacharyya coefficient underflows (DB > 745), GBC is -0.0 for both models."""
    rng = np.random.default_rng(4)
    y = np.arange(60) % 3
    noise = rng.normal(size=(60, 5))
    near, far = noise + 200.0 * np.eye(3, 5)[y], noise + 400.0 * np.eye(3, 5)[y]
    assert M.gbc(near, y) == M.gbc(far, y) == 0.0
    a, b = gbc_log(near, y), gbc_log(far, y)
    assert np.isfinite(a) and b > a
    assert pedrank.rank({"near": (near, y), "far": (far, y)}, metric="gbc").saturated
    assert pedrank.rank({"near": (near, y), "far": (far, y)},
                        metric="gbc_log").records[0]["model"] == "far"


def test_logme_all_zero_features_is_an_error_not_nan():
    """Regression: LogME on all-zero features returned NaN (and reordered rankings)."""
    X, y = _blobs()
    with pytest.raises(ValueError, match="all zero"):
        M.logme(np.zeros_like(X), y)
    assert np.isfinite(M.logme(np.full_like(X, 3.0), y))


def test_logme_regression_path():
    """LogME (You et al., ICML 2021) on real-valued targets: each column one fixed point."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    signal = X @ rng.normal(size=6)
    good = M.logme(X, signal + 0.1 * rng.normal(size=200), task="regression")
    bad = M.logme(X, rng.normal(size=200), task="regression")
    assert good > bad
    both = M.logme(X, np.c_[signal, signal], task="regression")
    assert both == pytest.approx(M.logme(X, signal, task="regression"), rel=1e-6)
    assert get_metric("logme").supports_regression
    assert not get_metric("hscore").supports_regression
    assert pedrank.score(X, signal, "logme", task="regression") == M.logme(
        X, signal, task="regression")
    with pytest.raises(ValueError, match="class labels only"):
        pedrank.score(X, signal, "sfda", task="regression")
    with pytest.raises(ValueError, match="PED"):
        pedrank.score(X, signal, "logme", task="regression", ped=pedrank.PED(fallback="target"))


@pytest.mark.parametrize("metric", ["gbc", "logme", "sfda", "nleep", "hscore"])
def test_continuous_float_labels_suggest_regression(metric):
    """Regression: GBC at N=16000, D=4 with float labels built 16000 classes (8 GB)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    with pytest.raises(ValueError, match="regression"):
        get_metric(metric).func(X, rng.normal(size=200))
    # integral float class ids are fine
    assert np.isfinite(get_metric(metric).func(X, (np.arange(200) % 3).astype(float)))


def test_mixed_label_types_and_complex_features_are_refused():
    X, _ = _blobs(N=8)
    with pytest.raises(ValueError, match="mixes label types"):
        M.sfda(X, [1, "1", 2, "2", 1, "1", 2, "2"])
    with pytest.raises(ValueError, match="complex"):
        M.logme(X + 1j, np.arange(8) % 2)


def test_long_double_overflowing_float64_is_refused():
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("long double is float64 on this platform")
    X, y = _blobs()
    X = X.astype(np.longdouble)
    X[0, 0] = np.longdouble(10) ** 400
    with pytest.raises(ValueError, match="float64 range"):
        M.hscore(X, y)


def test_library_errors_are_re_raised_with_pedrank_advice(monkeypatch):
    """A LinAlgError inside scipy becomes a pedrank ValueError with advice."""
    import scipy.linalg

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Eigenvalues did not converge")

    monkeypatch.setattr(scipy.linalg, "eigh", broken)
    X, y = _blobs(N=20, D=40)
    with pytest.raises(ValueError) as info:
        M.hscore(X, y)
    assert "did not converge" not in str(info.value) and "hscore" in str(info.value)
    assert isinstance(info.value.__cause__, np.linalg.LinAlgError)


def test_nleep_many_classes_hits_the_memory_budget_with_the_remedy():
    """Regression: N-LEEP with C=600 classes at N=3000, D=512 exhausted 8 GB."""
    rng = np.random.default_rng(0)
    y = np.arange(3000) % 600
    X = rng.normal(size=(3000, 512))
    set_memory_budget("4G")  # half of an 8 GB machine
    with pytest.raises(MemoryBudgetError, match="covariance_type='diag'"):
        M.nleep(X, y)


def test_memory_budget_sources(monkeypatch):
    assert parse_bytes("4G") == 4 << 30 and parse_bytes("512M") == 512 << 20
    assert parse_bytes(1000) == 1000 and parse_bytes("1.5k") == 1536
    for bad in ("lots", "-1G", 0):
        with pytest.raises(ValueError):
            parse_bytes(bad)
    monkeypatch.setenv("PEDRANK_MEMORY_BUDGET", "3G")
    assert memory_budget() == 3 << 30
    set_memory_budget("1G")
    assert memory_budget() == 1 << 30
    set_memory_budget(None)
    monkeypatch.delenv("PEDRANK_MEMORY_BUDGET")
    assert 0 < memory_budget()
    set_memory_budget(1000)
    X, y = _blobs()
    with pytest.raises(MemoryBudgetError, match="PEDRANK_MEMORY_BUDGET") as info:
        M.logme(X, y)
    assert isinstance(info.value, ValueError)


def test_ped_memory_guard_and_ncti_tiny_scale_refusal():
    X, y = _blobs()
    with pytest.raises(ValueError, match="shrinkage"):
        M.ncti(X * 1e-7, y)
    set_memory_budget(1000)
    with pytest.raises(MemoryBudgetError):
        pedrank.ped_transform(X, y, "target")


def test_duplicated_rows_are_not_scored_from_rounding_noise():
    """Regression (found by this suite's probe): identical rows gave H-score 1.0 and PARC
    15 from the rounding noise that centring leaves."""
    X, y = _blobs()
    dup = np.repeat(X[:1] + 0.1, len(y), axis=0)
    assert M.hscore(dup, y) == 0.0
    with pytest.raises(ValueError, match="informative dimensions"):
        M.parc(dup, y)


def test_ncti_rank_deficient_input_is_invariant_to_sample_order():
    """Regression (tests/fuzz): N = D = 6 left a rounding-noise PCA component that the
    unshrunk LDA whitened; the score then depended on the order of the samples."""
    rng = np.random.default_rng(0)
    y = np.array([1, 0, 1, 0, 0, 1])
    X = 10 * (rng.normal(size=(6, 6)) + 3 * rng.normal(size=(2, 6))[y])
    perm = rng.permutation(6)
    assert M.ncti(X[perm], y[perm]) == pytest.approx(M.ncti(X, y), rel=1e-6)
