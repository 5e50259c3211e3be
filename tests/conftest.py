"""Shared fixtures: the golden cases of the official implementation."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import GOLDEN


@pytest.fixture(scope="session")
def golden() -> dict[str, dict[str, np.ndarray]]:
    """``golden[case][name]`` from tests/golden/public.npz.

    The file is part of the repository: a missing file is a failure, never a skip.
    """
    if not GOLDEN.is_file():
        pytest.fail(f"golden file {GOLDEN} is missing (it is committed under tests/golden/)")
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(GOLDEN, allow_pickle=False) as data:
        for key in data.files:
            case, name = key.split("/", 1)
            out.setdefault(case, {})[name] = data[key]
    return out
