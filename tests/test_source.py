from __future__ import annotations

import numpy as np
import pytest

from pedrank import SourceStats


def test_from_features_population_std_and_clip(tmp_path):
    X = np.array([[0.0, 1.0], [2.0, 1.0]])
    s = SourceStats.from_features(X)
    np.testing.assert_array_equal(s.mean, [1.0, 1.0])
    np.testing.assert_array_equal(s.std, [1.0, 0.0])  # ddof=0
    np.testing.assert_array_equal(s.scale, [1.0, 1e-3])  # clipped at eps
    path = s.save(tmp_path / "src.npz")
    back = SourceStats.load(path)
    np.testing.assert_array_equal(back.mean, s.mean)
    np.testing.assert_array_equal(back.std, s.std)
    assert back.eps == s.eps
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert set(data.files) == {"mean", "std", "eps"}


def test_validation():
    with pytest.raises(ValueError, match="same length"):
        SourceStats(np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        SourceStats(np.array([np.nan]), np.ones(1))
    with pytest.raises(ValueError, match="non-negative"):
        SourceStats(np.zeros(1), -np.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        SourceStats.from_features(np.array([[np.inf, 1.0]]))


def test_load_rejects_unknown_layout(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, foo=np.zeros(2))
    with pytest.raises(ValueError, match="expected arrays"):
        SourceStats.load(p)
