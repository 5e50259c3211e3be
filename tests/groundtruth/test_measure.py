"""Resumable ground-truth cells (pedrank.groundtruth.measure) on a synthetic pool."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pedrank.groundtruth import measure
from pedrank.groundtruth.measure import (
    CellStore,
    MeasureConfig,
    TargetData,
    noise_ceiling,
    replicate_table,
    search_grid,
    summarise,
    write_table,
)
from pedrank.models.zoo import ZooEntry, register


def _target(n_per_class: int = 30, classes: int = 3, seed: int = 0) -> TargetData:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    centres = rng.normal(size=(classes, 6)) * 3
    pool = (centres[labels] + rng.normal(size=(labels.size, 6))).astype(np.float32)
    return TargetData(
        "synthetic", "vision", pool, "synthetic-v1", np.arange(labels.size), labels.astype(str)
    )


class _Noisy:
    """A fake 'model': features = inputs + noise of a given scale (worse = noisier)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = np.asarray(batch, dtype=np.float64)
        rng = np.random.default_rng(int(abs(x).sum() * 1000) % 2**32)
        return x + self.scale * rng.normal(size=x.shape)


class _Identity:
    key = "identity-v1"

    def __call__(self, batch):
        return np.asarray(batch)


@pytest.fixture()
def fake_pool(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names = []
    for i, scale in enumerate((0.1, 2.0, 8.0)):
        name = f"test-measure-noisy-{i}"
        register(
            ZooEntry(
                name=name,
                kind="vision",
                package="none",
                loader=lambda s=scale: _Noisy(s),
                feature_dim=6,
                preprocessing=_Identity(),
            ),
            replace=True,
        )
        names.append(name)
    target = _target()
    monkeypatch.setitem(measure.TARGETS, "synthetic", ("vision", lambda m, k: target))
    return names


def test_run_measures_cells_and_resumes(tmp_path: Path, fake_pool: list[str]) -> None:
    store = CellStore(tmp_path / "cells.jsonl")
    cfg = MeasureConfig(cache_dir=str(tmp_path / "cache"))
    counts = measure.run(
        store,
        fake_pool,
        ["synthetic"],
        protocols=("ridge", "probe"),
        seeds=(0, 1),
        cfg=cfg,
        log=lambda m: None,
    )
    assert counts == {"done": 12, "skipped": 0, "failed": 0}
    cells = store.load()
    assert len(cells) == 12
    rep = replicate_table(cells.values(), "ridge")
    accs = {m: np.mean(v) for m, v in rep["synthetic"].items()}
    # the noisier fake model must transfer worse
    assert accs[fake_pool[0]] > accs[fake_pool[2]]
    again = measure.run(
        store,
        fake_pool,
        ["synthetic"],
        protocols=("ridge", "probe"),
        seeds=(0, 1, 2),
        cfg=cfg,
        log=lambda m: None,
    )
    assert again == {"done": 6, "skipped": 12, "failed": 0}
    assert len(store.load()) == 18


def test_cached_only_features_never_load_the_model(tmp_path: Path, fake_pool: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader beside a running measurement (the evidence scoring) must not repeat its
    extraction: cached_only raises on a miss and reads the very cache entry an extracting
    call wrote, without loading the model."""
    cfg = MeasureConfig(cache_dir=str(tmp_path / "cache"))
    target = measure.load_target("synthetic")
    with pytest.raises(measure.FeaturesNotCached, match="not cached"):
        measure._features(fake_pool[0], target, cfg, cached_only=True)
    full = measure._features(fake_pool[0], target, cfg)  # extracts and caches

    def boom(scale: float) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setitem(globals(), "_Noisy", boom)  # what the fake pool's loaders build
    with pytest.raises(AssertionError, match="loaded"):  # the trap works ...
        measure._features(fake_pool[0], target, MeasureConfig(cache_dir=str(tmp_path / "c2")))
    # ... and a cached_only read of the cached pool never springs it
    got = measure._features(fake_pool[0], target, cfg, cached_only=True)
    np.testing.assert_array_equal(got, full)


def test_store_skips_truncated_line(tmp_path: Path) -> None:
    store = CellStore(tmp_path / "c.jsonl")
    rec = {"model": "m", "target": "t", "protocol": "ridge", "seed": 0, "accuracy": 0.5}
    store.add(rec)
    with open(store.path, "a") as fh:
        fh.write('{"model": "m", "target"')  # a crash mid-write
    assert list(store.load()) == ["m|t|ridge|0"]


def test_failed_model_does_not_stop_grid(tmp_path: Path, fake_pool: list[str]) -> None:
    def boom():
        raise RuntimeError("broken weights")

    register(
        ZooEntry(
            name="test-measure-broken",
            kind="vision",
            package="none",
            loader=boom,
            feature_dim=6,
            preprocessing=_Identity(),
        ),
        replace=True,
    )
    store = CellStore(tmp_path / "cells.jsonl")
    counts = measure.run(
        store,
        ["test-measure-broken", fake_pool[0]],
        ["synthetic"],
        protocols=("ridge",),
        seeds=(0,),
        cfg=MeasureConfig(cache_dir=str(tmp_path / "cache")),
        log=lambda m: None,
    )
    assert counts == {"done": 1, "skipped": 0, "failed": 1}


def test_search_grid_extends_until_interior() -> None:
    # validation accuracy peaks at lr=1e-4, wd=1e-2: outside the starting grid on both axes
    def evaluate(lr: float, wd: float) -> float:
        return -((np.log10(lr) + 4) ** 2) - (np.log10(wd) + 2) ** 2

    res = search_grid(evaluate, (1e-2, 1e-1, 1.0), (1e-5, 1e-4, 1e-3), max_extend=5)
    assert res["lr"] == pytest.approx(1e-4) and res["wd"] == pytest.approx(1e-2)
    assert not res["at_edge"]
    lrs = sorted({float(k.split(",")[0][3:]) for k in res["grid"]})
    assert lrs[0] < res["lr"] < lrs[-1]


def test_search_grid_widens_a_flat_grid() -> None:
    """Every point tying (all at chance) is no interior optimum: the lr axis is widened."""
    res = search_grid(lambda lr, wd: 0.25 if lr < 1.0 else 0.9 - 0.1 * (lr > 5.0),
                      (1e-2, 1e-1, 0.5), (1e-4, 1e-3, 1e-2), max_extend=3)
    assert res["lr"] == pytest.approx(5.0) and not res["at_edge"]
    flat = search_grid(lambda lr, wd: 0.25, (1e-2, 1e-1, 1.0), (1e-4, 1e-3, 1e-2), max_extend=2)
    assert flat["at_edge"]


def test_search_grid_reports_edge_when_budget_runs_out() -> None:
    res = search_grid(lambda lr, wd: lr, (1.0, 2.0, 3.0), (1.0, 2.0, 3.0), max_extend=1)
    assert res["at_edge"] and res["lr"] == 30.0


def test_search_grid_flat_axis_settles_inside_instead_of_extending() -> None:
    """Regression: weight decay that never changes validation accuracy made every point of
    the wd axis a tie, the first (smallest) won, and the grid was extended downwards until
    the budget ran out (chosen point at the edge every time)."""
    calls = []

    def evaluate(lr: float, wd: float) -> float:
        calls.append((lr, wd))
        return round(-abs(np.log10(lr) + 2), 6)  # peak at lr=1e-2, flat in wd

    res = search_grid(evaluate, (1e-3, 1e-2, 1e-1), (1e-5, 1e-4, 1e-3), max_extend=3)
    assert res["lr"] == pytest.approx(1e-2) and res["wd"] == pytest.approx(1e-4)
    assert not res["at_edge"] and len(calls) == 9  # no extension was needed


def _tiny_finetune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> tuple[CellStore, MeasureConfig]:
    """A tiny torch zoo entry with a finetune split on a synthetic 3-class target whose
    starting learning rates are all too small; returns (store, config)."""
    torch = pytest.importorskip("torch")

    class _Pre:
        key = "tiny-pre-v1"

        def with_size(self, size: int) -> _Pre:
            return self

        def __call__(self, batch):
            return np.asarray(batch, dtype=np.float32)

    def _split(net, blocks):
        return net[0], net[1]

    def _load():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Identity(), torch.nn.Sequential(
            torch.nn.Linear(6, 8), torch.nn.ReLU()))

    register(ZooEntry(name="test-measure-tiny-torch", kind="vision", package="none",
                      loader=_load, feature_dim=8, preprocessing=_Pre(),
                      extra={"finetune_split": _split}), replace=True)
    target = _target(n_per_class=40)
    monkeypatch.setitem(measure.TARGETS, "synthetic", ("vision", lambda m, k: target))
    store = CellStore(tmp_path / "cells.jsonl")
    cfg = MeasureConfig(cache_dir=str(tmp_path / "cache"), ft_lrs=(1e-5, 1e-4, 1e-3),
                        ft_wds=(1e-5, 1e-4, 1e-3), ft_epochs=5, ft_batch=16, ft_max_extend=6)
    return store, cfg


def test_finetune_grid_extends_on_a_tiny_torch_model(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The finetune protocol end to end on a tiny torch model: the starting learning rates
    are all too small (the grid is flat at chance, then the best is its top edge); the
    search extends the axis until the chosen point is inside, and the cell records it
    (at_edge False, the extended grid, 3 seeds at the chosen point)."""
    store, cfg = _tiny_finetune(tmp_path, monkeypatch)
    log: list[str] = []
    counts = measure.run(store, ["test-measure-tiny-torch"], ["synthetic"],
                         protocols=("finetune",), seeds=(0, 1, 2), cfg=cfg, log=log.append)
    assert counts == {"done": 3, "skipped": 0, "failed": 0}, log
    cells = list(store.load().values())
    assert len(cells) == 3 and {c["seed"] for c in cells} == {0, 1, 2}
    c = cells[0]
    lrs = sorted({float(k.split(",")[0][3:]) for k in c["grid"]})
    wds = sorted({float(k.split(",")[1][3:]) for k in c["grid"]})
    assert not c["at_edge"] and lrs[0] < c["lr"] < lrs[-1] and wds[0] < c["wd"] < wds[-1]
    assert c["lr"] > 1e-3 and lrs[-1] > 1e-3  # the lr axis was extended past the start
    assert c["config"]["lrs"] == [1e-5, 1e-4, 1e-3]  # the cell's tag is the starting grid
    assert all(cc["lr"] == c["lr"] and cc["wd"] == c["wd"] for cc in cells)
    assert c["accuracy"] > 0.5  # 3 well separated classes: chance is 1/3
    points = [json.loads(line) for line in store.grid_path.read_text().splitlines()]
    assert len(points) == len(c["grid"])  # every grid point was stored as it finished


def test_an_interrupted_finetune_grid_resumes_from_its_stored_points(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (stop 19): a fine-tuning pair's grid search (up to 17 minutes a point for
    the VGG16s on 2 cores) was lost when the run stopped before its seeds were trained.
    The grid points are now stored as they finish (``cells.grid.jsonl``): a rerun trains
    only the missing ones, skips a torn last line, and ignores points of another config."""
    store, cfg = _tiny_finetune(tmp_path, monkeypatch)
    first = measure.run(store, ["test-measure-tiny-torch"], ["synthetic"],
                        protocols=("finetune",), seeds=(0,), cfg=cfg, log=lambda m: None)
    assert first["done"] == 1
    cell = next(iter(store.load().values()))
    # The run "died" after its grid: no cell, every point but the chosen one, a torn line.
    store.path.unlink()
    chosen = {"lr": cell["lr"], "wd": cell["wd"]}
    kept = [line for line in store.grid_path.read_text().splitlines()
            if {k: json.loads(line)[k] for k in ("lr", "wd")} != chosen]
    store.grid_path.write_text("\n".join(kept) + '\n{"model": "test-measure-ti')
    calls: list[tuple[float, float]] = []
    real = measure._ft_eval

    def counted(top, dim, Z, y, fit, ev, lr, wd, cfg_, seed):
        calls.append((lr, wd))
        return real(top, dim, Z, y, fit, ev, lr, wd, cfg_, seed)

    monkeypatch.setattr(measure, "_ft_eval", counted)
    measure.run(store, ["test-measure-tiny-torch"], ["synthetic"], protocols=("finetune",),
                seeds=(0,), cfg=cfg, log=lambda m: None)
    again = next(iter(store.load().values()))
    # the missing grid point, then the seed at the same chosen point
    assert calls == [(cell["lr"], cell["wd"])] * 2
    assert (again["lr"], again["wd"], again["grid"]) == (cell["lr"], cell["wd"], cell["grid"])
    assert again["accuracy"] == cell["accuracy"]
    # another config (more epochs) shares no points
    other = MeasureConfig(**{**cfg.__dict__, "ft_epochs": 6})
    assert store.grid_points("test-measure-tiny-torch", "synthetic", other.tag("finetune")) == {}


def test_summarise_interval() -> None:
    s = summarise([0.5, 0.6, 0.7])
    assert s["mean"] == pytest.approx(0.6) and s["lo"] < 0.6 < s["hi"]
    assert np.isnan(summarise([0.5])["std"])


def test_noise_ceiling_perfect_and_reversed() -> None:
    same = {"a": [0.9, 0.9], "b": [0.5, 0.5], "c": [0.1, 0.1]}
    assert noise_ceiling(same)["median"] == pytest.approx(1.0)
    flip = {"a": [0.9, 0.1], "b": [0.5, 0.5], "c": [0.1, 0.9]}
    assert noise_ceiling(flip)["median"] == pytest.approx(-1.0)


def test_write_table_and_replicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pedrank.groundtruth import tables

    cells = [
        {"model": m, "target": "t", "protocol": "ridge", "seed": s, "accuracy": a}
        for m, accs in {"a": [0.8, 0.9], "b": [0.4, 0.6], "c": [0.2, 0.3]}.items()
        for s, a in enumerate(accs)
    ]
    out = tmp_path / "groundtruth" / "evidence_test.json"
    write_table(cells, "ridge", out, about="test")
    raw = json.loads(out.read_text())
    assert raw["t"]["a"] == pytest.approx(0.85)
    monkeypatch.setattr(tables, "_data_dir", lambda: tmp_path / "groundtruth")
    assert tables.load("evidence_test") == {"t": {"a": 0.85, "b": 0.5, "c": 0.25}}
    assert tables.replicates("evidence_test") == {
        "t": {"a": [0.8, 0.9], "b": [0.4, 0.6], "c": [0.2, 0.3]}
    }


def test_unknown_target_and_protocol() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        measure.load_target("nope")
