"""Emoji targets (pedrank.datasets.emoji) on a tiny fake npm package folder built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PIL", reason="reading emoji PNGs needs Pillow")

from PIL import Image  # noqa: E402

from pedrank.datasets import emoji  # noqa: E402
from pedrank.datasets.images import DATASETS, available_datasets  # noqa: E402

# (image file, category, subcategory, drawn in google, drawn in twitter)
ROWS = [
    *[(f"a{i}.png", "Animals", "mammal", True, True) for i in range(5)],
    *[(f"b{i}.png", "Animals", "bird", True, True) for i in range(2)],  # < 5: dropped as sub
    *[(f"f{i}.png", "Food", "fruit", True, True) for i in range(6)],
    ("g0.png", "Food", "fruit", True, False),  # google only
    *[(f"c{i}.png", "Component", "skin-tone", True, True) for i in range(5)],  # not emoji
]


def _make_package(prefix: Path, style: str) -> None:
    pkg = prefix / "node_modules" / f"emoji-datasource-{style}"
    img = pkg / "img" / style / "64"
    img.mkdir(parents=True)
    entries = []
    for k, (name, cat, sub, g, t) in enumerate(ROWS):
        drawn = g if style == "google" else t
        entries.append(
            {
                "image": name,
                "category": cat,
                "subcategory": sub,
                f"has_img_{style}": drawn,
                "skin_variations": {},
            }
        )
        if drawn:
            rgba = np.zeros((64, 64, 4), dtype=np.uint8)
            rgba[16:48, 16:48] = (10 * k, 100 if style == "google" else 200, 50, 255)
            Image.fromarray(rgba, "RGBA").save(img / name)
    (pkg / "emoji.json").write_text(json.dumps(entries))


@pytest.fixture()
def npm_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    prefix = tmp_path / "data" / "npm"
    for style in ("google", "twitter"):
        _make_package(prefix, style)
    monkeypatch.setenv("PEDRANK_DATA", str(tmp_path / "data"))
    return prefix


def test_category_drops_component_and_composites_on_white(npm_root: Path) -> None:
    ds = emoji.load_emoji("google", "category")
    assert ds.classes == ("Animals", "Food")
    assert len(ds) == 14 and ds.inputs.shape == (14, 64, 64, 3) and ds.inputs.dtype == np.uint8
    # transparent corner -> white; opaque centre keeps its colour
    assert (ds.inputs[:, 0, 0] == 255).all()
    assert (ds.inputs[:, 32, 32, 1] == 100).all()


def test_subcategory_drops_small_classes(npm_root: Path) -> None:
    ds = emoji.load_emoji("google", "subcategory", min_per_class=5)
    assert set(ds.classes) == {"mammal", "fruit"}
    assert len(ds) == 12
    assert len(emoji.load_emoji("google", "subcategory", min_per_class=2)) == 14


def test_cross_style_uses_emoji_drawn_in_both(npm_root: Path) -> None:
    ds = emoji.load_emoji_cross_style("google", "twitter")
    tr, te = emoji.cross_style_split(len(ds))
    assert tr.size == te.size == 13  # g0 is google-only
    np.testing.assert_array_equal(ds.labels[tr], ds.labels[te])
    assert (ds.inputs[tr][:, 32, 32, 1] == 100).all() and (ds.inputs[te][:, 32, 32, 1] == 200).all()


def test_pool_aligns_targets(npm_root: Path) -> None:
    pool = emoji.load_emoji_pool()
    n = pool["images"].shape[0] // 2
    assert (pool["style"][:n] == "google").all() and (pool["style"][n:] == "twitter").all()
    assert set(pool["subcategory"]) == {"", "mammal", "fruit"}


def test_registered_and_available(npm_root: Path) -> None:
    assert {"emoji-category", "emoji-subcategory", "emoji-google-twitter"} <= set(
        available_datasets()
    )
    assert len(DATASETS["emoji-category"]()) == 14


def test_missing_package_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PEDRANK_DATA", str(tmp_path / "empty"))
    with pytest.raises(emoji.EmojiDataUnavailable, match="npm install"):
        emoji.load_emoji("google")
    assert "emoji-category" not in available_datasets()


def test_data_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PEDRANK_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert emoji.data_dir() == tmp_path / "pedrank"


def test_bad_arguments(npm_root: Path) -> None:
    with pytest.raises(ValueError, match="label"):
        emoji.load_emoji("google", "colour")
    with pytest.raises(ValueError, match="style"):
        emoji.emoji_package_dir("comic")
