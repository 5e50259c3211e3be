"""Small models the loader tests build themselves (no download)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedrank.datasets import from_arrays


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
