"""hf: specs on tiny random transformers models the tests build (no download)."""

from __future__ import annotations

import numpy as np
import pytest

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.loaders import ModelSpecError, extract_features, resolve_model

TEXTS = ["the cat sat on the mat", "a dog ran", "the dogs ran fast on a log", "cats", "a mat"]


def test_vit_uses_pooler_output_and_the_processor_normalisation(hf_vit_dir, tiny_images):
    import torch
    import transformers

    spec = resolve_model(f"hf:{hf_vit_dir}", image_size=64)  # ViT: input size fixed by config
    assert spec.kind == "vision" and spec.image_size == 16
    assert spec.preprocessing == ImagePreprocessing(16, (0.4, 0.5, 0.6), (0.2, 0.25, 0.3))
    fs = extract_features(spec, tiny_images, batch_size=5, device="cpu")
    model = transformers.ViTModel.from_pretrained(hf_vit_dir).eval()
    with torch.inference_mode():
        out = model(pixel_values=torch.as_tensor(spec.preprocessing(tiny_images.inputs)))
    assert fs.features.shape == (12, 8)
    np.testing.assert_allclose(fs.features, out.pooler_output.numpy(), rtol=1e-5, atol=1e-6)


def test_resnet_pooler_output_4d_is_flattened_and_size_is_free(hf_resnet_dir, tiny_images):
    spec = resolve_model(f"hf:{hf_resnet_dir}")
    assert spec.image_size == 32
    spec24 = resolve_model(f"hf:{hf_resnet_dir}", image_size=24)
    assert spec24.image_size == 24
    fs = extract_features(spec24, tiny_images, device="cpu")
    assert fs.features.shape == (12, 7) and np.isfinite(fs.features).all()


def test_bert_masked_mean_pooling_ignores_padding(hf_bert_dir):
    import torch
    import transformers

    spec = resolve_model(f"hf:{hf_bert_dir}")
    assert spec.kind == "text" and spec.preprocessing is None
    assert spec.cache_id.endswith(":text:max=32")
    labels = np.array([0, 1, 1, 0, 0])
    together = extract_features(spec, (TEXTS, labels), batch_size=5, device="cpu").features
    alone = extract_features(spec, (TEXTS, labels), batch_size=1, device="cpu").features
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)  # padding changes nothing
    tok = transformers.AutoTokenizer.from_pretrained(hf_bert_dir)
    model = transformers.BertModel.from_pretrained(hf_bert_dir).eval()
    with torch.inference_mode():
        enc = tok(TEXTS[:1], return_tensors="pt")
        expected = model(**enc).last_hidden_state.mean(1).numpy()
    assert enc["input_ids"].ne(1).all()  # the vocabulary was really used (no [UNK])
    np.testing.assert_allclose(together[:1], expected, rtol=1e-4, atol=1e-5)


def test_hf_cache_id_follows_weights_and_resolve_loads_nothing(hf_bert_dir, tmp_path, monkeypatch):
    import shutil

    import transformers

    copy = tmp_path / "copy"
    shutil.copytree(hf_bert_dir, copy)
    assert resolve_model(f"hf:{copy}").cache_id == resolve_model(f"hf:{hf_bert_dir}").cache_id
    config = transformers.BertConfig.from_pretrained(copy)
    transformers.BertModel(config).save_pretrained(copy)  # new random weights
    assert resolve_model(f"hf:{copy}").cache_id != resolve_model(f"hf:{hf_bert_dir}").cache_id

    def no_loading(*args, **kwargs):
        raise AssertionError("resolve_model loaded weights")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", no_loading)
    resolve_model(f"hf:{copy}")


def test_hf_kind_mismatch_and_missing_processor(hf_bert_dir, tmp_path):
    with pytest.raises(ModelSpecError, match="text model, not a vision model"):
        resolve_model(f"hf:{hf_bert_dir}", kind="vision")
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ModelSpecError, match="no image processor.*save_pretrained"):
        resolve_model(f"hf:{tmp_path}")


def test_hf_missing_folder_and_unreachable_hub(tmp_path, monkeypatch):
    with pytest.raises(ModelSpecError, match="file not found"):
        resolve_model(f"hf:{tmp_path}/nothing/here")
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with pytest.raises(ModelSpecError, match="hub could not provide it.*hf:DIR") as info:
        resolve_model("hf:someone/not-cached-model")
    assert "\n" not in str(info.value)


def test_hf_text_model_on_image_data_is_refused(hf_bert_dir, tiny_images):
    with pytest.raises(ModelSpecError, match="text model but the data 'tiny' is vision"):
        extract_features(resolve_model(f"hf:{hf_bert_dir}"), tiny_images)


def test_hf_text_model_on_a_csv_file(hf_bert_dir, tmp_path):
    pd = pytest.importorskip("pandas")
    from pedrank.datasets.resolve import load_data

    path = tmp_path / "pets.csv"
    pd.DataFrame({"text": TEXTS * 2, "label": ["a", "b", "b", "a", "a"] * 2}).to_csv(path)
    data = load_data(path)
    fs = extract_features(resolve_model(f"hf:{hf_bert_dir}", kind="text"), data,
                          cache_dir=tmp_path / "cache")
    assert fs.features.shape == (10, 8) and np.array_equal(fs.labels, data.labels)
    np.testing.assert_allclose(fs.features[:5], fs.features[5:], rtol=1e-5, atol=1e-6)


def test_preprocessing_agrees_with_the_image_processor(hf_vit_dir):
    """Same rescale + normalisation as the processor (at the native size: no resampling)."""
    import transformers

    spec = resolve_model(f"hf:{hf_vit_dir}")
    images = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    processor = transformers.ViTImageProcessor.from_pretrained(hf_vit_dir)
    expected = processor(images=list(images), return_tensors="np")["pixel_values"]
    np.testing.assert_allclose(spec.preprocessing(images), expected, rtol=1e-5, atol=1e-5)


def test_gpt_style_tokenizer_without_padding_token(tmp_path):
    """A tokenizer with no pad token (GPT-2 style) still batches: the mask hides the pads."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXTS * 3, vocab_size=280, special_tokens=["<|endoftext|>"])
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer,
                                               eos_token="<|endoftext|>")
    assert tok.pad_token is None
    tok.save_pretrained(tmp_path)
    config = transformers.GPT2Config(vocab_size=len(tok), n_embd=8, n_layer=1, n_head=2,
                                     n_positions=32, bos_token_id=0, eos_token_id=0)
    transformers.GPT2Model(config).save_pretrained(tmp_path)
    spec = resolve_model(f"hf:{tmp_path}")
    labels = np.array([0, 1, 1, 0, 0])
    together = extract_features(spec, (TEXTS, labels), batch_size=5).features
    alone = extract_features(spec, (TEXTS, labels), batch_size=1).features
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)
