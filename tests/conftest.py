"""Shared fixtures: the golden cases of the official implementation."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import GOLDEN, load_golden


@pytest.fixture(scope="session")
def golden() -> dict[str, dict[str, np.ndarray]]:
    """``golden[case][name]`` from tests/golden/public.npz.

    The file is part of the repository: a missing file is a failure, never a skip.
    """
    if not GOLDEN.is_file():
        pytest.fail(f"golden file {GOLDEN} is missing (it is committed under tests/golden/)")
    return load_golden()
