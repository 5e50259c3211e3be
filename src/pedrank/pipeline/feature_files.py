"""Feature files: one ``MODEL.npz`` per model and task.

Keys (numpy ``.npz``, loaded without pickle):

* ``features`` — N x D float array, the model's features of the target samples;
* ``labels`` — N labels (ints or strings);
* ``source_mean``, ``source_std`` — optional D-vectors, the model's source
  feature statistics (needed by PED);
* ``source_probs`` — optional N x Z softmax outputs of the source classifier
  (needed by LEEP and NCE);
* ``data_hash`` — optional content hash of the target data and labels (the
  dataset's ``fingerprint``), so that ``pedrank rank`` can tell files made from
  different samples apart.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pedrank._fs import atomic_save_npz, check_npz
from pedrank.core._budget import memory_budget
from pedrank.core._validation import as_float_matrix, encode_labels
from pedrank.core.source import SourceStats


@dataclass(frozen=True)
class FeatureFile:
    """Contents of a feature file (validated)."""

    path: Path
    features: np.ndarray | None
    labels: np.ndarray
    source: SourceStats | None = None
    source_probs: np.ndarray | None = None
    data_hash: str | None = None

    @property
    def name(self) -> str:
        """Model name: the file name without ``.npz``."""
        return self.path.stem


def load_feature_file(path: str | os.PathLike[str], *, require_features: bool = True,
                      min_classes: int = 2, task: str = "classification") -> FeatureFile:
    """Read and validate a feature file; every error names the file and the fix."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p}: is a directory; expected a MODEL.npz feature file")
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such feature file")
    # Header check first: refuses non-npz files, pickled arrays, inconsistent or
    # over-budget shapes before numpy allocates anything.
    check_npz(p, budget=memory_budget(), what=".npz feature file")
    try:
        data = np.load(p, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{p}: not a readable .npz feature file ({exc})") from None
    with data:
        keys = set(data.files)
        try:
            arrays = {k: data[k] for k in keys}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{p}: corrupt .npz feature file ({exc})") from None
    if "labels" not in arrays:
        raise ValueError(f"{p}: missing array 'labels' (N target labels); found {sorted(keys)}")
    if require_features and "features" not in arrays:
        raise ValueError(f"{p}: missing array 'features' (N x D); found {sorted(keys)}")
    try:
        labels = arrays["labels"]
        features = None
        if "features" in arrays:
            features = as_float_matrix(arrays["features"], "features", copy=False)
            encode_labels(labels, features.shape[0], min_classes=min_classes, name="labels",
                          allow_continuous=task == "regression")
        else:
            encode_labels(labels, None, min_classes=min_classes, name="labels",
                          allow_continuous=task == "regression")
        source = None
        if ("source_mean" in arrays) != ("source_std" in arrays):
            raise ValueError("has only one of 'source_mean' / 'source_std'; store both or neither")
        if "source_mean" in arrays:
            source = SourceStats(arrays["source_mean"], arrays["source_std"])
            if features is not None:
                source.check_dim(features.shape[1])
        probs = None
        if "source_probs" in arrays:
            probs = as_float_matrix(arrays["source_probs"], "source_probs", copy=False)
            if probs.shape[0] != labels.shape[0]:
                raise ValueError(
                    f"source_probs has {probs.shape[0]} rows but there are {labels.shape[0]} "
                    "labels"
                )
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
    data_hash = str(arrays["data_hash"]) if "data_hash" in arrays else None
    return FeatureFile(p, features, labels, source, probs, data_hash)


def save_feature_file(path: str | os.PathLike[str], features: Any, labels: Any,
                      source: SourceStats | None = None, source_probs: Any = None,
                      data_hash: str | None = None) -> Path:
    """Write a feature file atomically (temporary file + rename: never half-written)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"features": np.asarray(features), "labels": np.asarray(labels)}
    if arrays["labels"].dtype == object:
        arrays["labels"] = arrays["labels"].astype(str)
    if source is not None:
        arrays["source_mean"] = source.mean
        arrays["source_std"] = source.std
    if source_probs is not None:
        arrays["source_probs"] = np.asarray(source_probs)
    if data_hash is not None:
        arrays["data_hash"] = np.asarray(str(data_hash))
    atomic_save_npz(p, **arrays)
    return p


__all__ = ["FeatureFile", "load_feature_file", "save_feature_file"]
