"""PED's hyper-parameter ranges: the one table that every entry point checks against.

:class:`pedrank.PED` (in ``fit``), :func:`pedrank.ped_transform`, the benchmark
configuration (``[ped]`` variants) and the CLI options (``--time-step``,
``--exit-ratio``, ``--ped-param NAME=VALUE``, ...) all validate with
:data:`PED_PARAM_RANGES`, so a value one of them accepts the others accept too.

This module uses only the standard library, so that building the CLI parser
(``pedrank --help``) can read the table without importing numpy or scikit-learn.

The ranges follow PED's dynamics (Li et al., ICCV 2023; ``spec/ped.md``): a step
moves a pair of overlapping classes by ``min(k t^2 o / 2, o)`` for time step
``t``, force constant ``k`` and overlap ``o`` of balls of ``nsigma`` radii, and a
step is accepted while its change over the first step's exceeds the exit ratio.

* ``time_step``, ``nsigma``, ``constant``, ``eps`` must be positive. Their upper
  bounds are far beyond any useful value (official values 0.1, 0.6, 1, 1e-3) and
  keep the arithmetic finite: ``time_step=1e200`` overflowed ``t^2`` (an
  ``OverflowError`` from deep inside the dynamics) and ``nsigma=1e300`` moved the
  features by 2e299.
* ``exit_ratio`` is in ``(0, 1]``: the first step's ratio is 1, so ``1`` accepts
  no step, and ``0`` or less would never stop on the ratio (only ``max_steps``
  would end the loop), which is not PED's stopping rule.
* ``max_steps`` is an integer from 1 (step 0 is always computed) to
  :data:`MAX_STEPS_CAP`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# Upper bound of max_steps. The official runs use 6 and accepted steps stop well before 100
# (each step is a C x C pass); without a cap, ``--max-steps 100000000 --exit-ratio -1`` ran
# practically forever.
MAX_STEPS_CAP = 1000


@dataclass(frozen=True)
class ParamRange:
    """The accepted values of one PED hyper-parameter.

    Attributes
    ----------
    kind : type
        ``int`` (an integer, not a bool) or ``float`` (any real number, integers
        included; numpy scalars count).
    low, high : float
        The bounds; ``high`` is always included.
    low_open : bool
        Whether ``low`` itself is excluded.
    note : str
        Why the range is what it is, appended to the error message.
    """

    kind: type
    low: float
    high: float
    low_open: bool = True
    note: str = ""

    def describe(self) -> str:
        """The range in words, e.g. ``"a number in (0, 1]"``."""
        if self.kind is int:
            low = int(self.low) + (1 if self.low_open else 0)
            return f"an integer from {low} to {int(self.high)}"
        return f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is of the right kind, finite and within the bounds."""
        wanted = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, wanted):
            return False
        if self.kind is int:  # exact: a huge integer must not overflow a float
            value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:  # an int beyond float range (10**400)
                return False
            if not math.isfinite(value):
                return False
        low_ok = value > self.low if self.low_open else value >= self.low
        return low_ok and value <= self.high

    def check(self, name: str, value: Any) -> float | int:
        """``value`` as a Python ``float`` or ``int``; ``ValueError`` naming ``name`` otherwise."""
        if not self.contains(value):
            note = f" ({self.note})" if self.note else ""
            raise ValueError(f"PED parameter {name} must be {self.describe()}{note}; "
                             f"got {value!r}")
        return self.kind(value)


PED_PARAM_RANGES: Mapping[str, ParamRange] = MappingProxyType({
    "time_step": ParamRange(float, 0.0, 1e3, note="official value 0.1"),
    "nsigma": ParamRange(float, 0.0, 1e2, note="ball radius in source sigmas; official 0.6"),
    "constant": ParamRange(float, 0.0, 1e6, note="force constant; official 1"),
    "exit_ratio": ParamRange(float, 0.0, 1.0, note=(
        "a step is accepted while its change over the first step's exceeds it; official 0.5")),
    "max_steps": ParamRange(int, 1, MAX_STEPS_CAP, low_open=False,
                            note="the official runs use 6"),
    "eps": ParamRange(float, 0.0, 1e6, note="lower clip of the source std; default 1e-3"),
})
"""Name -> :class:`ParamRange` of every numeric PED hyper-parameter (``fallback`` is a choice)."""


def check_ped_param(name: str, value: Any) -> Any:
    """Check one PED hyper-parameter against :data:`PED_PARAM_RANGES`.

    Returns the value as a Python number; names outside the table (``fallback``)
    are returned unchanged, left to :class:`pedrank.PED` itself.
    """
    spec = PED_PARAM_RANGES.get(name)
    return value if spec is None else spec.check(name, value)


__all__ = ["MAX_STEPS_CAP", "PED_PARAM_RANGES", "ParamRange", "check_ped_param"]
