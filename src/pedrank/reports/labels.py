"""Display names of metrics and metric settings, shared by the report tables and plots.

Its own module so that :mod:`pedrank.reports.bench_report` and
:mod:`pedrank.reports.plots` both import it and not each other (they did: an
import cycle).
"""

from __future__ import annotations

from pedrank.pipeline.bench.config import BASELINE

DISPLAY_NAMES = {
    "logme": "LogME", "sfda": "SFDA", "gbc": "GBC", "nleep": "N-LEEP", "parc": "PARC",
    "leep": "LEEP", "nce": "NCE", "hscore": "H-Score", "regularized_hscore": "Reg. H-Score",
    "transrate": "TransRate", "etran": "ETran", "ncti": "NCTI", "lda": "LDA",
}


def display_name(metric: str) -> str:
    """``"logme"`` -> ``"LogME"``; unknown names are returned unchanged.

    >>> display_name("nleep"), display_name("my_metric")
    ('N-LEEP', 'my_metric')
    """
    return DISPLAY_NAMES.get(metric, metric)


def row_label(metric: str, variant: str) -> str:
    """``LogME``, ``PED+LogME`` or ``PED[name]+LogME``.

    >>> row_label("logme", "none"), row_label("logme", "ped"), row_label("sfda", "fast")
    ('LogME', 'PED+LogME', 'PED[fast]+SFDA')
    """
    name = display_name(metric)
    if variant == BASELINE:
        return name
    if variant == "ped":
        return f"PED+{name}"
    return f"PED[{variant}]+{name}"
