"""Build missing feature files of a benchmark from the model zoo (``[extract]`` section).

With an ``[extract]`` table in the configuration, every (model, dataset) of
the grid whose feature file does not exist yet is extracted with
:func:`pedrank.models.extract.extract_zoo` (penultimate-layer features; resumable,
cached in ``cache_dir``) and written to ``features/pattern`` in the
``pedrank.pipeline.feature_files`` format, with the model's packaged source statistics when there
are some (PED needs them). Existing files are never rewritten, so their
content hash, and with it every finished cell, stays valid.

Models are zoo names (``pedrank.models.zoo``), datasets are names understood by
:func:`pedrank.datasets.load_dataset` (or image folders).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from pedrank.pipeline.bench.config import BenchConfig, check_extract_options

_LOG = logging.getLogger(__name__)


def _extract_one(model: str, dataset: str, opts: Mapping[str, Any],
                 ) -> tuple[np.ndarray, np.ndarray, Any]:
    """Features, labels and source statistics of zoo ``model`` on ``dataset``."""
    from pedrank.datasets import load_dataset
    from pedrank.models.extract import default_cache_dir, extract_zoo
    from pedrank.models.source_samples import load_source_stats
    from pedrank.models.zoo import get_entry

    ds = load_dataset(dataset, max_samples=opts.get("max_samples"), seed=opts.get("seed", 0))
    entry = get_entry(model)
    size = entry.input_size(opts.get("image_size", 64))
    fs = extract_zoo(model, ds, image_size=size, batch_size=opts.get("batch_size", 64),
                     device=opts.get("device"),
                     cache_dir=opts.get("cache_dir", str(default_cache_dir())), progress=False)
    src = load_source_stats(model, size or entry.preprocessing.size)
    return fs.features, fs.labels, src


def ensure_features(config: BenchConfig, gt: Mapping[str, Mapping[str, float]] | None,
                    *, verbose: bool = True) -> int:
    """Extract the grid's missing feature files; return how many were written.

    A pair whose extraction fails is reported and left missing: the benchmark
    then lists its cells as "feature file not found" and runs the others.
    """
    from pedrank.pipeline.bench.config import feature_path
    from pedrank.pipeline.feature_files import save_feature_file

    if config.extract is None:
        return 0
    assert config.features is not None
    opts = check_extract_options(config.extract)
    models = config.models or sorted({m for accs in (gt or {}).values() for m in accs})
    datasets = config.datasets or sorted(gt or {})
    if not models or not datasets:
        raise ValueError("[extract] needs the models and datasets: set 'models' and "
                         "'datasets' or a ground truth that names them")
    written = 0
    for dataset in datasets:
        for model in models:
            path = feature_path(config, model, dataset)  # never outside config.features
            if path.is_file():
                continue
            t0 = time.perf_counter()
            try:
                X, y, src = _extract_one(model, dataset, opts)
            except Exception as exc:  # noqa: BLE001 - one bad model must not stop the grid
                _LOG.warning("pedrank bench: extracting %s on %s failed: %s: %s",
                             model, dataset, type(exc).__name__, exc)
                continue
            save_feature_file(path, X, y, source=src)
            written += 1
            if verbose:
                _LOG.info("pedrank bench: extracted %s on %s: %d x %d in %.1f s -> %s",
                          model, dataset, X.shape[0], X.shape[1], time.perf_counter() - t0,
                          path)
    return written
