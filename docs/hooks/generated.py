"""mkdocs hook: pages generated from the code at build time (nothing generated is committed).

* ``<!-- cli-reference -->`` (``docs/cli.md``) becomes ``pedrank --help`` and every
  sub-command's ``--help``, read from ``pedrank.cli.build_parser()``: a sub-command
  registered in ``cli._COMMANDS`` appears without editing the docs.
* ``<!-- metric-card NAME -->`` (``docs/metrics/NAME.md``) becomes a table of the
  registry's entry for NAME: reference, input, PED, PyTorch back end, cost.
* ``<!-- metric-table -->`` becomes the whole registry as a table.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

MARKER = "<!-- cli-reference -->"
CARD = re.compile(r"<!-- metric-card (\w+) -->")
TABLE = "<!-- metric-table -->"
WIDTH = "100"  # argparse wraps to $COLUMNS: fixed, so the page does not depend on the terminal


def _use_checkout() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))  # the checkout being documented, not an installed copy


def _parser() -> argparse.ArgumentParser:
    _use_checkout()
    from pedrank.cli import build_parser

    return build_parser()


def cli_reference() -> str:
    """Markdown: the top-level help, then one section per sub-command."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser = _parser()
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = ["```text", parser.format_help().rstrip(), "```"]
        for name, sub in subs.choices.items():
            parts += ["", f"## `pedrank {name}`", "", "```text", sub.format_help().rstrip(),
                      "```"]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts) + "\n"


def metric_table(names: list[str] | None = None) -> str:
    """The registry (or the ``names`` entries) as a Markdown table (the CLI's table model)."""
    _use_checkout()
    from pedrank.cli.metrics_cmd import metric_records
    from pedrank.cli.metrics_cmd import metric_table as table

    records = metric_records()
    if names is not None:
        known = {r["name"] for r in records}
        missing = sorted(set(names) - known)
        if missing:
            raise ValueError(f"docs: metric page for unregistered metric(s) {missing}")
        records = [r for r in records if r["name"] in names]
    return table(records).to_markdown()


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - mkdocs API
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_reference())
    if TABLE in markdown:
        markdown = markdown.replace(TABLE, metric_table())
    return CARD.sub(lambda m: metric_table([m.group(1)]), markdown)
