"""pedrank — rank pre-trained models by transferability.

Headline method: PED (Potential Energy Decline; Li, Hu, Ge, Shan, Duan, ICCV 2023)
in front of any feature-based transferability metric (LogME, SFDA, GBC, N-LEEP, ...).

The package is layered; each layer imports only the ones above it in this list:

``pedrank.core``
    PED, source statistics, the metrics, evaluation measures, ``score``/``rank``
    (numpy, scipy and scikit-learn only; no file or network I/O).
``pedrank.models`` / ``pedrank.datasets``
    The model zoo, model loaders, preprocessing, feature extraction with its
    cache, source-statistics samples; image and text datasets.
``pedrank.groundtruth``
    Published and measured transfer accuracies, and the protocol that measures them.
``pedrank.pipeline``
    The one extract -> source statistics -> score -> rank path (``select``) and
    the experiment grid over it (``bench``).
``pedrank.reports``
    Tables and plots.
``pedrank.cli``
    The command line, a thin layer over the above.

Names are imported lazily, so ``import pedrank`` (and ``pedrank --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0.dev0"

# public name -> module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    "PED": "pedrank.core.ped",
    "PEDResult": "pedrank.core.ped",
    "CoincidentClassMeansWarning": "pedrank.core.ped",
    "SourceFallbackWarning": "pedrank.core.ped",
    "SourceScaleWarning": "pedrank.core.ped",
    "ped_transform": "pedrank.core.ped",
    "SourceStats": "pedrank.core.source",
    "score": "pedrank.core.scoring",
    "rank": "pedrank.core.scoring",
    "RankResult": "pedrank.core.scoring",
    "select": "pedrank.pipeline.select",
    "Selection": "pedrank.pipeline.select",
}
# public sub-modules reachable as attributes (pedrank.metrics.logme, ...)
_MODULES: dict[str, str] = {
    "metrics": "pedrank.core.metrics",
    "evaluation": "pedrank.core.evaluation",
    "groundtruth": "pedrank.groundtruth",
    "datasets": "pedrank.datasets",
    "zoo": "pedrank.models.zoo",
}

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'pedrank' has no attribute {name!r}")
    globals()[name] = value  # cache: later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
