"""Image folders stream: decoded a batch at a time during extraction, never all at once."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from pedrank.datasets import FolderImages, UnreadableImageError, from_folder, images
from pedrank.models.extract import ImagePreprocessing, extract

Image = pytest.importorskip("PIL.Image", reason="image folders are read with Pillow")


def _folder(root, n_per_class, side=24, classes=("a", "b", "c")):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i:03d}.png")
    return root


@pytest.fixture
def decodes(monkeypatch):
    """Count every image decode (the one place pixels are read: ``images._read_image``)."""
    count = [0]
    real = images._read_image

    def counting(path, max_pixels=None):
        count[0] += 1
        return real(path, max_pixels)

    monkeypatch.setattr(images, "_read_image", counting)
    return count


def test_extraction_decodes_one_batch_at_a_time(tmp_path, decodes):
    ds = from_folder(_folder(tmp_path / "imgs", 12))
    assert isinstance(ds.inputs, FolderImages) and decodes[0] == 0  # listing decodes nothing
    sub = ds.subset(18, seed=0)  # class-stratified, still nothing decoded
    assert decodes[0] == 0 and isinstance(sub.inputs, FolderImages)
    assert sorted(np.unique(sub.labels, return_counts=True)[1]) == [6, 6, 6]
    seen = []

    def model(batch):
        seen.append(decodes[0])  # images decoded so far when this batch reaches the model
        return np.asarray(batch).mean(axis=(2, 3))

    fs = extract(model, sub, preprocess=ImagePreprocessing(8), batch_size=4)
    assert fs.features.shape == (18, 3)
    assert seen == [min(4 * (k + 1), 18) for k in range(5)]  # never ahead of the batch
    assert decodes[0] == 18  # every chosen image decoded exactly once, the others never
    np.testing.assert_array_equal(sub.labels, fs.labels)


def test_peak_memory_is_a_few_batches_not_the_folder(tmp_path):
    side, n = 96, 3 * 80
    ds = from_folder(_folder(tmp_path / "big", n // 3, side))
    decoded = n * side * side * 3  # what holding every decoded image would take (uint8)
    pre = ImagePreprocessing(16)
    tracemalloc.start()
    try:
        fs = extract(lambda b: np.asarray(b).mean(axis=(2, 3)), ds, preprocess=pre, batch_size=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fs.features.shape == (n, 3)
    assert peak < decoded / 4, (peak, decoded)


def test_fingerprint_hashes_file_bytes_and_labels(tmp_path):
    root = _folder(tmp_path / "fp", 2)
    a = from_folder(root).fingerprint
    assert from_folder(root).fingerprint == a  # stable: the feature cache finds its entry
    (root / "c").rename(root / "d")  # same files, other labels
    assert from_folder(root).fingerprint != a
    Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(root / "a" / "000.png")
    assert from_folder(root).fingerprint not in (a,)


def test_truncated_image_is_named_when_its_batch_is_decoded(tmp_path):
    root = _folder(tmp_path / "trunc", 3)
    path = root / "b" / "001.png"
    path.write_bytes(path.read_bytes()[:60])  # the header parses, the pixels do not
    ds = from_folder(root)  # the header check passes
    with pytest.raises(UnreadableImageError, match=r"001\.png: not a readable image.*remove"):
        extract(lambda b: np.asarray(b).mean(axis=(2, 3)), ds,
                preprocess=ImagePreprocessing(8), batch_size=2)


def test_index_arrays_and_varied_sizes(tmp_path):
    root = _folder(tmp_path / "mix", 2)
    Image.fromarray(np.zeros((10, 30), np.uint8)).save(root / "a" / "wide.png")
    imgs = from_folder(root).inputs
    assert isinstance(imgs[0:2], np.ndarray) and imgs[0:2].shape == (2, 24, 24, 3)
    mixed = imgs[[0, 2]]  # 000.png (24x24 RGB) and wide.png (grey 10x30)
    assert isinstance(mixed, list) and [m.shape for m in mixed] == [(24, 24, 3), (10, 30)]
    assert imgs.take([2]).files == (root / "a" / "wide.png",)
