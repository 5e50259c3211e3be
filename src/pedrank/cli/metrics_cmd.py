"""``pedrank metrics``: list every registered transferability metric."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pedrank.cli._common import format_records, text_width

if TYPE_CHECKING:
    from pedrank.reports.table import Table

# What each registry input kind means to a user deciding what to extract.
_INPUT_LABELS = {"features": "features", "source_probs": "source outputs"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics", help="list the available metrics",
        description="List every registered metric: what it needs (target features or the "
                    "source model's softmax outputs), whether PED can precede it, whether "
                    "it has a PyTorch back end, its reference and its time cost.")
    p.add_argument("--format", choices=("text", "json", "csv", "markdown", "html", "latex"),
                   default="text",
                   help="output format (default: an aligned text table)")
    p.set_defaults(func=run)


def metric_records() -> list[dict[str, Any]]:
    """One record per registered metric, sorted by name (the ``--format json`` rows)."""
    from pedrank.core.metrics import available_metrics


    return [
        {
            "name": spec.name,
            "input": spec.input,
            "ped_composable": spec.ped_composable,
            "supports_device": spec.supports_device,
            "reference": spec.reference,
            "cost": spec.cost,
        }
        for spec in available_metrics()
    ]


def metric_table(records: list[dict[str, Any]]) -> Table:
    """The table shown by ``--format text/markdown/csv`` (CSV headers are the keys)."""
    from pedrank.reports.table import Column, Table

    rows = [
        {
            "metric": r["name"],
            "input": _INPUT_LABELS.get(r["input"], r["input"]),
            "ped": "yes" if r["ped_composable"] else "no",
            "device": "yes" if r["supports_device"] else "no",
            "reference": r["reference"],
            "cost": r["cost"],
        }
        for r in records
    ]
    columns = [Column("metric", "Metric", code=True, wrap=False),
               Column("input", "Needs"), Column("ped", "PED", wrap=False),
               Column("device", "Torch", wrap=False), Column("reference", "Reference"),
               Column("cost", "Cost", code=True, missing="")]
    return Table(columns, rows)


def run(args: argparse.Namespace) -> int:
    records = metric_records()
    if args.format == "json":
        print(format_records(records, list(records[0]) if records else [], "json"))
    else:
        print(metric_table(records).render(args.format, width=text_width()))
    return 0
