"""Plan the benchmark grid and run its unfinished cells, locally or on Dask.

The unit of work sent to a worker is a *task*: one feature file (model x
dataset) under one PED setting, with every pending metric of that pair. The
file is read once and PED runs once per task, then each metric scores the
(possibly PED-moved) features; each metric's outcome is a separate cell in
the store. Workers never touch the store: they return
:class:`~pedrank.pipeline.bench.store.CellResult` objects and the coordinating process
commits each one in its own transaction as soon as it arrives.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pedrank._progress import ProgressArg, progress_bar
from pedrank.pipeline.bench.config import BASELINE, SCHEDULER_LOCAL, BenchConfig, feature_path
from pedrank.pipeline.bench.store import SCHEMA_VERSION, CellResult, ResultStore, cell_key

_MAX_ERROR = 1000

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cell:
    """One (model, dataset, metric, PED setting) of the grid."""

    model: str
    dataset: str
    metric: str
    variant: str
    ped_params: dict[str, Any] | None
    metric_kwargs: dict[str, Any]
    path: Path
    source_path: Path | None
    input_hash: str | None
    key: str | None
    missing: str | None = None

    @property
    def name(self) -> tuple[str, str, str, str]:
        return (self.model, self.dataset, self.metric, self.variant)

    @property
    def params_json(self) -> str:
        return json.dumps({"ped": self.ped_params, "metric_kwargs": self.metric_kwargs},
                          sort_keys=True)


@dataclass
class Grid:
    """The planned grid: runnable cells and cells whose input is missing."""

    models: list[str]
    datasets: list[str]
    metrics: list[str]
    variants: list[str]
    cells: list[Cell]

    @property
    def runnable(self) -> list[Cell]:
        return [c for c in self.cells if c.missing is None]

    @property
    def missing(self) -> list[Cell]:
        return [c for c in self.cells if c.missing is not None]


@dataclass(frozen=True)
class Task:
    """What one worker call computes: one file, one PED setting, several metrics."""

    model: str
    dataset: str
    variant: str
    path: str
    source_path: str | None
    ped_params: dict[str, Any] | None
    cells: tuple[Cell, ...]
    blas_threads: int | None


@dataclass
class RunSummary:
    """Counters of one :func:`run_bench` call."""

    run_id: int | None = None
    n_cells: int = 0
    skipped: int = 0
    computed: int = 0
    failed: int = 0
    changed: int = 0
    missing_inputs: int = 0
    interrupted: bool = False
    wall_seconds: float = 0.0
    executor: str = "serial"
    failures: list[CellResult] = field(default_factory=list)
    taken: int = 0
    died_runs: list[int] = field(default_factory=list)


class NoWorkerError(RuntimeError):
    """A Dask run lost every worker (or never had one) for longer than its timeout."""


# --------------------------------------------------------------------------- planning
def available_cores() -> int:
    """CPU cores this process may use (respects affinity masks / containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # Model greedy, dataset lazy: with "{model}_{dataset}.npz" the *last*
    # underscore separates them, so model names may contain underscores.
    rx = re.escape(pattern)
    rx = rx.replace(re.escape("{model}"), r"(?P<model>[^/]+)", 1)
    rx = rx.replace(re.escape("{dataset}"), r"(?P<dataset>[^/]+?)", 1)
    return re.compile(rx)


def discover(features: Path, pattern: str, source_pattern: str | None = None,
             ) -> dict[tuple[str, str], Path]:
    """All (model, dataset) -> file pairs under ``features`` matching ``pattern``.

    Files matching ``source_pattern`` are source statistics, not cells (with
    the default patterns ``byol_source.npz`` would otherwise read as dataset
    ``source``).
    """
    if not features.is_dir():
        raise FileNotFoundError(f"features directory not found: {features}")
    rx = _pattern_regex(pattern)
    src_rx = None
    if source_pattern is not None:
        src_rx = re.compile(re.escape(source_pattern).replace(re.escape("{model}"), "[^/]+"))
    found: dict[tuple[str, str], Path] = {}
    for p in sorted(features.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(features).as_posix()
        if src_rx is not None and src_rx.fullmatch(rel):
            continue
        m = rx.fullmatch(rel)
        if m:
            found[(m["model"], m["dataset"])] = p
    return found


def load_groundtruth(spec: str | None) -> dict[str, dict[str, float]] | None:
    """Ground truth ``{dataset: {model: accuracy}}`` from a table name or a JSON path."""
    if spec is None:
        return None
    from pedrank.groundtruth import tables as groundtruth

    path = Path(spec)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"ground-truth JSON not found: {path}")
        return groundtruth.load_file(path)
    return groundtruth.load(spec)


def _names(config: BenchConfig, gt: dict[str, dict[str, float]] | None,
           ) -> tuple[list[str], list[str]]:
    assert config.features is not None
    models, datasets = config.models, config.datasets
    if models is not None and datasets is not None:
        return list(models), list(datasets)
    found = discover(config.features, config.pattern, config.source_pattern)
    if gt is not None:
        # Names from the ground truth, restricted to pairs that have a file:
        # a partial feature directory benchmarks what it holds.
        gt_models = sorted({m for accs in gt.values() for m in accs})
        cand_m = models if models is not None else [
            m for m in gt_models if any(k[0] == m for k in found)]
        cand_d = datasets if datasets is not None else [
            d for d in sorted(gt) if any(k[1] == d for k in found)]
        if not cand_m or not cand_d:
            raise ValueError(
                f"no feature file in {config.features} matches pattern {config.pattern!r} for "
                "the ground truth's models and datasets; check --pattern and the names"
            )
        return list(cand_m), list(cand_d)
    if not found:
        raise ValueError(f"no file in {config.features} matches pattern {config.pattern!r}")
    ms = models if models is not None else sorted({k[0] for k in found})
    ds = datasets if datasets is not None else sorted({k[1] for k in found})
    return list(ms), list(ds)


def plan_grid(config: BenchConfig, store: ResultStore,
              gt: dict[str, dict[str, float]] | None = None) -> Grid:
    """Expand ``config`` into cells with their store keys (hashing the input files)."""
    from pedrank.core.metrics import get_metric

    if config.features is None:
        raise ValueError("no feature directory: set 'features' in the config or pass --features")
    if gt is None:
        gt = load_groundtruth(config.groundtruth)
    models, datasets = _names(config, gt)
    specs = list({s.name: s for s in (get_metric(m) for m in config.metrics)}.values())
    # Metric kwargs may be keyed by an alias ("n_leep"): key them by registry name.
    kwargs_of = {get_metric(k).name: dict(v) for k, v in config.metric_kwargs.items()}
    variants = [(BASELINE, None) if v is None else (v.name, v.resolved_params())
                for v in config.variants]
    cells: list[Cell] = []
    for model in models:
        src = None
        if config.source_pattern:
            src = feature_path(config, model, "", config.source_pattern)
        for dataset in datasets:
            path = feature_path(config, model, dataset)
            missing = None
            feat_hash = src_hash = None
            if not path.is_file():
                missing = f"feature file not found: {path}"
            else:
                feat_hash = store.file_hash(path)
                if src is not None and src.is_file():
                    src_hash = store.file_hash(src)
            for vname, params in variants:
                # A separate source-statistics file only matters to PED cells.
                input_hash = feat_hash
                if feat_hash is not None and params is not None and src_hash is not None:
                    input_hash = f"{feat_hash}+{src_hash}"
                for spec in specs:
                    if params is not None and not spec.ped_composable:
                        continue  # PED moves features; this metric reads source outputs
                    kwargs = kwargs_of.get(spec.name, {})
                    key = None
                    if input_hash is not None:
                        key = cell_key(schema=SCHEMA_VERSION, model=model, dataset=dataset,
                                       metric=spec.name, metric_kwargs=kwargs, ped=params,
                                       input=input_hash)
                    cells.append(Cell(model, dataset, spec.name, vname, params, kwargs, path,
                                      src if (src is not None and src.is_file()) else None,
                                      input_hash, key, missing))
    return Grid(models, datasets, [s.name for s in specs], [v for v, _ in variants], cells)


# --------------------------------------------------------------------------- worker side
def _fail(cell: Cell, msg: str, **extra: Any) -> CellResult:
    return CellResult(key=cell.key or "", model=cell.model, dataset=cell.dataset,
                      metric=cell.metric, variant=cell.variant, params=cell.params_json,
                      input_hash=cell.input_hash or "", status="failed",
                      error=msg[:_MAX_ERROR], **extra)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _worker_blas_threads() -> int:
    """BLAS threads for a Dask worker: its cores shared among its task threads."""
    try:
        from distributed import get_worker

        worker = get_worker()
        nthreads = getattr(getattr(worker, "state", worker), "nthreads", None) or 1
    except (ImportError, ValueError):
        nthreads = 1
    return max(1, available_cores() // int(nthreads))


def run_task(task: Task) -> list[CellResult]:
    """Compute every cell of ``task``; never raises for data or metric errors.

    Exceptions other than ``KeyboardInterrupt``/``SystemExit`` become failed
    cells carrying the error message, so one bad file does not stop the grid.
    """
    from threadpoolctl import threadpool_limits

    blas = task.blas_threads or _worker_blas_threads()
    # Limit BLAS/OpenMP threads so that workers x threads fits the cores
    # instead of oversubscribing them (N workers each spawning `cores` threads).
    with threadpool_limits(limits=blas):
        return _run_task(task)


def _run_task(task: Task) -> list[CellResult]:
    import numpy as np

    from pedrank.core.metrics import get_metric
    from pedrank.core.scoring import score
    from pedrank.core.source import SourceStats
    from pedrank.pipeline.feature_files import load_feature_file

    t0 = time.perf_counter()
    # Source-output metrics (LEEP, NCE) do not need features in the file.
    need_features = task.ped_params is not None or any(
        get_metric(c.metric).input == "features" for c in task.cells)
    try:
        ff = load_feature_file(task.path, require_features=need_features)
        source = ff.source
        if source is None and task.source_path is not None:
            source = SourceStats.load(task.source_path)
        X, y = ff.features, ff.labels
        n_classes = int(np.unique(np.asarray(y)).shape[0])
    except Exception as exc:  # noqa: BLE001 - recorded in the store, grid continues
        return [_fail(c, f"cannot load {task.path}: {_describe(exc)}") for c in task.cells]
    shape = {"n_samples": int(np.asarray(y).shape[0]),
             "n_features": None if X is None else int(X.shape[1]), "n_classes": n_classes}
    load_s = time.perf_counter() - t0

    caught: list[str] = []
    ped_s = 0.0
    if task.ped_params is not None:
        from pedrank.core.ped import PED

        t1 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as wlist:
                warnings.simplefilter("always")
                est = PED(**task.ped_params)
                if source is not None:
                    est = est.with_source(source)
                X = est.transform(X, y)
            caught += [f"{w.category.__name__}: {w.message}" for w in wlist]
        except Exception as exc:  # noqa: BLE001
            return [_fail(c, f"PED failed: {_describe(exc)}", load_seconds=load_s, **shape)
                    for c in task.cells]
        ped_s = time.perf_counter() - t1

    out = []
    for cell in task.cells:
        t2 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as wlist:
                warnings.simplefilter("always")
                value = score(X, y, metric=cell.metric, ped=False,
                              source_probs=ff.source_probs, **cell.metric_kwargs)
            seconds = time.perf_counter() - t2
            msgs = caught + [f"{w.category.__name__}: {w.message}" for w in wlist]
            if not np.isfinite(value):
                out.append(_fail(cell, f"metric returned a non-finite score ({value})",
                                 seconds=seconds, ped_seconds=ped_s, load_seconds=load_s,
                                 **shape))
                continue
        except Exception as exc:  # noqa: BLE001
            out.append(_fail(cell, f"{cell.metric} failed: {_describe(exc)}",
                             seconds=time.perf_counter() - t2, ped_seconds=ped_s,
                             load_seconds=load_s, **shape))
            continue
        out.append(CellResult(
            key=cell.key or "", model=cell.model, dataset=cell.dataset, metric=cell.metric,
            variant=cell.variant, params=cell.params_json, input_hash=cell.input_hash or "",
            status="ok", score=float(value),
            warnings="\n".join(dict.fromkeys(msgs))[:_MAX_ERROR] or None,
            seconds=seconds, ped_seconds=ped_s, load_seconds=load_s, **shape,
        ))
    return out


# --------------------------------------------------------------------------- executors
def _execute_local(tasks: list[Task], jobs: int,
                   claim: Callable[[Task], Task | None]) -> Iterator[list[CellResult]]:
    if jobs == 1 or len(tasks) <= 1:
        for t in tasks:  # in-process: no pickling, easy to debug
            # Claimed one task at a time, so concurrent runs share the grid.
            mine = claim(t)
            if mine is not None:
                yield run_task(mine)
        return
    from joblib import Parallel, delayed

    mine_all = [m for m in map(claim, tasks) if m is not None]
    if not mine_all:
        return
    par = Parallel(n_jobs=min(jobs, len(mine_all)), backend="loky",
                   return_as="generator_unordered")
    yield from par(delayed(run_task)(t) for t in mine_all)


def _dask_client(config: BenchConfig) -> tuple[Any, Any]:
    """(client, cluster or None) for ``config.scheduler``; a silent scheduler is a ValueError."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "--scheduler needs dask.distributed: pip install 'pedrank[dask]'"
        ) from None
    if config.scheduler == SCHEDULER_LOCAL:
        cluster = LocalCluster(n_workers=config.jobs, threads_per_worker=1,
                               processes=config.dask_processes, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(config.scheduler, timeout=f"{config.scheduler_timeout}s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(
            f"Dask scheduler {config.scheduler} did not answer within "
            f"{config.scheduler_timeout:g} s ({type(exc).__name__}: {exc}); start it "
            "(`dask scheduler`), check the address, or drop --scheduler") from None


def _live_workers(client: Any) -> int:
    try:
        return len(client.scheduler_info(n_workers=-1).get("workers", {}))
    except Exception:  # noqa: BLE001 - scheduler gone: no worker either
        return 0


def _execute_dask(tasks: list[Task], config: BenchConfig,
                  claim: Callable[[Task], Task | None]) -> Iterator[list[CellResult]]:
    from distributed import as_completed

    tasks = [m for m in map(claim, tasks) if m is not None]
    if not tasks:
        return
    client, cluster = _dask_client(config)
    ac = None
    try:
        timeout = config.scheduler_timeout
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            raise NoWorkerError(
                f"no Dask worker joined scheduler {config.scheduler} within {timeout:g} s; "
                "start workers (`dask worker ADDRESS`) or raise --scheduler-timeout") from None
        if tasks[0].blas_threads is None:
            blas = _cluster_blas_threads(client)
            tasks = [dataclasses.replace(t, blas_threads=blas) for t in tasks]
        futures = [client.submit(run_task, t, pure=False) for t in tasks]
        task_of = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        ac = as_completed(futures)
        del futures  # as_completed holds each future only until it is collected
        yield from _collect(ac, task_of, client, timeout)
    finally:
        if ac is not None:
            ac.clear()
        client.close()
        if cluster is not None:
            cluster.close()


def _collect(ac: Any, task_of: dict[Any, Task], client: Any,
             timeout: float) -> Iterator[list[CellResult]]:
    """Results as they finish; each future released once collected (a lost worker
    then cannot make the scheduler recompute committed work). Without a live
    worker for ``timeout`` seconds, raise :class:`NoWorkerError`."""
    idle_since: float | None = None
    while not ac.is_empty():
        batch = ac.next_batch(block=False) if ac.has_ready() else []
        if not batch:
            if _live_workers(client):
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > timeout:
                raise NoWorkerError(
                    f"every Dask worker is gone ({len(task_of)} task(s) unfinished for "
                    f"{timeout:g} s); restart workers and rerun: finished cells are kept")
            time.sleep(0.05)
            continue
        for fut in batch:
            task = task_of.pop(fut.key)
            try:
                results = fut.result()
            except Exception as exc:  # noqa: BLE001 - worker died, etc.: record, continue
                results = [_fail(c, f"dask worker error: {_describe(exc)}") for c in task.cells]
            fut.release()
            yield results


def _cluster_blas_threads(client: Any) -> int | None:
    """BLAS threads per task so that, on every host, task threads x BLAS threads <= cores.

    Several workers may share a host (e.g. ``dask worker --nworkers 4``), so the
    host's cores are divided by the task threads of all its workers.
    """
    try:
        cores = client.run(available_cores)  # {worker address: cores}
        workers = client.scheduler_info()["workers"]
    except Exception:  # noqa: BLE001 - fall back to per-worker defaults
        return None
    threads_per_host: dict[str, int] = {}
    cores_per_host: dict[str, int] = {}
    for addr, info in workers.items():
        host = info.get("host", addr)
        threads_per_host[host] = threads_per_host.get(host, 0) + int(info.get("nthreads", 1))
        if addr in cores:
            cores_per_host[host] = int(cores[addr])
    limits = [max(1, cores_per_host[h] // t) for h, t in threads_per_host.items()
              if h in cores_per_host and t > 0]
    return min(limits) if limits else None


def _make_tasks(cells: Iterable[Cell], blas_threads: int | None) -> list[Task]:
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for c in cells:
        groups.setdefault((c.model, c.dataset, c.variant), []).append(c)
    # Absolute paths: a Dask worker started in another folder resolves them alike.
    return [Task(m, d, v, str(cs[0].path.resolve()),
                 str(cs[0].source_path.resolve()) if cs[0].source_path else None,
                 cs[0].ped_params, tuple(cs), blas_threads)
            for (m, d, v), cs in groups.items()]


def run_bench(config: BenchConfig, *, progress: ProgressArg = True,
              on_cell: Callable[[CellResult], None] | None = None,
              store: ResultStore | None = None) -> RunSummary:
    """Run every unfinished cell of the grid and record it in the store.

    Parameters
    ----------
    config : BenchConfig
        The grid and how to run it.
    progress : bool or callable
        A progress-bar factory such as ``tqdm`` (what the CLI passes), ``True`` to log
        milestones at INFO level (logger ``pedrank.pipeline.bench.runner``), or
        ``False`` (see :mod:`pedrank._progress`).
    on_cell : callable, optional
        Called with each cell's result right after it has been committed.
    store : ResultStore, optional
        Defaults to the store in ``config.results``.

    Returns
    -------
    RunSummary
        ``skipped`` cells were already in the store; ``computed`` ones ran now
        (``failed`` of them with an error). A ``KeyboardInterrupt`` propagates
        after the run has been marked interrupted; committed cells stay.
    """
    own_store = store is None
    store = store if store is not None else ResultStore(config.results)
    try:
        return _run(config, store, progress, on_cell)
    finally:
        if own_store:
            store.close()


def _run(config: BenchConfig, store: ResultStore, progress: ProgressArg,
         on_cell: Callable[[CellResult], None] | None) -> RunSummary:
    from pedrank.pipeline.bench.extraction import ensure_features

    t_start = time.perf_counter()
    died = store.recover_dead_runs()
    gt = load_groundtruth(config.groundtruth)
    ensure_features(config, gt, verbose=progress)
    grid = plan_grid(config, store, gt)
    runnable = grid.runnable
    stored = store.get(c.key for c in runnable if c.key)
    pending = []
    summary = RunSummary(n_cells=len(grid.cells), missing_inputs=len(grid.missing),
                         died_runs=died)
    for c in runnable:
        row = stored.get(c.key or "")
        if row is not None and (row.ok or not config.retry_failed):
            summary.skipped += 1
            continue
        if row is None and store.previous_keys(*c.name):
            summary.changed += 1  # inputs or parameters changed: old row kept, new key
        pending.append(c)

    if config.scheduler:
        summary.executor = f"dask({config.scheduler})"
        blas = config.blas_threads or (
            max(1, available_cores() // config.jobs)
            if config.scheduler == SCHEDULER_LOCAL else None)
    else:
        summary.executor = "serial" if config.jobs == 1 else f"joblib({config.jobs})"
        blas = config.blas_threads or max(1, available_cores() // config.jobs)
    tasks = _make_tasks(pending, blas)
    run_id = store.start_run(executor=summary.executor, jobs=config.jobs,
                             n_cells=len(grid.cells), n_skipped=summary.skipped,
                             config=config.to_json())
    summary.run_id = run_id
    status = "crashed"
    bar = None

    def claim(task: Task) -> Task | None:
        """The part of ``task`` this run claims (others are done or held elsewhere)."""
        mine, taken = store.claim([c.key or "" for c in task.cells], run_id,
                                  retry_failed=config.retry_failed)
        summary.taken += len(taken)
        if bar is not None and taken:
            bar.update(len(taken))
        cells = tuple(c for c in task.cells if c.key in mine)
        return dataclasses.replace(task, cells=cells) if cells else None

    try:
        if tasks:
            bar = progress_bar(progress, len(pending), desc="pedrank bench", unit="cells",
                               logger=_LOG)
            stream = (_execute_dask(tasks, config, claim) if config.scheduler
                      else _execute_local(tasks, config.jobs, claim))
            try:
                for results in stream:
                    for res in results:
                        res.run_id = run_id
                        store.put(res)
                        summary.computed += 1
                        if not res.ok:
                            summary.failed += 1
                            summary.failures.append(res)
                        bar.update(1)
                        if on_cell is not None:
                            on_cell(res)
            finally:
                with warnings.catch_warnings():
                    # joblib warns that it cancelled queued tasks: that is the point.
                    warnings.simplefilter("ignore")
                    stream.close()  # stops the pool / cancels Dask futures on interrupt
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        summary.interrupted = True
        raise
    finally:
        if bar is not None:
            bar.close()
        summary.wall_seconds = time.perf_counter() - t_start
        store.finish_run(run_id, status=status, wall_seconds=summary.wall_seconds)
    return summary
