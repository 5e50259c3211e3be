"""The SQLite result store: atomic cells, no silent overwrite, crash consistency."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pedrank.pipeline.bench.store import CellResult, ResultStore, cell_key


def _cell(key: str = "k1", status: str = "ok", score: float | None = 0.5, **kw) -> CellResult:
    base = dict(key=key, model="m", dataset="d", metric="logme", variant="none", params="{}",
                input_hash="h", status=status, score=score)
    base.update(kw)
    return CellResult(**base)


def test_ok_cell_is_never_overwritten(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        assert store.put(_cell(score=0.5))
        assert not store.put(_cell(score=0.9))
        assert store.get(["k1"])["k1"].score == 0.5


def test_failed_cell_may_be_replaced_by_a_retry(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        store.put(_cell(status="failed", score=None, error="boom"))
        assert store.get(["k1"])["k1"].error == "boom"
        assert store.put(_cell(score=0.25))
        row = store.get(["k1"])["k1"]
        assert (row.status, row.score, row.error) == ("ok", 0.25, None)


def test_ok_cell_needs_a_finite_score(tmp_path: Path):
    with ResultStore(tmp_path) as store, pytest.raises(ValueError, match="finite"):
        store.put(_cell(score=float("nan")))


def test_cell_key_depends_on_every_parameter_not_on_order():
    a = cell_key(model="m", ped={"nsigma": 0.6, "time_step": 0.1}, input="h")
    b = cell_key(input="h", ped={"time_step": 0.1, "nsigma": 0.6}, model="m")
    assert a == b
    assert a != cell_key(model="m", ped={"nsigma": 0.3, "time_step": 0.1}, input="h")
    assert a != cell_key(model="m", ped={"nsigma": 0.6, "time_step": 0.1}, input="h2")
    assert a != cell_key(model="m", ped=None, input="h")


def test_file_hash_is_the_content_sha256_and_follows_changes(tmp_path: Path):
    f = tmp_path / "x.npz"
    f.write_bytes(b"abc")
    with ResultStore(tmp_path / "res") as store:
        assert store.file_hash(f) == hashlib.sha256(b"abc").hexdigest()
        assert store.file_hash(f) == hashlib.sha256(b"abc").hexdigest()  # cached
        f.write_bytes(b"abcd")
        assert store.file_hash(f) == hashlib.sha256(b"abcd").hexdigest()


def test_store_with_another_schema_is_refused(tmp_path: Path):
    ResultStore(tmp_path).close()
    con = sqlite3.connect(tmp_path / "results.sqlite")
    con.execute("UPDATE meta SET value='999' WHERE name='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(ValueError, match="schema"):
        ResultStore(tmp_path)


def test_hard_crash_mid_run_leaves_a_consistent_store(make_config, tmp_path: Path):
    """Kill the process (os._exit, no cleanup) after k committed cells."""
    cfg = make_config(metrics=["logme", "sfda"])
    code = textwrap.dedent(f"""
        import os
        from pedrank.pipeline.bench.config import BenchConfig
        from pedrank.pipeline.bench.runner import run_bench
        n = []
        def die(res):
            n.append(1)
            if len(n) == 5:
                os._exit(3)
        cfg = BenchConfig(features={str(cfg.features)!r}, metrics=["logme", "sfda"],
                          results={str(cfg.results)!r}, blas_threads=1)
        run_bench(cfg, progress=False, on_cell=die)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    con = sqlite3.connect(cfg.results / "results.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    with ResultStore(cfg.results) as store:
        assert len(store.all_cells()) == 5
        assert store.runs()[-1]["status"] == "running"  # never finished
    from pedrank.pipeline.bench.runner import run_bench

    summary = run_bench(cfg, progress=False)
    assert (summary.skipped, summary.computed) == (5, 24 - 5)
