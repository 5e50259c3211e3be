"""User data + zoo models through load_data -> resolve_model -> extract_features."""

from __future__ import annotations

import numpy as np
import pytest

from pedrank.datasets.resolve import load_data
from pedrank.models.loaders import extract_features, resolve_model
from pedrank.models.zoo import get_entry


def _need(name):
    entry = get_entry(name)
    if not entry.is_available():
        pytest.skip(f"zoo model {name} not installed ({entry.install})")


def test_zoo_text_encoder_on_a_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    _need("tokenlearn-static")
    path = tmp_path / "t.csv"
    texts = ["a cat sat", "dogs bark loudly", "the stock market fell", "rates rose again"]
    pd.DataFrame({"Content": texts, "Target": ["pet", "pet", "money", "money"]}).to_csv(path)
    data = load_data(path)
    fs = extract_features(resolve_model("tokenlearn-static"), data, cache_dir=tmp_path / "c")
    assert fs.features.shape == (4, 64) and np.isfinite(fs.features).all()
    assert extract_features(resolve_model("tokenlearn-static"), data,
                            cache_dir=tmp_path / "c").from_cache


def test_zoo_vision_model_on_an_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    _need("efficientnet-lite0")
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for k in range(3):
            arr = rng.integers(0, 256, (20 + k, 24, 3), dtype=np.uint8)  # mixed sizes
            Image.fromarray(arr).save(tmp_path / "imgs" / c / f"{k}.jpg")
    data = load_data(tmp_path / "imgs")
    fs = extract_features(resolve_model("efficientnet-lite0", image_size=32), data, device="cpu")
    assert fs.features.shape == (6, 1280)
