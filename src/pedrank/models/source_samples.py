"""Source-domain feature statistics for the zoo models, from offline natural images.

PED standardises a model's target features with the mean/std of the same
model's features on its *pre-training* data (Li et al., ICCV 2023, use
ImageNet validation images). ImageNet is not available offline; the closest
sample that is: the 20 ImageNet validation photos that ``foolbox`` ships as test
data (:func:`imagenet_photos`, used when foolbox is installed: ``pedrank zoo
install imagenet-photos``) together with the natural photographs that ship inside
scikit-image and scikit-learn (cat, coffee, astronaut, rocket, motorcycle, city,
flower, Hubble field, clock, coins, textures ...), all expanded into random
resized crops with horizontal flips (seeded). This is an **approximation**: 35
photographs cover far fewer concepts than ImageNet's 1000 classes, so
per-dimension statistics are noisier; they are still on the right scale and
centred on natural-image responses, which is what the standardisation needs. For
models trained on other imagery (faces, NSFW, MRI, text) it is a poorer stand-in;
PED's :class:`~pedrank.core.ped.SourceScaleWarning` says when it fails badly.

The statistics depend on the input resolution, so they are stored per
(model, image size) as package data ``data/source_stats/<model>_<size>px.npz``
(written with :meth:`pedrank.SourceStats.save`). When none exists for a model,
:func:`load_source_stats` returns ``None`` and callers use PED's documented
fallback, ``PED(fallback="target")``: standardise with the target features'
own statistics (with a warning).

Regenerate the package data with::

    python3 -m pedrank.models.source_samples --image-size 64
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.core.source import SourceStats
from pedrank.models.extract import resize_images

__all__ = [
    "augmented_crops",
    "compute_source_stats",
    "imagenet_photo_files",
    "imagenet_photos",
    "load_source_stats",
    "natural_images",
    "source_stats_filename",
]

# Photographs bundled with scikit-image (no download needed), colour first.
_SKIMAGE_PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle", "hubble_deep_field",
    "camera", "coins", "moon", "clock", "brick", "grass", "gravel",
)  # fmt: skip

DEFAULT_CROPS_PER_IMAGE = 48

#: Where the packaged statistics live (``pedrank/data/source_stats``).
PACKAGED_DIR = Path(__file__).resolve().parents[1] / "data" / "source_stats"

_LOG = logging.getLogger(__name__)


def source_stats_filename(model: str, image_size: int) -> str:
    """Package-data file name of the statistics of ``model`` at ``image_size`` px."""
    return f"{model}_{int(image_size)}px.npz"


def load_source_stats(model: str, image_size: int) -> SourceStats | None:
    """The packaged source statistics of zoo ``model`` at ``image_size``, or ``None``."""
    ref = resources.files("pedrank") / "data" / "source_stats"
    ref = ref / source_stats_filename(model, image_size)
    if not ref.is_file():
        return None
    with resources.as_file(ref) as path:
        return SourceStats.load(path)


def imagenet_photo_files() -> list[Path]:
    """The JPEG files of foolbox's 20 ImageNet validation photos, or ``[]`` without foolbox.

    ``foolbox`` (MIT) ships them as test data (``foolbox/data/imagenet_NN_LABEL.jpg``,
    one per listed ILSVRC-2012 class); they are found without importing foolbox (its
    import needs eagerpy and a deep-learning framework), so ``pip install --no-deps
    foolbox`` (or ``pedrank zoo install imagenet-photos``) is enough.
    """
    from pedrank.models.zoo._common import package_file

    try:
        folder = Path(package_file("foolbox", "data"))
    except (ModuleNotFoundError, FileNotFoundError):
        return []
    return sorted(folder.glob("imagenet_*.jpg"))


def imagenet_photos() -> list[np.ndarray]:
    """foolbox's 20 ImageNet validation photos (uint8 RGB, 512 x 512), or ``[]`` without foolbox.

    They are the only real ImageNet images available offline (:func:`imagenet_photo_files`):
    the closest thing to the paper's source sample (ImageNet validation images) for the
    ImageNet-trained models.
    """
    files = imagenet_photo_files()
    if not files:
        return []
    from PIL import Image

    return [np.asarray(Image.open(f).convert("RGB"), dtype=np.uint8) for f in files]


def natural_images(imagenet: bool = True) -> list[np.ndarray]:
    """The offline natural photographs (uint8, (H, W) or (H, W, 3)).

    Needs scikit-image; scikit-learn's two sample photos are added when Pillow
    can read them, and foolbox's 20 ImageNet validation photos
    (:func:`imagenet_photos`) when ``imagenet`` is true and foolbox is installed.
    """
    try:
        import skimage.data as skd
    except ModuleNotFoundError as exc:
        raise ImportError(
            "source statistics need scikit-image's sample photos: pip install scikit-image"
        ) from exc
    out = []
    for name in _SKIMAGE_PHOTOS:
        im = getattr(skd, name)()
        if isinstance(im, tuple):  # stereo pairs: keep the left image
            im = im[0]
        out.append(np.asarray(im, dtype=np.uint8))
    try:
        from sklearn.datasets import load_sample_images

        out.extend(np.asarray(im, dtype=np.uint8) for im in load_sample_images().images)
    except ImportError:  # sklearn reads them with Pillow
        pass
    return out + (imagenet_photos() if imagenet else [])


def augmented_crops(
    images: list[np.ndarray],
    n_per_image: int = DEFAULT_CROPS_PER_IMAGE,
    size: int = 64,
    seed: int = 0,
    min_scale: float = 0.08,
) -> np.ndarray:
    """Random-resized crops with flips: (len(images) * n_per_image, size, size, 3) in [0, 1].

    Inception-style crops (area fraction in [``min_scale``, 1], aspect ratio in
    [3/4, 4/3]), the augmentation ImageNet models are trained with, so crop
    statistics resemble the training distribution's.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((len(images) * n_per_image, size, size, 3), dtype=np.float32)
    k = 0
    for im in images:
        x = im.astype(np.float32) / 255.0
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, axis=-1)
        x = x[..., :3]
        h, w = x.shape[:2]
        area = rng.uniform(min_scale, 1.0, n_per_image) * h * w
        ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3), n_per_image))
        ch = np.clip(np.sqrt(area / ratio), 8, h).astype(int)
        cw = np.clip(np.sqrt(area * ratio), 8, w).astype(int)
        top = (rng.random(n_per_image) * (h - ch + 1)).astype(int)
        left = (rng.random(n_per_image) * (w - cw + 1)).astype(int)
        flip = rng.random(n_per_image) < 0.5
        # Crops differ in size, so each is resized on its own (a few hundred in total).
        for i in range(n_per_image):
            crop = x[top[i] : top[i] + ch[i], left[i] : left[i] + cw[i]]
            crop = resize_images(crop[None], size)[0]
            out[k] = crop[:, ::-1] if flip[i] else crop
            k += 1
    return np.clip(out, 0.0, 1.0)


def compute_source_stats(
    model: str,
    image_size: int = 64,
    n_per_image: int = DEFAULT_CROPS_PER_IMAGE,
    seed: int = 0,
    cache_dir: Any = None,
    device: str | None = None,
    imagenet: bool = True,
) -> SourceStats:
    """Source statistics of zoo ``model`` from augmented crops of the offline photos.

    The crops are made at the size the model runs at when ``image_size`` px are
    asked for (:meth:`pedrank.models.zoo.ZooEntry.input_size`: the native size of
    fixed graphs, whole patches for ViTs), the size its target features have, from
    :func:`natural_images` (``imagenet=False``: without foolbox's ImageNet photos).
    """
    from pedrank.models.extract import extract_zoo
    from pedrank.models.zoo import get_entry

    entry = get_entry(model)
    size = entry.input_size(image_size) or entry.preprocessing.size
    crops = augmented_crops(natural_images(imagenet), n_per_image, size, seed)
    labels = np.zeros(crops.shape[0], dtype=np.int64)
    # A plain (inputs, labels) pair: models sits beside datasets, not above it.
    fs = extract_zoo(model, (crops, labels), image_size=size, cache_dir=cache_dir,
                     device=device)
    return SourceStats.from_features(fs.features)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write packaged source statistics for zoo models.")
    p.add_argument("--models", nargs="+", default=None, help="default: installed vision models")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--crops-per-image", type=int, default=DEFAULT_CROPS_PER_IMAGE)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-imagenet", action="store_true",
                   help="leave out foolbox's ImageNet photos (the evidence grid's sample)")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--out-dir", default=str(PACKAGED_DIR),
                   help="default: the package data folder load_source_stats reads")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # a script: report on stderr
    from pedrank.models.zoo import available_models

    models = args.models or available_models("vision")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for m in models:
        try:
            stats = compute_source_stats(
                m, args.image_size, args.crops_per_image, args.seed, cache_dir=args.cache_dir,
                imagenet=not args.no_imagenet)
        except Exception as exc:  # e.g. an ONNX graph with a fixed input size: report, go on
            _LOG.warning("%s: skipped (%s: %s)", m, type(exc).__name__, str(exc).splitlines()[0])
            failed += 1
            continue
        path = out / source_stats_filename(m, args.image_size)
        stats.save(path)
        _LOG.info("%s: %d-d source statistics -> %s", m, stats.dim, path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
