"""Crash-safe result store: one SQLite file in the results folder.

Each finished cell (model x dataset x metric x PED setting) is one row, written
in its own transaction, so a crash or Ctrl-C leaves every committed cell
intact and no half-written one. A row is keyed by the SHA-256 of everything
that determines its value: the input files' content hash, the metric and its
keyword arguments, and all PED hyper-parameters. Consequences:

* a rerun finds the keys of finished cells and skips them;
* changing a parameter or an input file yields a new key, so the cell is
  recomputed and the old row is kept (never overwritten with a result that was
  computed with different parameters);
* a successful row is never replaced; only a failed one may be replaced by a
  retry (``retry_failed``), which is the same computation attempted again.

Only the coordinating process writes; workers return results to it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

STORE_FILENAME = "results.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    metric TEXT NOT NULL,
    variant TEXT NOT NULL,
    params TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    score REAL,
    error TEXT,
    warnings TEXT,
    seconds REAL,
    ped_seconds REAL,
    load_seconds REAL,
    n_samples INTEGER,
    n_features INTEGER,
    n_classes INTEGER,
    run_id INTEGER,
    host TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS cells_by_name ON cells (model, dataset, metric, variant);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    executor TEXT,
    jobs INTEGER,
    n_cells INTEGER,
    n_skipped INTEGER DEFAULT 0,
    n_computed INTEGER DEFAULT 0,
    n_failed INTEGER DEFAULT 0,
    wall_seconds REAL,
    config TEXT
);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


@dataclass
class CellResult:
    """The outcome of one cell, as stored."""

    key: str
    model: str
    dataset: str
    metric: str
    variant: str
    params: str
    input_hash: str
    status: str
    score: float | None = None
    error: str | None = None
    warnings: str | None = None
    seconds: float | None = None
    ped_seconds: float | None = None
    load_seconds: float | None = None
    n_samples: int | None = None
    n_features: int | None = None
    n_classes: int | None = None
    run_id: int | None = None
    host: str | None = None
    finished_at: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_CELL_COLUMNS = tuple(f.name for f in fields(CellResult))


def cell_key(**identity: Any) -> str:
    """SHA-256 of the canonical JSON of a cell's identity (inputs' hash + all parameters)."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, streamed (feature files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class ResultStore:
    """The SQLite file ``<results>/results.sqlite`` holding cells and runs.

    Parameters
    ----------
    path : path-like
        The results folder (created if missing) or the ``.sqlite`` file itself.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        if path.suffix != ".sqlite":
            path.mkdir(parents=True, exist_ok=True)
            path = path / STORE_FILENAME
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # isolation_level=None: we open transactions explicitly, one per cell.
        self._con = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._con.row_factory = sqlite3.Row
        # WAL: readers (e.g. a report while a run is going) never block the
        # writer; synchronous=FULL makes each committed cell survive a crash.
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.executescript(_SCHEMA)
        row = self._con.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if row is None:
            with self._tx():
                self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                  (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise ValueError(
                f"{path} was written by another pedrank version (store schema {row[0]}, "
                f"expected {SCHEMA_VERSION}); use a new results folder"
            )

    # -- plumbing -------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- input hashes ---------------------------------------------------------
    def file_hash(self, path: str | os.PathLike[str]) -> str:
        """Content hash of a file, cached by (size, mtime) so reruns do not reread it."""
        p = Path(path).resolve()
        st = p.stat()
        row = self._con.execute(
            "SELECT size, mtime_ns, sha256 FROM file_hashes WHERE path=?", (str(p),)
        ).fetchone()
        if row is not None and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
            return str(row["sha256"])
        digest = sha256_file(p)
        with self._tx() as con:
            con.execute("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                        (str(p), st.st_size, st.st_mtime_ns, digest))
        return digest

    # -- cells ----------------------------------------------------------------
    def put(self, result: CellResult) -> bool:
        """Write one finished cell atomically; return whether it was written.

        A failed row may be replaced (a retry of the same computation); an
        ``ok`` row is never replaced.
        """
        if result.status == "ok" and (result.score is None or not math.isfinite(result.score)):
            raise ValueError(f"an ok cell needs a finite score; got {result.score!r}")
        if result.finished_at is None:
            result.finished_at = time.time()
        if result.host is None:
            result.host = socket.gethostname()
        values = [getattr(result, c) for c in _CELL_COLUMNS]
        cols = ", ".join(_CELL_COLUMNS)
        marks = ", ".join("?" for _ in _CELL_COLUMNS)
        updates = ", ".join(f"{c}=excluded.{c}" for c in _CELL_COLUMNS if c != "key")
        with self._tx() as con:
            cur = con.execute(
                f"INSERT INTO cells ({cols}) VALUES ({marks}) ON CONFLICT(key) DO UPDATE "
                f"SET {updates} WHERE cells.status = 'failed'",
                values,
            )
            return cur.rowcount > 0

    def get(self, keys: Iterable[str]) -> dict[str, CellResult]:
        """Rows for the given keys (missing keys are absent from the result)."""
        out: dict[str, CellResult] = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[i:i + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._con.execute(f"SELECT * FROM cells WHERE key IN ({marks})", chunk):
                out[row["key"]] = CellResult(**{c: row[c] for c in _CELL_COLUMNS})
        return out

    def previous_keys(self, model: str, dataset: str, metric: str, variant: str) -> list[str]:
        """Keys of all stored rows of a cell name (other parameters / inputs included)."""
        rows = self._con.execute(
            "SELECT key FROM cells WHERE model=? AND dataset=? AND metric=? AND variant=?",
            (model, dataset, metric, variant),
        )
        return [r[0] for r in rows]

    def all_cells(self) -> list[CellResult]:
        rows = self._con.execute("SELECT * FROM cells ORDER BY finished_at")
        return [CellResult(**{c: r[c] for c in _CELL_COLUMNS}) for r in rows]

    # -- runs -----------------------------------------------------------------
    def start_run(self, *, executor: str, jobs: int, n_cells: int, n_skipped: int,
                  config: str) -> int:
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO runs (started_at, status, executor, jobs, n_cells, n_skipped, config)"
                " VALUES (?, 'running', ?, ?, ?, ?, ?)",
                (time.time(), executor, jobs, n_cells, n_skipped, config),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, *, status: str, wall_seconds: float) -> None:
        """Close a run; its counts are taken from the cells it committed.

        Counting in the store rather than in the caller keeps the run record
        exact even when Ctrl-C lands between a commit and a counter update.
        """
        with self._tx() as con:
            n, failed = con.execute(
                "SELECT count(*), coalesce(sum(status = 'failed'), 0) FROM cells "
                "WHERE run_id=?", (run_id,)).fetchone()
            con.execute(
                "UPDATE runs SET finished_at=?, status=?, n_computed=?, n_failed=?, "
                "wall_seconds=? WHERE run_id=?",
                (time.time(), status, n, failed, wall_seconds, run_id),
            )

    def runs(self) -> list[dict[str, Any]]:
        rows = self._con.execute("SELECT * FROM runs ORDER BY run_id")
        return [dict(r) for r in rows]
