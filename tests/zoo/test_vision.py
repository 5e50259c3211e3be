"""The zoo registry and its vision entries (EfficientNet-Lite0/1/2, EfficientNet-B0)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import pedrank.models.zoo as zoo
from pedrank.models.zoo import MissingDependencyError, ZooEntry

VISION = ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", "nude-classifier-b0"]


def test_registry_lists_the_vision_entries():
    names = zoo.registered_models("vision")
    assert set(VISION) <= set(names)
    for n in VISION:
        e = zoo.get_entry(n)
        assert e.kind == "vision" and e.feature_dim == 1280 and e.license
        assert e.package in e.install and "--no-deps" in e.install
        assert set(zoo.available_models("vision")) <= set(names)


def test_importing_pedrank_and_listing_the_zoo_never_imports_torch():
    code = (
        "import sys, pedrank, pedrank.models.zoo as z, pedrank.cli; z.registered_models(); "
        "z.available_models(); pedrank.cli.build_parser(); "
        "bad = [m for m in ('torch', 'onnxruntime', 'tensorflow') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_package_gives_install_hint(monkeypatch):
    entry = ZooEntry(
        name="needs-nothing-real",
        kind="vision",
        package="surely-not-installed-pkg",
        requires=("surely_not_installed_pkg_xyz",),
        loader=lambda: pytest.fail("loader must not run"),
        feature_dim=3,
    )
    zoo.registered_models()  # load providers first so the registry is complete
    monkeypatch.setitem(zoo._REGISTRY, entry.name, entry)
    assert entry.name not in zoo.available_models()
    with pytest.raises(MissingDependencyError, match="pip install --no-deps surely-not-installed"):
        zoo.get_model(entry.name)


def test_registry_errors(monkeypatch):
    with pytest.raises(KeyError, match="known models"):
        zoo.get_entry("resnet-9000")
    e = ZooEntry("dup-test", "vision", "x", lambda: None, 2)
    monkeypatch.setitem(zoo._REGISTRY, "dup-test", e)
    with pytest.raises(ValueError, match="already registered"):
        zoo.register(ZooEntry("dup-test", "vision", "x", lambda: None, 2))
    with pytest.raises(ValueError, match="kind"):
        ZooEntry("x", "audio", "x", lambda: None, 2)
    with pytest.raises(ValueError, match="feature_dim"):
        ZooEntry("x", "text", "x", lambda: None, 0)


def _installed(name: str) -> ZooEntry:
    pytest.importorskip("torch")
    entry = zoo.get_entry(name)
    if not entry.is_available():
        pytest.skip(f"{name} not installed ({entry.install})")
    return entry


@pytest.mark.parametrize("name", VISION)
def test_entry_loads_offline_and_gives_finite_features(name):
    import torch

    entry = _installed(name)
    model = zoo.get_model(name)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 40, 40, 3), dtype=np.uint8)
    x = torch.as_tensor(entry.preprocessing.with_size(64)(images))
    with torch.inference_mode():
        feats = model(x).numpy()
    assert feats.shape == (2, entry.feature_dim)
    assert np.isfinite(feats).all() and feats.std() > 0
    # Fine-tuning split: the two halves compose to the same features.
    frozen, top = entry.extra["finetune_split"](model, 2)
    with torch.inference_mode():
        np.testing.assert_allclose(top(frozen(x)).numpy(), feats, rtol=1e-5, atol=1e-5)


def test_b0_architecture_matches_torchvision_parameter_count():
    pytest.importorskip("torch")
    from pedrank.models.zoo.vision import build_efficientnet_b0

    # torchvision's EfficientNet_B0_Weights.IMAGENET1K_V1.meta["num_params"] == 5,288,548.
    net = build_efficientnet_b0(num_classes=1000)
    assert sum(p.numel() for p in net.parameters()) == 5_288_548


def test_lite0_recognises_imagenet_photos():
    """Weights + normalisation sanity check on scikit-image's sample photographs."""
    import torch

    entry = _installed("efficientnet-lite0")
    skd = pytest.importorskip("skimage.data")
    model = zoo.get_model("efficientnet-lite0")
    net = model.backbone  # the full classifier, logits over ImageNet-1k
    pre = entry.preprocessing  # native 224 px
    # ImageNet-1k ids: 281 tabby, 282 tiger cat, 285 Egyptian cat; 967 espresso, 968 cup.
    for image, classes in ((skd.chelsea(), {281, 282, 285}), (skd.coffee(), {967, 968})):
        h, w = image.shape[:2]
        s = min(h, w)
        crop = image[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        with torch.inference_mode():
            top1 = int(net(torch.as_tensor(pre(crop[None]))).argmax())
        assert top1 in classes
