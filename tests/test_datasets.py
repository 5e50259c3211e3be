"""Offline image datasets: loaders, validation, stratified subsets, image folders."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pedrank.datasets import images as D
from pedrank.datasets import load_dataset


def test_digits_is_always_available():
    ds = D.load_digits()
    assert len(ds) == 1797 and ds.inputs.shape == (1797, 8, 8)
    assert ds.inputs.min() == 0.0 and ds.inputs.max() == 1.0
    assert sorted(np.unique(ds.labels)) == list(range(10))
    assert "digits" in D.available_datasets()


def test_subset_is_stratified_deterministic_and_fingerprinted():
    ds = D.load_digits()
    a = ds.subset(200, seed=3)
    b = ds.subset(200, seed=3)
    c = ds.subset(200, seed=4)
    assert len(a) == 200
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.fingerprint == b.fingerprint != c.fingerprint != ds.fingerprint
    # Stratified: each class keeps its share of the 1,797 samples, up to rounding.
    full = np.bincount(ds.labels) / len(ds)
    np.testing.assert_allclose(np.bincount(a.labels, minlength=10) / 200, full, atol=0.006)
    assert ds.subset(None) is ds and ds.subset(5000) is ds
    with pytest.raises(ValueError, match="positive"):
        ds.subset(0)


def test_from_arrays_validates():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        D.from_arrays(np.full((2, 3, 3), 2.0), [0, 1])
    with pytest.raises(ValueError, match="images must be"):
        D.from_arrays(np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="must match"):
        D.from_arrays(np.zeros((2, 3, 3)), [0, 1, 1])
    with pytest.raises(ValueError, match="NaN"):
        D.from_arrays(np.full((2, 3, 3), np.nan), [0, 1])
    ds = D.from_arrays(np.zeros((2, 3, 3, 3), np.uint8), ["a", "b"])
    assert ds.inputs.dtype == np.uint8 and list(ds.labels) == ["a", "b"]


def test_from_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for cls, n in (("cat", 2), ("dog", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.fromarray(np.full((5, 6), 10 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "dog" / "notes.txt").write_text("ignored")
    ds = D.from_folder(tmp_path)
    assert ds.classes == ("cat", "dog")
    assert list(ds.labels) == ["cat", "cat", "dog", "dog", "dog"]
    assert ds.inputs[:].shape == (5, 5, 6)  # decoded lazily, a slice at a time
    assert load_dataset(str(tmp_path)).fingerprint == ds.fingerprint
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images"):
        D.from_folder(empty)
    with pytest.raises(FileNotFoundError):
        D.from_folder(tmp_path / "missing")


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet-please")


@pytest.mark.skipif(
    not (D.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_fashion_mnist_test_split():
    ds = D.load_fashion_mnist("test")
    assert ds.inputs.shape == (10000, 28, 28) and ds.inputs.dtype == np.uint8
    # The official test split is balanced: 1,000 images per class.
    np.testing.assert_array_equal(np.bincount(ds.labels), np.full(10, 1000))
    with pytest.raises(ValueError, match="split"):
        D.load_fashion_mnist("validation")


def test_fashion_mnist_missing_names_the_apt_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        D.load_fashion_mnist(root=tmp_path)


@pytest.mark.skipif(
    not D.OPENCV_DIGITS_PNG.exists() or importlib.util.find_spec("PIL") is None,
    reason="Debian package opencv-doc (digits.png) or Pillow not installed",
)
def test_opencv_digits_layout():
    ds = D.load_opencv_digits()
    assert ds.inputs.shape == (5000, 20, 20)
    np.testing.assert_array_equal(np.bincount(ds.labels), np.full(10, 500))
    # Every cell holds a digit: no blank 20x20 cell in the sheet.
    assert (ds.inputs.reshape(5000, -1).max(axis=1) > 0).all()
    # Ones are the thinnest digits: least ink per image on average.
    ink = ds.inputs.reshape(5000, -1).astype(float).mean(axis=1)
    per_class = np.array([ink[ds.labels == c].mean() for c in range(10)])
    assert per_class.argmin() == 1


def test_opencv_digits_missing_names_the_apt_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="opencv-doc"):
        D.load_opencv_digits(tmp_path / "digits.png")


def test_lfw_subset():
    pytest.importorskip("skimage")
    ds = D.load_lfw_subset()
    assert ds.inputs.shape == (200, 25, 25)
    np.testing.assert_array_equal(np.bincount(ds.labels), [100, 100])
