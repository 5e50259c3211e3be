"""How many BLAS/OpenMP threads pedrank's numerical kernels use.

Measured on a 2-core machine shared with other jobs (``benchmarks/floors.py
--threads``, ``docs/performance.md``): with the libraries' default of one
thread per core, a metric that is busy in LAPACK (eigh, Cholesky) or in many
small products is 5-50x *slower* in wall time than with one thread as soon as
another process wants a core (a 2048 x 2048 ``eigvalsh``: 1.4 s with one
thread, 7.7-11 s with two; scipy's and numpy's two OpenBLAS copies and
scikit-learn's OpenMP each keep their own spinning pool). Threads only pay
when the cores are actually free.

So every registered metric runs under :func:`adaptive_threads`: it counts the
cores other processes are using right now (runnable tasks from
``/proc/loadavg`` and the 1-minute load), and when that leaves fewer free
cores than the thread pools would use, it lowers the pools to the free cores
(at least one) for the call. It never raises a limit the user set
(``OPENBLAS_NUM_THREADS``, ``threadpoolctl``), and ``PEDRANK_NUM_THREADS=n``
overrides the estimate. :func:`single_thread` wraps loops of small products,
which gain nothing from threads even on an idle machine.

Because the thread count changes the summation order of the large products, a
score is bit-reproducible only at a fixed count: set ``PEDRANK_NUM_THREADS``
when two calls must agree to the last bit (``docs/performance.md``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_controller: Any = None


def _get_controller():
    # Built lazily, once: scanning the loaded libraries costs ~1 ms, and by the
    # time a metric runs numpy, scipy and scikit-learn are all loaded.
    global _controller
    if _controller is None or not _controller.lib_controllers:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_elsewhere() -> float:
    """Cores other processes use: runnable tasks now (minus this one) or the 1-min load."""
    running = 0.0
    try:
        with open("/proc/loadavg") as fh:
            fields = fh.read().split()
        running = float(fields[3].split("/")[0]) - 1.0
        load = float(fields[0])
    except (OSError, IndexError, ValueError):
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    # The 1-minute load includes this process's own recent work (about 1).
    return max(running, load - 1.0, 0.0)


def available_threads() -> int:
    """Threads a numerical kernel should use now: the free cores, at least 1.

    ``PEDRANK_NUM_THREADS`` (a positive integer) overrides the estimate.
    """
    env = os.environ.get("PEDRANK_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    cpus = _cpu_count()
    return max(1, min(cpus, int(cpus - _busy_elsewhere() + 0.5)))


@contextlib.contextmanager
def limit_threads(n: int) -> Iterator[None]:
    """Lower every BLAS/OpenMP pool to at most ``n`` threads inside the block (never raise)."""
    controller = _get_controller()
    current = max((lib.num_threads for lib in controller.lib_controllers), default=1)
    if n >= current:
        yield
        return
    with controller.limit(limits=n):
        yield


def single_thread() -> contextlib.AbstractContextManager[None]:
    """One thread for loops of small products and decompositions (no gain from threads)."""
    return limit_threads(1)


def adaptive_threads(func: F) -> F:
    """Run ``func`` with :func:`available_threads` BLAS/OpenMP threads."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with limit_threads(available_threads()):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


__all__ = ["adaptive_threads", "available_threads", "limit_threads", "single_thread"]
