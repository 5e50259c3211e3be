"""LEEP (Nguyen et al., ICML 2020): hand-computed contingency tables and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

from pedrank.core.metrics import get_metric, leep

# 4 target samples, 2 source classes, target labels a, a, b, b.
THETA = np.array([[0.9, 0.1],
                  [0.6, 0.4],
                  [0.2, 0.8],
                  [0.3, 0.7]])
Y = np.array(["a", "a", "b", "b"])


def test_hand_computed_two_by_two():
    # Joint P(y, z) = (1/N) sum_{i: y_i = y} theta_iz with N = 4:
    #   P(a, z1) = (0.9 + 0.6) / 4 = 0.375   P(a, z2) = (0.1 + 0.4) / 4 = 0.125
    #   P(b, z1) = (0.2 + 0.3) / 4 = 0.125   P(b, z2) = (0.8 + 0.7) / 4 = 0.375
    # Marginals P(z1) = P(z2) = 0.5, so
    #   P(a|z1) = 0.75, P(a|z2) = 0.25, P(b|z1) = 0.25, P(b|z2) = 0.75.
    # Expected empirical prediction of each sample's true label:
    #   s1: 0.9*0.75 + 0.1*0.25 = 0.70      s2: 0.6*0.75 + 0.4*0.25 = 0.55
    #   s3: 0.2*0.25 + 0.8*0.75 = 0.65      s4: 0.3*0.25 + 0.7*0.75 = 0.60
    expected = (math.log(0.70) + math.log(0.55) + math.log(0.65) + math.log(0.60)) / 4
    assert leep(THETA, Y) == pytest.approx(expected, rel=1e-12)


def test_hand_computed_three_source_classes_unbalanced():
    theta = np.array([[0.5, 0.5, 0.0],
                      [0.0, 0.5, 0.5],
                      [0.0, 0.0, 1.0]])
    y = [1, 1, 2]
    # N = 3. P(1, z) = ((0.5 + 0.0)/3, (0.5 + 0.5)/3, (0.0 + 0.5)/3) = (1/6, 1/3, 1/6)
    #        P(2, z) = (0, 0, 1/3)
    # P(z) = (1/6, 1/3, 1/2)  ->  P(1|z) = (1, 1, 1/3),  P(2|z) = (0, 0, 2/3)
    # EEP: s1 = 0.5*1 + 0.5*1 = 1;  s2 = 0.5*1 + 0.5*(1/3) = 2/3;  s3 = 1 * 2/3 = 2/3
    expected = (math.log(1.0) + 2 * math.log(2 / 3)) / 3
    assert leep(theta, y) == pytest.approx(expected, rel=1e-12)


def test_unused_source_class_is_harmless():
    # A source class with zero probability everywhere has P(z) = 0: no 0/0 NaN.
    theta = np.hstack([THETA, np.zeros((4, 1))])
    assert leep(theta, Y) == pytest.approx(leep(THETA, Y), rel=1e-12)


def test_perfect_source_predictions_score_zero():
    y = np.array([0, 1, 2, 0, 1, 2])
    theta = np.eye(3)[y]
    assert leep(theta, y) == pytest.approx(0.0, abs=1e-15)


def test_informative_beats_uninformative_source():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=400)
    informative = softmax(3.0 * np.eye(4)[y] + rng.normal(size=(400, 4)), axis=1)
    uninformative = softmax(rng.normal(size=(400, 4)), axis=1)
    assert leep(informative, y) > leep(uninformative, y)


def test_never_mutates_and_accepts_float32():
    theta = THETA.astype(np.float32)
    before = theta.copy()
    value = leep(theta, Y)
    np.testing.assert_array_equal(theta, before)
    assert value == pytest.approx(leep(THETA, Y), rel=1e-6)


@pytest.mark.parametrize(
    "theta, y, match",
    [
        (THETA[:, :1] * 2 - 1, Y, "negative"),
        (THETA * 2, Y, "sum to 1"),
        (THETA, Y[:3], "labels but X has"),
        (THETA, ["a"] * 4, "at least 2"),
        (np.where(THETA > 0.85, np.nan, THETA), Y, "NaN"),
        (THETA[0], Y[:1], "2-D"),
    ],
)
def test_rejects_bad_input(theta, y, match):
    with pytest.raises(ValueError, match=match):
        leep(theta, y)


def test_registered_as_source_output_metric():
    spec = get_metric("leep")
    assert spec.input == "source_probs" and not spec.ped_composable
    assert spec.func is leep


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 40), z=st.integers(1, 6))
def test_invariant_to_sample_order_and_label_renaming(seed, n, z):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    y[:2] = [0, 1]  # at least two classes
    theta = softmax(rng.normal(size=(n, z)) * 2, axis=1)
    base = leep(theta, y)
    perm = rng.permutation(n)
    assert leep(theta[perm], y[perm]) == pytest.approx(base, rel=1e-10, abs=1e-12)
    renamed = np.array(["zeta", "alpha", "mid"])[y]  # order of names != order of codes
    assert leep(theta, renamed) == pytest.approx(base, rel=1e-10, abs=1e-12)
    assert base <= 1e-12  # a mean log-probability
