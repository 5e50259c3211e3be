"""``pedrank metrics``: list every registered transferability metric."""

from __future__ import annotations

import argparse
from typing import Any

from pedrank.cli._common import format_records

# What each registry input kind means to a user deciding what to extract.
_INPUT_LABELS = {"features": "features", "source_probs": "source outputs"}

_COLUMNS = ("metric", "input", "ped", "device", "reference", "cost")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics", help="list the available metrics",
        description="List every registered metric: what it needs (target features or the "
                    "source model's softmax outputs), whether PED can precede it, whether "
                    "it has a PyTorch back end, its reference and its time cost.")
    p.add_argument("--format", choices=("text", "json", "csv", "markdown"), default="text",
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


def _table_rows(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
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


def _markdown(rows: list[dict[str, str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    head = ["Metric", "Needs", "PED", "Torch", "Reference", "Cost"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r['metric']}`", r["input"], r["ped"], r["device"],
                 esc(r["reference"]), f"`{r['cost']}`" if r["cost"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    records = metric_records()
    if args.format == "json":
        print(format_records(records, list(records[0]) if records else [], "json"))
        return 0
    rows = _table_rows(records)
    if args.format == "markdown":
        print(_markdown(rows))
    else:
        print(format_records(rows, _COLUMNS, args.format))
    return 0
