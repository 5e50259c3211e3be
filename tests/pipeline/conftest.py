"""Small real inputs for the select pipeline: an image folder of digits, TorchScript files,
``python:`` spec modules, and a cheap stand-in for the natural photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from select_inputs import MODELS_PY, write_digits_folder, write_torchscript


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory) -> Path:
    return write_digits_folder(tmp_path_factory.mktemp("data") / "digits")


@pytest.fixture(scope="session")
def source_folder(tmp_path_factory) -> Path:
    """Another sample (other digits), as a user's --source-data."""
    return write_digits_folder(tmp_path_factory.mktemp("src") / "digits", 5, 6)


@pytest.fixture(scope="session")
def models_py(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mods") / "mods.py"
    path.write_text(MODELS_PY)
    return path


@pytest.fixture(scope="session")
def ts_models(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("ts")
    return [write_torchscript(d / "narrow.pt", 2, 0), write_torchscript(d / "wide.pt", 16, 1)]


@pytest.fixture(autouse=True)
def few_photos(monkeypatch):
    """Two small synthetic 'photos' instead of the offline ones: generating the 720 crops of
    the real photos costs ~30 s per fresh cache, which the generic-sample tests do not need."""
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (40, 52, 3), dtype=np.uint8),
              rng.integers(0, 256, (36, 30), dtype=np.uint8)]
    monkeypatch.setattr("pedrank.models.source_samples.natural_images", lambda: photos)
    return photos
