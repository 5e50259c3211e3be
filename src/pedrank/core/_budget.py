"""Memory budget: every metric and PED estimates its peak memory before allocating.

Small inputs can ask for huge work: N-LEEP with 600 classes fits 3000
full-covariance mixture components, GBC with float labels becomes N classes,
H-score on 100 wide samples builds a D x D matrix. Each metric therefore
computes an estimate of its peak memory from (N, D, C) (the formula sits next
to the metric, as ``_peak_bytes``) and calls :func:`check_memory` before the
big allocations. Above the budget a :class:`MemoryBudgetError` names the
remedy instead of swapping the machine to death or ending in a MemoryError
traceback.

The budget is, in order of precedence:

1. the value set by :func:`set_memory_budget`;
2. the environment variable ``PEDRANK_MEMORY_BUDGET`` (bytes, or a number with a
   K/M/G/T suffix, powers of 1024: ``"4G"``);
3. half the memory available now (``MemAvailable`` of ``/proc/meminfo``, else
   ``os.sysconf`` physical pages), read on every check.

Estimates count the float64 arrays a metric holds at its peak (the inputs'
float64 copies, Gram / covariance matrices, N x C posteriors, mixture
parameters); library workspace is approximated by a factor where it matters.
They are estimates: they keep runaway inputs out, they do not account bytes.
"""

from __future__ import annotations

import os
import re

__all__ = ["MemoryBudgetError", "memory_budget", "set_memory_budget", "check_memory",
           "parse_bytes", "format_bytes"]

_OVERRIDE: int | None = None
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class MemoryBudgetError(ValueError):
    """A computation would need more memory than the budget allows (see :mod:`_budget`)."""


def parse_bytes(value: str | int | float) -> int:
    """``4096``, ``"4096"``, ``"512M"``, ``"4G"``, ``"1.5T"`` -> bytes (powers of 1024).

    Raises
    ------
    ValueError
        Not a positive size.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGTkmgt]?)[iI]?[bB]?\s*",
                         str(value))
        if m is None:
            raise ValueError(f"memory budget must be bytes or a size like '4G'; got {value!r}")
        number, unit = float(m.group(1)), m.group(2).upper()
    size = number * _UNITS[unit]
    if not 0 < size < 2**63:
        raise ValueError(f"memory budget must be a positive size; got {value!r}")
    return int(size)


def format_bytes(n: float) -> str:
    """Human-readable size (powers of 1024)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _available_bytes() -> int:
    """Memory available now: MemAvailable (Linux), else total physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30  # unknown platform: assume a modest 8 GiB machine


def set_memory_budget(budget: str | int | float | None) -> None:
    """Set the memory budget of every metric and PED (``None``: back to the default).

    Parameters
    ----------
    budget : int, str or None
        Bytes, or a size such as ``"4G"`` / ``"512M"`` (powers of 1024). ``None``
        restores the default: ``PEDRANK_MEMORY_BUDGET`` if set, else half the
        available memory.

    Examples
    --------
    >>> import pedrank.core
    >>> pedrank.core.set_memory_budget("16G")
    >>> pedrank.core.set_memory_budget(None)
    """
    global _OVERRIDE
    _OVERRIDE = None if budget is None else parse_bytes(budget)


def memory_budget() -> int:
    """The budget in bytes now (see the module docstring for the order of precedence)."""
    if _OVERRIDE is not None:
        return _OVERRIDE
    env = os.environ.get("PEDRANK_MEMORY_BUDGET")
    if env:
        try:
            return parse_bytes(env)
        except ValueError:
            raise ValueError(
                f"PEDRANK_MEMORY_BUDGET={env!r} is not a size; use bytes or e.g. '4G'"
            ) from None
    return _available_bytes() // 2


def check_memory(what: str, nbytes: float, remedy: str) -> None:
    """Raise :class:`MemoryBudgetError` when ``nbytes`` exceeds the budget.

    Parameters
    ----------
    what : str
        The computation and its size, e.g. ``"N-LEEP (N=3000, D=512, 3000 components)"``.
    nbytes : float
        Estimated peak memory in bytes.
    remedy : str
        What the user can change (subsample, another option, fewer classes).
    """
    budget = memory_budget()
    if nbytes > budget:
        raise MemoryBudgetError(
            f"{what} needs about {format_bytes(nbytes)} of memory, above the budget of "
            f"{format_bytes(budget)}. {remedy} The budget is half the available memory by "
            "default; raise it with PEDRANK_MEMORY_BUDGET=16G or "
            "pedrank.core.set_memory_budget('16G') if the machine has the room."
        )
