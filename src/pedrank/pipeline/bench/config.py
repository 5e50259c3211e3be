"""Benchmark configuration: which models x datasets x metrics x PED variants to run.

A configuration is read from a TOML (stdlib :mod:`tomllib`) or YAML (optional
``pyyaml``) file and/or command-line flags. Keys (all optional except
``features``)::

    features = "features/"                # directory of MODEL.npz feature files
    pattern = "{model}_{dataset}.npz"     # file name of one (model, dataset) cell
    source_pattern = "{model}_source.npz" # per-model SourceStats file, used when a
                                          # feature file carries no source_mean/std
    models = ["byol", "swav"]             # default: from the ground truth or the files
    datasets = ["cifar10", "dtd"]
    metrics = ["logme", "sfda"]
    baseline = true                       # include the metrics without PED
    groundtruth = "self_supervised"       # a pedrank.groundtruth table name or a JSON path
    results = "bench-results"             # SQLite store, report and plots go here
    jobs = 2                              # local worker processes
    scheduler = "tcp://host:8786"         # or "local" (dask LocalCluster); default: joblib
    scheduler_timeout = 30                # seconds to wait for the scheduler / a live worker
    blas_threads = 1                      # BLAS threads per worker (default: cores // jobs)
    retry_failed = false

    [ped]                                 # one PED variant ...
    nsigma = 0.6
    time_step = 0.1

    # ... or several:  [[ped]]  name = "ped-0.3"  nsigma = 0.3
    # no PED at all:   ped = false

    [metric_kwargs.gbc]                   # extra keyword arguments per metric
    ...

    [extract]                             # optional: extract missing feature files
    max_samples = 1500                    # from the model zoo (see bench.extraction)
    image_size = 64
    cache_dir = "~/.cache/pedrank"
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pedrank.core.ped_params import check_ped_param

DEFAULT_PATTERN = "{model}_{dataset}.npz"
DEFAULT_METRICS = ("logme", "sfda")
DEFAULT_RESULTS = "bench-results"
SCHEDULER_LOCAL = "local"


EXTRACT_KEYS = {"max_samples", "seed", "image_size", "batch_size", "device", "cache_dir"}


def check_extract_options(opts: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the ``[extract]`` table; return it as a dict."""
    unknown = sorted(set(opts) - EXTRACT_KEYS)
    if unknown:
        raise ValueError(f"unknown [extract] key(s) {unknown}; known: {sorted(EXTRACT_KEYS)}")
    return dict(opts)


@dataclass(frozen=True)
class PedVariant:
    """One PED setting of the grid.

    Attributes
    ----------
    name : str
        Label used in the store and the report (``"ped"`` reads as ``PED+LogME``).
    params : dict
        Keyword arguments of :class:`pedrank.PED` as given by the user.
    """

    name: str = "ped"
    params: Mapping[str, Any] = field(default_factory=dict)

    def resolved_params(self) -> dict[str, Any]:
        """All PED hyper-parameters, defaults filled in (these enter the store key).

        Filling the defaults in means a run is keyed by the values actually
        used, so a change of a library default recomputes the affected cells
        instead of silently mixing two settings under one key.
        """
        from pedrank.core.ped import PED

        sig = inspect.signature(PED.__init__)
        accepted = {n for n, p in sig.parameters.items() if n != "self"
                    and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        unknown = sorted(set(self.params) - accepted)
        if unknown:
            raise ValueError(
                f"unknown PED parameter(s) {unknown} in variant {self.name!r}; "
                f"accepted: {sorted(accepted)}"
            )
        full = {n: p.default for n, p in sig.parameters.items()
                if n in accepted and p.default is not inspect.Parameter.empty}
        for k, v in self.params.items():
            check_ped_param(k, v)
        full.update(self.params)
        return {k: _jsonable(v, f"PED parameter {k!r}") for k, v in sorted(full.items())}


BASELINE = "none"
"""Variant name of the cells without PED."""


@dataclass
class BenchConfig:
    """A benchmark grid and how to run it (see the module docstring for the keys)."""

    features: Path | None = None
    pattern: str = DEFAULT_PATTERN
    source_pattern: str | None = None
    models: list[str] | None = None
    datasets: list[str] | None = None
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    baseline: bool = True
    ped: list[PedVariant] = field(default_factory=lambda: [PedVariant()])
    metric_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    groundtruth: str | None = None
    results: Path = Path(DEFAULT_RESULTS)
    jobs: int = 1
    scheduler: str | None = None
    scheduler_timeout: float = 30.0
    dask_processes: bool = True
    blas_threads: int | None = None
    retry_failed: bool = False
    title: str = "pedrank benchmark"
    extract: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.features is not None:
            self.features = Path(self.features)
        self.results = Path(self.results)
        if not isinstance(self.jobs, int) or isinstance(self.jobs, bool) or self.jobs < 1:
            raise ValueError(f"jobs must be a positive integer; got {self.jobs!r}")
        if self.blas_threads is not None and (
            not isinstance(self.blas_threads, int) or self.blas_threads < 1
        ):
            raise ValueError(f"blas_threads must be a positive integer; got {self.blas_threads!r}")
        if (isinstance(self.scheduler_timeout, bool)
                or not isinstance(self.scheduler_timeout, int | float)
                or not 0 < self.scheduler_timeout <= 86400):
            raise ValueError("scheduler_timeout must be a number of seconds in (0, 86400]; got "
                             f"{self.scheduler_timeout!r}")
        if self.scheduler is not None and (
                not isinstance(self.scheduler, str)
                or (self.scheduler != SCHEDULER_LOCAL and ":" not in self.scheduler)):
            raise ValueError(f"scheduler must be {SCHEDULER_LOCAL!r} or a Dask scheduler address "
                             f"like tcp://host:8786; got {self.scheduler!r}")
        for key in ("pattern", "source_pattern"):
            pat = getattr(self, key)
            if pat is not None and "{model}" not in pat:
                raise ValueError(f"{key} must contain '{{model}}'; got {pat!r}")
        if "{dataset}" not in self.pattern:
            raise ValueError(f"pattern must contain '{{dataset}}'; got {self.pattern!r}")
        names = [v.name for v in self.ped]
        if len(set(names)) != len(names) or BASELINE in names:
            raise ValueError(
                f"PED variant names must be distinct and not {BASELINE!r}; got {names}"
            )
        for variant in self.ped:
            variant.resolved_params()  # unknown names and out-of-range values, early
        if not self.metrics:
            raise ValueError("metrics is empty; name at least one metric")
        if not self.baseline and not self.ped:
            raise ValueError("nothing to run: baseline = false and no PED variant")

    @property
    def variants(self) -> list[PedVariant | None]:
        """The PED settings of the grid; ``None`` is the metric without PED."""
        return ([None] if self.baseline else []) + list(self.ped)

    def to_json(self) -> str:
        """The configuration as canonical JSON (stored with each run)."""
        d = dataclasses.asdict(self)
        d["ped"] = [{"name": v.name, "params": dict(v.params)} for v in self.ped]
        return json.dumps(d, sort_keys=True, default=str)


_KNOWN_KEYS = {f.name for f in dataclasses.fields(BenchConfig)}


def _jsonable(value: Any, what: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number; got {value!r}")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v, what) for v in value]
    raise ValueError(f"{what} must be a number, string, boolean or list; got {value!r}")


def _parse_ped(value: Any) -> list[PedVariant]:
    if value is False or value is None:
        return []
    if value is True:
        return [PedVariant()]
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"'ped' must be a table, a list of tables or false; got {value!r}")
    variants = []
    for i, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise ValueError(f"'ped' entry {i} must be a table of PED parameters; got {entry!r}")
        params = dict(entry)
        name = str(params.pop("name", "ped" if len(value) == 1 else f"ped{i + 1}"))
        variants.append(PedVariant(name, params))
    return variants


def _as_str_list(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, Sequence):
        raise ValueError(f"{key!r} must be a list of names; got {value!r}")
    return [str(v) for v in value]


def config_from_mapping(data: Mapping[str, Any], base_dir: str | os.PathLike[str] | None = None,
                        ) -> BenchConfig:
    """Build a :class:`BenchConfig` from a parsed TOML/YAML mapping.

    Relative paths (``features``, ``results``, a ground-truth JSON path) are
    resolved against ``base_dir`` (the configuration file's folder), so a
    configuration file works from any current directory.
    """
    data = dict(data)
    if "bench" in data and isinstance(data["bench"], Mapping):
        data = {**data.pop("bench"), **data}
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown configuration key(s) {unknown}; known: {sorted(_KNOWN_KEYS)}")
    base = Path(base_dir) if base_dir is not None else None

    def resolve(p: Any) -> Path:
        path = Path(os.path.expanduser(str(p)))
        return path if base is None or path.is_absolute() else base / path

    kw: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("features", "results"):
            kw[key] = resolve(value)
        elif key in ("models", "datasets", "metrics"):
            kw[key] = _as_str_list(value, key)
        elif key == "ped":
            kw[key] = _parse_ped(value)
        elif key == "groundtruth":
            s = str(value)
            looks_like_path = s.endswith(".json") or os.sep in s or "/" in s
            kw[key] = str(resolve(s)) if looks_like_path else s
        elif key == "extract":
            if not isinstance(value, Mapping):
                raise ValueError("'extract' must be a table: [extract] max_samples = ...")
            ext = check_extract_options(value)
            if "cache_dir" in ext:
                ext["cache_dir"] = str(resolve(ext["cache_dir"]))
            kw[key] = ext
        elif key == "metric_kwargs":
            if not isinstance(value, Mapping):
                raise ValueError("'metric_kwargs' must be a table of tables: [metric_kwargs.NAME]")
            if not all(isinstance(v, Mapping) for v in value.values()):
                raise ValueError("'metric_kwargs' must be a table of tables: [metric_kwargs.NAME]")
            kw[key] = {str(k): {str(n): _jsonable(x, f"metric_kwargs.{k}.{n}")
                                for n, x in v.items()} for k, v in value.items()}
        else:
            kw[key] = value
    return BenchConfig(**kw)


def load_config(path: str | os.PathLike[str]) -> BenchConfig:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) benchmark configuration."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: invalid TOML: {exc}") from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError(
                f"{path}: reading YAML needs pyyaml (pip install pyyaml), or use TOML"
            ) from None
        with path.open("r", encoding="utf-8") as fh:
            try:
                data = yaml.safe_load(fh) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{path}: invalid YAML: {exc}") from None
    else:
        raise ValueError(f"{path}: configuration must be .toml, .yaml or .yml")
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: the configuration must be a table/mapping at the top level")
    return config_from_mapping(data, base_dir=path.parent)


def feature_path(config: BenchConfig, model: str, dataset: str, pattern: str | None = None,
                 ) -> Path:
    """``features / pattern`` for one (model, dataset), guaranteed inside ``features``.

    A dataset (or model) given as a path (``/data/flowers``, ``../x``) would
    otherwise turn ``{dataset}/{model}.npz`` into a file inside the user's data
    folder: such names are reduced to their last component plus a short hash
    of the whole name, so nothing is written outside the features folder.
    """
    assert config.features is not None
    pattern = config.pattern if pattern is None else pattern
    path = config.features / pattern.format(model=_safe_name(model), dataset=_safe_name(dataset))
    root = config.features.resolve()
    if not path.resolve().is_relative_to(root):
        raise ValueError(f"pattern {pattern!r} places {model}/{dataset} outside the features "
                         f"folder {config.features}; use a relative pattern without '..'")
    return path


def _safe_name(name: str) -> str:
    """``name`` if it is a plain file-name part, else a path-free stand-in (see feature_path)."""
    if "/" not in name and "\\" not in name and name not in ("", ".", "..") \
            and not name.startswith("~"):
        return name
    import hashlib

    stem = Path(name.rstrip("/\\")).name or "data"
    return f"{stem}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
