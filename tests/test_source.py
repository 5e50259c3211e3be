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


def test_imagenet_photos_join_the_natural_sample_when_foolbox_is_installed():
    """foolbox's 20 ImageNet validation photos (files only; foolbox is never imported)."""
    import sys

    from pedrank.models import source_samples

    pytest.importorskip("skimage", reason="the natural photos ship with scikit-image")
    photos = source_samples.imagenet_photos()
    if not photos:
        pytest.skip("foolbox is not installed: pedrank zoo install imagenet-photos")
    assert len(photos) == 20
    assert all(p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3 for p in photos)
    assert "foolbox" not in sys.modules
    plain = source_samples.natural_images(imagenet=False)
    both = source_samples.natural_images()
    assert len(both) == len(plain) + 20
    assert all(np.array_equal(a, b) for a, b in zip(both[len(plain):], photos, strict=True))


def test_imagenet_photos_are_empty_without_foolbox(monkeypatch):
    from pedrank.models import source_samples
    from pedrank.models.zoo import _common

    def missing(module, *parts):
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)

    monkeypatch.setattr(_common, "package_file", missing)
    assert source_samples.imagenet_photos() == []


def test_zoo_install_brings_the_imagenet_photos_with_pip_no_deps():
    import sys

    from pedrank.cli.zoo_cmd import install_commands

    assert install_commands("imagenet-photos") == [
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "foolbox==3.3.4"]]


def test_regeneration_writes_where_the_packaged_statistics_are_read():
    """Regression (stop 18): ``python3 -m pedrank.models.source_samples`` wrote into
    ``pedrank/models/data/source_stats`` (left over from before the models/ move), where
    nothing reads."""
    from importlib import resources

    from pedrank.models import source_samples

    packaged = resources.files("pedrank") / "data" / "source_stats"
    assert source_samples.PACKAGED_DIR.samefile(str(packaged))
