"""Hugging Face ``datasets`` folders written by save_to_disk (built here, no download)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from pedrank.datasets.images import ImageDataset
from pedrank.datasets.resolve import load_data
from pedrank.datasets.tables import ArrowImages, TextDataset

datasets = pytest.importorskip("datasets", reason="datasets folders need the datasets package")
Image = pytest.importorskip("PIL.Image")

NAMES = ["cat", "dog", "bird"]


def _png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": None}


def _image_dataset(n=12, size=10, bad_row=None):
    rng = np.random.default_rng(0)
    arrays = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    images = [_png(a) for a in arrays]
    if bad_row is not None:
        images[bad_row] = {"bytes": b"definitely not an image", "path": None}
    features = datasets.Features({"img": datasets.Image(),
                                  "label": datasets.ClassLabel(names=NAMES)})
    ds = datasets.Dataset.from_dict({"img": images, "label": list(np.arange(n) % 3)},
                                    features=features)
    return ds, arrays


def test_image_folder_decodes_lazily_with_classlabel_names(tmp_path):
    ds, arrays = _image_dataset()
    ds.save_to_disk(tmp_path / "pets")
    data = load_data(tmp_path / "pets")
    assert isinstance(data, ImageDataset) and data.modality == "vision"
    assert isinstance(data.inputs, ArrowImages) and data.classes == tuple(NAMES)
    np.testing.assert_array_equal(data.labels, np.arange(12) % 3)
    batch = data.inputs[2:7]  # one decoded uint8 batch
    assert batch.dtype == np.uint8 and batch.shape == (5, 10, 10, 3)
    np.testing.assert_array_equal(batch, arrays[2:7])
    np.testing.assert_array_equal(data.inputs[-1], arrays[-1])
    assert data.fingerprint == load_data(tmp_path / "pets").fingerprint


def test_image_folder_features_extract_in_batches(tmp_path):
    from pedrank.models.extract import ImagePreprocessing, extract

    ds, arrays = _image_dataset()
    ds.save_to_disk(tmp_path / "pets")
    data = load_data(tmp_path / "pets", max_samples=6)
    assert len(data) == 6 and sorted(np.bincount(data.labels)) == [2, 2, 2]
    pre = ImagePreprocessing(4)
    fs = extract(lambda x: x.reshape(len(x), -1), data, preprocess=pre, batch_size=4)
    assert fs.features.shape == (6, 48)


def test_corrupt_image_is_a_one_line_error(tmp_path):
    ds, _ = _image_dataset(bad_row=5)
    ds.save_to_disk(tmp_path / "bad")
    data = load_data(tmp_path / "bad")
    data.inputs[0:4]  # rows before the bad one decode
    with pytest.raises(ValueError, match=r"bad: rows 4-7 hold an unreadable image.*fix or drop"):
        data.inputs[4:8]


def test_text_datasetdict_uses_train_split(tmp_path):
    texts = ["good film", "bad film", "great plot", "awful plot", "nice", "poor"]
    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    split = datasets.Dataset.from_dict({"sentence": texts, "label": [1, 0, 1, 0, 1, 0]},
                                       features=features)
    datasets.DatasetDict({"test": split.select([0, 1]), "train": split}).save_to_disk(
        tmp_path / "reviews")
    data = load_data(tmp_path / "reviews")
    assert isinstance(data, TextDataset) and data.inputs == texts
    assert data.classes == ("neg", "pos") and data.name == "reviews[train]"


def test_regression_and_missing_label_column(tmp_path):
    ds = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "rating": [0.5, 1.5, 2.0]})
    ds.save_to_disk(tmp_path / "ratings")
    data = load_data(tmp_path / "ratings", label_column="Rating", task="regression")
    assert data.labels.dtype == np.float64
    with pytest.raises(ValueError, match=r"ratings: no label column.*\['text', 'rating'\]"):
        load_data(tmp_path / "ratings")


def test_extraction_decodes_one_batch_at_a_time(tmp_path, monkeypatch):
    from pedrank.models.extract import ImagePreprocessing, extract

    ds, _ = _image_dataset(n=30)
    ds.save_to_disk(tmp_path / "pets")
    data = load_data(tmp_path / "pets")
    spans = []
    decode = ArrowImages._decode

    def spy(self, start, stop):
        spans.append(stop - start)
        return decode(self, start, stop)

    monkeypatch.setattr(ArrowImages, "_decode", spy)
    extract(lambda x: x.reshape(len(x), -1), data, preprocess=ImagePreprocessing(4), batch_size=8)
    assert sum(spans) == 30 and max(spans) <= 8  # never more than one batch decoded at once
