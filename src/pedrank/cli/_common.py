"""Options shared by the sub-commands, and the one home of option parsing and validation.

Every numeric option is parsed by a :func:`number` type (range, finiteness,
integer-ness checked by argparse, so a bad value is a one-line usage error,
exit status 2, naming the flag). ``KEY=VALUE`` pairs (``--metric-option``,
``--ped-param``) are read by the one :func:`parse_value`.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedrank.core.ped_params import PED_PARAM_RANGES, check_ped_param
from pedrank.reports.table import Column, Table

if TYPE_CHECKING:  # imported in the functions: `pedrank --help` must not load scikit-learn
    from pedrank.core.metrics import MetricSpec
    from pedrank.core.ped import PED

# Largest accepted sizes: beyond them a run cannot be meant (and would not finish).
MAX_IMAGE_SIZE = 4096
MAX_BATCH = 1 << 16
MAX_JOBS = 1024
MAX_SEED = 2**32 - 1


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return "finite"


def number(kind: type = float, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False) -> Callable[[str], Any]:
    """An argparse ``type=``: an ``int`` or finite ``float`` within the given bounds.

    The error (``argparse.ArgumentTypeError``) becomes argparse's one-line
    ``argument --flag: ...`` message, so it names the flag and the valid range.
    """
    what = "an integer" if kind is int else "a number"
    bounds = _interval(lo, hi, lo_open, hi_open)

    def parse(text: str) -> Any:
        try:
            value = kind(text.strip())
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} ({bounds})") from None
        bad = (not math.isfinite(value)
               or (lo is not None and (value <= lo if lo_open else value < lo))
               or (hi is not None and (value >= hi if hi_open else value > hi)))
        if bad:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: must be {bounds}")
        return value

    parse.__name__ = kind.__name__
    # The declared range, for introspection (tests/cli/test_cli_matrix.py, docs).
    parse.kind, parse.lo, parse.hi = kind, lo, hi  # type: ignore[attr-defined]
    parse.lo_open, parse.hi_open = lo_open, hi_open  # type: ignore[attr-defined]
    return parse


_DEVICE = re.compile(r"(cpu|cuda(:\d{1,3})?|mps|auto)")


def device(text: str) -> str:
    """An argparse ``type=`` for ``--device``: cpu, cuda, cuda:N, mps or auto."""
    if not _DEVICE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; use cpu, cuda, cuda:N, mps or auto")
    return text.strip()


def out_dir(text: str) -> Path:
    """An argparse ``type=`` for an output folder: may be missing, must not be a file."""
    p = Path(text).expanduser()
    for q in (p, *p.parents):  # the first existing ancestor must be a folder too
        if q.exists():
            if not q.is_dir():
                where = "" if q == p else f" is below {q}, which"
                raise argparse.ArgumentTypeError(
                    f"{text}:{where} is a file, not a folder; give a folder")
            break
    return p


def check_device(flag_value: str | None) -> None:
    """Refuse ``--device cuda`` (or mps) where this machine has no such device.

    Raises a ValueError naming the flag instead of torch's own error (an
    AssertionError from a CPU-only build, or a RuntimeError deep in a kernel).
    """
    if flag_value is None or flag_value in ("cpu", "auto"):
        return
    try:
        import torch
    except ImportError:
        raise ValueError(f"--device {flag_value}: needs PyTorch (pip install torch); "
                         "drop --device to use numpy") from None
    if flag_value.startswith("cuda"):
        index = int(flag_value.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise ValueError(f"--device {flag_value}: no such CUDA device on this machine; "
                             "use --device cpu")
    elif flag_value == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: no MPS device on this machine; use --device cpu")


def parse_value(raw: str, what: str = "VALUE") -> Any:
    """The one reading of a ``KEY=VALUE`` value: null, true/false, int, float, list, text.

    ``"5"`` (quoted) is the text 5.

    Numbers must be finite (``1e400`` overflows to inf and ``nan`` is no
    number: both are refused). Anything else is kept as text.
    """
    text = raw.strip()
    low = text.lower()
    if low in ("null", "none"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            value = conv(text)
        except (ValueError, OverflowError):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{what}: {raw!r} is not a finite number")
        return value
    if low in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        raise ValueError(f"{what}: {raw!r} is not a finite number")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]  # quoted: text even if it looks like a number
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{what}: {raw!r} is not a valid list, e.g. [1, 2]") from None
        return [parse_value(json.dumps(v) if not isinstance(v, str) else v, what)
                for v in items]
    return text


def parse_pair(item: str, flag: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key with - as _, :func:`parse_value` of VALUE)."""
    key, sep, raw = item.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key:
        raise ValueError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} ratio=1")
    return key, parse_value(raw, f"{flag} {key}")


def ped_param(item: str) -> tuple[str, Any]:
    """An argparse ``type=`` for ``--ped-param NAME=VALUE`` (name and range checked)."""
    try:
        key, value = parse_pair(item, "--ped-param")
        accepted = sorted({*PED_PARAM_RANGES, "fallback"})
        if key not in accepted:
            raise ValueError(f"--ped-param {key!r}: PED takes {', '.join(accepted)}")
        check_ped_param(key, value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return key, value


def _ped_flag(name: str) -> Callable[[str], Any]:
    """The ``--NAME`` option type: the range of :data:`PED_PARAM_RANGES` (one table)."""
    spec = PED_PARAM_RANGES[name]
    return number(spec.kind, lo=spec.low, hi=spec.high, lo_open=spec.low_open)


def add_metric_options(parser: argparse.ArgumentParser) -> None:
    """--metric, PED switches and hyper-parameters, --device."""
    parser.add_argument("--metric", "-m", default="sfda",
                        help="metric name (see `pedrank metrics`); default: sfda")
    parser.add_argument("--task", choices=("classification", "regression"),
                        default="classification",
                        help="regression: the labels are real-valued targets (metrics that "
                             "support it, e.g. logme); default: classification")
    ped = parser.add_argument_group("PED (Potential Energy Decline) dynamics")
    ped.add_argument("--ped", action="store_true",
                     help="move the features by PED dynamics before scoring")
    ped.add_argument("--time-step", type=_ped_flag("time_step"), default=0.1,
                     help="PED time step (0.1)")
    ped.add_argument("--nsigma", type=_ped_flag("nsigma"), default=0.6,
                     help="PED ball radius in sigmas (0.6)")
    ped.add_argument("--constant", type=_ped_flag("constant"), default=1.0,
                     help="PED force constant (1.0)")
    ped.add_argument("--exit-ratio", type=_ped_flag("exit_ratio"), default=0.5,
                     help="PED exit ratio in [0, 1] (0.5)")
    ped.add_argument("--max-steps", type=_ped_flag("max_steps"), default=6,
                     help="PED maximum steps (6)")
    ped.add_argument("--ped-fallback", choices=("error", "target"), default="error",
                     help="without source statistics: fail (default) or standardise with the "
                          "target's own statistics (an approximation; warns)")
    parser.add_argument("--device", type=device, default=None,
                        help="PyTorch back end device (cpu, cuda); default: numpy")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="compute dtype of the metric's large Gram/scatter products: "
                             "float32 is about 2x faster there, with a small measured error "
                             "(docs/performance.md); default: float64")
    parser.add_argument("--metric-option", "-o", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword argument of the metric, repeatable; VALUE is read as "
                             "null, true/false, a number or a list when it parses, else as "
                             "text; e.g. -o max_fit_samples=20000 -o covariance_type=diag for "
                             "nleep")


def _expects_number(param: inspect.Parameter) -> str | None:
    """'int' / 'float' when a keyword parameter takes a number (by default or annotation)."""
    default = param.default
    if isinstance(default, bool):
        return None
    if isinstance(default, int | float):
        return "int" if isinstance(default, int) else "float"
    ann = str(param.annotation)
    if any(t in ann for t in ("str", "Literal", "tuple", "list", "Sequence", "bool")):
        return None  # text, choices, sequences (checked by the metric) or flags
    if "float" in ann:
        return "float"
    if "int" in ann:
        return "int"
    return None


def _check_option_type(flag: str, spec: MetricSpec, param: inspect.Parameter, value: Any) -> Any:
    """Refuse a value of the wrong kind for a metric's keyword (text where a number is due)."""
    expects = _expects_number(param)
    if expects is None or value is None:
        ann = str(param.annotation)
        is_flag = isinstance(param.default, bool) or ann in ("bool", "bool | None")
        if is_flag and not isinstance(value, bool) and not (value is None and "None" in ann):
            raise ValueError(f"{flag}: metric {spec.name!r} takes true or false; got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{flag}: metric {spec.name!r} takes a number; got {value!r}")
    if expects == "int" and not isinstance(value, int):
        if not float(value).is_integer():
            raise ValueError(f"{flag}: metric {spec.name!r} takes an integer; got {value!r}")
        value = int(value)
    return value


def metric_options(args: argparse.Namespace, spec: MetricSpec) -> dict[str, Any]:
    """The ``--metric-option KEY=VALUE`` pairs as keyword arguments of ``spec``'s function.

    Raises
    ------
    ValueError
        On a malformed pair, a name the metric does not take (the message
        lists the names it does take), a value that is no finite number or of
        the wrong kind (text where the metric takes a number).
    """
    params = inspect.signature(spec.func).parameters
    accepted = [n for n, p in params.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in ("device", "dtype")]
    out: dict[str, Any] = {}
    for item in args.metric_option:
        key, value = parse_pair(item, "--metric-option")
        if key not in accepted:
            raise ValueError(
                f"--metric-option {key!r}: metric {spec.name!r} takes "
                f"{', '.join(accepted) if accepted else 'no options'}"
            )
        out[key] = _check_option_type(f"--metric-option {key}", spec, params[key], value)
    return out


def build_ped(args: argparse.Namespace) -> PED | None:
    """The PED estimator asked for on the command line, or None."""
    if not args.ped:
        return None
    from pedrank.core.ped import PED

    return PED(time_step=args.time_step, nsigma=args.nsigma, constant=args.constant,
               exit_ratio=args.exit_ratio, max_steps=args.max_steps, fallback=args.ped_fallback)


def check_scoring(args: argparse.Namespace, spec: MetricSpec, path: Path,
                  has_source: bool) -> None:
    """Refuse, naming the flag, what the library would refuse with Python advice.

    * ``--ped`` on a file without source statistics and no ``--ped-fallback target``;
    * ``--device`` with a metric that has no PyTorch back end or a device this
      machine lacks.
    """
    if args.ped and not spec.ped_composable:
        raise ValueError(f"--ped: metric {spec.name!r} reads source outputs, which PED does "
                         "not move; drop --ped or choose another --metric")
    if args.ped and not has_source and args.ped_fallback == "error":
        raise ValueError(
            f"{path}: has no source statistics (source_mean/source_std) for --ped; pass "
            "--source STATS.npz, or --ped-fallback target to use the target's own statistics")
    if args.dtype == "float32" and not spec.supports_dtype:
        from pedrank.core.metrics import available_metrics

        names = ", ".join(m.name for m in available_metrics() if m.supports_dtype)
        raise ValueError(f"--dtype float32: metric {spec.name!r} has no float32 path; drop "
                         f"--dtype or use one of: {names}")
    if args.device is not None:
        if args.dtype == "float32":
            raise ValueError("--dtype float32 runs on numpy only; drop --device or --dtype")
        if not spec.supports_device:
            raise ValueError(f"--device: metric {spec.name!r} has no PyTorch back end; "
                             "drop --device")
        check_device(args.device)


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
