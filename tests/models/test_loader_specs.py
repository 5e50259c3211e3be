"""resolve_model: zoo names, ONNX, TorchScript, refused pickles and bad specs."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
from conftest import export_onnx

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.loaders import ModelSpecError, extract_features, resolve_model

FORMS = "hf:ID_OR_DIR, timm:NAME, python:MODULE:FUNC"


def test_zoo_name_resolves_without_loading():
    spec = resolve_model("efficientnet-lite0", image_size=64)
    assert spec.kind == "vision" and spec.cache_id == "zoo:efficientnet-lite0:v1"
    assert spec.image_size == 64 and spec.preprocessing.size == 64
    assert spec.description == "zoo: efficientnet-lite0"


def test_zoo_text_model_keeps_its_own_preprocessing():
    spec = resolve_model("all-minilm-l6-v2", image_size=64)
    assert spec.kind == "text" and spec.preprocessing is None and spec.image_size is None


def test_zoo_kind_mismatch_is_an_error():
    with pytest.raises(ModelSpecError, match="efficientnet-lite0.*vision model, not a text"):
        resolve_model("efficientnet-lite0", kind="text")


@pytest.mark.parametrize(
    "spec, match",
    [
        ("no-such-model", "not a known zoo model"),
        ("./missing.onnx", "file not found"),
        ("missing.pt", "file not found"),
        ("hf:", "nothing after"),
        ("", "empty model spec"),
    ],
)
def test_bad_specs_give_one_line_naming_the_spec(spec, match):
    with pytest.raises(ModelSpecError, match=match) as info:
        resolve_model(spec)
    msg = str(info.value)
    assert "\n" not in msg and repr(spec) in msg and FORMS in msg


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"x")
    with pytest.raises(ModelSpecError, match=r"unsupported file type '\.h5'.*python:MODULE:FUNC"):
        resolve_model(str(path))


def test_folder_without_prefix_suggests_hf(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelSpecError, match="use hf:"):
        resolve_model(str(tmp_path))


# --------------------------------------------------------------------------- TorchScript


def test_torchscript_features_match_the_module(tmp_path, torchscript_file, tiny_cnn, tiny_images):
    import torch

    spec = resolve_model(str(torchscript_file), image_size=16)
    assert spec.kind == "vision" and spec.image_size == 16 and spec.name == "tiny"
    assert spec.cache_id.startswith("torchscript:")
    fs = extract_features(spec, tiny_images, batch_size=5, device="cpu", cache_dir=tmp_path)
    x = torch.as_tensor(ImagePreprocessing(16)(tiny_images.inputs))
    with torch.inference_mode():
        expected = tiny_cnn(x).numpy()
    np.testing.assert_allclose(fs.features, expected, rtol=1e-5, atol=1e-6)
    again = extract_features(spec, tiny_images, cache_dir=tmp_path)
    assert again.from_cache


def test_cache_id_follows_file_content(tmp_path, tiny_cnn):
    import torch

    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    torch.jit.save(torch.jit.script(tiny_cnn), str(a))
    b.write_bytes(a.read_bytes())
    assert resolve_model(str(a)).cache_id == resolve_model(str(b)).cache_id
    with torch.no_grad():
        tiny_cnn[0].weight.add_(1.0)
    torch.jit.save(torch.jit.script(tiny_cnn), str(b))
    assert resolve_model(str(a)).cache_id != resolve_model(str(b)).cache_id


class _Marker:
    """Unpickling this writes a marker file: proof that a loader unpickled the file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_torch_save_is_refused_without_unpickling(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "unpickled.txt"
    path = tmp_path / "whole_module.pt"
    torch.save({"model": _Marker(marker)}, str(path))  # a zip without code/
    assert zipfile.is_zipfile(path)
    with pytest.raises(ModelSpecError, match="torch.jit.save.*ONNX.*python:MODULE:FUNC") as info:
        resolve_model(str(path))
    assert "zip archive without TorchScript code" in str(info.value)
    assert not marker.exists()


def test_legacy_pickle_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled.txt"
    path = tmp_path / "legacy.pth"
    path.write_bytes(pickle.dumps(_Marker(marker)))
    with pytest.raises(ModelSpecError, match="not a zip archive"):
        resolve_model(str(path))
    assert not marker.exists()


def test_torchscript_layer_and_text_kind_are_refused(torchscript_file):
    with pytest.raises(ModelSpecError, match="layer='x' is not supported"):
        resolve_model(str(torchscript_file), layer="x")
    with pytest.raises(ModelSpecError, match="python:MODULE:FUNC"):
        resolve_model(str(torchscript_file), kind="text")


def test_torchscript_4d_output_is_global_average_pooled(tmp_path, tiny_images):
    torch = pytest.importorskip("torch")
    from conftest import _tiny_cnn

    maps = _tiny_cnn(torch, pooled=False)
    path = tmp_path / "maps.ts"
    torch.jit.save(torch.jit.trace(maps, torch.randn(1, 3, 8, 8)), str(path))
    fs = extract_features(resolve_model(str(path), image_size=8), tiny_images, device="cpu")
    with torch.inference_mode():
        expected = maps(torch.as_tensor(ImagePreprocessing(8)(tiny_images.inputs))).mean((2, 3))
    np.testing.assert_allclose(fs.features, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_torchscript_vector_output_is_a_clear_error(tmp_path, tiny_images):
    torch = pytest.importorskip("torch")

    class Scalar(torch.nn.Module):
        def forward(self, x):
            return x.mean((1, 2, 3))  # (B,): not (B, D)

    path = tmp_path / "scalar.pt"
    torch.jit.save(torch.jit.script(Scalar()), str(path))
    with pytest.raises(ModelSpecError, match=r"scalar\.pt.*unexpected model output.*\(12,\)"):
        extract_features(resolve_model(str(path), image_size=8), tiny_images, batch_size=12)


# --------------------------------------------------------------------------- ONNX


def test_onnx_dynamic_size_features_match_torch(tmp_path, tiny_cnn, tiny_images):
    import torch

    path = export_onnx(tiny_cnn, tmp_path / "cnn.onnx")
    spec = resolve_model(str(path), image_size=12)
    assert spec.image_size == 12 and spec.cache_id.endswith(":features")
    fs = extract_features(spec, tiny_images, batch_size=4)
    with torch.inference_mode():
        expected = tiny_cnn(torch.as_tensor(ImagePreprocessing(12)(tiny_images.inputs))).numpy()
    np.testing.assert_allclose(fs.features, expected, rtol=1e-4, atol=1e-5)


def test_onnx_fixed_size_comes_from_the_graph(tmp_path, tiny_cnn):
    path = export_onnx(tiny_cnn, tmp_path / "fixed.onnx", size=10)
    assert resolve_model(str(path), image_size=64).image_size == 10


def test_onnx_picks_the_pooled_output_and_layer_chooses(tmp_path, tiny_images):
    torch = pytest.importorskip("torch")

    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            maps = self.conv(x)
            return maps, maps.mean((2, 3)) * 2.0

    path = export_onnx(TwoHeads(), tmp_path / "two.onnx", output_names=("maps", "pooled"))
    auto = resolve_model(str(path), image_size=8)
    assert auto.cache_id.endswith(":pooled")
    maps = resolve_model(str(path), image_size=8, layer="maps")
    a = extract_features(auto, tiny_images).features
    m = extract_features(maps, tiny_images).features  # 4-D output: global average pooled
    np.testing.assert_allclose(a, 2.0 * m, rtol=1e-5, atol=1e-6)
    with pytest.raises(ModelSpecError, match=r"no graph output 'nope'.*\['maps', 'pooled'\]"):
        resolve_model(str(path), layer="nope")


def test_corrupt_onnx_file(tmp_path):
    pytest.importorskip("onnxruntime")
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x00not a graph\xff" * 10)
    with pytest.raises(ModelSpecError, match="broken.onnx.*not a readable ONNX graph"):
        resolve_model(str(path))


def test_model_data_modality_mismatch(tmp_path, tiny_cnn):
    path = export_onnx(tiny_cnn, tmp_path / "cnn.onnx")

    class Texts:
        inputs = ["a", "b"]
        labels = np.array([0, 1])
        name = "texts"
        modality = "text"

    with pytest.raises(ModelSpecError, match="vision model but the data 'texts' is text"):
        extract_features(resolve_model(str(path)), Texts())


def test_a_forward_pass_error_propagates_unchanged(tmp_path, tiny_images):
    """A failed computation stays what it is (select reports it and ranks the other models)."""
    torch = pytest.importorskip("torch")
    fixed = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))
    path = tmp_path / "fixed8.pt"
    torch.jit.save(torch.jit.trace(fixed, torch.randn(1, 3, 8, 8)), str(path))
    with pytest.raises(RuntimeError) as info:
        extract_features(resolve_model(str(path), image_size=16), tiny_images, device="cpu")
    assert not isinstance(info.value, ValueError)


def test_onnx_channels_last_graph(tmp_path, tiny_cnn, tiny_images):
    import torch

    class NHWC(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x.permute(0, 3, 1, 2))

    pytest.importorskip("onnx")
    path = tmp_path / "nhwc.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(NHWC(tiny_cnn), (torch.randn(2, 12, 12, 3),), str(path), dynamo=False,
                          input_names=["x"], output_names=["f"], dynamic_axes={"x": {0: "b"}})
    spec = resolve_model(str(path), image_size=40)
    assert spec.image_size == 12 and "NHWC" in spec.description
    fs = extract_features(spec, tiny_images)
    with torch.inference_mode():
        expected = tiny_cnn(torch.as_tensor(ImagePreprocessing(12)(tiny_images.inputs))).numpy()
    np.testing.assert_allclose(fs.features, expected, rtol=1e-4, atol=1e-5)


def test_onnx_input_that_is_not_an_image_batch(tmp_path):
    torch = pytest.importorskip("torch")
    path = export_onnx(torch.nn.Flatten(), tmp_path / "flat.onnx", size=4)
    import onnx

    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 5  # (b, 5, 4, 4)
    onnx.save(model, str(path))
    with pytest.raises(ModelSpecError, match=r"has shape \[None, 5, 4, 4\].*\(batch, 3, H, W\)"):
        resolve_model(str(path))
