"""Fuzz / property suite: every metric and PED, on random shapes, scales and label types.

Properties (issue 12 item 5):

* **finite-or-error**: a score is a finite float, or a ``ValueError`` whose
  message is pedrank's own (no leaked library text such as "array must not
  contain infs or NaNs", "Eigenvalues did not converge", "reg_covar"). Inputs
  that must be refused (complex features, labels of mixed types, continuous
  float labels, long-double values that overflow float64) count as failures
  when they are accepted.
* **no mutation**: the caller's arrays are unchanged.
* **invariances** each metric claims: label renaming, sample order, feature
  scale (where the metric is scale-invariant).
* **rank**: a model that cannot be scored never reorders the others.

Counting mode. With ``PEDRANK_FUZZ_RECORD=path.json`` the tests do not fail:
every outcome is tallied per category and written to that file at exit, which
is how the before/after table of docs/robustness.md was produced (the same
file run against the tree before the fix). Hypothesis settings are fixed
(``derandomize=True``) so both runs draw the same inputs.
"""

from __future__ import annotations

import atexit
import json
import os
import warnings
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import softmax

import pedrank
from pedrank.core import metrics as M

RECORD = os.environ.get("PEDRANK_FUZZ_RECORD")
_TALLY: dict[str, list[int]] = defaultdict(lambda: [0, 0])
_EXAMPLES: dict[str, list[str]] = defaultdict(list)


def _dump() -> None:  # pragma: no cover - counting mode only
    with open(RECORD, "w") as fh:
        json.dump({"tally": _TALLY, "examples": {k: v[:3] for k, v in _EXAMPLES.items()}},
                  fh, indent=1, sort_keys=True)


if RECORD:
    atexit.register(_dump)

# Library phrases that must never reach a pedrank user.
LEAKS = ("must not contain infs", "did not converge", "reg_covar", "ill-defined empirical",
         "allow_pickle", "SVD did not", "singular matrix", "Input contains",
         "array must not", "leading minor", "not positive definite", "could not broadcast")


def _outcome(category: str, failure: str | None, name: str = "") -> None:
    """Tally one input (per category, and per category and metric); fail the test
    (unless counting) when ``failure`` is set."""
    for key in (category, f"{category} | {name}") if name else (category,):
        _TALLY[key][0] += 1
        _TALLY[key][1] += failure is not None
    if failure is not None:
        _EXAMPLES[category].append(failure)
        if not RECORD:
            pytest.fail(failure)


FUZZ = settings(max_examples=int(os.environ.get("PEDRANK_FUZZ_EXAMPLES", "20")), deadline=None,
                derandomize=True, suppress_health_check=list(HealthCheck), database=None)

FEATURE_METRICS = {
    "logme": M.logme,
    "sfda": M.sfda,
    "gbc": M.gbc,
    "gbc_diagonal": lambda X, y: M.gbc(X, y, gaussian_type="diagonal"),
    "hscore": M.hscore,
    "regularized_hscore": M.regularized_hscore,
    "transrate": M.transrate,
    "nleep": lambda X, y: M.nleep(X, y, ratio=1, max_iter=20),
    "parc": lambda X, y: M.parc(X, y, label_rdm="exact"),
    "ncti": M.ncti,
    "etran": M.etran,
}
# Variants added with the robustness work; looked up by name so that the same suite can
# count failures on an older tree (which lacks them) for the before/after table.
FEATURE_METRICS.update({name: getattr(M, name) for name in ("sfda_log", "gbc_log",
                                                             "transrate_paper")
                        if hasattr(M, name)})
PROB_METRICS = {"leep": M.leep, "nce": M.nce}


def _ped_then_logme(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pedrank.score(X, y, "logme", ped=pedrank.PED(fallback="target"))


def _ped_features(X, y):
    """PED itself: finite moved features (summarised by their sum) or an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pedrank.ped_transform(X, y, "target")
    return float(np.sum(res.features)) if np.isfinite(res.features).all() else float("nan")


ALL = {**FEATURE_METRICS, **PROB_METRICS, "ped": _ped_features, "ped+logme": _ped_then_logme}
# Invariances claimed in the metrics' docstrings / docs/robustness.md.
ORDER_INVARIANT = [m for m in ALL if m not in ("nleep", "parc")]
# GBC only for scalings that keep class variances above its absolute floor (upwards).
SCALE_INVARIANT = [m for m in ("hscore", "regularized_hscore", "parc", "gbc", "gbc_diagonal",
                                "gbc_log") if m in ALL]

FEATURE_KINDS = ("normal", "normal", "float32", "int", "constant", "zeros", "rank1",
                 "duplicate_rows", "huge", "tiny", "longdouble_overflow", "complex")
LABEL_KINDS = ("int", "int", "str", "float_int", "object", "mixed", "continuous")
MUST_REFUSE_X = ("longdouble_overflow", "complex")
MUST_REFUSE_Y = ("mixed", "continuous")


def _labels(kind: str, N: int, C: int, rng: np.random.Generator) -> np.ndarray:
    codes = np.arange(N) % C
    rng.shuffle(codes)
    if kind == "int":
        return codes
    if kind == "str":
        return np.array([f"class-{c}" for c in codes])
    if kind == "float_int":
        return codes.astype(np.float64)
    if kind == "object":
        return np.array([int(c) for c in codes], dtype=object)
    if kind == "mixed":  # 1 and '1' are different labels: must be refused, not merged
        return np.array([c if i % 2 else str(c) for i, c in enumerate(codes)], dtype=object)
    return rng.normal(size=N)  # continuous float targets


def _features(kind: str, N: int, D: int, scale: float, rng: np.random.Generator,
              codes: np.ndarray) -> np.ndarray:
    base = rng.normal(size=(N, D)) + 2.0 * rng.normal(size=(max(codes) + 1, D))[codes]
    if kind == "float32":
        return (scale * base).astype(np.float32)
    if kind == "int":
        return np.round(10 * base).astype(np.int64)
    if kind == "constant":
        return np.full((N, D), scale)
    if kind == "zeros":
        return np.zeros((N, D))
    if kind == "rank1":
        return scale * np.outer(rng.normal(size=N), rng.normal(size=D))
    if kind == "duplicate_rows":
        return scale * np.repeat(base[:1], N, axis=0)
    if kind == "huge":
        return base * 10.0 ** rng.uniform(150, 300)
    if kind == "tiny":
        return base * 10.0 ** -rng.uniform(150, 300)
    if kind == "longdouble_overflow":
        out = base.astype(np.longdouble)
        out[0, 0] = np.longdouble(10) ** 400 if np.finfo(np.longdouble).max > 1e400 else np.inf
        return out
    if kind == "complex":
        return base + 1j * rng.normal(size=(N, D))
    return scale * base


def _call(name: str, X, y):
    fn = ALL[name]
    arr = np.asarray(X)
    if name in PROB_METRICS and arr.dtype.kind in "biuf" and arr.dtype != np.longdouble:
        X = softmax(arr.astype(np.float64), axis=1)  # probabilities from the features as logits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(X, y)


def _judge(name: str, X, y, must_refuse: bool) -> str | None:
    """None when the call behaved (finite score, or a clean ValueError)."""
    try:
        value = _call(name, X, y)
    except ValueError as exc:
        msg = str(exc)
        if type(exc).__name__ == "LinAlgError" or any(leak in msg for leak in LEAKS):
            return f"{name}: leaked library error {type(exc).__name__}: {msg[:120]}"
        return None
    except MemoryError:
        return f"{name}: MemoryError"
    except Exception as exc:  # noqa: BLE001 - any other exception is a failure
        return f"{name}: {type(exc).__name__}: {str(exc)[:120]}"
    if must_refuse:
        return f"{name}: accepted input that must be refused (score {value!r})"
    if not isinstance(value, float) or not np.isfinite(value):
        return f"{name}: non-finite score {value!r}"
    return None


@st.composite
def cases(draw, kinds=FEATURE_KINDS, label_kinds=LABEL_KINDS):
    seed = draw(st.integers(0, 2**31 - 1))
    C = draw(st.integers(2, 4))
    N = draw(st.integers(3 * C, 36))
    D = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(kinds))
    label_kind = draw(st.sampled_from(label_kinds))
    scale = 10.0 ** draw(st.integers(-30, 30))
    rng = np.random.default_rng(seed)
    codes = np.arange(N) % C
    y = _labels(label_kind, N, C, rng)
    if label_kind in ("int", "float_int", "object"):
        codes = np.asarray(y).astype(np.int64)
    X = _features(kind, N, D, scale, rng, codes)
    return X, y, kind, label_kind


@pytest.mark.parametrize("name", sorted(ALL))
@FUZZ
@given(case=cases())
def test_finite_or_error(name, case):
    X, y, kind, label_kind = case
    if name in PROB_METRICS and kind in ("huge", "tiny", "int", "float32"):
        kind = "normal"  # softmax of such logits is just a (degenerate) distribution
    refuse = kind in MUST_REFUSE_X or label_kind in MUST_REFUSE_Y
    category = "refuse bad input" if refuse else "finite or error"
    _outcome(category, _judge(name, X, y, refuse), name)


@pytest.mark.parametrize("name", sorted(ALL))
@FUZZ
@given(case=cases(kinds=("normal", "float32", "int", "rank1"), label_kinds=("int", "str")))
def test_inputs_not_mutated(name, case):
    X, y, _, _ = case
    X0, y0 = np.array(X, copy=True), np.array(y, copy=True)
    try:
        _call(name, X, y)
    except ValueError:
        pass
    same = np.array_equal(X, X0) and np.array_equal(y, y0) and X.dtype == X0.dtype
    _outcome("no mutation", None if same else f"{name}: input mutated", name)


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return bool(abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-9)


def _scores_or_none(name, *pairs):
    try:
        return [_call(name, X, y) for X, y in pairs]
    except ValueError:
        return None


@pytest.mark.parametrize("name", sorted(ALL))
@FUZZ
@given(case=cases(kinds=("normal",), label_kinds=("int",)))
def test_label_renaming_invariance(name, case):
    X, y, _, _ = case
    renamed = np.array([f"z{(7 * int(c)) % 11}" for c in y])  # a bijection, order changed
    out = _scores_or_none(name, (X, y), (X, renamed))
    failure = None
    if out is not None and not _close(*out):
        failure = f"{name}: label renaming changed the score {out[0]!r} -> {out[1]!r}"
    _outcome("invariance: labels", failure, name)


@pytest.mark.parametrize("name", ORDER_INVARIANT)
@FUZZ
@given(case=cases(kinds=("normal",), label_kinds=("int",)), perm_seed=st.integers(0, 1000))
def test_sample_order_invariance(name, case, perm_seed):
    X, y, _, _ = case
    perm = np.random.default_rng(perm_seed).permutation(len(y))
    out = _scores_or_none(name, (X, y), (X[perm], y[perm]))
    failure = None
    if out is not None and not _close(*out):
        failure = f"{name}: sample order changed the score {out[0]!r} -> {out[1]!r}"
    _outcome("invariance: sample order", failure, name)


@pytest.mark.parametrize("name", SCALE_INVARIANT)
@FUZZ
@given(case=cases(kinds=("normal",), label_kinds=("int",)),
       exponent=st.sampled_from([-300, -150, -30, -10, 10, 30, 150, 300]))
def test_scale_invariance(name, case, exponent):
    X, y, _, _ = case
    X = np.asarray(X, dtype=np.float64)
    X = X / np.abs(X).max()  # unit magnitude, so that X * 1e300 stays finite
    if name.startswith("gbc"):
        # GBC's variance floor 1e-4 is absolute: invariant only while variances stay above.
        min_var = min(X[np.asarray(y) == c].var(axis=0).min() for c in np.unique(y))
        if not min_var > 0:
            _outcome("scale 1e-300..1e300 (invariant metrics)", None, name)
            return
        X = X * (10.0 / np.sqrt(min_var))  # every class variance >= 100 >> 1e-4
        exponent = abs(exponent)
    ref = _judge(name, X, y, False)
    scaled = X * 10.0**exponent
    failure = _judge(name, scaled, y, False)
    if failure is None and ref is None:
        out = _scores_or_none(name, (X, y), (scaled, y))
        if out is not None and not _close(*out, rel=1e-5):
            failure = f"{name}: scale 1e{exponent} changed the score {out[0]!r} -> {out[1]!r}"
    _outcome("scale 1e-300..1e300 (invariant metrics)", failure, name)


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("exponent", [-30, -20, -10, 0, 10, 20, 30])
def test_feature_scales_finite_or_error(name, exponent):
    """Every metric and PED at feature scales 1e-30 ... 1e30: finite or a clear ValueError."""
    rng = np.random.default_rng(exponent + 100)
    y = np.repeat(np.arange(3), 12)
    X = (rng.normal(size=(36, 6)) + 3.0 * np.eye(3, 6)[y]) * 10.0**exponent
    _outcome("scales 1e-30..1e30", _judge(name, X, y, False), name)


def _rank(models, metric):
    """Adapter: the ranked (name, score) pairs and the failed names, whatever rank returns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pedrank.rank(models, metric=metric)
    if hasattr(out, "records"):
        return [(r["model"], r["score"]) for r in out.records], set(out.failed)
    if hasattr(out, "to_dict"):
        out = out.to_dict("records")
    return [(r["model"], r["score"]) for r in out], set()


@FUZZ
@given(case=cases(kinds=("normal",), label_kinds=("int",)),
       metric=st.sampled_from(["logme", "sfda", "gbc", "hscore", "transrate"]),
       bad=st.sampled_from(["zeros", "constant", "huge"]))
def test_rank_never_ordered_by_nan(case, metric, bad):
    X, y, _, _ = case
    rng = np.random.default_rng(0)
    models = {"good": (X, y), "noise": (rng.normal(size=X.shape), y),
              "broken": (_features(bad, len(y), X.shape[1], 1.0, rng, np.asarray(y)), y)}
    try:
        ranked, failed = _rank(models, metric)
    except ValueError as exc:
        _outcome("rank with a broken model",
                 f"rank({metric}) aborted the whole ranking: {str(exc)[:100]}")
        return
    scores = [s for _, s in ranked]
    failure = None
    if not all(np.isfinite(scores)):
        failure = f"rank({metric}): non-finite score in the ranking {ranked}"
    elif scores != sorted(scores, reverse=True):
        failure = f"rank({metric}): not sorted {ranked}"
    elif {m for m, _ in ranked} | failed != set(models):
        failure = f"rank({metric}): models lost {ranked} {failed}"
    _outcome("rank with a broken model", failure)
