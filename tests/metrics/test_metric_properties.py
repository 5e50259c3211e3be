"""Property tests: invariances every feature metric of this group must satisfy.

* Sample order: the metrics are functions of the set of (x, y) pairs. N-LEEP is
  excluded: its mixture is initialised by k-means on the rows in order, so a
  permutation is another seed. PARC is tested with ``label_rdm="exact"`` and
  N >= D (the randomized PCA draws its test matrix over rows when N < D) and
  D >= 3 (PARC rejects fewer dimensions: row correlations are degenerate); its
  default reference label RDM carries BLAS rounding ties (see test_parc.py).
* Label renaming: any bijection of label values (including to strings). For
  PARC/N-LEEP only the mixture/PCA seed matters here, and it does not depend on
  labels; PARC's subsampling (N > max_samples) is invariant only to renamings
  that keep the class order, tested in test_parc.py.
* Translation of all features by a constant vector (all but N-LEEP, whose GMM
  sees PCA scores that differ by rounding after re-centring).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pedrank.core.metrics.gbc import gbc
from pedrank.core.metrics.hscore import hscore
from pedrank.core.metrics.nleep import nleep
from pedrank.core.metrics.parc import parc
from pedrank.core.metrics.regularized_hscore import regularized_hscore
from pedrank.core.metrics.transrate import transrate

METRICS = {
    "gbc_spherical": lambda X, y: gbc(X, y),
    "gbc_diagonal": lambda X, y: gbc(X, y, gaussian_type="diagonal"),
    "hscore": hscore,
    "regularized_hscore": regularized_hscore,
    "transrate": transrate,
    "parc_exact": lambda X, y: parc(X, y, label_rdm="exact"),
    "nleep": lambda X, y: nleep(X, y, ratio=1),
}
ORDER_INVARIANT = [m for m in METRICS if m != "nleep"]
TRANSLATION_INVARIANT = [m for m in METRICS if m != "nleep"]

PROPS = settings(max_examples=8, deadline=None, derandomize=True)


@st.composite
def datasets(draw):
    """Well-conditioned clustered data: N >= 4 D, every class with >= 3 samples."""
    seed = draw(st.integers(0, 2**32 - 1))
    C = draw(st.integers(2, 4))
    D = draw(st.integers(1, 5))
    per_class = draw(st.integers(max(3, 2 * D), 12))
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(C), per_class)
    X = draw(st.floats(0.2, 3.0)) * rng.normal(size=(C, D))[y] + rng.normal(size=(y.size, D))
    return X, y, rng


def _close(a, b):
    return a == pytest.approx(b, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("name", ORDER_INVARIANT)
@PROPS
@given(data=datasets())
def test_sample_order_invariance(name, data):
    X, y, rng = data
    perm = rng.permutation(y.size)
    assume(not name.startswith("parc") or X.shape[1] >= 3)
    metric = METRICS[name]
    assert _close(metric(X[perm], y[perm]), metric(X, y))


@pytest.mark.parametrize("name", list(METRICS))
@PROPS
@given(data=datasets(), as_strings=st.booleans())
def test_label_renaming_invariance(name, data, as_strings):
    X, y, rng = data
    C = int(y.max()) + 1
    mapping = rng.permutation(C) + 100
    renamed = np.array([f"class-{v}" for v in mapping])[y] if as_strings else mapping[y]
    assume(not name.startswith("parc") or X.shape[1] >= 3)
    metric = METRICS[name]
    assert _close(metric(X, renamed), metric(X, y))


@pytest.mark.parametrize("name", TRANSLATION_INVARIANT)
@PROPS
@given(data=datasets(), shift=st.floats(-50, 50))
def test_translation_invariance(name, data, shift):
    X, y, rng = data
    offset = shift * rng.uniform(0.5, 1.5, size=X.shape[1])
    assume(not name.startswith("parc") or X.shape[1] >= 3)
    metric = METRICS[name]
    assert _close(metric(X + offset, y), metric(X, y))
