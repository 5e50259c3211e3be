"""The ``pedrank`` command line.

Each sub-command lives in its own module ``pedrank.cli.<name>_cmd`` exposing
``add_parser(subparsers)``, which registers the sub-parser and sets
``func(args) -> int`` as its handler. Errors the user can fix are raised as
:class:`CLIError` (or ``ValueError``) and printed as one line, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

# One line per sub-command module; order is the order shown in --help.
_COMMANDS: tuple[str, ...] = (
    "score",
    "rank",
    "bench",
    "reproduce",
    "metrics",
    "extract",
    "demo",
    "groundtruth",
    "zoo",
)


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pedrank",
        description="Rank pre-trained models by transferability (PED + LogME/SFDA/...).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMANDS:
        importlib.import_module(f"pedrank.cli.{name}_cmd").add_parser(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"pedrank: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Warnings (e.g. PED's explicit source fallback) are shown as one line, not with
    # the source line of library code.
    previous_format = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, FileNotFoundError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"pedrank {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pedrank {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = previous_format


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
