"""Progress reporting for long library loops, without a progress-bar dependency.

Library functions that loop for minutes (feature extraction, the benchmark grid) take a
``progress`` argument and hand it to :func:`progress_bar`:

* a callable is a bar *factory* called as ``progress(total=..., desc=..., unit=...)`` and
  returning an object with ``update(k)`` and ``close()`` — the command line passes
  ``tqdm`` (see :mod:`pedrank.cli._progress`), so bars live in the CLI only;
* ``True`` reports milestones (every 5 %) through :mod:`logging` at INFO level;
* ``False`` or ``None`` reports nothing.

Standard library only: this module sits below every pedrank layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

ProgressArg = bool | None | Callable[..., Any]


class _LoggedProgress:
    """``update``/``close`` like a tqdm bar, logging ``desc: n/total unit`` every 5 %."""

    def __init__(self, total: int, desc: str, unit: str, logger: logging.Logger) -> None:
        self.total, self.n, self.desc, self.unit, self.logger = total, 0, desc, unit, logger
        self._step = max(1, total // 20)

    def update(self, k: int = 1) -> None:
        before, self.n = self.n, self.n + k
        if self.n // self._step != before // self._step or self.n == self.total:
            self.logger.info("%s: %d/%d %s", self.desc, self.n, self.total, self.unit)

    def close(self) -> None:
        """Nothing to release (tqdm's bars need it)."""


class _NoProgress:
    def update(self, k: int = 1) -> None:
        """Report nothing."""

    def close(self) -> None:
        """Nothing to release."""


def progress_bar(progress: ProgressArg, total: int, *, desc: str, unit: str,
                 logger: logging.Logger) -> Any:
    """The progress reporter ``progress`` asks for (see the module docstring)."""
    if callable(progress):
        return progress(total=total, desc=desc, unit=unit)
    if progress:
        return _LoggedProgress(total, desc, unit, logger)
    return _NoProgress()


__all__ = ["ProgressArg", "progress_bar"]
