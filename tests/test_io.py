from __future__ import annotations

import numpy as np
import pytest

from pedrank import SourceStats
from pedrank.pipeline.feature_files import load_feature_file, save_feature_file


def test_roundtrip_with_string_labels(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    y = np.array(["a", "b"] * 3, dtype=object)
    src = SourceStats(np.zeros(2), np.ones(2))
    p = save_feature_file(tmp_path / "m.npz", X, y, src, source_probs=np.full((6, 2), 0.5))
    ff = load_feature_file(p)
    assert ff.name == "m"
    np.testing.assert_array_equal(ff.features, X)
    assert list(ff.labels) == list(y)
    np.testing.assert_array_equal(ff.source.mean, src.mean)
    assert ff.source_probs.shape == (6, 2)
    assert not list(tmp_path.glob(".*tmp"))  # atomic: no temporary left behind


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"features": np.ones((4, 2))}, "missing array 'labels'"),
        ({"labels": np.arange(4)}, "missing array 'features'"),
        ({"features": np.ones((4, 2)), "labels": np.arange(3)}, "3 labels but X has 4"),
        ({"features": np.full((4, 2), np.nan), "labels": np.arange(4) % 2}, "NaN"),
        ({"features": np.ones((4, 2)), "labels": np.zeros(4)}, "at least 2"),
        ({"features": np.ones((4, 2)), "labels": np.arange(4) % 2,
          "source_mean": np.zeros(2)}, "only one of"),
        ({"features": np.ones((4, 2)), "labels": np.arange(4) % 2,
          "source_mean": np.zeros(3), "source_std": np.ones(3)}, "dimension 3"),
    ],
)
def test_errors_name_the_file(tmp_path, arrays, message):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_feature_file(p)
    assert str(p) in str(info.value)


def test_corrupt_file(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a .npz feature file"):
        load_feature_file(p)
