"""Transferability metrics, one module each.

Feature-based metrics take ``(X, y)``; source-output metrics take
``(source_probs, y)``. All are registered by name (see
:func:`available_metrics`) so that :func:`pedrank.score` can compose them with
PED.
"""

from pedrank.core.metrics._registry import MetricSpec, available_metrics, get_metric, register
from pedrank.core.metrics.etran import etran
from pedrank.core.metrics.gbc import gbc, gbc_log
from pedrank.core.metrics.hscore import hscore
from pedrank.core.metrics.leep import leep
from pedrank.core.metrics.logme import logme
from pedrank.core.metrics.nce import nce
from pedrank.core.metrics.ncti import ncti
from pedrank.core.metrics.nleep import nleep
from pedrank.core.metrics.parc import parc
from pedrank.core.metrics.regularized_hscore import regularized_hscore
from pedrank.core.metrics.sfda import sfda, sfda_log
from pedrank.core.metrics.transrate import transrate, transrate_paper

__all__ = [
    "MetricSpec",
    "available_metrics",
    "get_metric",
    "register",
    "logme",
    "sfda",
    "sfda_log",
    "ncti",
    "etran",
    "leep",
    "nce",
    "nleep",
    "gbc",
    "gbc_log",
    "parc",
    "hscore",
    "regularized_hscore",
    "transrate",
    "transrate_paper",
]
