"""Stores that cannot lie: content-hash reuse, cell claims, dead runs, corrupt stores, Dask.

The kill -9 and two-process tests run real ``bench`` processes on one store
with a slow metric registered in each process, and check from the store and
from the metric's own call log that no committed cell is computed twice and
none is lost.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pedrank.pipeline.bench.config import BenchConfig
from pedrank.pipeline.bench.runner import (
    NoWorkerError,
    _collect,
    _make_tasks,
    feature_path,
    plan_grid,
    run_bench,
)
from pedrank.pipeline.bench.store import CellResult, ResultStore, StoreError
from pedrank.pipeline.bench.synthetic import make_feature_zoo

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A bench process with a slow metric that logs "pid checksum-of-X" per call.
WORKER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from pedrank.core.metrics import _registry
    from pedrank.pipeline.bench.config import BenchConfig
    from pedrank.pipeline.bench.runner import run_bench

    features, results, log, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

    def slow_probe(X, y):
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()} {float(np.asarray(X).sum()):.12e}\\n")
        time.sleep(pause)
        return float(np.asarray(X).var())

    _registry._REGISTRY["slow_probe"] = _registry.MetricSpec(
        "slow_probe", slow_probe, "features", "test", "O(1)")
    cfg = BenchConfig(features=features, results=results, metrics=["slow_probe"], ped=[],
                      blas_threads=1)
    s = run_bench(cfg, progress=False)
    print(s.run_id, s.computed, s.taken, s.skipped, ",".join(map(str, s.died_runs)),
          flush=True)
""")

MODELS = ("m1", "m2", "m3", "m4")
DATASETS = ("d1", "d2", "d3")
N_CELLS = len(MODELS) * len(DATASETS)


@pytest.fixture
def grid(tmp_path: Path) -> SimpleNamespace:
    feat = tmp_path / "feat"
    make_feature_zoo(feat, MODELS, DATASETS, seed=11)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    return SimpleNamespace(feat=feat, res=tmp_path / "res", log=tmp_path / "calls.log",
                           script=script)


def _spawn(g: SimpleNamespace, pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(g.script), str(g.feat), str(g.res), str(g.log), str(pause)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _rows(res: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(res / "results.sqlite", timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return con.execute("SELECT key, run_id, status FROM cells").fetchall()
    finally:
        con.close()


def _calls(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    return [(int(p), s) for p, s in (line.split() for line in log.read_text().splitlines())]


def test_kill_9_mid_run_is_marked_died_and_the_restart_completes(grid: SimpleNamespace):
    first = _spawn(grid, pause=0.4)
    deadline = time.monotonic() + 120
    committed: list[sqlite3.Row] = []
    while time.monotonic() < deadline:
        if (grid.res / "results.sqlite").exists():
            try:
                committed = _rows(grid.res)
            except sqlite3.OperationalError:
                committed = []
        if len(committed) >= 3:
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    before = _rows(grid.res)
    assert 3 <= len(before) < N_CELLS
    with ResultStore(grid.res) as store:
        (dead_run,) = [r for r in store.runs() if r["status"] == "running"]
        assert dead_run["pid"] == first.pid and store.claims()  # its in-flight claim

    second = _spawn(grid, pause=0.0)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    parts = out.split()  # run_id computed taken skipped died-runs
    run_id, computed, died = parts[0], parts[1], parts[4] if len(parts) > 4 else ""
    assert died == str(dead_run["run_id"])
    after = _rows(grid.res)
    assert len(after) == N_CELLS and all(r["status"] == "ok" for r in after)
    by_run = Counter(r["run_id"] for r in after)
    assert by_run[dead_run["run_id"]] == len(before)  # committed cells kept as they were
    assert int(computed) == N_CELLS - len(before)  # ... and not computed again
    calls = Counter(s for _, s in _calls(grid.log))
    # Each cell's metric ran once, except the one in flight at the kill (lost, redone).
    assert sum(calls.values()) - N_CELLS in (0, 1) and len(calls) == N_CELLS
    print(f"kill -9: {len(before)} cells committed before the kill, {computed} computed by "
          f"the restart, {sum(calls.values()) - N_CELLS} metric call(s) lost in flight")
    with ResultStore(grid.res) as store:
        status = {r["run_id"]: r["status"] for r in store.runs()}
        assert status[dead_run["run_id"]] == "died" and status[int(run_id)] == "completed"
        assert not store.claims()


def test_two_processes_on_one_store_compute_every_cell_once(grid: SimpleNamespace):
    procs = [_spawn(grid, pause=0.15) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    rows = _rows(grid.res)
    assert len(rows) == N_CELLS and all(r["status"] == "ok" for r in rows)
    calls = _calls(grid.log)
    per_cell = Counter(s for _, s in calls)
    assert len(per_cell) == N_CELLS and set(per_cell.values()) == {1}  # nothing twice
    counts = [[int(x) for x in out.split()[1:4]] for out, _ in outs]  # computed taken skipped
    assert sum(c[0] for c in counts) == N_CELLS  # nothing lost, nothing twice
    # Each process accounts for every cell: computed here, or done/held by the other.
    assert [sum(c) for c in counts] == [N_CELLS, N_CELLS]
    print("two-process split (computed, taken, skipped):", counts)


def _cell(key: str, run_id: int | None = None) -> CellResult:
    return CellResult(key=key, model="m", dataset="d", metric="x", variant="none", params="{}",
                      input_hash="h", status="ok", score=0.5, run_id=run_id)


def test_opening_a_new_store_waits_for_another_process_lock(tmp_path: Path):
    # Regression (stop 19): two processes opening a new store at once failed with "not a
    # readable pedrank results store (database is locked)": switching the journal to WAL
    # never waits for a lock (SQLite skips the busy handler there). Here another process
    # holds a write lock for half a second on a store still in rollback-journal mode.
    path = tmp_path / "results.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys, time
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("CREATE TABLE held(i)")
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO held VALUES (1)")
        print("locked", flush=True)
        time.sleep(0.5)
        con.execute("COMMIT")
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with ResultStore(path) as store:  # waits for the lock instead of failing
            mode = store._con.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0


def test_claims_are_exclusive_and_released(tmp_path: Path):
    with ResultStore(tmp_path) as a, ResultStore(tmp_path) as b:
        ra = a.start_run(executor="serial", jobs=1, n_cells=3, n_skipped=0, config="{}")
        rb = b.start_run(executor="serial", jobs=1, n_cells=3, n_skipped=0, config="{}")
        mine, taken = a.claim(["k1", "k2"], ra)
        assert mine == {"k1", "k2"} and not taken
        mine, taken = b.claim(["k1", "k2", "k3"], rb)
        assert mine == {"k3"} and taken == {"k1", "k2"}
        a.put(_cell("k1", ra))
        assert "k1" not in a.claims()
        a.finish_run(ra, status="interrupted", wall_seconds=0.0)  # k2 is free again
        mine, taken = b.claim(["k1", "k2"], rb)
        assert mine == {"k2"} and taken == {"k1"}


def test_a_run_whose_pid_is_gone_is_marked_died(tmp_path: Path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with ResultStore(tmp_path) as store:
        run = store.start_run(executor="serial", jobs=1, n_cells=1, n_skipped=0, config="{}")
        store.claim(["k"], run)
        live = store.start_run(executor="serial", jobs=1, n_cells=1, n_skipped=0, config="{}")
        store._con.execute("UPDATE runs SET pid=? WHERE run_id=?", (dead.pid, run))
        assert store.recover_dead_runs() == [run]  # the live one (this process) stays
        status = {r["run_id"]: r["status"] for r in store.runs()}
        assert status == {run: "died", live: "running"}
        assert not store.claims()


def test_a_corrupt_store_is_one_error_with_the_way_out(tmp_path: Path):
    (tmp_path / "results.sqlite").write_bytes(b"garbage " * 512)
    with pytest.raises(StoreError, match="move it away") as info:
        ResultStore(tmp_path)
    assert "results.sqlite" in str(info.value) and "\n" not in str(info.value)
    file_not_folder = tmp_path / "plain"
    file_not_folder.write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        ResultStore(file_not_folder)


def test_a_feature_file_rewritten_in_place_is_recomputed(tmp_path: Path):
    feat = tmp_path / "feat"
    make_feature_zoo(feat, ("m1", "m2"), ("d1",), seed=5)
    cfg = BenchConfig(features=feat, results=tmp_path / "res", metrics=["logme"], ped=[],
                      blas_threads=1)
    run_bench(cfg, progress=False)
    path = feat / "m1_d1.npz"
    st = path.stat()
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["features"] = arrays["features"][::-1].copy()  # same size, other content
    arrays["labels"] = arrays["labels"][::-1].copy()
    arrays["features"][:, 0] *= 3.0
    with open(path, "r+b") as fh:  # in place: same inode
        np.savez(fh, **arrays)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime restored
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    again = run_bench(cfg, progress=False)
    assert again.computed == 1 and again.changed == 1 and again.skipped == 1


def test_workers_get_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_feature_zoo(tmp_path / "feat", ("m1",), ("d1",), seed=1)
    monkeypatch.chdir(tmp_path)
    cfg = BenchConfig(features=Path("feat"), results=Path("res"), metrics=["logme"], ped=[])
    with ResultStore(cfg.results) as store:
        grid = plan_grid(cfg, store)
    (task,) = _make_tasks(grid.runnable, 1)
    assert Path(task.path).is_absolute() and Path(task.path).is_file()


def test_a_dataset_path_never_places_files_outside_the_features_folder(tmp_path: Path,
                                                                       monkeypatch):
    from pedrank.pipeline.bench import extraction

    data = tmp_path / "my-data" / "flowers"
    data.mkdir(parents=True)
    cfg = BenchConfig(features=tmp_path / "feat", results=tmp_path / "res",
                      pattern="{dataset}/{model}.npz", models=["m1"], datasets=[str(data)],
                      extract={"max_samples": 10})
    p = feature_path(cfg, "m1", str(data))
    assert p.resolve().is_relative_to((tmp_path / "feat").resolve())
    rng = np.random.default_rng(0)
    monkeypatch.setattr(extraction, "_extract_one", lambda m, d, o: (
        rng.normal(size=(10, 3)), np.arange(10) % 2, None))
    assert extraction.ensure_features(cfg, None, verbose=False) == 1
    assert list((tmp_path / "my-data").rglob("*")) == [data]  # nothing written there
    assert p.is_file()
    with pytest.raises(ValueError, match="outside the features folder"):
        feature_path(cfg, "m1", "d1", pattern="../{model}_{dataset}.npz")


class _FakeFuture:
    def __init__(self, key: str, value: list[CellResult]) -> None:
        self.key, self.value, self.released = key, value, False

    def result(self) -> list[CellResult]:
        return self.value

    def release(self) -> None:
        self.released = True


class _FakeCompleted:
    """as_completed over futures that are ready one poll at a time."""

    def __init__(self, futures: list[_FakeFuture]) -> None:
        self.futures = list(futures)

    def is_empty(self) -> bool:
        return not self.futures

    def has_ready(self) -> bool:
        return bool(self.futures)

    def next_batch(self, block: bool = True) -> list[_FakeFuture]:
        return [self.futures.pop(0)]


def test_collected_futures_are_released(tmp_path: Path):
    futs = [_FakeFuture(f"f{i}", [_cell(f"k{i}")]) for i in range(3)]
    task_of = {f.key: SimpleNamespace(cells=()) for f in futs}
    out = list(_collect(_FakeCompleted(futs), task_of, client=None, timeout=1.0))
    assert [r[0].key for r in out] == ["k0", "k1", "k2"]
    assert all(f.released for f in futs) and not task_of  # nothing kept alive


def test_no_live_worker_fails_after_the_timeout():
    class NeverReady(_FakeCompleted):
        def has_ready(self) -> bool:
            return False

    client = SimpleNamespace(scheduler_info=lambda n_workers=-1: {"workers": {}})
    t0 = time.monotonic()
    with pytest.raises(NoWorkerError, match="every Dask worker is gone"):
        list(_collect(NeverReady([_FakeFuture("f", [])]), {"f": None}, client, timeout=0.3))
    assert time.monotonic() - t0 < 10


def test_a_cluster_without_workers_is_a_message_not_a_hang(tmp_path: Path):
    distributed = pytest.importorskip("distributed", reason="needs dask.distributed")
    make_feature_zoo(tmp_path / "feat", ("m1",), ("d1",), seed=1)
    with distributed.LocalCluster(n_workers=0, processes=False,
                                  dashboard_address=None) as cluster:
        cfg = BenchConfig(features=tmp_path / "feat", results=tmp_path / "res",
                          metrics=["logme"], ped=[], scheduler=cluster.scheduler_address,
                          scheduler_timeout=1.0)
        with pytest.raises(NoWorkerError, match="no Dask worker joined"):
            run_bench(cfg, progress=False)
    with ResultStore(tmp_path / "res") as store:
        assert not store.claims()  # released for the next run
