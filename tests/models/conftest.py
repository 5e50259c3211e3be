"""Small models the loader tests build themselves (no download)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedrank.datasets import from_arrays


@pytest.fixture(autouse=True)
def _quiet_torch_deprecations():
    """torch announces the deprecation of torch.jit and of the legacy ONNX exporter, which
    the tests use on purpose (TorchScript files are what users have)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.")
        yield


@pytest.fixture()
def tiny_images():
    """12 random 20x20 RGB uint8 images in 3 classes."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 20, 20, 3), dtype=np.uint8)
    return from_arrays(images, np.repeat(np.arange(3), 4), name="tiny")


def _tiny_cnn(torch, pooled: bool = True):
    """Conv -> ReLU [-> global average pool -> flatten]: (B, 3, H, W) -> (B, 5)."""
    layers = [torch.nn.Conv2d(3, 5, 3, padding=1), torch.nn.ReLU()]
    if pooled:
        layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
    torch.manual_seed(0)
    return torch.nn.Sequential(*layers).eval()


@pytest.fixture()
def tiny_cnn():
    torch = pytest.importorskip("torch")
    return _tiny_cnn(torch)


@pytest.fixture()
def torchscript_file(tmp_path, tiny_cnn):
    import torch

    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(tiny_cnn), str(path))
    return path


def export_onnx(module, path, size=None, output_names=("features",)):
    """``torch.onnx.export`` with the legacy exporter (no onnxscript needed)."""
    import torch

    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    h = size or 16
    axes = {"images": {0: "b"}} if size else {"images": {0: "b", 2: "h", 3: "w"}}
    with warnings.catch_warnings():  # the legacy exporter announces its deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module, (torch.randn(2, 3, h, h),), str(path), dynamo=False,
            input_names=["images"], output_names=list(output_names), dynamic_axes=axes,
        )
    return path


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "dog", "sat", "ran",
         "on", "mat", "a", "log", "fast", "##s"]


@pytest.fixture(scope="session")
def hf_vit_dir(tmp_path_factory):
    """A random 1-layer ViT (16x16 input, 8-d) with its image processor, save_pretrained."""
    transformers = pytest.importorskip("transformers", reason="hf: specs need transformers")
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("hf-vit")
    config = transformers.ViTConfig(
        image_size=16, patch_size=8, hidden_size=8, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=16,
    )
    transformers.ViTModel(config).save_pretrained(folder)
    transformers.ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.4, 0.5, 0.6], image_std=[0.2, 0.25, 0.3]
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hf_resnet_dir(tmp_path_factory):
    """A random tiny ResNet (pooler_output is (B, C, 1, 1)) with its image processor."""
    transformers = pytest.importorskip("transformers", reason="hf: specs need transformers")
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("hf-resnet")
    config = transformers.ResNetConfig(
        embedding_size=4, hidden_sizes=[6, 7], depths=[1, 1], layer_type="basic"
    )
    transformers.ResNetModel(config).save_pretrained(folder)
    transformers.ConvNextImageProcessor(size={"shortest_edge": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hf_bert_dir(tmp_path_factory):
    """A random 1-layer BERT with a WordPiece tokenizer built from our own vocab file."""
    transformers = pytest.importorskip("transformers", reason="hf: specs need transformers")
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("hf-bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    # Positional: the vocabulary argument is `vocab_file` in transformers 4, `vocab` in 5.
    transformers.BertTokenizer(str(vocab)).save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=32,
    )
    transformers.BertModel(config).save_pretrained(folder)
    return folder
