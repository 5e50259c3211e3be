"""Test helpers shared across test modules (import as ``from _helpers import ...``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# In the repository (tests/golden/README.md says how it was made): every clone checks it.
GOLDEN = Path(__file__).resolve().parent / "golden" / "public.npz"

GOLDEN_CASES = ("small", "medium", "singleton", "nsigma03", "big_step", "wide")


def load_golden() -> dict[str, dict[str, np.ndarray]]:
    """``golden[case][name]`` from :data:`GOLDEN` (the npz keys are ``case/name``)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(GOLDEN, allow_pickle=False) as data:
        for key in data.files:
            case, name = key.split("/", 1)
            out.setdefault(case, {})[name] = data[key]
    return out


def ped_params(case: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(case[k]) for k in ("time_step", "nsigma", "constant", "exit_ratio")}


def rel_err(actual, expected) -> float:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.max(np.abs(expected))
    return float(np.max(np.abs(actual - expected)) / scale) if scale > 0 else float(
        np.max(np.abs(actual)))


def blobs(n_per_class: int = 40, n_classes: int = 3, dim: int = 8, spread: float = 1.0,
          separation: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian class clusters: non-negative-ish features like pooled CNN outputs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=separation, size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = centres[y] + rng.normal(scale=spread, size=(y.size, dim))
    return X, y
