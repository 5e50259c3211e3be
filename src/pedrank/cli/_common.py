"""Options shared by the scoring sub-commands."""

from __future__ import annotations

import argparse
import csv
import inspect
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported in the functions: `pedrank --help` must not load scikit-learn
    from pedrank.core.metrics import MetricSpec
    from pedrank.core.ped import PED


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
    from pedrank.core.ped import PED

    return PED(time_step=args.time_step, nsigma=args.nsigma, constant=args.constant,
               exit_ratio=args.exit_ratio, max_steps=args.max_steps, fallback=args.ped_fallback)


def format_records(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Render records as an aligned text table, JSON or CSV."""
    if fmt == "json":
        return json.dumps(list(records), indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return buf.getvalue().rstrip("\n")

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.6g}"
        return "" if v is None else str(v)

    rows = [[cell(r.get(c)) for c in columns] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c)
              for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)
