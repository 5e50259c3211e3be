"""Generated feature files for trying out and testing the benchmark.

Each (model, dataset) pair gets Gaussian class clusters whose separation is
the model's hidden "quality" on that dataset; the ground-truth accuracy is a
noisy increasing function of that quality, computed independently of any
transferability metric. A good metric should therefore rank the models
roughly like the ground truth.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pedrank._fs import atomic_write_text


def make_feature_zoo(
    directory: str | os.PathLike[str],
    models: Sequence[str] = ("m1", "m2", "m3"),
    datasets: Sequence[str] = ("d1", "d2"),
    *,
    n_classes: int = 4,
    n_per_class: int = 15,
    dim: int = 8,
    n_source_classes: int = 6,
    seed: int = 0,
    pattern: str = "{model}_{dataset}.npz",
) -> dict[str, dict[str, float]]:
    """Write ``pattern`` feature files (MODEL.npz format) and return ground truth.

    Every file holds ``features`` (non-negative, like pooled CNN features),
    ``labels``, the model's ``source_mean``/``source_std`` and
    ``source_probs`` (softmax over ``n_source_classes``), so feature-based
    and source-output metrics and PED can all run on it.

    Returns
    -------
    dict
        ``{dataset: {model: accuracy}}``; also written as ``groundtruth.json``
        in ``directory``.
    """
    from pedrank.core.source import SourceStats
    from pedrank.pipeline.feature_files import save_feature_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = n_classes * n_per_class
    labels = np.repeat(np.arange(n_classes), n_per_class)
    gt: dict[str, dict[str, float]] = {d: {} for d in datasets}
    for model in models:
        # The model's source statistics: features on "pre-training" data.
        source_X = np.abs(rng.normal(1.0, 0.5, size=(200, dim)))
        source = SourceStats.from_features(source_X)
        for dataset in datasets:
            quality = rng.uniform(0.3, 3.0)
            directions = rng.normal(size=(n_classes, dim))
            centres = 1.0 + quality * 0.15 * directions
            X = np.abs(centres[labels] + 0.3 * rng.normal(size=(n, dim)))
            logits = rng.normal(size=(n, n_source_classes))
            logits[np.arange(n), labels % n_source_classes] += quality
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            save_feature_file(directory / pattern.format(model=model, dataset=dataset),
                              X, labels, source=source, source_probs=probs)
            gt[dataset][model] = round(float(50.0 + 12.0 * quality + rng.normal(0, 2.0)), 3)
    atomic_write_text(directory / "groundtruth.json", json.dumps(gt, indent=1, sort_keys=True))
    return gt
