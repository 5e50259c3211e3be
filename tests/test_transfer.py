"""Ground-truth measurement: stratified split, linear probe, partial fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest

import pedrank.models.zoo as zoo
from pedrank.groundtruth.protocol import finetune, linear_probe, train_test_indices
from pedrank.models.extract import ImagePreprocessing


def test_split_is_stratified_disjoint_and_complete():
    y = np.repeat([0, 1, 2], [40, 20, 40])
    tr, te = train_test_indices(y, test_size=0.25, seed=1)
    assert np.intersect1d(tr, te).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(100))
    np.testing.assert_array_equal(np.bincount(y[te]), [10, 5, 10])
    tr2, _ = train_test_indices(y, test_size=0.25, seed=1)
    np.testing.assert_array_equal(tr, tr2)


def test_linear_probe_separable_vs_random_labels():
    rng = np.random.default_rng(0)
    n, d = 300, 20
    y = rng.integers(0, 3, n)
    centres = rng.standard_normal((3, d)) * 6
    X = centres[y] + rng.standard_normal((n, d))
    tr, te = train_test_indices(y, 0.4, 0)
    res = linear_probe(X[tr], y[tr], X[te], y[te])
    assert res.accuracy == 1.0 and res.C in (0.01, 0.1, 1.0, 10.0)
    # Labels independent of the features: test accuracy near chance (1/3), far from 1.
    y_rand = rng.permutation(y)
    noise = linear_probe(X[tr], y_rand[tr], X[te], y_rand[te])
    assert noise.accuracy < 0.55


def _tiny_entry():
    """A registered toy 'zoo model' (conv net) with a fine-tuning split, for finetune()."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.backbone = torch.nn.Sequential(
                torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
            )  # fmt: skip

        def forward(self, x):
            return self.backbone(x).mean(dim=(2, 3))

    def split(model, n_blocks):
        frozen = model.backbone[:2]
        top = torch.nn.Sequential(*model.backbone[2:])

        class Top(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.top = top

            def forward(self, z):
                return self.top(z).mean(dim=(2, 3))

        return frozen, Top()

    return zoo.ZooEntry(
        name="tiny-test-net",
        kind="vision",
        package="none",
        loader=Pooled,
        feature_dim=6,
        preprocessing=ImagePreprocessing(8, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
        extra={"finetune_split": split},
    )


def test_finetune_learns_an_easy_task_and_is_deterministic(monkeypatch):
    pytest.importorskip("torch")
    zoo.registered_models()
    entry = _tiny_entry()
    monkeypatch.setitem(zoo._REGISTRY, entry.name, entry)
    rng = np.random.default_rng(0)
    # Class = which half of the image is bright: needs spatial features, not just the mean.
    n = 80
    y = np.repeat([0, 1], n // 2)
    imgs = rng.random((n, 8, 8)).astype(np.float32) * 0.2
    imgs[y == 0, :, :4] += 0.8
    imgs[y == 1, :, 4:] += 0.8
    imgs = np.clip(imgs, 0, 1)
    tr, te = train_test_indices(y, 0.5, 0)
    kw = dict(image_size=8, epochs=10, batch_size=16, device="cpu")
    grid = dict(lrs=(0.1, 0.01), weight_decays=(0.0, 1e-3))
    a = finetune(entry.name, imgs[tr], y[tr], imgs[te], y[te], **grid, **kw)
    assert a.accuracy >= 0.9
    assert set(a.grid) == {"lr=0.1,wd=0", "lr=0.1,wd=0.001", "lr=0.01,wd=0", "lr=0.01,wd=0.001"}
    one = dict(lrs=(a.lr,), weight_decays=(a.weight_decay,))
    b = finetune(entry.name, imgs[tr], y[tr], imgs[te], y[te], **one, **kw)
    c = finetune(entry.name, imgs[tr], y[tr], imgs[te], y[te], **one, **kw)
    assert b == c  # fixed seeds: bit-for-bit repeatable
    assert b.accuracy == a.accuracy  # same chosen config, same seed, same result
    assert a.val_accuracy == max(a.grid.values())


def test_finetune_needs_a_split(monkeypatch):
    pytest.importorskip("torch")
    zoo.registered_models()
    entry = zoo.ZooEntry("no-split-net", "vision", "none", lambda: None, 2)
    monkeypatch.setitem(zoo._REGISTRY, entry.name, entry)
    x = np.zeros((4, 8, 8), np.float32)
    with pytest.raises(ValueError, match="fine-tuning"):
        finetune(entry.name, x, np.array([0, 1, 0, 1]), x, np.array([0, 1, 0, 1]))
