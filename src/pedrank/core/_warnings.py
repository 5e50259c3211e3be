"""PED's warning classes and the one function that emits the coincident-means warning.

A module of its own below :mod:`pedrank.core.ped` and :mod:`pedrank.core.backends`, so
that both dynamics (numpy and torch) share one message without importing each other.
"""

from __future__ import annotations

import warnings


class CoincidentClassMeansWarning(RuntimeWarning):
    """Two classes have identical means; that pair exerts no push."""


class SourceFallbackWarning(UserWarning):
    """PED standardised with the target's own statistics (no source statistics given)."""


class SourceScaleWarning(RuntimeWarning):
    """Most of the standardised target variance sits in dimensions the source never varied.

    The source std of those dimensions is clipped at ``eps`` (official value 1e-3), so
    standardisation multiplies the target's activity there by up to ``1 / eps`` and they
    dominate PED's geometry: the source sample does not resemble the target's inputs
    (e.g. natural-image crops for a model trained on other imagery).
    """


def warn_coincident_class_means(stacklevel: int) -> None:
    """Emit the :class:`CoincidentClassMeansWarning` (shared by the numpy and torch dynamics)."""
    warnings.warn(
        "PED: two or more classes have identical means in the standardised space; "
        "those pairs exert no push (the official code returns NaN here).",
        CoincidentClassMeansWarning,
        stacklevel=stacklevel + 1,
    )


__all__ = ["CoincidentClassMeansWarning", "SourceFallbackWarning", "SourceScaleWarning",
           "warn_coincident_class_means"]
