"""Emoji image targets from the npm packages ``emoji-datasource-google`` / ``-twitter``.

iamcal's *emoji-data* (MIT) ships every Unicode emoji as a 64x64 RGBA PNG in
one art style per npm package, with its Unicode CLDR category and subcategory
in the package's ``emoji.json``. Three targets are built from it:

=========================  ==================================================  =========
name                       task                                                classes
=========================  ==================================================  =========
``emoji-category``         Google-style emoji -> CLDR category                 9
``emoji-subcategory``      Google-style emoji -> CLDR subcategory              89
``emoji-google-twitter``   category; train on Google art, test on Twitter art  9
=========================  ==================================================  =========

Selection rules (documented in ``docs/evidence.md``):

* only base emoji (the ``image`` of each ``emoji.json`` entry with
  ``has_img_<style>``), not the skin-tone variations, so that a class is not
  dominated by five recolourings of one drawing (1,906 images per style);
* the ``Component`` category (5 skin-tone swatches and hair components, not
  emoji) is dropped, leaving 9 categories;
* subcategories with fewer than ``min_per_class=5`` images are dropped
  (98 -> 89 subcategories, 1,883 images);
* transparent pixels are composited onto white, as emoji are shown in text.

The packages are installed with npm into the pedrank data folder, never into
the repository::

    pedrank zoo install emoji-data        # or, by hand:
    npm install --prefix "${PEDRANK_DATA:-$HOME/.local/share/pedrank}/npm" \\
        emoji-datasource-google emoji-datasource-twitter

The folder is ``$PEDRANK_DATA`` when set, else ``$XDG_DATA_HOME/pedrank``,
else ``~/.local/share/pedrank`` (:func:`data_dir`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pedrank._fs import data_dir, npm_package_dir
from pedrank.datasets._image_base import ImageDataset

__all__ = [
    "EMOJI_STYLES",
    "EmojiDataUnavailable",
    "cross_style_split",
    "data_dir",
    "emoji_package_dir",
    "load_emoji",
    "load_emoji_cross_style",
    "load_emoji_pool",
]

EMOJI_STYLES = ("google", "twitter", "apple", "facebook")
_DROPPED_CATEGORIES = ("Component",)


class EmojiDataUnavailable(FileNotFoundError):
    """The emoji npm package is not installed (the message says how to install it)."""


def emoji_package_dir(style: str = "google", root: str | os.PathLike | None = None) -> Path:
    """Folder of the installed ``emoji-datasource-<style>`` npm package.

    Parameters
    ----------
    style : str
        Art style, one of :data:`EMOJI_STYLES`.
    root : path, optional
        The npm prefix holding ``node_modules`` (default ``data_dir() / "npm"``).
    """
    if style not in EMOJI_STYLES:
        raise ValueError(f"emoji style must be one of {EMOJI_STYLES}; got {style!r}")
    prefix = Path(root) if root is not None else data_dir() / "npm"
    pkg = npm_package_dir(f"emoji-datasource-{style}", prefix)
    if not (pkg / "emoji.json").is_file():
        raise EmojiDataUnavailable(
            f"emoji-datasource-{style} not found under {prefix}; install it with: "
            f"pedrank zoo install emoji-data  (or: npm install --prefix {prefix} "
            f"emoji-datasource-{style}; set PEDRANK_DATA to use another data folder)"
        )
    return pkg


def _index(pkg: Path, style: str) -> list[tuple[str, str, str]]:
    """(image file, category, subcategory) of the base emoji drawn in ``style``, sorted."""
    entries = json.loads((pkg / "emoji.json").read_text(encoding="utf-8"))
    rows = [
        (e["image"], e["category"], e["subcategory"])
        for e in entries
        if e.get(f"has_img_{style}") and e.get("category") not in _DROPPED_CATEGORIES
    ]
    return sorted(rows)


def _read_rgba_on_white(path: Path) -> np.ndarray:
    """A PNG as (H, W, 3) uint8, transparent pixels composited onto white."""
    from PIL import Image

    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
    alpha = rgba[..., 3:] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def load_emoji(
    style: str = "google",
    label: str = "category",
    *,
    min_per_class: int = 5,
    root: str | os.PathLike | None = None,
    only: set[str] | None = None,
) -> ImageDataset:
    """Base emoji of one art style labelled by CLDR category or subcategory.

    Parameters
    ----------
    style : str
        ``"google"`` or ``"twitter"`` (any of :data:`EMOJI_STYLES` whose package is installed).
    label : {"category", "subcategory"}
    min_per_class : int
        Classes with fewer images are dropped.
    root : path, optional
        npm prefix (see :func:`emoji_package_dir`).
    only : set of str, optional
        Keep only these image file names (used to align two styles).

    Returns
    -------
    ImageDataset
        (N, 64, 64, 3) uint8 images, ``str`` labels, ``classes`` sorted.
    """
    if label not in ("category", "subcategory"):
        raise ValueError(f"label must be 'category' or 'subcategory'; got {label!r}")
    pkg = emoji_package_dir(style, root)
    rows = _index(pkg, style)
    if only is not None:
        rows = [r for r in rows if r[0] in only]
    labels = np.asarray([r[1] if label == "category" else r[2] for r in rows], dtype=str)
    classes, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, classes[counts >= int(min_per_class)])
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    img_dir = pkg / "img" / style / "64"
    missing = [r[0] for r in rows if not (img_dir / r[0]).is_file()]
    if missing:
        raise EmojiDataUnavailable(
            f"{len(missing)} emoji images missing under {img_dir} (e.g. {missing[0]}); "
            f"reinstall emoji-datasource-{style}"
        )
    images = np.stack([_read_rgba_on_white(img_dir / r[0]) for r in rows])
    labels = labels[keep]
    return ImageDataset(
        images,
        labels,
        f"emoji-{label}" + ("" if style == "google" else f"-{style}"),
        "",
        tuple(np.unique(labels).tolist()),
    )


def load_emoji_cross_style(
    train_style: str = "google",
    test_style: str = "twitter",
    *,
    root: str | os.PathLike | None = None,
) -> ImageDataset:
    """Category target across art styles: ``train_style`` images, then ``test_style`` ones.

    Only emoji drawn in both styles are used, in the same order in both halves;
    :func:`cross_style_split` gives the (train, test) positions.
    """
    a = _index(emoji_package_dir(train_style, root), train_style)
    b = _index(emoji_package_dir(test_style, root), test_style)
    common = {r[0] for r in a} & {r[0] for r in b}
    tr = load_emoji(train_style, "category", root=root, only=common)
    te = load_emoji(test_style, "category", root=root, only=common)
    images = np.concatenate([tr.inputs, te.inputs])
    labels = np.concatenate([tr.labels, te.labels])
    return ImageDataset(images, labels, f"emoji-{train_style}-{test_style}", "", tr.classes)


def cross_style_split(n_total: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions of a :func:`load_emoji_cross_style` dataset of ``n_total`` images."""
    if n_total % 2:
        raise ValueError(f"a cross-style emoji dataset has an even size; got {n_total}")
    half = n_total // 2
    return np.arange(half), np.arange(half, n_total)


def load_emoji_pool(
    *, root: str | os.PathLike | None = None, min_per_class: int = 5
) -> dict[str, np.ndarray]:
    """All images behind the three emoji targets, once, with every label.

    Returns ``{"images": (2M, 64, 64, 3) uint8, "style": "google"/"twitter",
    "category": str, "subcategory": str ("" where the subcategory has fewer than
    ``min_per_class`` Google images)}``: the M emoji drawn in both styles, Google
    first, in the same order in both halves. Feature extraction runs on this
    pool once per model; :func:`pedrank.groundtruth.measure` slices the targets.
    """
    cross = load_emoji_cross_style("google", "twitter", root=root)
    n = len(cross) // 2
    pkg = emoji_package_dir("google", root)
    rows = _index(pkg, "google")
    names = {r[0] for r in _index(emoji_package_dir("twitter", root), "twitter")}
    sub = np.asarray([r[2] for r in rows if r[0] in names], dtype=object)
    if sub.shape[0] != n:  # pragma: no cover - both come from the same index
        raise RuntimeError("emoji pool halves are misaligned")
    values, counts = np.unique(sub.astype(str), return_counts=True)
    small = set(values[counts < int(min_per_class)].tolist())
    sub = np.asarray(["" if s in small else s for s in sub.tolist()], dtype=str)
    return {
        "images": cross.inputs,
        "style": np.asarray(["google"] * n + ["twitter"] * n),
        "category": np.asarray(cross.labels, dtype=str),
        "subcategory": np.concatenate([sub, sub]),
    }
