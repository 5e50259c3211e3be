"""Labelled image datasets that are available offline.

Sources (no download from any hub):

========================  =======================================  ==========================
name                      content                                  provided by
========================  =======================================  ==========================
``digits``                1,797 8x8 grey digits, 10 classes        scikit-learn (always)
``fashion-mnist``         70,000 28x28 grey clothes, 10 classes    Debian ``dataset-fashion-mnist``
``opencv-digits``         5,000 20x20 grey digits, 10 classes      Debian ``opencv-doc``
``lfw-subset``            200 25x25 grey images, face / non-face   scikit-image
========================  =======================================  ==========================

Plus :func:`from_arrays` and :func:`from_folder` (one sub-folder per class) for
your own data. Every dataset is an :class:`ImageDataset` whose ``inputs`` are a
``uint8`` array or a float array in [0, 1], (N, H, W) or (N, H, W, C), or, for
an image folder, a :class:`FolderImages` that decodes a slice (one batch) at a
time; its ``fingerprint`` identifies its content for the feature cache of
:mod:`pedrank.models.extract`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.datasets._image_base import ImageDataset, UnreadableImageError

__all__ = [
    "DATASETS",
    "FolderImages",
    "ImageDataset",
    "UnreadableImageError",
    "available_datasets",
    "from_arrays",
    "from_folder",
    "load_digits",
    "load_fashion_mnist",
    "load_lfw_subset",
    "load_opencv_digits",
]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
OPENCV_DIGITS_PNG = Path("/usr/share/doc/opencv-doc/examples/data/digits.png")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _check_images(images: Any) -> Any:
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3, 4)):
            raise ValueError(
                "images must be (N, H, W) or (N, H, W, C) with C in {1, 3, 4}; got "
                f"{images.shape}"
            )
        if images.dtype != np.uint8:
            images = images.astype(np.float32)
            if images.size and not np.isfinite(images).all():
                raise ValueError("images contain NaN or infinite values")
            if images.size and (images.min() < 0 or images.max() > 1):
                raise ValueError(
                    "float images must be scaled to [0, 1] (or pass uint8 in [0, 255]); got range "
                    f"[{images.min():g}, {images.max():g}]"
                )
    return images


def from_arrays(images: Any, labels: Any, name: str = "arrays") -> ImageDataset:
    """A dataset from an image array (N, H, W[, C]), uint8 or float in [0, 1]."""
    images = _check_images(np.asarray(images))
    return ImageDataset(images, np.asarray(labels), name)


DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
"""Pixels one image may have (e.g. 6,300 x 6,300): ``$PEDRANK_MAX_IMAGE_PIXELS`` overrides it.

Transferability scoring resizes every image to the model's input (64-518 px),
so a larger image only costs memory; PIL's own decompression-bomb limit
(about 179 M pixels) is far above what fits a few images in memory at once.
"""


def max_image_pixels() -> int:
    """The per-image pixel budget (:data:`DEFAULT_MAX_IMAGE_PIXELS` or the environment's)."""
    env = os.environ.get("PEDRANK_MAX_IMAGE_PIXELS", "").strip()
    if not env:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        value = int(env)
    except ValueError:
        raise ValueError(f"PEDRANK_MAX_IMAGE_PIXELS={env!r}: expected a pixel count") from None
    if value < 1:
        raise ValueError(f"PEDRANK_MAX_IMAGE_PIXELS={env!r}: must be positive")
    return value


def _pil() -> Any:
    try:
        from PIL import Image
    except ModuleNotFoundError as exc:
        raise ImportError("reading image files needs Pillow: pip install pillow") from exc
    return Image


@contextlib.contextmanager
def _named_errors(path: Path) -> Iterator[None]:
    """Turn PIL's errors on ``path`` into one :class:`UnreadableImageError` naming the file."""
    Image = _pil()
    try:
        yield
    except UnreadableImageError:
        raise
    except (ValueError, OSError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # PIL reports unknown or truncated files as OSError (UnidentifiedImageError),
        # some plugins as SyntaxError: both mean "this file is not an image we can read".
        raise UnreadableImageError(f"{path}: not a readable image ({type(exc).__name__}: "
                                   f"{exc}); remove or convert it") from None


def _check_size(im: Any, path: Path, limit: int) -> None:
    """Refuse (naming the file) an image above the per-image pixel budget."""
    w, h = im.size
    if w * h > limit:
        raise UnreadableImageError(
            f"{path}: {w} x {h} pixels is above the budget of {limit:,} pixels per "
            "image; downscale it, or raise PEDRANK_MAX_IMAGE_PIXELS")


def _read_image(path: Path, max_pixels: int | None = None) -> np.ndarray:
    """One image as uint8 (H, W) or (H, W, 3); refused (naming the file) above the budget."""
    limit = max_image_pixels() if max_pixels is None else max_pixels
    with _named_errors(path), _pil().open(path) as im:  # reads the header; decoding below
        _check_size(im, path, limit)
        im = im.convert("L") if im.mode in ("1", "L", "I", "I;16", "F") else im.convert("RGB")
        return np.asarray(im, dtype=np.uint8)


class FolderImages(Sequence):
    """Image files decoded on demand, a slice (one batch) at a time.

    ``images[a:b]`` (or an index array) decodes those files only, into one uint8
    array (B, H, W[, 3]) when they share a size, else a list of arrays;
    ``images[i]`` is one array. Nothing is held between calls, so extraction
    keeps one batch of decoded images in memory, never the whole folder.
    Grey images stay grey (preprocessing replicates channels), others become RGB.
    """

    def __init__(self, files: Sequence[str | os.PathLike]) -> None:
        self.files = tuple(Path(f) for f in files)

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"FolderImages({len(self)} files)"

    @staticmethod
    def _decode(paths: Sequence[Path]) -> Any:
        limit = max_image_pixels()
        images = [_read_image(p, limit) for p in paths]
        if images and len({im.shape for im in images}) == 1:
            return np.stack(images)
        return images

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self._decode(self.files[key])
        if isinstance(key, int | np.integer):
            return _read_image(self.files[key])
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return self._decode([self.files[i] for i in idx.astype(np.intp)])

    def take(self, idx: Any) -> FolderImages:
        """The files at positions ``idx`` (nothing decoded)."""
        return FolderImages([self.files[i] for i in np.asarray(idx, dtype=np.intp)])


def _list_folder(root: Path) -> tuple[list[str], list[Path], list[str]]:
    """(classes, files, labels) of ``root/<class>/<image>``, in sorted order."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    labels: list[str] = []
    for c in classes:
        for f in sorted((root / c).iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(f)
                labels.append(c)
    if not files:
        raise ValueError(
            f"no images found under {root}; expected one sub-folder per class containing "
            f"{'/'.join(IMAGE_SUFFIXES)} files"
        )
    return classes, files, labels


def _scan_files(files: Sequence[Path], labels: Sequence[str]) -> str:
    """Content fingerprint of the files' bytes and labels, checking every header on the way.

    Each file is read once: its bytes feed the hash, and PIL parses its header
    (no pixel decoding), so a file that is no image or is above the pixel budget
    is named now rather than halfway through extraction.
    """
    limit = max_image_pixels()
    h = hashlib.sha256(b"pedrank-image-folder-v1")
    for f in files:
        data = f.read_bytes()
        h.update(hashlib.sha256(data).digest())
        with _named_errors(f), _pil().open(io.BytesIO(data)) as im:
            _check_size(im, f, limit)
    h.update(json.dumps(list(labels)).encode())
    return h.hexdigest()[:20]


def from_folder(root: str | os.PathLike, name: str | None = None) -> ImageDataset:
    """Images from ``root/<class name>/<image file>`` (one sub-folder per class), lazily.

    Files are listed in sorted order (deterministic); labels are the sub-folder
    names. Images may differ in size (preprocessing resizes each one). The
    ``inputs`` are a :class:`FolderImages`: pixels are decoded a batch at a
    time during extraction, never all at once. The fingerprint hashes the
    files' bytes and the labels, and every file's header is checked here.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    classes, files, labels = _list_folder(root)
    fp = _scan_files(files, labels)
    return ImageDataset(FolderImages(files), np.asarray(labels), name or root.name, fp,
                        tuple(classes))


# --------------------------------------------------------------------------- offline sources


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 8x8 digits (values 0-16 rescaled to [0, 1])."""
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    images = (d.images / 16.0).astype(np.float32)
    return ImageDataset(images, d.target.astype(np.int64), "digits", "", tuple(map(str, range(10))))


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(split: str = "test", root: str | os.PathLike | None = None) -> ImageDataset:
    """Fashion-MNIST (Xiao et al., 2017) from the Debian package ``dataset-fashion-mnist``.

    Parameters
    ----------
    split : {"train", "test", "all"}
        60,000 / 10,000 / 70,000 images.
    root : path, optional
        Folder with the four ``*-idx?-ubyte.gz`` files (default the Debian path).
    """
    root = Path(root) if root is not None else FASHION_MNIST_DIR
    parts = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}
    if split not in parts:
        raise ValueError(f"split must be 'train', 'test' or 'all'; got {split!r}")
    xs, ys = [], []
    for p in parts[split]:
        img, lab = root / f"{p}-images-idx3-ubyte.gz", root / f"{p}-labels-idx1-ubyte.gz"
        if not img.exists() or not lab.exists():
            raise FileNotFoundError(
                f"Fashion-MNIST not found in {root}; install it with: "
                "apt-get install dataset-fashion-mnist"
            )
        xs.append(_read_idx(img))
        ys.append(_read_idx(lab).astype(np.int64))
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # fmt: skip
    return ImageDataset(
        np.concatenate(xs), np.concatenate(ys), f"fashion-mnist-{split}", "", classes
    )


def load_opencv_digits(path: str | os.PathLike | None = None) -> ImageDataset:
    """OpenCV's ``digits.png``: 5,000 handwritten 20x20 digits, 500 per class.

    The sheet is 50 rows x 100 columns of 20x20 cells; every 5 rows hold one
    digit, 0 to 9 (the layout OpenCV's ``digits.py`` sample uses). From the
    Debian package ``opencv-doc``.
    """
    path = Path(path) if path is not None else OPENCV_DIGITS_PNG
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; install it with: apt-get install opencv-doc")
    sheet = _read_image(path)
    if sheet.ndim == 3:
        sheet = sheet.mean(axis=-1).astype(np.uint8)
    if sheet.shape != (1000, 2000):
        raise ValueError(f"unexpected digits.png size {sheet.shape}; expected (1000, 2000)")
    cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(5000, 20, 20)
    labels = np.repeat(np.arange(10, dtype=np.int64), 500)
    return ImageDataset(
        np.ascontiguousarray(cells), labels, "opencv-digits", "", tuple(map(str, range(10)))
    )


def load_lfw_subset() -> ImageDataset:
    """scikit-image's ``lfw_subset``: 100 face and 100 non-face 25x25 crops."""
    try:
        from skimage.data import lfw_subset
    except ModuleNotFoundError as exc:
        raise ImportError("lfw-subset needs scikit-image: pip install scikit-image") from exc
    images = np.clip(np.asarray(lfw_subset(), dtype=np.float32), 0.0, 1.0)
    labels = np.array([1] * 100 + [0] * 100, dtype=np.int64)
    return ImageDataset(images, labels, "lfw-subset", "", ("non-face", "face"))


DATASETS: dict[str, Callable[[], ImageDataset]] = {
    "digits": load_digits,
    "fashion-mnist": lambda: load_fashion_mnist("test"),
    "opencv-digits": load_opencv_digits,
    "lfw-subset": load_lfw_subset,
    # npm emoji-datasource-google/-twitter in the pedrank data folder (pedrank.datasets.emoji)
    "emoji-category": lambda: _emoji().load_emoji("google", "category"),
    "emoji-subcategory": lambda: _emoji().load_emoji("google", "subcategory"),
    "emoji-google-twitter": lambda: _emoji().load_emoji_cross_style("google", "twitter"),
}


def _emoji() -> Any:
    from pedrank.datasets import emoji  # imported lazily: it imports this module

    return emoji


def available_datasets() -> list[str]:
    """Built-in image dataset names whose data is present on this machine (for
    :func:`pedrank.datasets.load_data`)."""
    out = ["digits"]
    if (FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        out.append("fashion-mnist")
    if OPENCV_DIGITS_PNG.exists():
        out.append("opencv-digits")
    try:
        import importlib.util

        if importlib.util.find_spec("skimage") is not None:
            out.append("lfw-subset")
    except (ImportError, ValueError):
        pass
    for style, names in (("google", ("emoji-category", "emoji-subcategory")),
                         ("twitter", ("emoji-google-twitter",))):  # fmt: skip
        try:
            _emoji().emoji_package_dir(style)
        except FileNotFoundError:
            break
        out.extend(names)
    return out
