"""The output rule: how a model's raw output becomes one (B, D) feature matrix.

Transferability metrics score the penultimate-layer features of a model (Li et
al., PED, ICCV 2023, Sec. 4; You et al., LogME, ICML 2021), one vector per
sample. User models return many shapes; the rule, applied in order:

1. a mapping (``dict``, a ``transformers`` ``ModelOutput``) with a non-``None``
   ``pooler_output``: that entry;
2. otherwise (mapping values in order, or the items of a tuple / list) the
   first 2-D tensor;
3. otherwise the first 3-D or 4-D tensor, mean-pooled: (B, T, D) tokens are
   averaged over T, (B, C, H, W) maps over H and W (NCHW, i.e. global average
   pooling, the feature layer of ResNet-style networks);
4. a single tensor is treated as a one-item tuple; a *list* of per-sample rows
   (what plain callables often return) as the (B, D) matrix it spells.

A 2-D result is used as is; anything that is not (B, D) after this raises
:class:`OutputShapeError`, whose message lists what the model returned.
``numpy`` arrays and ``torch`` tensors are both accepted; torch is never
imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["OutputShapeError", "describe_output", "pool_output"]


class OutputShapeError(ValueError):
    """A model output that the rule cannot turn into a (B, D) matrix."""


def _is_tensor(x: Any) -> bool:
    """True for numpy arrays and array-likes with a shape (torch tensors)."""
    return isinstance(x, np.ndarray) or (hasattr(x, "shape") and hasattr(x, "ndim"))


def _to_numpy(x: Any) -> np.ndarray:
    """A float32 numpy copy of an array or a (possibly CUDA, grad-tracking) tensor."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


# Axes averaged away per input rank: tokens of (B, T, D); the map of (B, C, H, W).
_POOL_AXES = {2: (), 3: (1,), 4: (2, 3)}


def _reduce(x: Any) -> np.ndarray:
    """(B, D) from a 2-D, 3-D (tokens) or 4-D (NCHW) tensor; other ranks are an error."""
    if x.ndim not in _POOL_AXES:
        raise OutputShapeError(f"expected a (batch, features) output; got shape {tuple(x.shape)}")
    arr = _to_numpy(x)
    axes = _POOL_AXES[arr.ndim]
    return arr.mean(axis=axes, dtype=np.float64).astype(np.float32) if axes else arr


def _rows(out: list) -> np.ndarray | None:
    """A list of equal-length numeric rows as a (B, D) matrix, else ``None``."""
    try:
        arr = np.asarray([_to_numpy(v) if hasattr(v, "detach") else v for v in out])
    except (ValueError, TypeError):
        return None
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float32)


def describe_output(out: Any) -> str:
    """A short description of a model output (types and shapes) for error messages."""
    if _is_tensor(out):
        return f"tensor {tuple(out.shape)}"
    if isinstance(out, Mapping):
        items = ", ".join(f"{k}: {describe_output(v)}" for k, v in out.items())
        return f"{type(out).__name__}({items})"
    if isinstance(out, tuple | list):
        return f"{type(out).__name__}({', '.join(describe_output(v) for v in out)})"
    return type(out).__name__


def pool_output(out: Any) -> np.ndarray:
    """The (B, D) float32 feature matrix of a model output (see the module docstring).

    Raises
    ------
    OutputShapeError
        No item of the output fits the rule.
    """
    if _is_tensor(out):
        return _reduce(out)
    if isinstance(out, Mapping):
        pooled = out.get("pooler_output")
        if pooled is not None and _is_tensor(pooled):
            return _reduce(pooled)
        items = list(out.values())
    elif isinstance(out, tuple | list):
        items = list(out)
    else:
        raise OutputShapeError(
            f"the model returned a {type(out).__name__}; expected a tensor, a tuple or a dict"
        )
    tensors = [v for v in items if _is_tensor(v)]
    if isinstance(out, list) and not any(v.ndim >= 2 for v in tensors):
        rows = _rows(out)  # a list of per-sample rows (plain callables often return one)
        if rows is not None:
            return rows
    for v in tensors:
        if v.ndim == 2:
            return _to_numpy(v)
    for v in tensors:
        if v.ndim in (3, 4):
            return _reduce(v)
    raise OutputShapeError(f"no (batch, features) tensor in the output {describe_output(out)}")
