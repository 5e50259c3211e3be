"""Display names of metrics and row labels, shared by the report tables and the plots.

Its own module so that ``plots`` and ``bench_report`` both import it and not each other.
"""

from __future__ import annotations

from pedrank.pipeline.bench.config import BASELINE

DISPLAY_NAMES = {
    "logme": "LogME", "sfda": "SFDA", "gbc": "GBC", "nleep": "N-LEEP", "parc": "PARC",
    "leep": "LEEP", "nce": "NCE", "hscore": "H-Score", "regularized_hscore": "Reg. H-Score",
    "transrate": "TransRate", "etran": "ETran", "ncti": "NCTI", "lda": "LDA",
}


def row_label(metric: str, variant: str) -> str:
    """``LogME``, ``PED+LogME`` or ``PED[name]+LogME``."""
    name = DISPLAY_NAMES.get(metric, metric)
    if variant == BASELINE:
        return name
    if variant == "ped":
        return f"PED+{name}"
    return f"PED[{variant}]+{name}"


__all__ = ["DISPLAY_NAMES", "row_label"]
