"""Transferability metrics, one module each.

Feature-based metrics take ``(X, y)``; source-output metrics take
``(source_probs, y)``. All are registered by name (see
:func:`available_metrics`) so that :func:`pedrank.score` can compose them with
PED.
"""

from pedrank.metrics._registry import MetricSpec, available_metrics, get_metric, register
from pedrank.metrics.etran import etran
from pedrank.metrics.gbc import gbc
from pedrank.metrics.hscore import hscore
from pedrank.metrics.leep import leep
from pedrank.metrics.logme import logme
from pedrank.metrics.nce import nce
from pedrank.metrics.ncti import ncti
from pedrank.metrics.nleep import nleep
from pedrank.metrics.parc import parc
from pedrank.metrics.regularized_hscore import regularized_hscore
from pedrank.metrics.sfda import sfda
from pedrank.metrics.transrate import transrate

__all__ = [
    "MetricSpec",
    "available_metrics",
    "get_metric",
    "register",
    "logme",
    "sfda",
    "ncti",
    "etran",
    "leep",
    "nce",
    "nleep",
    "gbc",
    "parc",
    "hscore",
    "regularized_hscore",
    "transrate",
]
