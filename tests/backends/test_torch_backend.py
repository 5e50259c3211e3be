"""PyTorch back end: one test contract for both back ends, and agreement on the CPU.

The contract section runs the same cases against ``device=None`` (numpy) and
``device="cpu"`` (torch): golden values, invariances, warnings, no mutation. PED's
dynamics and LogME's fixed point are one array-API implementation
(:mod:`pedrank.core._array_kernels`); the other metrics mirror numpy and are held to it
(float64, 1e-8).

CUDA is never required: every test runs on ``device="cpu"``; the CUDA error
path is checked only where CUDA is absent.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings

import numpy as np
import pytest
from _helpers import blobs, ped_params, rel_err
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pedrank
from pedrank.core._linalg import class_means
from pedrank.core._validation import check_features_labels
from pedrank.core.backends import torch_backend as tb
from pedrank.core.ped import _class_radii, _dynamics_numpy

TOL = 1e-8
HAVE_TORCH = importlib.util.find_spec("torch") is not None
# Conditional: CI installs torch (.ci/requirements.txt); only a bare developer
# install without the [torch] extra skips these.
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch not installed: pip install "
                                 "pedrank[torch]")


def _cuda_available() -> bool:
    if not HAVE_TORCH:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _data(n=40, C=4, D=12, seed=0, separation=0.6):
    X, y = blobs(n_per_class=n, n_classes=C, dim=D, spread=1.0, separation=separation, seed=seed)
    return X, y


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ------------------------------------------------------- one contract, both back ends

BACKENDS = [pytest.param(None, id="numpy"), pytest.param("cpu", id="torch", marks=needs_torch)]


@pytest.mark.parametrize("device", BACKENDS)
def test_contract_ped_reproduces_golden(golden, device):
    for name, case in golden.items():
        src = pedrank.SourceStats.from_features(case["source_X"], eps=float(case["eps"]))
        res = pedrank.ped_transform(case["X"], case["y"], src, device=device,
                                    **ped_params(case))
        assert res.n_steps == int(case["ped_steps"]), name
        assert rel_err(res.features, case["ped_X"]) < 1e-9, name
        one = pedrank.ped_transform(case["X"], case["y"], src, device=device, max_steps=1,
                                    **{**ped_params(case), "exit_ratio": 0.99})
        assert rel_err(one.features, case["one_step_X"]) < 1e-9, name


@pytest.mark.parametrize("device", BACKENDS)
def test_contract_logme_sfda_and_ped_composition_reproduce_golden(golden, device):
    for name, case in golden.items():
        X = case["X"].astype(np.float64)
        src = pedrank.SourceStats.from_features(case["source_X"], eps=float(case["eps"]))
        ped = pedrank.PED(**ped_params(case))
        lm = "logme_corrected" if "logme_corrected" in case else "logme"
        expected = {("logme", False): case[lm], ("sfda", False): case["sfda"],
                    ("logme", True): case[f"ped_{lm}"], ("sfda", True): case["ped_sfda"]}
        for (metric, use_ped), value in expected.items():
            got = pedrank.score(X, case["y"], metric=metric, ped=ped if use_ped else False,
                                source=src, device=device)
            assert _rel(got, float(value)) < 1e-9, (name, metric, use_ped)


@pytest.mark.parametrize("device", BACKENDS)
def test_contract_no_overlap_leaves_features_unchanged_silently(device):
    X, y = _data(C=3, D=4, separation=200.0)
    src = pedrank.SourceStats.from_features(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = pedrank.ped_transform(X, y, src, device=device)
    assert res.n_steps == 0 and np.array_equal(res.features, X)


@pytest.mark.parametrize("device", BACKENDS)
def test_contract_coincident_means_warn_at_the_caller(device):
    X, y = _data(C=3, D=4, seed=5)
    X = np.concatenate([X, X[y == 0]])          # class 3 = a copy of class 0
    y = np.concatenate([y, np.full(int((y == 0).sum()), 3)])
    src = pedrank.SourceStats.from_features(X)
    with pytest.warns(pedrank.CoincidentClassMeansWarning) as record:
        moved = pedrank.PED().fit(src).transform(X, y, device=device)
    assert record[0].filename == __file__  # attributed to PED.transform's caller
    assert np.isfinite(moved).all()


@pytest.mark.parametrize("device", BACKENDS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_contract_sample_order_and_label_names_do_not_matter(device, seed):
    X, y = _data(n=15, C=4, D=6, seed=seed, separation=0.5)
    src = pedrank.SourceStats.from_features(X[::2])
    perm = np.random.default_rng(seed).permutation(y.size)
    names = np.array(["cat", "dog", "eel", "fox"])
    a = pedrank.ped_transform(X, y, src, device=device)
    b = pedrank.ped_transform(X[perm], names[y[perm]], src, device=device)
    assert a.n_steps == b.n_steps
    assert rel_err(b.features, a.features[perm]) < 1e-10
    la = pedrank.score(X, y, metric="logme", device=device)
    lb = pedrank.score(X[perm], names[y[perm]], metric="logme", device=device)
    assert _rel(la, lb) < 1e-10


@pytest.mark.parametrize("device", BACKENDS)
def test_contract_inputs_never_mutated(device):
    X, y = _data()
    X32 = X.astype(np.float32)
    before = X32.copy()
    src = pedrank.SourceStats.from_features(X)
    pedrank.ped_transform(X32, y, src, device=device)
    pedrank.score(X32, y, metric="logme", ped=True, source=src, device=device)
    assert np.array_equal(X32, before)


# --------------------------------------------------------------- torch stays optional


def test_import_pedrank_does_not_import_torch():
    code = ("import sys, pedrank, pedrank.core.backends.torch_backend; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)   # makes `import torch` raise ImportError
    X, y = _data()
    F, enc = check_features_labels(X, y)
    with pytest.raises(ValueError, match=r"pip install pedrank\[torch\]"):
        tb.logme(F, enc.codes, enc.n_classes, device="cpu")
    with pytest.raises(ValueError, match=r"pip install pedrank\[torch\]"):
        pedrank.score(X, y, metric="sfda", device="cpu")


# ------------------------------------------------------------------------------- PED


def _dynamics_inputs(X, y, D_seed=1):
    F, enc = check_features_labels(X, y)
    rng = np.random.default_rng(D_seed)
    stats = pedrank.SourceStats.from_features(rng.normal(size=(300, F.shape[1])))
    means_x = class_means(F, enc)
    means_z = (means_x - stats.mean) / stats.scale
    rho = _class_radii(F, enc, means_x, stats.scale)
    return means_z, rho


PARAMS = dict(time_step=0.1, nsigma=0.6, constant=1.0, exit_ratio=0.5, max_steps=6)


@needs_torch
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ped_dynamics_matches_numpy(seed):
    X, y = _data(C=6, D=10, seed=seed, separation=0.4)
    means_z, rho = _dynamics_inputs(X, y)
    ref = _dynamics_numpy(means_z, rho, **PARAMS)
    shift, steps, changes = tb.ped_dynamics(means_z, rho, device="cpu", **PARAMS)
    assert ref.n_steps > 0          # the data overlaps: the comparison is not vacuous
    assert steps == ref.n_steps
    assert rel_err(shift, ref.shift_z) < TOL
    np.testing.assert_allclose(changes, ref.changes, rtol=TOL)


@needs_torch
def test_ped_dynamics_no_overlap_moves_nothing():
    means_z = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    rho = np.ones(3)
    shift, steps, changes = tb.ped_dynamics(means_z, rho, device="cpu", **PARAMS)
    assert steps == 0
    assert changes == [0.0]
    assert not shift.any()


@needs_torch
def test_ped_dynamics_coincident_means_warn_and_stay_finite():
    means_z = np.array([[0.0, 0.0], [0.0, 0.0], [0.5, 0.0]])
    rho = np.ones(3)
    with pytest.warns(pedrank.CoincidentClassMeansWarning):
        shift, steps, _ = tb.ped_dynamics(means_z, rho, device="cpu", **PARAMS)
    with pytest.warns(pedrank.CoincidentClassMeansWarning):
        ref = _dynamics_numpy(means_z, rho, **PARAMS)
    assert np.isfinite(shift).all()
    assert steps == ref.n_steps
    assert rel_err(shift, ref.shift_z) < TOL


@needs_torch
def test_ped_float32_is_explicit_and_close():
    X, y = _data(C=6, D=10, seed=3, separation=0.4)
    means_z, rho = _dynamics_inputs(X, y)
    ref = _dynamics_numpy(means_z, rho, **PARAMS)
    shift, steps, _ = tb.ped_dynamics(means_z, rho, device="cpu", dtype="float32", **PARAMS)
    assert steps == ref.n_steps
    assert shift.dtype == np.float64
    # The moved class means stay within 1e-6 of float64 (relative to their size).
    assert rel_err(means_z + shift, means_z + ref.shift_z) < 1e-6


# ------------------------------------------------------------------------- metrics


@needs_torch
@pytest.mark.parametrize("shape", [(50, 4, 10), (6, 5, 80)])   # N > D and N < D
@pytest.mark.parametrize("metric", ["logme", "sfda"])
def test_metric_matches_numpy(metric, shape):
    n, C, D = shape
    X, y = _data(n=n, C=C, D=D, seed=n + D)
    F, enc = check_features_labels(X, y)
    ref = pedrank.core.metrics.get_metric(metric).func(F, y)
    got = getattr(tb, metric)(F, enc.codes, enc.n_classes, device="cpu")
    assert _rel(got, ref) < TOL


def _gbc_direct(X, y, gaussian_type):
    """Independent per-pair loop of the Bhattacharyya-coefficient sum (spec formula;
    spherical: one scalar variance per class, as the google-research reference)."""
    classes = np.unique(y)
    stats = []
    for c in classes:
        Xc = X[y == c]
        var = np.maximum(Xc.var(axis=0), 1e-4)
        if gaussian_type == "spherical":
            var = var.mean()
        stats.append((Xc.mean(axis=0), var))
    total = 0.0
    for i, (m1, v1) in enumerate(stats):
        for j, (m2, v2) in enumerate(stats):
            if i != j:
                s = 0.5 * (v1 + v2)
                db = (0.125 * np.sum((m1 - m2) ** 2 / s)
                      + 0.5 * (np.sum(np.log(s)) - 0.5 * np.sum(np.log(v1))
                               - 0.5 * np.sum(np.log(v2))))
                total += np.exp(-db)
    return -total


@needs_torch
@pytest.mark.parametrize("gaussian_type", ["spherical", "diagonal"])
def test_gbc_matches_direct_pair_loop(gaussian_type):
    X, y = _data(C=5, D=6, seed=4, separation=0.3)
    F, enc = check_features_labels(X, y)
    got = tb.gbc(F, enc.codes, enc.n_classes, gaussian_type=gaussian_type, device="cpu")
    assert got < 0
    assert _rel(got, _gbc_direct(F, y, gaussian_type)) < TOL


@needs_torch
@pytest.mark.parametrize("gaussian_type", ["spherical", "diagonal"])
def test_gbc_matches_numpy_backend(gaussian_type):
    mod = pytest.importorskip("pedrank.core.metrics.gbc")
    X, y = _data(C=5, D=6, seed=5, separation=0.3)
    F, enc = check_features_labels(X, y)
    ref = mod.gbc(F, y, gaussian_type=gaussian_type)
    got = tb.gbc(F, enc.codes, enc.n_classes, gaussian_type=gaussian_type, device="cpu")
    assert _rel(got, ref) < TOL


@needs_torch
def test_hscore_matches_direct_formula():
    X, y = _data(C=4, D=7, seed=6)
    F, enc = check_features_labels(X, y)
    # Bao et al.: tr(pinv(Cov X) Cov(E[X|y])), with E[X|y] written out per sample.
    G = class_means(F, enc)[enc.codes]
    expected = np.trace(np.linalg.pinv(np.cov(F, rowvar=False)) @ np.cov(G, rowvar=False))
    got = tb.hscore(F, enc.codes, enc.n_classes, device="cpu")
    assert _rel(got, expected) < TOL


@needs_torch
def test_hscore_matches_numpy_backend():
    mod = pytest.importorskip("pedrank.core.metrics.hscore")
    X, y = _data(C=4, D=7, seed=7)
    F, enc = check_features_labels(X, y)
    assert _rel(tb.hscore(F, enc.codes, enc.n_classes, device="cpu"), mod.hscore(F, y)) < TOL


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(3, 30), C=st.integers(2, 5), D=st.integers(1, 40),
       seed=st.integers(0, 10_000))
@needs_torch
def test_property_logme_sfda_agree_with_numpy(n, C, D, seed):
    X, y = _data(n=n, C=C, D=D, seed=seed)
    F, enc = check_features_labels(X, y)
    for metric in ("logme", "sfda"):
        ref = pedrank.core.metrics.get_metric(metric).func(F, y)
        got = getattr(tb, metric)(F, enc.codes, enc.n_classes, device="cpu")
        assert _rel(got, ref) < TOL, metric


# ------------------------------------------------------------------ public entry points


@needs_torch
@pytest.mark.parametrize("metric", ["logme", "sfda", "gbc", "hscore"])
def test_score_with_ped_device_cpu_equals_numpy(metric):
    X, y = _data(C=5, D=9, seed=8, separation=0.4)
    src = pedrank.SourceStats.from_features(np.random.default_rng(2).normal(size=(100, 9)))
    ref = pedrank.score(X, y, metric=metric, ped=True, source=src)
    got = pedrank.score(X, y, metric=metric, ped=True, source=src, device="cpu")
    assert _rel(got, ref) < TOL


@needs_torch
def test_inputs_not_mutated_and_labels_any_type():
    X, y = _data(C=3, D=5, seed=9)
    labels = np.array(["a", "b", "c"])[y]
    X0 = X.copy()
    ref = pedrank.score(X, labels, metric="sfda")
    got = pedrank.score(X, labels, metric="sfda", device="cpu")
    assert _rel(got, ref) < TOL
    np.testing.assert_array_equal(X, X0)


@needs_torch
@pytest.mark.parametrize("func", ["logme", "sfda", "hscore"])
def test_float32_refused_where_inaccurate(func):
    X, y = _data()
    F, enc = check_features_labels(X, y)
    with pytest.raises(ValueError, match="float64 only"):
        getattr(tb, func)(F, enc.codes, enc.n_classes, device="cpu", dtype="float32")


@needs_torch
def test_bad_device_and_dtype_are_value_errors():
    X, y = _data()
    F, enc = check_features_labels(X, y)
    with pytest.raises(ValueError, match="device"):
        tb.logme(F, enc.codes, enc.n_classes, device="not-a-device")
    with pytest.raises(ValueError, match="dtype"):
        tb.ped_dynamics(np.zeros((2, 2)), np.ones(2), device="cpu", dtype="float16", **PARAMS)


@needs_torch
@pytest.mark.skipif(_cuda_available(), reason="checks the error when CUDA is absent")
def test_cuda_unavailable_is_a_value_error():
    X, y = _data()
    with pytest.raises(ValueError, match="CUDA is not available"):
        pedrank.score(X, y, metric="logme", device="cuda")


@needs_torch
def test_every_device_metric_is_wired_through_score():
    """Each metric registered with supports_device runs via score(..., device="cpu")."""
    X, y = _data(C=4, D=6, seed=3)
    names = [m.name for m in pedrank.core.metrics.available_metrics() if m.supports_device]
    assert {"logme", "sfda", "gbc", "hscore"} <= set(names)
    for name in names:
        ref = pedrank.score(X, y, metric=name)
        assert _rel(pedrank.score(X, y, metric=name, device="cpu"), ref) < TOL, name
    with pytest.raises(ValueError, match="no PyTorch back end"):
        pedrank.score(X, y, metric="parc", device="cpu")

