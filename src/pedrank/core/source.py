"""Source (pre-training) feature statistics of a model, as PED needs them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pedrank._fs import atomic_save_npz, check_npz
from pedrank.core._budget import memory_budget
from pedrank.core._validation import as_float_matrix

DEFAULT_EPS = 1e-3


@dataclass(frozen=True)
class SourceStats:
    """Per-dimension mean and population std of a model's source-domain features.

    PED (Li et al., ICCV 2023) standardises the target features with the
    statistics of the same model's features on its *pre-training* data (the
    paper: ImageNet validation images). Only these two D-vectors are needed.

    Parameters
    ----------
    mean : ndarray, shape (D,)
        Per-dimension mean of the source features.
    std : ndarray, shape (D,)
        Per-dimension population standard deviation (ddof=0). It is clipped
        below at ``eps`` when used for standardisation (see :meth:`scale`).
    eps : float
        Lower clip of ``std`` (official value 1e-3).
    """

    mean: np.ndarray
    std: np.ndarray
    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float64).reshape(-1)
        std = np.array(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != std.shape:
            raise ValueError(
                f"source mean and std must have the same length; got {mean.shape[0]} and "
                f"{std.shape[0]}"
            )
        if mean.size == 0:
            raise ValueError("source statistics are empty")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError("source mean/std contain NaN or infinite values")
        if (std < 0).any():
            raise ValueError("source std must be non-negative")
        if not self.eps > 0:
            raise ValueError(f"eps must be positive; got {self.eps}")
        mean.setflags(write=False)
        std.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "eps", float(self.eps))

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.mean.shape[0])

    @property
    def scale(self) -> np.ndarray:
        """The standardisation scale: ``std`` clipped below at ``eps``."""
        return np.maximum(self.std, self.eps)

    @classmethod
    def from_features(cls, source_X: Any, eps: float = DEFAULT_EPS) -> SourceStats:
        """Compute the statistics from a sample of source features (N_s x D)."""
        Xs = as_float_matrix(source_X, "source_X", copy=False)
        # mean/std are scale-equivariant: computing them on an exact power-of-two
        # rescaling keeps the squares finite for any finite features (|x| > 1e154).
        m = float(np.max(np.abs(Xs))) if Xs.size else 0.0
        if m > 2.0**500:
            c = float(np.ldexp(1.0, int(np.frexp(m)[1])))
            scaled = Xs / c
            return cls(scaled.mean(axis=0) * c, scaled.std(axis=0) * c, eps)
        return cls(Xs.mean(axis=0), Xs.std(axis=0), eps)

    def check_dim(self, D: int) -> None:
        """Raise ``ValueError`` unless these statistics describe D-dimensional features."""
        if self.dim != D:
            raise ValueError(
                f"source statistics have dimension {self.dim} but the features have {D}; "
                "use the statistics of the same model (same feature layer)."
            )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``mean``, ``std`` and ``eps`` to an ``.npz`` file (atomically, no pickle)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npz(path, mean=self.mean, std=self.std, eps=np.float64(self.eps))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SourceStats:
        """Read statistics written by :meth:`save` (keys ``mean``, ``std``, optional ``eps``).

        Also accepts the feature-file keys ``source_mean`` / ``source_std``.
        """
        check_npz(path, budget=memory_budget(), what="source statistics .npz file")
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if {"mean", "std"} <= keys:
                mean, std = data["mean"], data["std"]
            elif {"source_mean", "source_std"} <= keys:
                mean, std = data["source_mean"], data["source_std"]
            else:
                raise ValueError(
                    f"{path}: expected arrays 'mean' and 'std' (or 'source_mean' and "
                    f"'source_std'); found {sorted(keys)}"
                )
            eps = float(data["eps"]) if "eps" in keys else DEFAULT_EPS
        return cls(mean, std, eps)
