"""The benchmark runner: complete grid, resume, interruption, failures, parallel paths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import pedrank
from pedrank.pipeline.bench import runner
from pedrank.pipeline.bench.config import PedVariant
from pedrank.pipeline.bench.runner import plan_grid, run_bench
from pedrank.pipeline.bench.store import ResultStore
from pedrank.pipeline.feature_files import load_feature_file, save_feature_file

N_CELLS = 3 * 2 * 3 * 2  # models x datasets x metrics x {PED off, PED on}


def test_complete_run_scores_every_cell_like_pedrank_score(make_config, probe, stored):
    cfg = make_config()
    summary = run_bench(cfg, progress=False)
    assert (summary.n_cells, summary.computed, summary.skipped, summary.failed) == (
        N_CELLS, N_CELLS, 0, 0)
    # The probe is called once per (file, PED setting): 3 x 2 x 2.
    assert len(probe) == 12
    cells = stored(cfg.results)
    assert len(cells) == N_CELLS
    # Every stored score equals the public API's score for that cell (PED computed
    # once per file and shared by the metrics must not change any value).
    for (model, dataset, metric, variant), (status, value) in cells.items():
        assert status == "ok"
        ff = load_feature_file(cfg.features / f"{model}_{dataset}.npz")
        ped = False if variant == "none" else pedrank.PED()
        expected = pedrank.score(ff.features, ff.labels, metric=metric, ped=ped,
                                 source=ff.source)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_rerun_recomputes_nothing(make_config, probe, monkeypatch):
    cfg = make_config()
    run_bench(cfg, progress=False)
    n_probe = len(probe)
    task_calls: list[int] = []
    original = runner.run_task

    def counting(task):
        task_calls.append(1)
        return original(task)

    monkeypatch.setattr(runner, "run_task", counting)
    summary = run_bench(cfg, progress=False)
    assert summary.computed == 0
    assert summary.skipped == N_CELLS
    assert task_calls == []
    assert len(probe) == n_probe


def test_changed_parameter_recomputes_only_affected_cells_and_keeps_old_rows(
        make_config, probe, stored):
    cfg = make_config()
    run_bench(cfg, progress=False)
    before = stored(cfg.results)
    cfg2 = make_config(ped=[PedVariant("ped", {"nsigma": 0.3})])
    summary = run_bench(cfg2, progress=False)
    # Only the PED cells depend on nsigma.
    assert summary.computed == N_CELLS // 2
    assert summary.skipped == N_CELLS // 2
    assert summary.changed == N_CELLS // 2
    with ResultStore(cfg.results) as store:
        rows = store.all_cells()
    assert len(rows) == N_CELLS + N_CELLS // 2  # the nsigma=0.6 rows were not overwritten
    nsigmas = {'"nsigma": 0.6' in r.params for r in rows if r.variant == "ped"}
    assert nsigmas == {True, False}
    # The baseline rows are untouched.
    after_base = {k: v for k, v in stored(cfg.results).items() if k[3] == "none"}
    assert after_base == {k: v for k, v in before.items() if k[3] == "none"}


def test_changed_input_file_recomputes_only_its_cells(make_config, probe, zoo):
    cfg = make_config()
    run_bench(cfg, progress=False)
    ff = load_feature_file(zoo / "m2_d1.npz")
    save_feature_file(zoo / "m2_d1.npz", ff.features * 1.5, ff.labels,
                      source=ff.source, source_probs=ff.source_probs)
    summary = run_bench(cfg, progress=False)
    assert summary.computed == 3 * 2  # 3 metrics x {off, on} of the one file
    assert summary.skipped == N_CELLS - 6


def test_interrupted_run_resumes_to_identical_results(make_config, probe, stored):
    k = 7
    cfg = make_config(results="interrupted")
    seen: list[str] = []

    def stop_after_k(res):
        seen.append(res.key)
        if len(seen) == k:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(cfg, progress=False, on_cell=stop_after_k)
    partial = stored(cfg.results)
    assert len(partial) == k  # exactly the committed cells, nothing half-written
    with ResultStore(cfg.results) as store:
        assert store.runs()[-1]["status"] == "interrupted"
        assert store.runs()[-1]["n_computed"] == k

    summary = run_bench(cfg, progress=False)
    assert summary.skipped == k
    assert summary.computed == N_CELLS - k

    fresh = make_config(results="fresh")
    run_bench(fresh, progress=False)
    assert stored(cfg.results) == stored(fresh.results)


def test_corrupt_feature_file_is_a_failed_cell_and_the_grid_continues(make_config, probe,
                                                                        zoo, stored):
    (zoo / "m3_d2.npz").write_bytes(b"this is not an npz file")
    cfg = make_config()
    summary = run_bench(cfg, progress=False)
    assert summary.computed == N_CELLS
    assert summary.failed == 6
    cells = stored(cfg.results)
    failed = {k for k, (status, _) in cells.items() if status == "failed"}
    assert failed == {("m3", "d2", m, v) for m in ("logme", "sfda", "bench_probe")
                      for v in ("none", "ped")}
    with ResultStore(cfg.results) as store:
        errors = {c.error for c in store.all_cells() if c.status == "failed"}
    assert all("cannot load" in e and "m3_d2.npz" in e for e in errors)
    # Failed cells are not retried unless asked ...
    assert run_bench(cfg, progress=False).computed == 0
    # ... and retry_failed recomputes them (with the same broken file they fail again,
    # replacing the failed rows; a fixed file would have a new hash, hence new keys).
    cfg.retry_failed = True
    again = run_bench(cfg, progress=False)
    assert (again.computed, again.failed) == (6, 6)


def test_metric_error_is_recorded_with_its_message(make_config, monkeypatch, stored):
    from pedrank.core.metrics import _registry

    def broken(X, y):
        raise ValueError("boom: this metric is broken")

    monkeypatch.setitem(_registry._REGISTRY, "bench_broken",
                        _registry.MetricSpec("bench_broken", broken, "features", "test"))
    cfg = make_config(metrics=["logme", "bench_broken"], ped=[])
    summary = run_bench(cfg, progress=False)
    assert summary.failed == 6 and summary.computed == 12
    with ResultStore(cfg.results) as store:
        errs = [c.error for c in store.all_cells() if c.metric == "bench_broken"]
    assert errs and all("boom: this metric is broken" in e for e in errs)


def test_missing_feature_file_is_reported_not_stored(make_config, probe, zoo):
    (zoo / "m1_d1.npz").unlink()
    cfg = make_config(models=["m1", "m2", "m3"], datasets=["d1", "d2"])
    summary = run_bench(cfg, progress=False)
    assert summary.missing_inputs == 6
    assert summary.computed == N_CELLS - 6
    with ResultStore(cfg.results) as store:
        grid = plan_grid(cfg, store)
    assert {c.missing.split(":")[0] for c in grid.missing} == {"feature file not found"}


def test_source_output_metric_has_no_ped_cells(make_config, monkeypatch):
    # PED moves features; a metric scoring the source model's outputs cannot follow it.
    from pedrank.core.metrics import _registry

    spec = _registry.MetricSpec("bench_src", lambda P, y: float(np.mean(P)),
                                "source_probs", "test")
    monkeypatch.setitem(_registry._REGISTRY, "bench_src", spec)
    cfg = make_config(metrics=["logme", "bench_src"])
    with ResultStore(cfg.results) as store:
        grid = plan_grid(cfg, store)
    assert {c.variant for c in grid.cells if c.metric == "bench_src"} == {"none"}
    assert len(grid.cells) == 6 * 3  # logme off/on + the source metric off
    summary = run_bench(cfg, progress=False)
    assert summary.failed == 0 and summary.computed == 18


def test_parallel_processes_match_serial(make_config, stored):
    # Worker processes cannot see the test-only probe metric: real metrics only.
    serial = make_config(results="serial", metrics=["logme", "sfda"])
    par = make_config(results="par", metrics=["logme", "sfda"], jobs=2)
    s1 = run_bench(serial, progress=False)
    s2 = run_bench(par, progress=False)
    assert s2.executor == "joblib(2)"
    assert s1.computed == s2.computed == 24
    assert stored(serial.results) == stored(par.results)


def test_dask_local_cluster_matches_local_path(make_config, probe, stored):
    pytest.importorskip("distributed")  # installed in CI via .ci/requirements.txt
    local = make_config(results="local")
    dask = make_config(results="dask", scheduler="local", jobs=1, dask_processes=False)
    run_bench(local, progress=False)
    summary = run_bench(dask, progress=False)
    assert summary.executor == "dask(local)"
    assert summary.computed == N_CELLS and summary.failed == 0
    a, b = stored(local.results), stored(dask.results)
    assert a == b
    assert all(math.isfinite(v) for _, v in a.values())


def test_thread_limit_is_applied_in_the_worker(make_config, monkeypatch):
    from threadpoolctl import threadpool_info

    seen: list[int] = []
    original = runner._run_task

    def spy(task):
        seen.extend(p["num_threads"] for p in threadpool_info())
        return original(task)

    monkeypatch.setattr(runner, "_run_task", spy)
    cfg = make_config(metrics=["logme"], ped=[], blas_threads=1)
    run_bench(cfg, progress=False)
    if not seen:
        pytest.fail("no BLAS/OpenMP thread pool found; numpy always loads one")
    assert set(seen) == {1}


def test_relative_paths_in_config_resolve_against_its_folder(tmp_path: Path, zoo):
    from pedrank.pipeline.bench.config import load_config

    (tmp_path / "bench.toml").write_text(
        'features = "feat"\nresults = "out"\ngroundtruth = "feat/groundtruth.json"\n')
    cfg = load_config(tmp_path / "bench.toml")
    assert cfg.features == tmp_path / "feat"
    assert cfg.results == tmp_path / "out"
    assert cfg.groundtruth == str(tmp_path / "feat" / "groundtruth.json")


def test_discovery_skips_source_statistics_files(tmp_path: Path):
    from pedrank.pipeline.bench.runner import discover

    for name in ("simclr_v1_cifar10.npz", "simclr_v1_source.npz", "byol_dtd.npz", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found = discover(tmp_path, "{model}_{dataset}.npz", "{model}_source.npz")
    assert set(found) == {("simclr_v1", "cifar10"), ("byol", "dtd")}
    assert ("simclr_v1", "source") in discover(tmp_path, "{model}_{dataset}.npz")


def test_separate_source_file_change_recomputes_only_ped_cells(tmp_path: Path):
    from pedrank.core.source import SourceStats
    from pedrank.pipeline.bench.config import BenchConfig
    from pedrank.pipeline.feature_files import save_feature_file

    rng = np.random.default_rng(3)
    feat = tmp_path / "feat"
    for m in ("a", "b"):
        for d in ("x", "y"):
            y = np.repeat([0, 1, 2], 10)
            X = np.abs(rng.normal(1, 0.3, (30, 4))) + y[:, None] * 0.1
            save_feature_file(feat / f"{m}_{d}.npz", X, y)
        SourceStats(np.ones(4), np.full(4, 0.4)).save(feat / f"{m}_source.npz")
    cfg = BenchConfig(features=feat, source_pattern="{model}_source.npz", metrics=["logme", "sfda"],
                      results=tmp_path / "res", blas_threads=1)
    s1 = run_bench(cfg, progress=False)
    assert (s1.n_cells, s1.computed, s1.failed) == (16, 16, 0)  # the source files are no cells
    SourceStats(np.ones(4), np.full(4, 0.2)).save(feat / "a_source.npz")
    s2 = run_bench(cfg, progress=False)
    assert (s2.computed, s2.skipped) == (2 * 2, 12)  # model a: 2 datasets x 2 metrics, PED only
