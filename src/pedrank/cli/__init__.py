"""The ``pedrank`` command line.

Each sub-command lives in its own module ``pedrank.cli.<name>_cmd`` exposing
``add_parser(subparsers)``, which registers the sub-parser and sets
``func(args) -> int`` as its handler. Errors the user can fix are raised as
:class:`CLIError` (or ``ValueError``) and printed as one line, exit status 2;
a failed computation is :class:`CLIFailure`, exit status 1. No path prints a
traceback (``PEDRANK_DEBUG=1`` shows it). See ``docs/cli-errors.md``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

# One line per sub-command module; order is the order shown in --help.
_COMMANDS: tuple[str, ...] = (
    "score",
    "rank",
    "bench",
    "reproduce",
    "metrics",
    "extract",
    "demo",
    "select",
    "groundtruth",
    "zoo",
)


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class CLIFailure(Exception):
    """A computation that failed (not the user's input): one line, exit status 1."""


class _UsageError(Exception):
    """argparse's complaint about the command line (raised instead of exiting)."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        raise _UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pedrank",
        description="Rank pre-trained models by transferability (PED + LogME/SFDA/...).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _COMMANDS:
        importlib.import_module(f"pedrank.cli.{name}_cmd").add_parser(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"pedrank: warning: {message}\n"


def _one_line(text: object) -> str:
    """``text`` on one line (multi-line library messages are joined with '; ')."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _os_message(exc: OSError) -> str:
    """An OSError as 'PATH: reason' (without Python's '[Errno N]' prefix)."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def _exit_status(exc: BaseException) -> tuple[int, str]:
    """(exit status, one-line message) for an exception raised by a sub-command."""
    if isinstance(exc, CLIFailure):
        return 1, str(exc)
    if isinstance(exc, CLIError | ValueError | OverflowError):
        return 2, str(exc)
    if isinstance(exc, KeyError):
        return 2, str(exc.args[0] if exc.args else exc)
    if isinstance(exc, ImportError):
        return 2, f"{exc}; install the missing package (see the README's extras)"
    if isinstance(exc, sqlite3.DatabaseError):
        return 2, (f"the results store cannot be read ({exc}); move results.sqlite away or "
                   "use another --results folder")
    if isinstance(exc, OSError):
        # Missing files, folders where a file is due, permissions, unreachable hosts:
        # all about the user's environment, so exit 2 like other bad input.
        return 2, _os_message(exc)
    if isinstance(exc, MemoryError):
        return 1, ("out of memory; subsample the data (--max-samples, fewer models) or "
                   "raise PEDRANK_MEMORY_BUDGET if the machine has more")
    if isinstance(exc, ArithmeticError | RuntimeError):
        return 1, f"computation failed: {type(exc).__name__}: {exc}"
    return 1, (f"internal error: {type(exc).__name__}: {exc} "
               "(run with PEDRANK_DEBUG=1 for the traceback)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pedrank`` command line; return its exit status.

    Exit status: 0 success, 1 a failed computation (or an internal error), 2
    bad input (a flag, a value, a file), 130 interrupted. Every error is one
    line on stderr naming the flag or file; ``PEDRANK_DEBUG=1`` re-raises
    instead, for the traceback.
    """
    debug = os.environ.get("PEDRANK_DEBUG", "") not in ("", "0")
    from pedrank.cli._progress import configure_logging

    configure_logging()  # the library logs (extraction, bench); the CLI shows INFO and up
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"{exc.prog}: error: {_one_line(exc)} (see {exc.prog} --help)", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    # Warnings (e.g. PED's explicit source fallback) are shown as one line, not with
    # the source line of library code.
    previous_format = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"pedrank {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's one error boundary
        if debug:
            raise
        status, msg = _exit_status(exc)
        print(f"pedrank {args.command}: error: {_one_line(msg)}", file=sys.stderr)
        return status
    finally:
        warnings.formatwarning = previous_format


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
