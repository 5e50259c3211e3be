"""The command line's progress bars (tqdm) and log output: the only place that draws bars.

Library functions take a ``progress`` bar factory (:mod:`pedrank._progress`); the
sub-commands pass :func:`bar_factory`. tqdm is a base dependency because the ``pedrank``
command is part of the base install.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any


def bar_factory(enabled: bool | None = None) -> Any:
    """``tqdm`` with pedrank's settings, or ``False`` for no bar.

    ``enabled=None`` shows bars only when stderr is a terminal (not in logs or CI).
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return False
    from tqdm.auto import tqdm

    return functools.partial(tqdm, leave=False)


def configure_logging(level: int = logging.INFO) -> None:
    """Show the library's INFO messages on stderr, one plain line each (idempotent)."""
    logger = logging.getLogger("pedrank")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is at the time of the write
    (a plain StreamHandler keeps the stream it was created with)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


__all__ = ["bar_factory", "configure_logging"]
