"""The output rule (pooler_output > first 2-D tensor > mean-pooled first 3-D/4-D tensor)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedrank.datasets import from_arrays
from pedrank.models.extract import extract
from pedrank.models.loaders._pooling import OutputShapeError, pool_output

rng = np.random.default_rng(0)
A2 = rng.random((4, 3))
A3 = rng.random((4, 5, 3))
A4 = rng.random((4, 3, 2, 2))


def test_single_tensors():
    np.testing.assert_allclose(pool_output(A2), A2, rtol=1e-6)
    np.testing.assert_allclose(pool_output(A3), A3.mean(1), rtol=1e-6)
    np.testing.assert_allclose(pool_output(A4), A4.mean((2, 3)), rtol=1e-6)
    assert pool_output(A2).dtype == np.float32


def test_containers_follow_the_rule_in_order():
    np.testing.assert_allclose(pool_output({"last_hidden_state": A3, "pooler_output": A4}),
                               A4.mean((2, 3)), rtol=1e-6)  # pooler_output first, even if later
    np.testing.assert_allclose(pool_output((A3, A2)), A2, rtol=1e-6)  # a 2-D item beats 3-D
    np.testing.assert_allclose(pool_output([A4, A3]), A4.mean((2, 3)), rtol=1e-6)
    np.testing.assert_allclose(pool_output({"pooler_output": None, "h": A3}), A3.mean(1),
                               rtol=1e-6)


def test_outputs_that_do_not_fit():
    with pytest.raises(OutputShapeError, match=r"got shape \(4,\)"):
        pool_output(np.zeros(4))
    with pytest.raises(OutputShapeError, match=r"no \(batch, features\) tensor.*tuple"):
        pool_output((np.zeros(4), np.zeros((4, 1, 1, 1, 1))))
    with pytest.raises(OutputShapeError, match="returned a str"):
        pool_output("features")


def test_torch_tensors_and_model_outputs():
    torch = pytest.importorskip("torch")
    t3 = torch.as_tensor(A3, dtype=torch.float32, device="cpu").requires_grad_()
    np.testing.assert_allclose(pool_output(t3), A3.mean(1), rtol=1e-5)
    outputs = pytest.importorskip("transformers.modeling_outputs")
    out = outputs.BaseModelOutputWithPooling(last_hidden_state=torch.as_tensor(A3))
    np.testing.assert_allclose(pool_output(out), A3.mean(1), rtol=1e-6)  # no pooler: mean


def test_extract_accepts_models_returning_dicts_and_tuples():
    """Regression: extract() raised AttributeError on dict / tuple outputs (issue 11)."""
    torch = pytest.importorskip("torch")
    ds = from_arrays(rng.random((6, 4, 4)).astype(np.float32), np.arange(6) % 2)

    class HFStyle(torch.nn.Module):
        def forward(self, x):
            flat = x.flatten(1)
            return {"logits": flat[:, :2], "hidden": flat.reshape(len(x), 4, -1)}

    class TupleStyle(torch.nn.Module):
        def forward(self, x):
            return (x.flatten(1).reshape(len(x), 2, -1),)

    x = ds.inputs.reshape(6, -1)
    got = extract(HFStyle(), ds, preprocess=lambda b: np.asarray(b, dtype=np.float32)).features
    np.testing.assert_allclose(got, x[:, :2], rtol=1e-6)
    got = extract(TupleStyle(), ds, preprocess=lambda b: np.asarray(b, dtype=np.float32)).features
    np.testing.assert_allclose(got, x.reshape(6, 2, -1).mean(1), rtol=1e-6)


def test_a_list_of_rows_is_a_matrix():
    rows = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    np.testing.assert_array_equal(pool_output(rows), np.asarray(rows, dtype=np.float32))
    np.testing.assert_array_equal(pool_output([np.ones(3), np.zeros(3)]), [[1, 1, 1], [0, 0, 0]])
    with pytest.raises(OutputShapeError):
        pool_output([np.ones(3), np.zeros(2)])  # ragged rows


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 4), t=st.integers(1, 5), d=st.integers(1, 4), seed=st.integers(0, 99))
def test_token_pooling_ignores_token_order_and_batch_composition(b, t, d, seed):
    """Mean pooling is per sample and order-free over tokens (what a feature should be)."""
    x = np.random.default_rng(seed).normal(size=(b, t, d))
    perm = np.random.default_rng(seed + 1).permutation(t)
    whole = pool_output(x)
    np.testing.assert_allclose(pool_output(x[:, perm]), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([pool_output(x[i:i + 1]) for i in range(b)]),
                               whole, rtol=1e-6)
