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

Several ``bench`` processes may share one store: before computing a cell a
run *claims* it (one ``BEGIN IMMEDIATE`` transaction: the claim succeeds only
if no finished row and no live claim exists), so no cell is computed twice and
none is lost. Each run records its pid, host, process start time and a
heartbeat; a run whose process died (``kill -9``, power loss) is marked
``died`` by the next run that opens the store, and its claims are released.
"""

from __future__ import annotations

import contextlib
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

from pedrank._fs import file_digest

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
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    claimed_at REAL NOT NULL
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


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (:func:`pedrank._fs.file_digest`: streamed, memoised)."""
    return file_digest(path)


# Columns added after schema 1 (added in place: cell keys do not change).
_RUN_COLUMNS = {"pid": "INTEGER", "host": "TEXT", "pid_start": "TEXT", "heartbeat": "REAL"}

# A run on another host is taken for dead when its heartbeat is this old (its
# pid cannot be checked from here); runs on this host are checked by pid.
REMOTE_STALE_SECONDS = 6 * 3600.0


def _process_start(pid: int) -> str | None:
    """Start time of process ``pid`` (clock ticks since boot, Linux), or None.

    Recorded next to the pid so a recycled pid is not taken for the live run.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` exists (and, when ``start`` is known, is the same process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    if start is not None:
        now = _process_start(pid)
        return now is None or now == start
    return True


#: how long opening waits for another process's lock on the store (seconds)
_OPEN_TIMEOUT_S = 60.0


def _enable_wal(con: sqlite3.Connection, timeout: float) -> None:
    """Switch ``con``'s database to WAL, waiting up to ``timeout`` s for other processes.

    The journal mode is stored in the file, so a store that is already in WAL mode
    is left alone. Switching needs an exclusive lock, and SQLite answers "database
    is locked" at once instead of calling the busy handler while another connection
    holds any lock on the file (two ``bench`` processes opening a new store at the
    same moment), so the switch is retried here with a short back-off.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 0.25)


class StoreError(ValueError):
    """The results store cannot be opened or read; the message says the way out."""


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
            if path.exists() and not path.is_dir():
                raise StoreError(f"{path}: results folder is a file; give a folder "
                                 "(--results DIR)")
            path.mkdir(parents=True, exist_ok=True)
            path = path / STORE_FILENAME
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a results store; move it away or use "
                             "another --results folder")
        try:
            self._open(path)
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self._con.close()
            raise StoreError(
                f"{path}: not a readable pedrank results store ({exc}); move it away (the "
                "next run starts a new one) or use another --results folder") from None

    def _open(self, path: Path) -> None:
        # isolation_level=None: we open transactions explicitly, one per cell.
        self._con = sqlite3.connect(path, timeout=_OPEN_TIMEOUT_S, isolation_level=None)
        self._con.row_factory = sqlite3.Row
        # WAL: readers (e.g. a report while a run is going) never block the
        # writer; synchronous=FULL makes each committed cell survive a crash.
        _enable_wal(self._con, _OPEN_TIMEOUT_S)
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.executescript(_SCHEMA)
        row = self._con.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if row is None:
            with self._tx():
                self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                  (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"{path} was written by another pedrank version (store schema {row[0]}, "
                f"expected {SCHEMA_VERSION}); use a new results folder"
            )
        with self._tx() as con:  # checked inside the lock: two processes may open at once
            have = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
            for col, kind in _RUN_COLUMNS.items():
                if col not in have:
                    con.execute(f"ALTER TABLE runs ADD COLUMN {col} {kind}")

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
        """Content hash (SHA-256) of a file.

        Read from the bytes, once per process and file version
        (:func:`pedrank._fs.file_digest`), never from a stored (size, mtime):
        a file rewritten in place within the mtime's granularity, or with its
        mtime restored, would otherwise keep its stale results.
        """
        return file_digest(Path(path).resolve())

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
            written = cur.rowcount > 0
            con.execute("DELETE FROM claims WHERE key=?", (result.key,))
            if result.run_id is not None:
                con.execute("UPDATE runs SET heartbeat=? WHERE run_id=?",
                            (time.time(), result.run_id))
            return written

    # -- claims ---------------------------------------------------------------
    def claim(self, keys: Iterable[str], run_id: int, *, retry_failed: bool = False,
              ) -> tuple[set[str], set[str]]:
        """Claim cells for ``run_id``; return (claimed, taken).

        One transaction (``BEGIN IMMEDIATE`` takes SQLite's write lock, so two
        processes cannot both see a cell free): a key is claimed when it has no
        ``ok`` row (nor a failed one, unless ``retry_failed``) and no claim by
        another run. ``taken`` holds the keys another process finished or holds.
        """
        claimed: set[str] = set()
        taken: set[str] = set()
        now = time.time()
        with self._tx() as con:
            for key in keys:
                row = con.execute("SELECT status FROM cells WHERE key=?", (key,)).fetchone()
                if row is not None and (row[0] == "ok" or not retry_failed):
                    taken.add(key)
                    continue
                cur = con.execute(
                    "INSERT INTO claims VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "claimed_at=excluded.claimed_at WHERE claims.run_id=excluded.run_id",
                    (key, run_id, now))
                (claimed if cur.rowcount > 0 else taken).add(key)
            con.execute("UPDATE runs SET heartbeat=? WHERE run_id=?", (now, run_id))
        return claimed, taken

    def release(self, run_id: int) -> None:
        """Drop every claim of ``run_id`` (its unfinished cells are free again)."""
        with self._tx() as con:
            con.execute("DELETE FROM claims WHERE run_id=?", (run_id,))

    def claims(self) -> dict[str, int]:
        """Live claims: key -> run id."""
        return {r[0]: int(r[1]) for r in self._con.execute("SELECT key, run_id FROM claims")}

    def recover_dead_runs(self) -> list[int]:
        """Mark ``running`` runs whose process is gone as ``died``; release their claims.

        A run on this host is dead when its pid no longer exists (or is another
        process: the start time differs); a run on another host when its
        heartbeat is older than :data:`REMOTE_STALE_SECONDS`. Runs recorded
        before pids were stored are left alone unless their heartbeat is stale.
        Returns the ids marked.
        """
        me = socket.gethostname()
        now = time.time()
        dead: list[int] = []
        with self._tx() as con:
            rows = con.execute("SELECT run_id, pid, host, pid_start, heartbeat, started_at "
                               "FROM runs WHERE status='running'").fetchall()
            for r in rows:
                beat = r["heartbeat"] or r["started_at"]
                if r["pid"] is not None and r["host"] == me:
                    gone = not pid_alive(int(r["pid"]), r["pid_start"])
                else:
                    gone = now - beat > REMOTE_STALE_SECONDS
                if gone:
                    dead.append(int(r["run_id"]))
            for run_id in dead:
                con.execute("UPDATE runs SET status='died', finished_at=? WHERE run_id=?",
                            (now, run_id))
                con.execute("DELETE FROM claims WHERE run_id=?", (run_id,))
        return dead

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
        now = time.time()
        pid = os.getpid()
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO runs (started_at, status, executor, jobs, n_cells, n_skipped, "
                "config, pid, host, pid_start, heartbeat)"
                " VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, executor, jobs, n_cells, n_skipped, config, pid, socket.gethostname(),
                 _process_start(pid), now),
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
            con.execute("DELETE FROM claims WHERE run_id=?", (run_id,))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._con.execute("SELECT * FROM runs ORDER BY run_id")
        return [dict(r) for r in rows]
