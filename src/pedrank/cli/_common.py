"""Options shared by the scoring sub-commands."""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
from collections.abc import Sequence
from typing import Any

from pedrank.core.metrics import MetricSpec
from pedrank.core.ped import PED
from pedrank.reports.table import Column, Table


def add_metric_options(parser: argparse.ArgumentParser) -> None:
    """--metric, PED switches and hyper-parameters, --device."""
    parser.add_argument("--metric", "-m", default="sfda",
                        help="metric name (see `pedrank metrics`); default: sfda")
    ped = parser.add_argument_group("PED (Potential Energy Decline) dynamics")
    ped.add_argument("--ped", action="store_true",
                     help="move the features by PED dynamics before scoring")
    ped.add_argument("--time-step", type=float, default=0.1, help="PED time step (0.1)")
    ped.add_argument("--nsigma", type=float, default=0.6, help="PED ball radius in sigmas (0.6)")
    ped.add_argument("--constant", type=float, default=1.0, help="PED force constant (1.0)")
    ped.add_argument("--exit-ratio", type=float, default=0.5, help="PED exit ratio (0.5)")
    ped.add_argument("--max-steps", type=int, default=6, help="PED maximum steps (6)")
    ped.add_argument("--ped-fallback", choices=("error", "target"), default="error",
                     help="without source statistics: fail (default) or standardise with the "
                          "target's own statistics (an approximation; warns)")
    parser.add_argument("--device", default=None,
                        help="PyTorch back end device (cpu, cuda); default: numpy")
    parser.add_argument("--metric-option", "-o", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword argument of the metric, repeatable; VALUE is read as "
                             "JSON when it parses (5, 0.8, true, null), else as text; e.g. "
                             "-o max_fit_samples=20000 -o covariance_type=diag for nleep")


def metric_options(args: argparse.Namespace, spec: MetricSpec) -> dict[str, Any]:
    """The ``--metric-option KEY=VALUE`` pairs as keyword arguments of ``spec``'s function.

    Raises
    ------
    ValueError
        On a malformed pair or a name the metric does not take (the message
        lists the names it does take).
    """
    params = inspect.signature(spec.func).parameters
    accepted = [n for n, p in params.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "device"]
    out: dict[str, Any] = {}
    for item in args.metric_option:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--metric-option {item!r}: expected KEY=VALUE, e.g. ratio=1")
        if key not in accepted:
            raise ValueError(
                f"--metric-option {key!r}: metric {spec.name!r} takes "
                f"{', '.join(accepted) if accepted else 'no options'}"
            )
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def build_ped(args: argparse.Namespace) -> PED | None:
    """The PED estimator asked for on the command line, or None."""
    if not args.ped:
        return None
    return PED(time_step=args.time_step, nsigma=args.nsigma, constant=args.constant,
               exit_ratio=args.exit_ratio, max_steps=args.max_steps, fallback=args.ped_fallback)


def text_width() -> int:
    """Width for text tables: the terminal's, else ``$COLUMNS``, else 100 characters."""
    return shutil.get_terminal_size((100, 24)).columns


def format_records(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Render records as an aligned text table (fitted to :func:`text_width`), JSON or CSV.

    A thin front of :class:`pedrank.reports.table.Table`, the one table model.
    """
    if fmt == "json":
        return json.dumps(list(records), indent=2)
    table = Table([Column(c, missing="") for c in columns], records)
    return table.render(fmt, width=text_width())
