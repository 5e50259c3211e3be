from __future__ import annotations

import math

import numpy as np
import pytest

from pedrank.core.metrics import get_metric
from pedrank.core.metrics.transrate import coding_rate, transrate, transrate_paper


def _official_transcription(Z, y, eps=1e-4):
    """Straightforward transcription of the authors' released TransRate (slogdet, 1/C)."""
    Z = Z - Z.mean(axis=0, keepdims=True)

    def rate(W):
        n, d = W.shape
        return 0.5 * np.linalg.slogdet(np.eye(d) + 1 / (n * eps) * W.T @ W)[1]

    classes = np.unique(y)
    return rate(Z) - sum(rate(Z[y == c]) for c in classes) / len(classes)


def _paper_transcription(Z, y, eps=1e-4):
    """The paper's written form: scale D / (n eps^2), class-size weights."""
    Z = Z - Z.mean(axis=0, keepdims=True)
    N, D = Z.shape

    def rate(W):
        n = W.shape[0]
        return 0.5 * np.linalg.slogdet(np.eye(D) + D / (n * eps**2) * W.T @ W)[1]

    return rate(Z) - sum(np.mean(y == c) * rate(Z[y == c]) for c in np.unique(y))


@pytest.mark.parametrize("variant", ["official", "paper"])
@pytest.mark.parametrize("n, D", [(30, 7), (7, 30)])
def test_coding_rate_gram_identity(n, D, variant):
    """The smaller Gram matrix gives the D x D log-determinant of the definition."""
    rng = np.random.default_rng(n)
    Z = rng.normal(size=(n, D))
    eps = 0.3
    a = 1 / (n * eps) if variant == "official" else D / (n * eps**2)
    direct = 0.5 * np.linalg.slogdet(np.eye(D) + a * Z.T @ Z)[1]
    assert coding_rate(Z.copy(), eps, variant=variant) == pytest.approx(direct, rel=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_default_is_the_authors_released_quantity(seed):
    """issue 10 item 6: the default equals the released code (1/(n eps), 1/C) and the
    paper's form stays available as transrate_paper / variant="paper"."""
    rng = np.random.default_rng(seed)
    C = 2 + seed
    y = rng.integers(0, C, size=60)
    y[:C] = np.arange(C)
    X = rng.normal(size=(60, 9)) + rng.normal(size=(C, 9))[y]
    assert transrate(X, y) == pytest.approx(_official_transcription(X, y), rel=1e-9)
    assert transrate(X, y, variant="paper") == pytest.approx(_paper_transcription(X, y),
                                                               rel=1e-9)
    assert transrate_paper(X, y) == transrate(X, y, variant="paper")
    assert get_metric("transrate_paper").func(X, y) == transrate_paper(X, y)


def test_one_dimension_by_hand():
    # X = [-1, -1, -1, 3] is already centred; eps = 1, D = 1, so both scales are 1/n.
    # R(Z)   = 1/2 log(1 + (1 + 1 + 1 + 9) / 4)  = 1/2 log 4
    # R(Z_0) = 1/2 log(1 + 3 / 3)                = 1/2 log 2   (n_0 = 3)
    # R(Z_1) = 1/2 log(1 + 9 / 1)                = 1/2 log 10  (n_1 = 1)
    # official: R(Z|Y) = (R(Z_0) + R(Z_1)) / 2; paper: 3/4 R(Z_0) + 1/4 R(Z_1)
    X = np.array([[-1.0], [-1.0], [-1.0], [3.0]])
    y = [0, 0, 0, 1]
    r, r0, r1 = 0.5 * math.log(4), 0.5 * math.log(2), 0.5 * math.log(10)
    assert transrate(X, y, eps=1.0) == pytest.approx(r - (r0 + r1) / 2, rel=1e-12)
    assert transrate(X, y, eps=1.0, variant="paper") == pytest.approx(
        r - (0.75 * r0 + 0.25 * r1), rel=1e-12)


@pytest.mark.parametrize("exponent", [-300, -150, -30, 30, 150, 300])
def test_any_finite_scale_gives_a_finite_score(exponent):
    """Regression (issue 12): at |x| ~ 1e150 Z^T Z overflowed and TransRate was NaN."""
    rng = np.random.default_rng(5)
    y = np.repeat([0, 1, 2], 10)
    X = (rng.normal(size=(30, 4)) + 3 * np.eye(3, 4)[y]) * 10.0**exponent
    assert np.isfinite(transrate(X, y)) and np.isfinite(transrate_paper(X, y))
    if exponent == 150:
        # log(1 + a lam) = log(a lam) + O(1/(a lam)): the official form, computed in
        # the log domain, equals the closed form at huge scale.
        Z = X - X.mean(0)
        lam = np.linalg.eigvalsh((Z / 2.0**500).T @ (Z / 2.0**500))
        expected = 0.5 * np.sum(np.log(lam) + 1000 * np.log(2) - np.log(30 * 1e-4))
        assert coding_rate(Z, 1e-4) == pytest.approx(expected, rel=1e-12)


def test_duplicated_classes_score_zero():
    """Classes that are copies of the same rows carry no label information.

    Each class's Gram matrix is half of the whole one and its scale twice as
    large, so R(Z_c) = R(Z) for every class and TransRate = 0 exactly.
    """
    rng = np.random.default_rng(0)
    block = rng.normal(size=(25, 6))
    X = np.vstack([block, block])
    y = np.repeat([0, 1], 25)
    assert transrate(X, y) == pytest.approx(0.0, abs=1e-9)


def test_separated_beats_identical():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 30)
    noise = rng.normal(size=(90, 5))
    assert transrate(noise + 6.0 * np.eye(3, 5)[y], y) > transrate(noise, y)


@pytest.mark.parametrize("N, D", [(60, 8), (20, 60)])
def test_rotation_invariance(N, D):
    """Also for N < D, where the centred features have a null direction whose
    rounding noise, scaled by D / (N eps^2) ~ 3e8 in the paper's form, must not leak
    into the score."""
    rng = np.random.default_rng(2)
    y = np.arange(N) % 3
    X = 10 * rng.normal(size=(N, D)) + y[:, None]
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    assert transrate(X @ Q, y) == pytest.approx(transrate(X, y), rel=1e-8)
    assert transrate_paper(X @ Q, y) == pytest.approx(transrate_paper(X, y), rel=1e-8)


def test_wide_features_use_sample_gram():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 10)
    X = rng.normal(size=(20, 500)) + y[:, None]
    assert np.isfinite(transrate(X, y))


def test_bad_eps_and_inputs():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="eps"):
        transrate(X, [0, 0, 1, 1], eps=0.0)
    with pytest.raises(ValueError, match="class"):
        transrate(X, [0, 0, 0, 0])


def test_does_not_mutate_input():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 3)) + 5
    before = X.copy()
    transrate(X, np.repeat([0, 1], 10))
    np.testing.assert_array_equal(X, before)
