"""The core layer: PED, source statistics, metrics, evaluation, ``score``/``rank``.

Depends on numpy, scipy and scikit-learn only (the PyTorch back end in
:mod:`pedrank.core.backends` is optional) and does no file or network I/O.
"""

from pedrank.core._budget import MemoryBudgetError, memory_budget, set_memory_budget

__all__ = ["MemoryBudgetError", "memory_budget", "set_memory_budget"]
