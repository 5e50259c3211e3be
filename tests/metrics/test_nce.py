"""NCE (Tran et al., ICCV 2019): hand-computed contingency tables and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

from pedrank.core.metrics import get_metric, nce


def probs_for(z: list[int], n_source: int) -> np.ndarray:
    """Soft outputs whose argmax is ``z`` (0.6 on z, the rest spread evenly)."""
    theta = np.full((len(z), n_source), 0.4 / (n_source - 1))
    theta[np.arange(len(z)), z] = 0.6
    return theta


def test_hand_computed_contingency_table():
    y = [0, 0, 0, 1, 1, 2]
    z = [0, 0, 1, 1, 1, 1]
    # Counts n(y, z): n(0,0)=2, n(0,1)=1, n(1,1)=2, n(2,1)=1; n(z=0)=2, n(z=1)=4; N=6.
    # NCE = (1/N) sum n(y,z) log(n(y,z)/n(z))
    #     = (1/6) [2 log(2/2) + 1 log(1/4) + 2 log(2/4) + 1 log(1/4)]
    #     = (1/6) [0 - 2 log 2 - 2 log 2 - 2 log 2] = -log 2
    assert nce(probs_for(z, 3), y) == pytest.approx(-math.log(2), rel=1e-12)


def test_hand_computed_unbalanced_table():
    y = ["cat", "cat", "dog", "dog", "dog"]
    z = [2, 0, 0, 0, 2]
    # n(cat,2)=1, n(cat,0)=1, n(dog,0)=2, n(dog,2)=1; n(z=0)=3, n(z=2)=2; N=5.
    # NCE = (1/5) [1 log(1/2) + 1 log(1/3) + 2 log(2/3) + 1 log(1/2)]
    expected = (math.log(1 / 2) + math.log(1 / 3) + 2 * math.log(2 / 3) + math.log(1 / 2)) / 5
    assert nce(probs_for(z, 4), y) == pytest.approx(expected, rel=1e-12)


def test_deterministic_source_prediction_scores_zero_and_constant_scores_minus_entropy():
    y = np.array([0, 1, 2, 0, 1, 2])
    assert nce(probs_for([3, 1, 0, 3, 1, 0], 4), y) == pytest.approx(0.0, abs=1e-15)
    # One predicted source class for everyone: NCE = -H(Y) = -log 3 (uniform labels).
    assert nce(probs_for([1] * 6, 4), y) == pytest.approx(-math.log(3), rel=1e-12)


def test_ties_go_to_the_lowest_source_index():
    theta = np.array([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0]])
    y = [0, 0, 1, 1]
    # argmax of a tie is source class 0, so z = (0, 0, 1, 1) determines y: NCE = 0.
    assert nce(theta, y) == pytest.approx(0.0, abs=1e-15)


def test_informative_beats_uninformative_source():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=400)
    informative = softmax(3.0 * np.eye(4)[y] + rng.normal(size=(400, 4)), axis=1)
    uninformative = softmax(rng.normal(size=(400, 4)), axis=1)
    assert nce(informative, y) > nce(uninformative, y)


def test_never_mutates_caller_array():
    theta = probs_for([0, 1, 1, 0], 3)
    before = theta.copy()
    nce(theta, [0, 1, 1, 1])
    np.testing.assert_array_equal(theta, before)


@pytest.mark.parametrize(
    "theta, y, match",
    [
        (-probs_for([0, 1], 2), [0, 1], "negative"),
        (probs_for([0, 1], 2) * 3, [0, 1], "sum to 1"),
        (probs_for([0, 1, 1], 2), [0, 1], "labels but X has"),
        (probs_for([0, 1], 2), [5, 5], "at least 2"),
        (np.full((2, 2), np.inf), [0, 1], "NaN or infinite"),
    ],
)
def test_rejects_bad_input(theta, y, match):
    with pytest.raises(ValueError, match=match):
        nce(theta, y)


def test_registered_as_source_output_metric():
    spec = get_metric("nce")
    assert spec.input == "source_probs" and not spec.ped_composable
    assert spec.func is nce


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 60), z=st.integers(1, 7))
def test_invariant_to_sample_order_and_label_renaming_and_bounded(seed, n, z):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=n)
    y[:2] = [0, 1]
    theta = softmax(rng.normal(size=(n, z)) * 2, axis=1)
    base = nce(theta, y)
    perm = rng.permutation(n)
    assert nce(theta[perm], y[perm]) == pytest.approx(base, rel=1e-10, abs=1e-12)
    renamed = np.array(["d", "c", "b", "a"])[y]
    assert nce(theta, renamed) == pytest.approx(base, rel=1e-10, abs=1e-12)
    # 0 >= -H(Y|Z) >= -H(Y) (conditioning never increases entropy).
    p = np.bincount(y) / n
    p = p[p > 0]
    minus_h_y = float(np.sum(p * np.log(p)))
    assert minus_h_y - 1e-12 <= base <= 1e-12
