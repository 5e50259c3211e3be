"""The one entry point: PED (optional) composed with any registered metric."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pedrank.core._validation import as_float_matrix
from pedrank.core.metrics import available_metrics, get_metric
from pedrank.core.metrics._precision import check_dtype
from pedrank.core.ped import PED
from pedrank.core.source import SourceStats

PedArg = bool | PED | None


def _resolve_ped(ped: PedArg, source: SourceStats | None) -> PED | None:
    if ped is None or ped is False:
        return None
    if ped is True:
        est = PED()
    elif isinstance(ped, PED):
        est = ped
    else:
        raise ValueError(f"ped must be True, False or a pedrank.PED instance; got {ped!r}")
    if source is not None:
        est = est.with_source(source)
    return est


def _check_dtype_for(spec: Any, dtype: Any, metric_kwargs: dict[str, Any]) -> None:
    """Validate ``dtype`` for ``spec``; pass it on in ``metric_kwargs`` where it applies."""
    if check_dtype(dtype) is np.float64:
        return
    if not spec.supports_dtype:
        names = ", ".join(m.name for m in available_metrics() if m.supports_dtype)
        raise ValueError(f"metric {spec.name!r} has no float32 path; use dtype='float64', or "
                         f"one of: {names}")
    metric_kwargs["dtype"] = "float32"


def score(
    X: Any,
    y: Any,
    metric: str = "sfda",
    ped: PedArg = False,
    source: SourceStats | None = None,
    *,
    source_probs: Any = None,
    device: str | None = None,
    task: str = "classification",
    dtype: str = "float64",
    **metric_kwargs: Any,
) -> float:
    """Score one model's features on a target task.

    Parameters
    ----------
    X : array-like, shape (N, D)
        The model's features of the target samples (not used by metrics that
        take source outputs; may then be ``None``).
    y : array-like, shape (N,)
        Target labels, any hashable type.
    metric : str
        A registered metric name (``pedrank.core.metrics.available_metrics()``).
    ped : bool or PED
        Run PED dynamics on ``X`` before the metric (Li et al., ICCV 2023).
        ``True`` uses the official defaults; pass a :class:`pedrank.PED` to
        set hyper-parameters or the no-source fallback.
    source : SourceStats, optional
        The model's source (pre-training) feature statistics, required by PED
        unless the PED estimator was given them or allows a fallback.
    source_probs : array-like, shape (N, Z), optional
        Softmax outputs of the source classifier, for ``leep`` / ``nce``.
    device : str, optional
        ``"cpu"`` or ``"cuda"`` to use the PyTorch back end where the metric
        supports it; ``None`` uses numpy.
    task : {"classification", "regression"}
        ``"regression"``: ``y`` holds real-valued targets (N,) or (N, K); only
        metrics with ``supports_regression`` (LogME) accept it, and PED (which
        moves classes) cannot precede it.
    dtype : {"float64", "float32"}
        Compute dtype of the metric's large Gram/scatter products (opt-in float32:
        about 2x faster on those products, every factorisation stays float64; the
        measured error is in ``docs/performance.md``). Only metrics with
        ``supports_dtype`` accept ``"float32"``; PED always runs in float64.
    **metric_kwargs
        Passed to the metric function.

    Returns
    -------
    float
        The metric's score; higher means better expected transfer.
    """
    spec = get_metric(metric)
    _check_dtype_for(spec, dtype, metric_kwargs)
    est = _resolve_ped(ped, source)
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
    if task == "regression":
        if not spec.supports_regression:
            regressors = ", ".join(m.name for m in available_metrics() if m.supports_regression)
            raise ValueError(f"metric {spec.name!r} is defined for class labels only; for "
                             f"regression targets use one of: {regressors}")
        if est is not None:
            raise ValueError("PED moves classes apart and needs class labels; use ped=False "
                             "with regression targets.")
        metric_kwargs["task"] = "regression"
    if spec.input == "source_probs":
        if est is not None:
            raise ValueError(
                f"PED moves features, but metric {spec.name!r} scores the source model's "
                "outputs; use ped=False or a feature-based metric."
            )
        if source_probs is None:
            raise ValueError(
                f"metric {spec.name!r} needs the source model's softmax outputs: pass "
                "source_probs=(N x n_source_classes array)."
            )
        return float(spec.func(source_probs, y, **metric_kwargs))

    if device is not None:
        if not spec.supports_device:
            raise ValueError(
                f"metric {spec.name!r} has no PyTorch back end; use device=None."
            )
        metric_kwargs["device"] = device
    if est is not None:
        # ped_transform validates and copies X itself; keeping a validated copy
        # alive here would hold a second N x D array during the metric.
        X = est.transform(X, y, device=device)
    return float(spec.func(X, y, **metric_kwargs))


#: Relative spread of scores across models below which a ranking is "saturated".
SATURATION_RTOL = 1e-9


@dataclass(frozen=True)
class RankResult:
    """The outcome of :func:`rank`: ranked models, models that failed, and a saturation flag.

    Attributes
    ----------
    records : list of dict
        ``{"rank", "model", "score"}`` of every scored model, best first; tied
        scores share the minimum rank ("1, 1, 3") and keep input order.
    failed : dict model -> str
        Models that could not be scored and why (the metric's ``ValueError``
        message). They are never ordered: they come after the ranked models in
        :meth:`to_frame` and in the CLI, and are never given a score.
    saturated : bool
        True when the scores of the ranked models differ by less than
        ``1e-9`` relative (:data:`SATURATION_RTOL`): their order is then decided
        by rounding, not by the data (SFDA near 1, GBC near 0 on well separated
        features; use ``metric="sfda_log"`` / ``"gbc_log"``).
    metric : str
        The metric's registry name.
    """

    records: list[dict[str, Any]]
    failed: dict[str, str] = field(default_factory=dict)
    saturated: bool = False
    metric: str = ""

    @property
    def scores(self) -> dict[str, float]:
        """``{model: score}`` of the ranked models, best first."""
        return {r["model"]: r["score"] for r in self.records}

    @property
    def warning(self) -> str | None:
        """A one-line warning when the ranking is saturated or a model failed, else None."""
        parts = []
        if self.saturated:
            parts.append(saturation_message(self.metric))
        if self.failed:
            parts.append(f"{len(self.failed)} model(s) could not be scored: "
                         + ", ".join(sorted(self.failed)))
        return " ".join(parts) or None

    def to_frame(self) -> Any:
        """A pandas DataFrame: columns rank, model, score, error; failed models last.

        Failed models have ``rank`` and ``score`` missing (``<NA>`` / NaN) and their
        reason in ``error``; pandas is imported only here.
        """
        import pandas as pd

        rows = [{**r, "error": None} for r in self.records]
        rows += [{"rank": None, "model": m, "score": float("nan"), "error": why}
                 for m, why in self.failed.items()]
        frame = pd.DataFrame.from_records(rows, columns=["rank", "model", "score", "error"])
        frame["rank"] = frame["rank"].astype("Int64")
        return frame

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Any:
        return iter(self.records)


def saturation_message(metric: str) -> str:
    """The warning text for a saturated ranking of ``metric``."""
    hint = {"sfda": " Use metric='sfda_log' (the log of SFDA's error, same order where "
                    "representable).",
            "gbc": " Use metric='gbc_log' (the log of the Bhattacharyya sum, same order where "
                   "representable)."}.get(metric, "")
    return (f"{metric or 'the metric'}: scores differ by less than {SATURATION_RTOL:g} relative "
            "across models, so their order is decided by floating-point rounding, not by the "
            f"data.{hint}")


def is_saturated(scores: Any) -> bool:
    """Whether finite ``scores`` (two or more) spread by less than 1e-9 relative."""
    vals = np.asarray(list(scores), dtype=np.float64)
    if vals.size < 2:
        return False
    spread = float(vals.max() - vals.min())
    scale = float(np.max(np.abs(vals)))
    return spread <= SATURATION_RTOL * scale if scale > 0 else True


def rank(
    models: Mapping[str, Any],
    metric: str = "sfda",
    ped: PedArg = False,
    *,
    device: str | None = None,
    task: str = "classification",
    dtype: str = "float64",
    **metric_kwargs: Any,
) -> RankResult:
    """Score several models on one task and rank them (best first).

    A model that cannot be scored (its metric raises ``ValueError``: degenerate
    features, a memory budget exceeded, ...) is reported in
    :attr:`RankResult.failed` with the reason, never ordered among the others.

    Parameters
    ----------
    models : mapping name -> (X, y) or (X, y, source) or dict
        Each value is a tuple ``(X, y[, source])`` or a dict with keys
        ``X``/``features``, ``y``/``labels`` and optional ``source`` and
        ``source_probs``.
    metric, ped, device, task, dtype, **metric_kwargs
        As in :func:`score`.

    Returns
    -------
    RankResult
        ``.records`` (``{"rank", "model", "score"}``, best first; ties share
        the minimum rank), ``.failed`` (``{model: reason}``), ``.saturated``,
        ``.to_frame()``.

    Raises
    ------
    ValueError
        No models, a malformed entry, or an unknown metric / bad option (an error
        that is not about one model's data).
    """
    if not models:
        raise ValueError("rank() needs at least one model")
    if "as_frame" in metric_kwargs:
        raise ValueError("rank() returns a RankResult; call .to_frame() for a DataFrame "
                         "(the as_frame option was removed).")
    spec = get_metric(metric)
    _check_dtype_for(spec, dtype, {})  # an option error, not one model's failure
    entries = {str(name): _unpack_entry(name, entry) for name, entry in models.items()}
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name, kw in entries.items():
        try:
            scores[name] = score(metric=spec.name, ped=ped, device=device, task=task,
                                 dtype=dtype, **kw, **metric_kwargs)
        except ValueError as exc:
            failed[name] = str(exc)
    return RankResult(ranking_records(scores), failed, is_saturated(scores.values()), spec.name)


def ranking_records(scores: Mapping[str, float]) -> list[dict[str, Any]]:
    """Sort ``scores`` (best first) into ``{"rank", "model", "score"}`` records.

    Ties share the minimum rank ("1, 1, 3"), and keep input order among
    themselves: SFDA saturates at exactly 1.0, and ties must not be broken at
    random.

    Raises
    ------
    ValueError
        A score is NaN or infinite (it cannot be ordered; report the model as
        failed instead, as :func:`rank` does).
    """
    names = list(scores)
    vals = np.array([scores[n] for n in names], dtype=np.float64)
    if not np.isfinite(vals).all():
        bad = [n for n, v in zip(names, vals, strict=True) if not np.isfinite(v)]
        raise ValueError(f"cannot rank non-finite scores of {', '.join(bad)}; report those "
                         "models as failed instead of ordering them")
    order = sorted(range(len(names)), key=lambda i: (-vals[i], i))
    records = []
    prev, prev_rank = None, 0
    for pos, i in enumerate(order, start=1):
        r = prev_rank if prev is not None and vals[i] == prev else pos
        records.append({"rank": r, "model": names[i], "score": float(vals[i])})
        prev, prev_rank = vals[i], r
    return records


def _unpack_entry(name: str, entry: Any) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        X = entry.get("X", entry.get("features"))
        y = entry.get("y", entry.get("labels"))
        out = {"X": X, "y": y, "source": entry.get("source"),
               "source_probs": entry.get("source_probs")}
    elif isinstance(entry, tuple | list) and len(entry) in (2, 3):
        out = {"X": entry[0], "y": entry[1], "source": entry[2] if len(entry) == 3 else None}
    else:
        raise ValueError(
            f"model {name!r}: expected (X, y), (X, y, source) or a dict with X and y; "
            f"got {type(entry).__name__}"
        )
    if out["y"] is None:
        raise ValueError(f"model {name!r}: labels (y) are missing")
    if out["X"] is not None:
        as_float_matrix(out["X"], f"model {name!r} features", copy=False)
    return out


__all__ = ["score", "rank", "ranking_records", "RankResult", "is_saturated", "saturation_message"]

