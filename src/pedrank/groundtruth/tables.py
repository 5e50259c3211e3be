"""Ground-truth transfer accuracies shipped with pedrank.

Tables live in ``pedrank/data/groundtruth/<name>.json`` as
``{dataset: {model: accuracy}}``; keys starting with ``_`` hold metadata (how
the table was produced) and are not datasets.

Shipped tables:

* ``self_supervised`` — fine-tuning accuracies of 12 self-supervised ResNet-50
  models on 11 datasets, as released with the PED paper's code (ICCV 2023).
* ``supervised`` — 11 supervised ImageNet models on 11 datasets, as released
  with the SFDA paper's code (ECCV 2022).
* ``zoo_*`` — accuracies measured by pedrank on its offline model zoo (see
  the ``_about`` entry of each table for the command and settings).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

Table = dict[str, dict[str, float]]


def _data_dir() -> Any:
    return resources.files("pedrank").joinpath("data", "groundtruth")


def available() -> list[str]:
    """Names of the shipped ground-truth tables."""
    return sorted(p.name[:-5] for p in _data_dir().iterdir() if p.name.endswith(".json"))


def _parse(raw: Any, origin: str) -> Table:
    if not isinstance(raw, dict):
        raise ValueError(f"{origin}: expected a JSON object {{dataset: {{model: accuracy}}}}")
    table: Table = {}
    for dataset, models in raw.items():
        if str(dataset).startswith("_"):
            continue
        if not isinstance(models, dict):
            raise ValueError(f"{origin}: entry {dataset!r} must map model names to accuracies")
        try:
            table[str(dataset)] = {str(m): float(a) for m, a in models.items()}
        except (TypeError, ValueError):
            raise ValueError(f"{origin}: non-numeric accuracy under {dataset!r}") from None
    return table


def load(name: str) -> Table:
    """Load a shipped table by name, e.g. ``load("self_supervised")["cifar10"]["byol"]``."""
    entry = _data_dir().joinpath(f"{name}.json")
    if not entry.is_file():
        raise ValueError(
            f"unknown ground-truth table {name!r}; available: {', '.join(available())}"
        )
    return _parse(json.loads(entry.read_text(encoding="utf-8")), f"ground truth {name!r}")


def metadata(name: str) -> dict[str, Any]:
    """The ``_``-prefixed metadata entries of a shipped table (e.g. ``_about``)."""
    entry = _data_dir().joinpath(f"{name}.json")
    if not entry.is_file():
        raise ValueError(
            f"unknown ground-truth table {name!r}; available: {', '.join(available())}"
        )
    raw = json.loads(entry.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if str(k).startswith("_")}


def replicates(name: str) -> dict[str, dict[str, list[float]]]:
    """Per-seed accuracies of a shipped table: ``{target: {model: [accuracy per seed]}}``.

    :func:`load` gives their means. Tables without replicates (the published
    ones) raise ``ValueError``.
    """
    return _parse_replicates(metadata(name).get("_replicates"), f"ground-truth table {name!r}")


def replicates_file(path: str | os.PathLike[str]) -> dict[str, dict[str, list[float]]]:
    """Per-seed accuracies (``_replicates``) of a ground-truth JSON file, as :func:`replicates`.

    Files without replicates raise ``ValueError``.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return _parse_replicates(raw.get("_replicates") if isinstance(raw, dict) else None, str(p))


def _parse_replicates(reps: Any, origin: str) -> dict[str, dict[str, list[float]]]:
    """``{target: {model: [float]}}`` from a ``_replicates`` entry (``ValueError`` if absent)."""
    if not isinstance(reps, dict):
        raise ValueError(f"{origin} has no per-seed replicates")
    try:
        return {str(t): {str(m): [float(a) for a in v] for m, v in ms.items()}
                for t, ms in reps.items()}
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{origin}: _replicates must map targets to {{model: [accuracy per "
                         "seed]}}") from None


def load_file(path: str | os.PathLike[str]) -> Table:
    """Load a user table: ``{dataset: {model: acc}}`` or a flat ``{model: acc}``.

    A flat mapping is returned under the dataset key ``""``.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(raw, dict) and raw and all(not isinstance(v, dict) for k, v in raw.items()
                                             if not str(k).startswith("_")):
        raw = {"": raw}
    return _parse(raw, str(p))


__all__ = ["available", "load", "load_file", "metadata", "replicates", "replicates_file"]
