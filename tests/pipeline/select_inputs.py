"""Builders of small real inputs for the select tests (shared by tests/pipeline and tests/cli):
an image folder of digits, TorchScript files, a module of ``python:`` spec functions, and
fixtures over them (imported by the test modules; a conftest.py here would shadow the
``conftest`` module other test folders import from)."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest


def write_digits_folder(root: Path, n_per_class: int = 12, classes: int = 4) -> Path:
    """PNG files ``root/<digit>/<i>.png`` from scikit-learn's digits (8x8 grey)."""
    pil = pytest.importorskip("PIL.Image", reason="image folders are read with Pillow")
    from sklearn.datasets import load_digits

    d = load_digits()
    for c in range(classes):
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        idx = np.flatnonzero(d.target == c)[:n_per_class]
        for i in idx:
            pil.fromarray((d.images[i] * 15.9).astype(np.uint8)).save(root / str(c) / f"{i}.png")
    return root


def write_torchscript(path: Path, width: int, seed: int) -> Path:
    """A small random conv net saved with torch.jit.script (its output is (B, width))."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, width, 3), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; users still have it
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(net.eval()).save(str(path))
    return path


MODELS_PY = textwrap.dedent('''
    """Models for python:FILE:FUNC specs (numpy only)."""
    import numpy as np
    from pedrank.models.extract import ImagePreprocessing

    CALLS = []

    def _projection(seed, dim):
        W = np.random.default_rng(seed).standard_normal((3 * 8 * 8, dim))
        def features(batch):
            CALLS.append(len(batch))
            return np.tanh(np.asarray(batch).reshape(len(batch), -1) @ W / 8)
        return features

    def good():
        return _projection(0, 24), ImagePreprocessing(8, (0.5,) * 3, (0.5,) * 3)

    def narrow():
        return _projection(1, 3), ImagePreprocessing(8, (0.5,) * 3, (0.5,) * 3)

    def broken():
        def fails(batch):
            raise RuntimeError("the model exploded")
        return fails, ImagePreprocessing(8, (0.5,) * 3, (0.5,) * 3)

    def scalar():
        def one_number(batch):
            return np.asarray(batch).reshape(len(batch), -1).mean(axis=1)  # (B,), not (B, D)
        return one_number, ImagePreprocessing(8, (0.5,) * 3, (0.5,) * 3)

    def text_encoder():
        def embed(texts):
            CALLS.append(len(texts))
            out = np.zeros((len(texts), 6))
            for i, t in enumerate(texts):
                out[i] = [len(t), t.count("e"), t.count(" "), t.count("a"), len(set(t)), 1.0]
            return out
        return embed, None
    text_encoder.kind = "text"
''')


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
    monkeypatch.setattr("pedrank.models.source_samples.natural_images",
                        lambda imagenet=True: photos)
    return photos
