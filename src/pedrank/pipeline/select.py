"""Rank candidate models on one dataset: the single extract -> source statistics -> score path.

:func:`select` answers "which of MY models should I fine-tune on MY data?":

1. resolve the model specs (:func:`pedrank.models.loaders.resolve_model`: zoo
   names, ONNX / TorchScript files, ``hf:``, ``timm:``, ``python:``) and the
   data (:func:`pedrank.datasets.resolve.load_data`);
2. extract every model's features (cached, resumable, with progress;
   :func:`pedrank.models.loaders.extract_features`);
3. source statistics per model (:func:`pedrank.pipeline.sources.source_stats_for`);
4. check that every model's features cover the same samples in the same order
   with the same labels (:func:`check_same_samples`);
5. score every metric without PED and with PED (Li et al., ICCV 2023). PED runs
   **once per model**: its moved features serve every metric;
6. rank each column, and bootstrap the recommendation's column over samples
   (class-stratified) to say whether the best model's margin over the
   runner-up exceeds the score's own sampling noise.

``pedrank select`` and ``pedrank demo`` are thin layers over this module.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.core.metrics import get_metric
from pedrank.core.ped import (
    CoincidentClassMeansWarning,
    SourceFallbackWarning,
    SourceScaleWarning,
    ped_transform,
)
from pedrank.core.scoring import is_saturated, ranking_records, score
from pedrank.pipeline.sources import SourceChoice, source_stats_for

__all__ = [
    "DEFAULT_METRICS",
    "Recommendation",
    "Selection",
    "check_same_samples",
    "recommend",
    "select",
    "stratified_bootstrap",
]

log = logging.getLogger(__name__)

# A small recommended set: LogME (You et al., ICML 2021) leads the recommendation; SFDA
# (Shao et al., ECCV 2022) and GBC (Pandy et al., CVPR 2022) add a class-separability view.
# SFDA and GBC saturate on some features (equal scores for every model): the table says so.
DEFAULT_METRICS = ("logme", "sfda", "gbc")
PED_MODES = ("both", True, False)
TIE_LEVEL = 0.95  # the best model must stay ahead in this fraction of resamples


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ModelRun:
    """What the pipeline did for one model that was scored."""

    name: str
    spec: str
    description: str
    n_features: int
    from_cache: bool
    source: SourceChoice
    seconds: dict[str, float]


@dataclass(frozen=True)
class Recommendation:
    """The best model of one column and whether its lead is larger than sampling noise.

    Attributes
    ----------
    model, runner_up : str or None
    column : str
        The ranking the recommendation uses, e.g. ``"PED+logme"``.
    margin : float or None
        Score of the best minus score of the runner-up (full data).
    noise : float or None
        Standard deviation of that margin over the bootstrap resamples.
    wins : int or None
        Resamples in which the best model stays ahead of the runner-up.
    n_bootstrap : int
    tie : bool
        ``True`` when the best is ahead in fewer than 95% of the resamples.
    text : str
        One line for people.
    """

    model: str | None
    column: str
    runner_up: str | None = None
    margin: float | None = None
    noise: float | None = None
    wins: int | None = None
    n_bootstrap: int = 0
    tie: bool = False
    text: str = ""


@dataclass
class Selection:
    """The outcome of :func:`select`.

    Attributes
    ----------
    records : list of dict
        One per (model, column): ``model``, ``metric``, ``ped``, ``column``,
        ``score`` (``None`` when the metric failed on that model), ``rank``.
    columns : list of str
        Column labels in order, e.g. ``["logme", "PED+logme", "sfda", ...]``.
    runs : list of ModelRun
        The models that were scored (features, source statistics, timings).
    failed : dict
        Model -> one-line reason, for models that could not be scored.
    recommendation : Recommendation
    timings : dict
        Seconds: ``extraction``, ``source_statistics``, ``scoring`` (which
        includes ``bootstrap``), ``total``.
    saturated : dict
        Column -> ``True`` when every model got the same score (ranking meaningless).
    notes : list of str
        Skipped metrics, per-model metric errors, fallbacks.
    dataset : dict
        ``name``, ``n_samples``, ``n_classes``, ``fingerprint``, ``task``, ``modality``.
    """

    records: list[dict[str, Any]]
    columns: list[str]
    runs: list[ModelRun]
    failed: dict[str, str]
    recommendation: Recommendation
    timings: dict[str, float]
    saturated: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)

    @property
    def sources(self) -> dict[str, str]:
        """Model -> where its source statistics came from (one line each)."""
        return {r.name: r.source.description for r in self.runs}

    def scores(self, column: str) -> dict[str, float]:
        """Model -> score in ``column`` (models whose metric failed are left out)."""
        col = self._column(column)
        return {r["model"]: r["score"] for r in self.records
                if r["column"] == col and r["score"] is not None}

    def _column(self, metric: str | None) -> str:
        if metric is None:
            return self.recommendation.column
        if metric in self.columns:
            return metric
        name = metric[4:] if metric.lower().startswith("ped+") else metric
        name = get_metric(name).name
        want = [f"PED+{name}"] if metric.lower().startswith("ped+") else [name, f"PED+{name}"]
        for c in want:
            if c in self.columns:
                return c
        raise ValueError(f"no column {metric!r} in this selection; columns are {self.columns}")

    def best(self, metric: str | None = None) -> str | None:
        """The top-ranked model: of the recommendation's column, or of ``metric``.

        ``metric`` is a column label (``"PED+logme"``) or a metric name, which
        means its column without PED when there is one, else its PED column.
        """
        ranked = sorted(
            (r for r in self.records if r["column"] == self._column(metric) and r["rank"]),
            key=lambda r: r["rank"],
        )
        return ranked[0]["model"] if ranked else None

    @property
    def models(self) -> list[str]:
        """Scored models, best first in the recommendation's column."""
        order = {r["model"]: r["rank"] or 1 << 30 for r in self.records
                 if r["column"] == self.recommendation.column}
        return sorted((r.name for r in self.runs), key=lambda m: order.get(m, 1 << 30))

    @property
    def table(self) -> Any:
        """pandas DataFrame: one row per model (best first), a score and a rank column
        per (metric, with/without PED)."""
        import pandas as pd

        rows = {m: {} for m in self.models}
        for r in self.records:
            rows[r["model"]][r["column"]] = np.nan if r["score"] is None else r["score"]
            rows[r["model"]][f"{r['column']} rank"] = r["rank"]
        cols = [c for col in self.columns for c in (col, f"{col} rank")]
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
        frame.index.name = "model"
        return frame.astype({f"{c} rank": "Int64" for c in self.columns})

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-serialisable Python objects."""
        rec = self.recommendation
        return {
            "dataset": self.dataset,
            "columns": self.columns,
            "ranking": self.records,
            "recommendation": {k: getattr(rec, k) for k in rec.__dataclass_fields__},
            "models": [
                {"model": r.name, "spec": r.spec, "description": r.description,
                 "n_features": r.n_features, "features_from_cache": r.from_cache,
                 "source_statistics": {"kind": r.source.kind,
                                       "description": r.source.description},
                 "seconds": r.seconds}
                for r in self.runs
            ],
            "failed": self.failed,
            "saturated": self.saturated,
            "notes": self.notes,
            "seconds": self.timings,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_html(self, path: str | Path) -> Path:
        """Write a standalone HTML page of the selection (table, recommendation, sources)."""
        # The renderer belongs to the reports layer; the interface puts the method here.
        from pedrank.reports.selection import write_html

        return write_html(self, path)


# --------------------------------------------------------------------------- step 1: inputs


def _columns(metrics: Sequence[str] | None, ped: Any, task: str) -> tuple[list[str], list[str]]:
    """(metric names, notes) for ``task``; validates names and inputs."""
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
    if ped not in PED_MODES:
        raise ValueError(f"ped must be 'both', True or False; got {ped!r}")
    names = list(dict.fromkeys(get_metric(m).name for m in (metrics or DEFAULT_METRICS)))
    for m in names:
        if get_metric(m).input != "features":
            raise ValueError(f"metric {m!r} scores source-model probabilities; select scores "
                             "features: choose a feature metric (see `pedrank metrics`)")
    notes: list[str] = []
    if task == "regression":
        keep = [m for m in names if _supports_regression(m)]
        skipped = [m for m in names if m not in keep]
        if skipped:
            notes.append(f"skipped for regression (classification only): {', '.join(skipped)}")
        if not keep:
            raise ValueError(f"none of {', '.join(names)} supports regression targets; "
                             "use --metric logme")
        names = keep
    return names, notes


def _supports_regression(metric: str) -> bool:
    spec = get_metric(metric)
    if hasattr(spec, "supports_regression"):
        return bool(spec.supports_regression)
    return spec.name == "logme"  # before MetricSpec.supports_regression existed


def _variants(ped: Any, task: str, notes: list[str]) -> list[bool]:
    """Which of (without PED, with PED) to score."""
    if task == "regression" and ped is not False:
        notes.append("PED skipped: it moves class clusters, and regression targets have none")
        return [False]
    return {"both": [False, True], True: [True], False: [False]}[ped]


def resolve_data(data: Any, *, text_column: str | None = None, label_column: str | None = None,
                 task: str = "classification", max_samples: int | None = None,
                 seed: int = 0) -> Any:
    """A dataset object from a path / name (via ``load_data``) or as given (subsampled)."""
    if max_samples is not None and max_samples < 2:
        raise ValueError(f"max_samples must be at least 2; got {max_samples}")
    if isinstance(data, str | Path):
        from pedrank.datasets.resolve import load_data

        return load_data(str(data), text_column=text_column, label_column=label_column,
                         task=task, max_samples=max_samples, seed=seed)
    if not hasattr(data, "labels") or not hasattr(data, "inputs"):
        raise ValueError("data must be a folder, a file, a built-in dataset name or a dataset "
                         f"object with .inputs and .labels; got {type(data).__name__}")
    if max_samples is not None and hasattr(data, "subset"):
        return data.subset(max_samples, seed)
    return data


def _check_labels(ds: Any, task: str) -> np.ndarray:
    """The labels, validated for ``task`` (one-line errors naming the data)."""
    y = np.asarray(ds.labels)
    name = getattr(ds, "name", "data")
    if y.ndim != 1 or y.shape[0] < 2:
        raise ValueError(f"{name}: needs at least 2 labelled samples; got {y.shape[0]}")
    if task == "regression":
        if y.dtype.kind not in "fiu" or not np.isfinite(y.astype(np.float64)).all():
            raise ValueError(f"{name}: regression needs finite numeric labels")
        return y.astype(np.float64)
    n_classes = np.unique(y).size
    if n_classes < 2:
        raise ValueError(f"{name}: has a single class ({y[0]!r}); ranking needs at least 2 "
                         "classes (one sub-folder per class)")
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError(f"{name}: labels are continuous numbers; use task='regression' "
                         "(--task regression)")
    return y


def resolve_models(models: Any, *, layer: str | None = None, image_size: int | None = None,
                   kind: str | None = None) -> list[Any]:
    """Model specs (loaders ``ModelSpec``) for a spec string, a spec, or a sequence of them.

    Resolving is cheap (no weights are read), so every bad spec fails before
    any extraction starts.
    """
    from pedrank.models.loaders import resolve_model

    items = [models] if isinstance(models, str | Path) or hasattr(models, "cache_id") else models
    items = list(items)
    if not items:
        raise ValueError("no models given; pass at least one model spec")
    specs = [m if hasattr(m, "cache_id") else
             resolve_model(str(m), layer=layer, image_size=image_size, kind=kind) for m in items]
    return _unique_names(specs)


def _unique_names(specs: list[Any]) -> list[Any]:
    """Specs whose display names clash (``model.pt`` and ``model.onnx`` are both "model")
    renamed to their file names; a clash that remains is a one-line error."""
    names = [s.name for s in specs]
    clash = {n for n in names if names.count(n) > 1}
    specs = [dataclasses.replace(s, name=Path(str(s.spec).split(":", 1)[-1]).name)
             if s.name in clash else s for s in specs]
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"two models have the same name {dup[0]!r}; rename one of the files")
    return specs


# --------------------------------------------------------------------------- step 2-3: features


def _extract_one(spec: Any, ds: Any, source_data: Any, opts: dict[str, Any]) -> tuple[Any, ...]:
    """(FeatureSet, SourceChoice, seconds) of one model."""
    from pedrank.models.loaders import extract_features

    # The target data and the source sample share one load of the weights (loaded only
    # on a cache miss; released when this model is done).
    spec = dataclasses.replace(spec, loader=functools.cache(spec.load))

    def extract(s: Any, d: Any) -> Any:
        return extract_features(s, d, **opts)

    t0 = time.perf_counter()
    fs = extract(spec, ds)
    t1 = time.perf_counter()
    load = None
    if isinstance(source_data, str | Path):
        load = _source_loader()
    src = source_stats_for(spec, extract=extract, source_data=source_data, load_data=load,
                           cache_dir=opts.get("cache_dir"))
    t2 = time.perf_counter()
    return fs, src, {"extraction": t1 - t0, "source_statistics": t2 - t1}


def _source_loader() -> Any:
    from pedrank.datasets.resolve import load_data

    # A source sample has no meaningful labels: take the first column / sub-folders as given.
    return lambda path: load_data(str(path))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def extract_all(specs: list[Any], ds: Any, *, source_data: Any, opts: dict[str, Any]
                ) -> tuple[dict[str, tuple[Any, ModelRun]], dict[str, str]]:
    """Features and source statistics of every model; a model that fails is reported.

    A :class:`~pedrank.models.loaders.ModelSpecError` (e.g. an output that is not
    N x D) and an :class:`~pedrank.datasets.UnreadableImageError` (image folders are
    decoded batch by batch, so a truncated file shows up here) are bad input and
    propagate; any other error fails that model only.
    """
    from pedrank.datasets import UnreadableImageError
    from pedrank.models.loaders import ModelSpecError

    done: dict[str, tuple[Any, ModelRun]] = {}
    failed: dict[str, str] = {}
    for i, spec in enumerate(specs, start=1):
        log.info("[%d/%d] %s: features of %d samples ...", i, len(specs), spec.name,
                 len(ds.labels))
        try:
            fs, src, secs = _extract_one(spec, ds, source_data, opts)
        except (ModelSpecError, UnreadableImageError, MemoryError):
            raise  # bad input (a spec, an image found corrupt while decoding) or no memory
        except Exception as exc:  # one broken model must not stop the ranking of the others
            failed[spec.name] = _one_line(exc)
            log.info("[%d/%d] %s: failed (%s)", i, len(specs), spec.name, failed[spec.name])
            continue
        run = ModelRun(spec.name, spec.spec, spec.description, int(fs.features.shape[1]),
                       bool(fs.from_cache), src, secs)
        done[spec.name] = (fs, run)
        log.info("[%d/%d] %s: %s in %.1f s; source statistics: %s", i, len(specs), spec.name,
                 "from cache" if fs.from_cache else "extracted", secs["extraction"],
                 src.description)
    return done, failed


def check_same_samples(items: Mapping[str, tuple[Any, str | None]]) -> None:
    """Raise a one-line ``ValueError`` unless every item has the same samples and labels.

    Parameters
    ----------
    items : mapping name -> (labels, data hash or None)
        E.g. feature-file name -> (its labels, its ``data_hash``). Labels are
        compared in order (as text, so ``3`` and ``"3"`` agree); data hashes
        only where both items have one.
    """
    names = list(items)
    if len(names) < 2:
        return
    ref = names[0]
    ref_y = np.asarray(items[ref][0]).astype(str)
    ref_h = items[ref][1]

    def describe(n: str, y: np.ndarray) -> str:
        return f"{n} has {y.shape[0]} samples / {np.unique(y).size} classes"

    for n in names[1:]:
        y = np.asarray(items[n][0]).astype(str)
        h = items[n][1]
        if y.shape != ref_y.shape or np.unique(y).size != np.unique(ref_y).size:
            why = f"{describe(ref, ref_y)}, {describe(n, y)}"
        elif not np.array_equal(y, ref_y):
            why = f"{ref} and {n} have their labels in a different order or different labels"
        elif h is not None and ref_h is not None and h != ref_h:
            why = f"{ref} and {n} were extracted from different data (data hash {ref_h} != {h})"
        else:
            continue
        raise ValueError(f"features cover different samples: {why}; extract every model "
                         "from the same data")


# --------------------------------------------------------------------------- step 5: scoring


def _metric_kwargs(metric: str, task: str, dtype: str = "float64") -> dict[str, Any]:
    """Keyword arguments of :func:`pedrank.score` for ``metric``: the regression switch, and
    ``dtype="float32"`` only for metrics that have a float32 path (the others stay float64,
    which :func:`select` records in its notes)."""
    spec = get_metric(metric)
    kw: dict[str, Any] = {"dtype": "float32"} if dtype == "float32" and spec.supports_dtype else {}
    if task != "regression":
        return kw
    params = inspect.signature(spec.func).parameters
    if "task" in params:
        return {**kw, "task": "regression"}
    return {**kw, "regression": True} if "regression" in params else kw


def _score_columns(X: Any, y: np.ndarray, metrics: list[str], ped: bool, task: str,
                   dtype: str = "float64") -> dict[str, float | str]:
    """{column: score, or the error text of a metric that failed}."""
    out: dict[str, float | str] = {}
    for m in metrics:
        label = f"PED+{m}" if ped else m
        try:
            out[label] = float(score(X, y, metric=m, **_metric_kwargs(m, task, dtype)))
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            out[label] = _one_line(exc)
    return out


def _ped_moved(X: Any, y: np.ndarray, src: SourceChoice) -> tuple[Any, str | None]:
    """One PED run (Li et al., ICCV 2023) for one model: its result serves every metric.

    Returns the result and the message of a :class:`SourceScaleWarning`, if PED gave
    one (the caller names the model in a note instead of an anonymous warning).
    """
    with warnings.catch_warnings(record=True) as caught:
        # The fallback is named once in the source-statistics column, not per metric.
        warnings.simplefilter("ignore", SourceFallbackWarning)
        warnings.simplefilter("ignore", CoincidentClassMeansWarning)
        warnings.simplefilter("always", SourceScaleWarning)
        res = ped_transform(X, y, src.stats if src.stats is not None else "target")
    scale = [w for w in caught if issubclass(w.category, SourceScaleWarning)]
    for w in caught:  # anything else is passed on unchanged
        if not issubclass(w.category, SourceScaleWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, str(scale[0].message) if scale else None


def score_models(done: Mapping[str, tuple[Any, ModelRun]], y: np.ndarray, metrics: list[str],
                 variants: list[bool], task: str, dtype: str = "float64"
                 ) -> tuple[dict[str, dict], dict[str, Any], list[str]]:
    """Scores ``{model: {column: score or error}}``, the PED shifts ``{model: PEDResult}``
    and notes (a model whose source statistics make its PED scores suspect).

    PED runs once per model; its moved features are scored by every metric.
    """
    scores: dict[str, dict] = {}
    moved: dict[str, Any] = {}
    notes: list[str] = []
    for name, (fs, run) in done.items():
        t0 = time.perf_counter()
        col: dict[str, float | str] = {}
        if False in variants:
            col.update(_score_columns(fs.features, y, metrics, False, task, dtype))
        if True in variants:
            res, suspect = _ped_moved(fs.features, y, run.source)
            if suspect:
                notes.append(f"{name}: {suspect.removeprefix('PED: ')}")
            col.update(_score_columns(res.features, y, metrics, True, task, dtype))
            # Keep only the class shift: the moved features are rebuilt on demand.
            moved[name] = (res.shift, res.classes)
        scores[name] = {c: col[c] for c in _order(metrics, variants)}
        run.seconds["scoring"] = time.perf_counter() - t0
    return scores, moved, notes


def _order(metrics: list[str], variants: list[bool]) -> list[str]:
    return [f"PED+{m}" if p else m for m in metrics for p in variants]


def rank_columns(scores: Mapping[str, Mapping[str, float | str]], columns: list[str]
                 ) -> tuple[list[dict[str, Any]], dict[str, bool], list[str]]:
    """Long records with per-column ranks (ties share the minimum rank), saturation, notes."""
    records: list[dict[str, Any]] = []
    saturated: dict[str, bool] = {}
    notes: list[str] = []
    for c in columns:
        ok = {m: float(v[c]) for m, v in scores.items() if not isinstance(v[c], str)}
        for m, v in scores.items():
            if isinstance(v[c], str):
                notes.append(f"{c} failed on {m}: {v[c]}")
        ranks = {r["model"]: r["rank"] for r in ranking_records(ok)} if ok else {}
        saturated[c] = is_saturated(ok.values())
        if saturated[c]:
            notes.append(f"{c} is saturated: every model got the same score, so its ranking "
                         "says nothing here")
        ped = c.startswith("PED+")
        for m in sorted(scores, key=lambda m: ranks.get(m, 1 << 30)):
            records.append({"model": m, "metric": c[4:] if ped else c, "ped": ped, "column": c,
                            "score": ok.get(m), "rank": ranks.get(m)})
    return records, saturated, notes


# --------------------------------------------------------------------------- step 6: bootstrap


def stratified_bootstrap(y: np.ndarray, n_bootstrap: int, seed: int = 0,
                         stratify: bool = True) -> np.ndarray:
    """(n_bootstrap, N) row indices: each resample draws every class's count with replacement.

    Class-stratified (Efron & Tibshirani, 1993 stratified bootstrap), so each
    resample keeps the class sizes and no class can vanish. Vectorised: rows
    are grouped by class once, and each draw is a uniform position inside its
    row's class block.
    """
    rng = np.random.default_rng(seed)
    n = y.shape[0]
    if not stratify:
        return rng.integers(0, n, size=(n_bootstrap, n))
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    c = codes[order]  # class of each position in the grouped order
    u = rng.random((n_bootstrap, n))
    pos = starts[c] + np.minimum((u * counts[c]).astype(np.intp), counts[c] - 1)
    return order[pos]


def recommend(scores: Mapping[str, float], boot: Mapping[str, np.ndarray] | None, column: str,
              level: float = TIE_LEVEL) -> Recommendation:
    """The recommendation from full-data scores and paired bootstrap scores.

    Parameters
    ----------
    scores : mapping model -> score
        Higher is better.
    boot : mapping model -> (B,) array, optional
        The scores of (at least) the two best models on the same B resamples.
    column : str
        Label of the ranking, for the text.
    level : float
        The best model's lead counts as real when it holds in at least this
        fraction of the resamples; otherwise the top two are a statistical tie.
    """
    if not scores:
        return Recommendation(None, column, text="No model could be scored.")
    ranked = ranking_records(scores)
    best = ranked[0]["model"]
    if len(ranked) == 1:
        return Recommendation(best, column, text=f"Only {best} could be scored ({column}); "
                                                 "nothing to compare it with.")
    second = ranked[1]["model"]
    margin = scores[best] - scores[second]
    if not boot or best not in boot or second not in boot or len(boot[best]) == 0:
        return Recommendation(best, column, second, margin, text=(
            f"Recommended: {best} (best {column}; {margin:.3g} ahead of {second}; sampling "
            "noise not estimated)."))
    diff = np.asarray(boot[best], dtype=np.float64) - np.asarray(boot[second], dtype=np.float64)
    b = diff.size
    wins = int((diff > 0).sum())
    noise = float(diff.std(ddof=1)) if b > 1 else 0.0
    tie = margin <= 0 or wins < level * b
    if tie:
        text = (f"Statistical tie: {best} and {second} differ by {margin:.3g} in {column}, "
                f"within the sampling noise (bootstrap s.d. {noise:.3g}; {best} ahead in "
                f"{wins}/{b} resamples); either is a reasonable choice.")
    else:
        # The test is the share of paired resamples the best model wins; the s.d. describes
        # the resampled margins, whose centre can differ from the full-data margin (duplicated
        # rows in a with-replacement resample move LogME-type scores), so it is reported, not
        # compared with the margin.
        text = (f"Recommended: {best}: {column} {margin:.3g} above {second}, ahead in {wins}/{b} "
                f"paired bootstrap resamples (s.d. of the resampled margin {noise:.3g}).")
    return Recommendation(best, column, second, float(margin), noise, wins, b, tie, text)


def _recommend_column(columns: list[str], saturated: Mapping[str, bool],
                      scores: Mapping[str, Mapping[str, Any]]) -> str:
    """The first metric's PED column (PED is the headline), unless it is saturated or failed."""
    order = sorted(columns, key=lambda c: _priority(c, columns))
    for c in order:
        ok = sum(not isinstance(v[c], str) for v in scores.values())
        if not saturated.get(c) and ok >= min(2, len(scores)):
            return c
    return order[0]


def _priority(column: str, columns: list[str]) -> tuple[int, int]:
    """Metric order as given; the PED column before the plain one."""
    metrics = list(dict.fromkeys(c.removeprefix("PED+") for c in columns))
    return metrics.index(column.removeprefix("PED+")), 0 if column.startswith("PED+") else 1


def bootstrap_column(done: Mapping[str, tuple[Any, ModelRun]], shifts: Mapping[str, Any],
                     y: np.ndarray, column: str, models: list[str], n_bootstrap: int,
                     seed: int, task: str, dtype: str = "float64") -> dict[str, np.ndarray]:
    """Paired bootstrap scores of ``models`` in ``column`` (same resamples for all).

    The PED column resamples the PED-moved features (PED's class shift from the
    full data is reused, not re-estimated per resample: PED runs once per model).
    """
    if n_bootstrap <= 0 or len(models) < 2:
        return {}
    ped = column.startswith("PED+")
    metric = column.removeprefix("PED+")
    idx = stratified_bootstrap(y, n_bootstrap, seed, stratify=task == "classification")
    kwargs = _metric_kwargs(metric, task, dtype)  # once, not per draw (it inspects a signature)
    out: dict[str, np.ndarray] = {}
    for m in models:
        X = np.asarray(done[m][0].features, dtype=np.float64)
        if ped:
            shift, classes = shifts[m]
            X = X + shift[np.searchsorted(classes, y)]
        vals = np.empty(n_bootstrap)
        for b in range(n_bootstrap):
            try:
                vals[b] = score(X[idx[b]], y[idx[b]], metric=metric, **kwargs)
            except (ValueError, np.linalg.LinAlgError):
                vals[b] = np.nan
        out[m] = vals
    keep = np.all([np.isfinite(v) for v in out.values()], axis=0)  # paired: drop failed draws
    return {m: v[keep] for m, v in out.items()}


# --------------------------------------------------------------------------- the pipeline


def select(
    models: Any,
    data: Any,
    *,
    metrics: Sequence[str] | None = None,
    ped: Any = "both",
    source_data: Any = None,
    max_samples: int | None = None,
    image_size: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
    cache_dir: str | Path | None = None,
    task: str = "classification",
    text_column: str | None = None,
    label_column: str | None = None,
    n_bootstrap: int = 30,
    seed: int = 0,
    progress: bool | None = None,
    layer: str | None = None,
    dtype: str = "float64",
) -> Selection:
    """Rank candidate models for fine-tuning on ``data`` by estimated transferability.

    Parameters
    ----------
    models : str, ModelSpec or sequence of them
        Model specs: a zoo name, ``PATH.onnx``, TorchScript ``PATH.pt``/``.ts``,
        ``hf:ID_OR_DIR``, ``timm:NAME`` or ``python:MODULE:FUNC``.
    data : str, path or dataset
        An image folder (one sub-folder per class), a CSV/TSV/JSONL/Parquet
        file, a Hugging Face ``save_to_disk`` folder, a built-in dataset name,
        or a dataset object (``.inputs``, ``.labels``).
    metrics : sequence of str, optional
        Feature metrics; default :data:`DEFAULT_METRICS` (LogME, SFDA, GBC).
        The first one drives the recommendation.
    ped : {"both", True, False}
        Score without and with PED side by side (default), only with, or only
        without.
    source_data : str, path or dataset, optional
        A sample resembling the models' pre-training data, for PED's source
        statistics (default: packaged zoo statistics, else a bundled generic
        sample; see :mod:`pedrank.pipeline.sources`).
    max_samples : int, optional
        Class-stratified subset of ``data``.
    image_size, batch_size, device, layer
        Extraction options (``layer`` picks an ONNX output / a named layer).
    cache_dir : path, optional
        Feature and source-statistics cache; default
        :func:`pedrank.models.extract.default_cache_dir`.
    task : {"classification", "regression"}
        ``"regression"``: numeric labels, only metrics that support them, no PED.
    text_column, label_column : str, optional
        Columns of a table file.
    n_bootstrap : int
        Resamples (class-stratified) of the recommendation's column; 0 skips it.
    seed : int
        Seed of ``max_samples`` and of the bootstrap.
    progress : bool, optional
        Progress bars during extraction (default: when stderr is a terminal).
    dtype : {"float64", "float32"}
        Compute dtype of the metrics' large Gram/scatter products (opt-in float32,
        see :func:`pedrank.score`); metrics without a float32 path run in float64,
        and the notes say which.

    Returns
    -------
    Selection
    """
    t_start = time.perf_counter()
    if dtype not in ("float64", "float32"):  # fails before any model is loaded
        raise ValueError(f"dtype must be 'float64' (the default) or 'float32'; got {dtype!r}")
    names, notes = _columns(metrics, ped, task)
    notes += _dtype_notes(names, dtype)
    variants = _variants(ped, task, notes)
    ds = resolve_data(data, text_column=text_column, label_column=label_column, task=task,
                      max_samples=max_samples, seed=seed)
    y = _check_labels(ds, task)
    specs = resolve_models(models, layer=layer, image_size=image_size,
                           kind=getattr(ds, "modality", None))
    done, failed = _features(specs, ds, source_data, batch_size=batch_size, device=device,
                             progress=progress, cache_dir=cache_dir)
    sel = _score_and_recommend(done, failed, y, names, variants, n_bootstrap=n_bootstrap,
                               seed=seed, task=task, dtype=dtype)
    sel.notes[:0] = notes
    sel.dataset = _dataset_info(ds, y, task)
    sel.timings["total"] = time.perf_counter() - t_start
    return sel


def _features(specs: list[Any], ds: Any, source_data: Any, *, batch_size: int,
              device: str | None, progress: bool | None, cache_dir: str | Path | None
              ) -> tuple[dict[str, tuple[Any, ModelRun]], dict[str, str]]:
    """Steps 2-4: every model's features and source statistics, checked to cover the
    same samples (:func:`extract_all`, :func:`check_same_samples`)."""
    from pedrank.models.extract import default_cache_dir

    opts = {"batch_size": batch_size, "device": device, "progress": progress,
            "cache_dir": default_cache_dir() if cache_dir is None else cache_dir}
    done, failed = extract_all(specs, ds, source_data=source_data, opts=opts)
    check_same_samples({n: (fs.labels, getattr(fs, "fingerprint", None) or
                            getattr(ds, "fingerprint", None)) for n, (fs, _) in done.items()})
    return done, failed


def _score_and_recommend(done: Mapping[str, tuple[Any, ModelRun]], failed: dict[str, str],
                         y: np.ndarray, names: list[str], variants: list[bool], *,
                         n_bootstrap: int, seed: int, task: str, dtype: str = "float64"
                         ) -> Selection:
    """Steps 5-6: scores, ranks and the recommendation, with the time of each part."""
    t_score = time.perf_counter()
    scores, shifts, ped_notes = score_models(done, y, names, variants, task, dtype)
    columns = _order(names, variants)
    records, saturated, notes = rank_columns(scores, columns)
    notes = ped_notes + notes
    t_boot = time.perf_counter()
    rec = _recommendation(done, shifts, y, scores, records, saturated, columns,
                          n_bootstrap=n_bootstrap, seed=seed, task=task, dtype=dtype)
    t_end = time.perf_counter()
    timings = {
        "extraction": sum(r.seconds["extraction"] for _, r in done.values()),
        "source_statistics": sum(r.seconds["source_statistics"] for _, r in done.values()),
        "scoring": t_end - t_score, "bootstrap": t_end - t_boot,
    }
    return Selection(records, columns, [r for _, r in done.values()], failed, rec, timings,
                     saturated, notes)


def _recommendation(done: Mapping[str, tuple[Any, ModelRun]], shifts: Mapping[str, Any],
                    y: np.ndarray, scores: Mapping[str, Mapping[str, Any]],
                    records: list[dict[str, Any]], saturated: Mapping[str, bool],
                    columns: list[str], *, n_bootstrap: int, seed: int, task: str,
                    dtype: str = "float64") -> Recommendation:
    """The recommendation: its column, the top two models there, their paired bootstrap."""
    rec_col = _recommend_column(columns, saturated, scores) if scores else columns[0]
    col_scores = {r["model"]: r["score"] for r in records
                  if r["column"] == rec_col and r["score"] is not None}
    top = [r["model"] for r in ranking_records(col_scores)[:2]] if col_scores else []
    boot = bootstrap_column(done, shifts, y, rec_col, top, n_bootstrap, seed, task, dtype)
    return recommend(col_scores, boot, rec_col)


def _dtype_notes(metrics: list[str], dtype: str) -> list[str]:
    """The note that names the metrics a float32 request leaves in float64."""
    if dtype != "float32":
        return []
    plain = [m for m in metrics if not get_metric(m).supports_dtype]
    return [f"dtype float32: {', '.join(plain)} have no float32 path and ran in float64"
            ] if plain else []


def _dataset_info(ds: Any, y: np.ndarray, task: str) -> dict[str, Any]:
    """What :attr:`Selection.dataset` records about the data."""
    return {"name": getattr(ds, "name", "data"), "n_samples": int(y.shape[0]),
            "n_classes": int(np.unique(y).size) if task == "classification" else None,
            "fingerprint": getattr(ds, "fingerprint", None), "task": task,
            "modality": getattr(ds, "modality", None)}
