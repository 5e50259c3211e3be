"""N-LEEP — Gaussian-mixture LEEP on PCA-reduced features (Li et al., CVPR 2021)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from pedrank.core._budget import check_memory
from pedrank.core._linalg import class_sums
from pedrank.core._validation import LabelEncoding, check_features_labels, check_int
from pedrank.core.metrics._numerics import check_magnitude
from pedrank.core.metrics._registry import register
from pedrank.core.sampling import stratified_subsample

# Above this many multiply-adds per EM iteration (N_fit * K * d^2, the cost of
# the full-covariance E and M steps) one iteration takes about 20 s: sklearn's
# K small (N x d) @ (d x d) products reach about 1e9 multiply-adds per second
# on one core (measured: 2.7 s per iteration at N=10000, K=500, d=25), and EM
# may run up to 100 iterations.
_SLOW_FIT_FLOPS = 2e10
_MULADDS_PER_SECOND = 1e9


class NLeepCostWarning(UserWarning):
    """The reference-sized N-LEEP mixture is expensive for this input; see ``nleep``."""


def mixture_peak_bytes(N: int, K: int, d: int, covariance_type: str) -> float:
    """Peak memory of the Gaussian mixture: scikit-learn holds the covariances, their
    Cholesky factors and precisions (3 K d^2 for "full", 3 K d for "diag"/"spherical",
    3 d^2 for "tied") and four N x K arrays (log-probabilities, responsibilities,
    their normalisation, the prediction): ``8 (3 K d^2 + 4 N K + 2 N d)`` (full).

    Example: random N=3000, D=512 features with C=600 classes and ratio=5 (K=3000)
    keep d=332 PCA dimensions and need about 8.2 GB ("diag": 0.33 GB).
    """
    per = {"full": K * d * d, "diag": K * d, "spherical": K * d, "tied": d * d}.get(
        covariance_type, K * d * d)
    return 8.0 * (3.0 * per + 4.0 * N * K + 2.0 * N * d)


@register(
    "nleep",
    input="features",
    reference="Li et al., CVPR 2021 (Ranking Neural Checkpoints; N-LEEP)",
    cost="O(N·D² + D³) PCA (covariance route, N >= D) + O(I·N_fit·K·d²) EM, "
         "K = ratio·C components in d PCA dims",
)
def nleep(X: Any, y: Any, *, ratio: int = 5, variance: float = 0.8, log: bool = False,
          random_state: int | None = 0,
          covariance_type: Literal["full", "diag", "tied", "spherical"] = "full",
          max_fit_samples: int | None = None, max_iter: int = 100) -> float:
    """N-LEEP: LEEP with a Gaussian mixture's soft clusters as the "source labels".

    1. PCA keeping ``variance`` (80%) of the feature variance.
    2. A Gaussian mixture with ``K = ratio * C`` full-covariance components is
       fitted to the reduced features (float64, seeded); ``p(z|x)`` are its
       posterior responsibilities.
    3. ``P(y, z) = 1/N sum_{i: y_i = y} p(z|x_i)``, ``P(y|z) = P(y, z) / P(z)``,
       ``p(y|x) = sum_z p(z|x) P(y|z)``.
    4. Score: the mean of ``p(y_i|x_i)`` (default; the convention of the SFDA
       and PED papers' tables) or, with ``log=True``, the mean of
       ``log p(y_i|x_i)`` (the original N-LEEP definition).

    Higher is better.

    Sizing. The defaults are the reference's, so they reproduce published
    numbers. The PCA is cheap (from the D x D covariance when ``N >= D``, the
    same components as the reference's full SVD to about 1e-12). The mixture
    is what costs: each EM iteration is about ``N * K * d^2`` multiply-adds
    (d = PCA dimensions), so ``K = 5 C`` full-covariance components grow
    quadratically with the number of classes. For large N and C use
    ``covariance_type="diag"`` (cost ``N * K * d``) and/or fit the mixture on
    a stratified subsample (``max_fit_samples``; responsibilities are still
    computed for every sample). Both change the score, so compare models only
    under the same settings, and keep many more than d rows per full-covariance
    component (the measured trade-offs are on the N-LEEP page of the
    documentation). A :class:`NLeepCostWarning` is emitted when the estimated
    cost per iteration exceeds ``2e10`` multiply-adds.

    Parameters
    ----------
    X, y : array-like, shapes (N, D) and (N,)
        Target features and their labels (labels of any type, at least two classes).
    ratio : int
        Mixture components per class (5 in the reference; the PED/SFDA
        experiments use 1 for Food-101 and Oxford Pets).
    variance : float
        Fraction of variance the PCA keeps, in (0, 1].
    log : bool
        Average ``log p(y_i|x_i)`` (original paper) instead of ``p(y_i|x_i)``.
    random_state : int or None
        Seed of the mixture's k-means initialisation (and of the subsample).
        The score depends on it; the same seed gives the same score.
    covariance_type : {"full", "diag", "tied", "spherical"}
        Covariance of the mixture components ("full" in the reference).
    max_fit_samples : int or None
        Fit the mixture on a seeded class-stratified subsample of this many
        rows when N is larger (None: all rows, as the reference).
    max_iter : int
        EM iterations at most (100, scikit-learn's default and the reference's).

    Returns
    -------
    float
        The N-LEEP score.

    Raises
    ------
    ValueError
        If ``ratio * C`` exceeds the number of (fitted) samples (a mixture
        component needs at least one sample), or parameters are out of range.

    References
    ----------
    Y. Li, X. Jia, R. Sang, Y. Zhu, B. Green, L. Wang, B. Gong. "Ranking
    Neural Checkpoints", CVPR 2021.
    """
    _check_params(ratio, variance, covariance_type, max_fit_samples, max_iter)
    Xf, enc = check_features_labels(X, y)
    N = Xf.shape[0]
    _check_features(Xf)
    n_components, n_fit = _mixture_size(N, enc.n_classes, int(ratio), max_fit_samples)
    reduced = _pca_reduce(Xf, variance)
    del Xf
    _check_mixture_cost(N, n_fit, n_components, reduced.shape[1], covariance_type,
                        int(max_iter))
    fit_rows = reduced if n_fit == N else reduced[
        stratified_subsample(enc, n_fit, random_state)]
    resp = _responsibilities(fit_rows, reduced, n_components, covariance_type,
                             random_state, int(max_iter))
    return _leep_score(resp, enc, log)


def _check_params(ratio: int, variance: float, covariance_type: str,
                  max_fit_samples: int | None, max_iter: int) -> None:
    """Refuse out-of-range parameters of :func:`nleep` with a ``ValueError`` naming them."""
    check_int(ratio, "ratio")
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"variance must be in (0, 1]; got {variance!r}")
    if covariance_type not in ("full", "diag", "tied", "spherical"):
        raise ValueError(
            "covariance_type must be 'full', 'diag', 'tied' or 'spherical'; "
            f"got {covariance_type!r}"
        )
    check_int(max_fit_samples, "max_fit_samples", minimum=2, allow_none=True)
    check_int(max_iter, "max_iter")


def _check_features(Xf: np.ndarray) -> None:
    """Refuse features whose magnitude or PCA memory N-LEEP cannot handle."""
    N, D = Xf.shape
    check_magnitude(Xf, "nleep", "the mixture adds reg_covar = 1e-6 to every covariance")
    check_memory(f"N-LEEP's PCA (N={N}, D={D})", 8.0 * (2 * N * D + 3 * min(N, D) ** 2),
                 "Subsample the rows or reduce the feature dimension.")


def _mixture_size(N: int, n_classes: int, ratio: int,
                  max_fit_samples: int | None) -> tuple[int, int]:
    """``(K, n_fit)``: the mixture's ``ratio * C`` components and the rows it is fitted on.

    Every component of a Gaussian mixture needs at least one sample, so more
    components than rows is refused; the message suggests the largest ``ratio``
    that fits.
    """
    n_components = ratio * n_classes
    n_fit = N if max_fit_samples is None else min(N, int(max_fit_samples))
    if n_components > n_fit:
        what = "samples" if n_fit == N else f"rows to fit on (max_fit_samples={n_fit})"
        raise ValueError(
            f"N-LEEP fits ratio * n_classes = {ratio} * {n_classes} = {n_components} "
            f"mixture components but there are only {n_fit} {what}; lower `ratio` (e.g. "
            f"ratio={max(1, n_fit // n_classes)}) or provide more samples."
        )
    return n_components, n_fit


def _pca_reduce(Xf: np.ndarray, variance: float) -> np.ndarray:
    """Step 1 of N-LEEP: PCA keeping ``variance`` of the feature variance.

    The PCA is computed from the D x D covariance when ``N >= D``
    (scikit-learn's ``covariance_eigh`` solver): the same components as the
    reference's full SVD of the N x D matrix, to about 1e-12, at a fraction of
    the cost (0.46 s instead of 2.7 s at N=10000, D=1024). The covariance route
    needs D x D memory and O(N D^2) time instead of the full SVD's
    O(N D min(N, D)) with a larger constant; below N = D the SVD of the N x D
    matrix is the cheaper one.
    """
    N, D = Xf.shape
    # n_components as a float in (0, 1) selects the variance fraction; 1.0
    # would mean "one component", so keep everything explicitly instead.
    pca = PCA(n_components=variance if variance < 1.0 else None,
              svd_solver="covariance_eigh" if N >= D else "full")
    return pca.fit_transform(Xf)


def _check_mixture_cost(N: int, n_fit: int, n_components: int, d: int,
                        covariance_type: str, max_iter: int) -> None:
    """Refuse a mixture beyond the memory budget; warn when it is slow or will overfit.

    One EM iteration costs about ``n_fit * K * d^2`` multiply-adds for full or
    tied covariances (``n_fit * K * d`` otherwise). Above ``_SLOW_FIT_FLOPS`` a
    :class:`NLeepCostWarning` names the cheaper settings; a subsample that
    leaves fewer than ``d + 1`` rows per full-covariance component gets a
    ``UserWarning`` (the components overfit their rows). Warnings point at the
    caller of :func:`nleep` (``stacklevel=3``: this helper, then ``nleep``).

    Measured on synthetic 50000 x 2048 x 100 features (d = 25, K = 500): the
    reference settings gave 0.662 in 842 s CPU, ``covariance_type="diag"`` 0.697
    in 69 s, ``max_fit_samples=10000`` with full covariances 0.190 in 23 s (20
    rows per 25 x 25 covariance: the components overfit their rows), and both
    options 0.611 in 20 s.
    """
    check_memory(
        f"N-LEEP's mixture ({n_components} {covariance_type}-covariance components in {d} "
        f"PCA dimensions, N={N})", mixture_peak_bytes(N, n_components, d, covariance_type),
        "Use covariance_type='diag' (memory K*d instead of K*d^2), a smaller ratio "
        "(components per class; the PED/SFDA runs use ratio=1 on Food-101 and Pets), fewer "
        "classes, or subsample the rows.")
    per_iteration = n_fit * n_components * (d * d if covariance_type in ("full", "tied") else d)
    if per_iteration > _SLOW_FIT_FLOPS:
        warnings.warn(
            f"N-LEEP: {n_components} {covariance_type}-covariance components in {d} PCA "
            f"dimensions on {n_fit} samples cost about {per_iteration:.1e} multiply-adds per "
            f"EM iteration (roughly {per_iteration / _MULADDS_PER_SECOND:.0f} s each on one "
            f"CPU core; EM runs up to {max_iter} iterations). For a faster estimate pass "
            f"covariance_type='diag' (about {d}x cheaper per iteration) or a smaller ratio; "
            f"max_fit_samples helps only while it leaves many more than {d} rows per "
            "component for a full covariance. Scores then differ from the reference settings.",
            NLeepCostWarning, stacklevel=3,
        )
    if n_fit < N and covariance_type == "full" and n_fit < n_components * (d + 1):
        warnings.warn(
            f"N-LEEP: max_fit_samples={n_fit} leaves {n_fit / n_components:.1f} rows per "
            f"mixture component for a full {d} x {d} covariance, so the components overfit "
            "their rows and the score drops sharply; use covariance_type='diag' or more rows.",
            UserWarning, stacklevel=3,
        )


def _responsibilities(fit_rows: np.ndarray, reduced: np.ndarray, n_components: int,
                      covariance_type: str, random_state: int | None,
                      max_iter: int) -> np.ndarray:
    """Step 2 of N-LEEP: fit the mixture on ``fit_rows``; ``p(z|x)`` of every row, N x K.

    float64 matters: scikit-learn's mixture on float32 fails with "ill-defined
    empirical covariance" on typical pooled CNN features. A collapsed component
    becomes a ``ValueError`` naming what the user can change.
    """
    gmm = GaussianMixture(n_components=n_components, covariance_type=covariance_type,
                          random_state=random_state, max_iter=max_iter)
    # EM makes one small d x d Cholesky / triangular solve per component and
    # iteration; multithreaded BLAS only adds synchronisation to those calls
    # (10x slower on a loaded 2-core machine), so the fit runs single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        try:
            return gmm.fit(fit_rows).predict_proba(reduced)
        except ValueError as exc:
            if "covariance" not in str(exc):
                raise
            # scikit-learn's advice ("increase reg_covar") names an option pedrank
            # does not expose; say what the user can change instead.
            raise ValueError(
                f"nleep: the {n_components}-component mixture collapsed (a component holds "
                "duplicated or too few samples for its covariance). Lower `ratio`, use "
                "covariance_type='diag', or remove duplicated feature rows."
            ) from None


def _leep_score(resp: np.ndarray, enc: LabelEncoding, log: bool) -> float:
    """Steps 3-4 of N-LEEP: LEEP with the responsibilities ``resp`` as source labels.

    ``P(y, z)`` from the class sums of ``resp``, ``P(y|z) = P(y, z) / P(z)``,
    then the mean of ``p(y_i|x_i) = sum_z p(z|x_i) P(y_i|z)`` (or of its log).
    """
    N = resp.shape[0]
    joint = class_sums(resp, enc) / N  # P(y, z), C x K
    marginal = joint.sum(axis=0)  # P(z)
    # A component with (numerically) no responsibility mass contributes nothing
    # to p(y|x); avoid 0/0 there.
    cond = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    # p(y_i|x_i) = sum_z p(z|x_i) P(y_i|z): only the true-label column is needed.
    p_true = np.einsum("nk,nk->n", resp, cond[enc.codes])
    if log:
        return float(np.mean(np.log(p_true)))
    return float(np.mean(p_true))

__all__ = ["NLeepCostWarning", "nleep"]
