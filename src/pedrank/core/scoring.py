"""The one entry point: PED (optional) composed with any registered metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pedrank.core._validation import as_float_matrix
from pedrank.core.metrics import get_metric
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


def score(
    X: Any,
    y: Any,
    metric: str = "sfda",
    ped: PedArg = False,
    source: SourceStats | None = None,
    *,
    source_probs: Any = None,
    device: str | None = None,
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
    **metric_kwargs
        Passed to the metric function.

    Returns
    -------
    float
        The metric's score; higher means better expected transfer.
    """
    spec = get_metric(metric)
    est = _resolve_ped(ped, source)
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


def rank(
    models: Mapping[str, Any],
    metric: str = "sfda",
    ped: PedArg = False,
    *,
    device: str | None = None,
    as_frame: bool | None = None,
    **metric_kwargs: Any,
) -> Any:
    """Score several models on one task and rank them (best first).

    Parameters
    ----------
    models : mapping name -> (X, y) or (X, y, source) or dict
        Each value is a tuple ``(X, y[, source])`` or a dict with keys
        ``X``/``features``, ``y``/``labels`` and optional ``source`` and
        ``source_probs``.
    metric, ped, device, **metric_kwargs
        As in :func:`score`.
    as_frame : bool, optional
        Return a pandas DataFrame (default: when pandas is installed).

    Returns
    -------
    list of dict or pandas.DataFrame
        Records ``{"rank", "model", "score"}`` sorted by decreasing score;
        tied scores share the same (minimum) rank.
    """
    if not models:
        raise ValueError("rank() needs at least one model")
    scores: dict[str, float] = {}
    for name, entry in models.items():
        kw = _unpack_entry(name, entry)
        scores[str(name)] = score(metric=metric, ped=ped, device=device, **kw, **metric_kwargs)
    records = ranking_records(scores)
    if as_frame is None:
        try:
            import pandas  # noqa: F401
        except ImportError:
            as_frame = False
        else:
            as_frame = True
    if as_frame:
        import pandas as pd

        return pd.DataFrame.from_records(records, columns=["rank", "model", "score"])
    return records


def ranking_records(scores: Mapping[str, float]) -> list[dict[str, Any]]:
    """Sort ``scores`` (best first) into ``{"rank", "model", "score"}`` records.

    Ties share the minimum rank ("1, 1, 3"), and keep input order among
    themselves: SFDA saturates at exactly 1.0, and ties must not be broken at
    random.
    """
    names = list(scores)
    vals = np.array([scores[n] for n in names], dtype=np.float64)
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


__all__ = ["score", "rank", "ranking_records"]

