from __future__ import annotations

import importlib
from fractions import Fraction

import numpy as np
import pytest
from _helpers import GOLDEN_CASES
from scipy.stats import spearmanr

from pedrank.core._linalg import one_hot
from pedrank.core._validation import encode_labels
from pedrank.core.metrics.parc import parc, spearman_few_levels, stratified_subsample

# The module (``pedrank.core.metrics.parc`` the attribute is the function).
PARC_MODULE = importlib.import_module("pedrank.core.metrics.parc")

# The reference computes RDM_y = 1 - np.corrcoef(one_hot). Exactly, that matrix has two
# values (0 and C/(C-1)); in floating point its entries differ by a few ulps depending on
# how the BLAS kernel rounds the dot products, and Spearman's ranking turns those
# sub-levels into different ranks, so the golden values carry the rounding of the kernel
# they were made with. Measured on this project's OpenBLAS 0.3.31 (five kernels forced
# with OPENBLAS_CORETYPE), relative difference of PARC from the golden values:
#   Haswell (AVX2 + FMA)    <= 7e-15 on all six cases
#   SkylakeX (AVX-512)      "medium" 1.6e-5, "nsigma03" 4.2e-3, others <= 2e-16
#   Sandybridge, Prescott   up to 1.4e-1 ("nsigma03"), 1.0e-2 on "small"
# so a test on the machine's own BLAS passes only on some CPUs. The golden test below is
# independent of the CPU: it replaces the one BLAS-dependent quantity, the label RDM, by
# an exact emulation of the Haswell kernel's arithmetic (_haswell_label_rdm), and runs
# everything else (PCA, standardisation, feature RDM, Spearman) on the machine as it is.
# With that, PARC equals the golden value to <= 7e-15 under every one of the five kernels,
# hence the 1e-9 tolerance. That the emulation is the kernel was checked bit for bit: the
# emulated C x C table equals the Haswell kernel's np.corrcoef entries on all six cases,
# and the same emulation without FMA equals the Sandybridge/Prescott kernels' entries.
# test_reference_label_levels_are_the_literal_corrcoef checks pedrank's reference mode
# against np.corrcoef on whatever BLAS the machine has.


def _fma(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once (exact rational arithmetic; math.fma needs Python 3.13)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _haswell_label_rdm(n_classes: int) -> np.ndarray:
    """``1 - np.corrcoef(one_hot)`` as OpenBLAS's Haswell kernel rounds it, as a C x C table.

    The entry for samples i, j depends only on their classes: after ``np.cov`` removes
    the row means, every one-hot row holds ``1 - 1/C`` at its class and ``-1/C``
    elsewhere. The Haswell dgemm kernel accumulates each dot product over k in order with
    fused multiply-adds; ``np.cov`` then scales by ``1 / (C - 1)`` and ``np.corrcoef``
    divides by the square roots of the diagonal (twice) and clips to [-1, 1], exactly
    as written here.
    """
    C = int(n_classes)
    m = np.float64(1.0) / C
    hot, cold = float(1.0 - m), float(-m)
    cov = np.empty((C, C))
    for i in range(C):
        for j in range(C):
            acc = 0.0
            for k in range(C):
                acc = _fma(hot if k == i else cold, hot if k == j else cold, acc)
            cov[i, j] = acc
    cov *= np.true_divide(1, C - 1)
    sd = np.sqrt(np.diag(cov))
    corr = cov / sd[:, None]
    corr /= sd[None, :]
    np.clip(corr, -1, 1, out=corr)
    return 1 - corr


def _haswell_label_levels(enc):
    """Drop-in for ``parc._label_levels_reference`` with the Haswell kernel's rounding."""
    table = _haswell_label_rdm(enc.n_classes)
    i, j = np.triu_indices(enc.codes.shape[0], 1)  # row-major upper triangle, as parc's
    values, codes = np.unique(table[enc.codes[i], enc.codes[j]], return_inverse=True)
    return codes.reshape(-1).astype(np.uint8), values


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_reference(golden, case, monkeypatch):
    """Every golden PARC case to 1e-9 on any CPU and BLAS (see the comment above)."""
    monkeypatch.setattr(PARC_MODULE, "_label_levels_reference", _haswell_label_levels)
    g = golden[case]
    value = parc(g["X"].astype(np.float64), g["y"])
    assert value == pytest.approx(float(g["parc"]), rel=1e-9, abs=0)


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_reference_label_levels_are_the_literal_corrcoef(golden, case):
    """The reference mode's coded levels decode to ``1 - np.corrcoef(one_hot)`` exactly,
    whatever BLAS this machine has (both sides use it)."""
    enc = encode_labels(golden[case]["y"], golden[case]["y"].shape[0])
    codes, values = PARC_MODULE._label_levels_reference(enc)
    literal = 1 - np.corrcoef(one_hot(enc))
    upper = literal[np.triu_indices(literal.shape[0], 1)]
    assert np.array_equal(values[codes], upper)


def test_haswell_emulation_is_not_the_exact_matrix():
    """The emulated rounding is what matters: the exact two-level matrix differs from it
    (so the golden test above would notice a label RDM computed exactly)."""
    table = _haswell_label_rdm(5)
    assert len(np.unique(table)) > 2
    off = table[~np.eye(5, dtype=bool)]
    assert np.allclose(off, 5 / 4, rtol=1e-15) and np.allclose(np.diag(table), 0, atol=1e-15)


def test_exact_label_rdm_is_two_valued_and_renaming_invariant(golden):
    g = golden["small"]
    X, y = g["X"].astype(np.float64), g["y"]
    perm = np.array([3, 0, 4, 1, 2])
    exact = parc(X, y, label_rdm="exact")
    assert parc(X, perm[y], label_rdm="exact") == exact
    assert parc(X, np.array(list("abcde"))[y], label_rdm="exact") == exact
    # The rounding-free value differs from the reference's (see the comment on the golden test).
    assert exact != pytest.approx(float(g["parc"]), rel=1e-3)


def test_perfect_separation_closed_form():
    """Same-class dissimilarities all below cross-class ones: Spearman is a fixed function
    of the pair counts (ranks 1..n0 for same-class pairs, n0+1..P for the rest)."""
    rng = np.random.default_rng(0)
    # More classes than dimensions, so every PCA axis carries class signal and
    # standardising does not blow the tiny noise up.
    C, n, D = 6, 5, 3
    y = np.repeat(np.arange(C), n)
    X = 10.0 * rng.normal(size=(C, D))[y] + 1e-4 * rng.normal(size=(C * n, D))
    # Precondition of the closed form, on the features as PARC sees them: PCA to
    # all D axes then standardisation is a whitening, i.e. the left singular
    # vectors of the centred data (up to a common scale).
    U = np.linalg.svd(X - X.mean(0), full_matrices=False)[0]
    rdm = 1 - np.corrcoef(U)
    iu = np.triu_indices(C * n, 1)
    same = (y[:, None] == y[None, :])[iu]
    assert rdm[iu][same].max() < rdm[iu][~same].min()
    P = C * n * (C * n - 1) // 2
    n0 = C * n * (n - 1) // 2
    levels = np.r_[np.zeros(n0), np.ones(P - n0)]
    expected = 100 * np.corrcoef(np.arange(1, P + 1), levels)[0, 1]
    assert parc(X, y, label_rdm="exact") == pytest.approx(expected, rel=1e-9)


def test_separated_beats_identical():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 25)
    noise = rng.normal(size=(100, 40))
    separated = parc(noise + 3.0 * rng.normal(size=(4, 40))[y], y)
    identical = parc(np.tile(noise[:25], (4, 1)), y)
    assert separated > 20 > identical


@pytest.mark.parametrize("levels", [2, 3, 6])
def test_spearman_few_levels_matches_scipy(levels):
    rng = np.random.default_rng(levels)
    x = rng.normal(size=2000)
    x[:300] = x[300:600]  # ties in x as well
    b = rng.integers(0, levels, size=2000) * 0.25
    assert spearman_few_levels(x, b) == pytest.approx(spearmanr(x, b)[0], rel=1e-12)


def test_subsample_scores_the_subsample_labels():
    """Above max_samples, PARC is PARC of the seeded subsample with *its* labels."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, size=90)
    X = rng.normal(size=(3, 12))[y] + rng.normal(size=(90, 12))
    keep = stratified_subsample(encode_labels(y), 40, random_state=5)
    sub = parc(X, y, max_samples=40, random_state=5)
    assert sub == pytest.approx(parc(X[keep], y[keep], random_state=5), rel=1e-12)
    assert sub == parc(X, y, max_samples=40, random_state=5)  # same seed, same result
    # Order-preserving renaming keeps the class order, hence the same subsample.
    assert parc(X, y * 10 + 7, max_samples=40, random_state=5) == sub


def test_fewer_dimensions_than_components():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1, 2], 20)
    X = rng.normal(size=(60, 5)) + y[:, None]
    assert parc(X, y) == pytest.approx(parc(X, y, n_components=5), rel=1e-12)


def test_bad_inputs():
    X = np.random.default_rng(4).normal(size=(6, 3))
    with pytest.raises(ValueError, match="2 or more samples"):
        parc(X, [0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="label_rdm"):
        parc(X, [0, 0, 0, 1, 1, 1], label_rdm="noisy")
    with pytest.raises(ValueError, match="max_samples"):
        parc(X, [0, 0, 0, 1, 1, 1], max_samples=1)
    with pytest.raises(ValueError, match="at least 3"):
        parc(X[:, :2], [0, 0, 0, 1, 1, 1])


def test_does_not_mutate_input():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 6))
    before = X.copy()
    parc(X, np.repeat([0, 1], 20), max_samples=30)
    np.testing.assert_array_equal(X, before)


def test_spearman_few_levels_heavy_ties_match_scipy():
    """Regression: the tie correction works from tie-group sizes only (no P-long
    rank arrays); large groups and an all-tied block must still match scipy."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, size=5000).astype(np.float64)  # five huge tie groups
    x[:1000] = 2.0
    b = rng.integers(0, 3, size=5000)
    assert spearman_few_levels(x, b) == pytest.approx(spearmanr(x, b)[0], rel=1e-12)
    assert np.isnan(spearman_few_levels(np.ones(50), rng.integers(0, 2, size=50)))


@pytest.mark.parametrize("n, max_elements", [(2, 1), (7, 1), (7, 10), (50, 64), (50, 1 << 22)])
def test_upper_blocks_cover_the_triangle_in_row_major_order(n, max_elements):
    from pedrank.core.metrics.parc import _upper_blocks

    M = np.arange(n * n).reshape(n, n)
    expected = M[np.triu_indices(n, 1)]
    got = np.full(expected.shape, -1)
    for a, b, mask, where in _upper_blocks(n, max_elements):
        got[where] = M[a:b, a:][mask]
    np.testing.assert_array_equal(got, expected)


def test_reference_label_levels_code_the_literal_matrix():
    """The byte codes reproduce every entry of the reference's 1 - corrcoef(one_hot)."""
    from pedrank.core._linalg import one_hot
    from pedrank.core.metrics.parc import _label_levels_reference

    for C, n in [(2, 40), (7, 300), (60, 900)]:
        enc = encode_labels(np.random.default_rng(C).integers(0, C, size=n))
        codes, values = _label_levels_reference(enc)
        literal = (1 - np.corrcoef(one_hot(enc)))[np.triu_indices(n, 1)]
        np.testing.assert_array_equal(values[codes], literal)
        assert codes.dtype == np.uint8


def test_float32_input_subsampled_before_conversion_gives_the_same_score():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 6, size=400)
    X = (rng.normal(size=(6, 30))[y] + rng.normal(size=(400, 30))).astype(np.float32)
    assert parc(X, y, max_samples=150) == parc(X.astype(np.float64), y, max_samples=150)
    with pytest.raises(ValueError, match="NaN or infinite"):
        X[5, 3] = np.nan
        parc(X, y, max_samples=150)
