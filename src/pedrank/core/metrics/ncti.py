"""NCTI: Neural Collapse inspired Transferability Index (Wang et al., ICCV 2023).

Reference
---------
Zijian Wang, Yadan Luo, Liang Zheng, Zi Huang, Mahsa Baktashmotlagh.
"How Far Pre-trained Models Are from Neural Collapse on the Target Dataset
Informs their Transferability." ICCV 2023, pp. 5549-5558 (sometimes cited as
CVPR; the CVF open-access record is ICCV 2023).

The paper scores a model by how far its target features are from the neural
collapse state reached after fine-tuning, with three terms computed in a
low-dimensional discriminant space (PCA to 64 dimensions, then LDA):

* ``seli`` -- SELI-geometry term: nuclear norm of the centred LDA projection
  (a high-rank, well spread class geometry is close to the SELI / simplex-ETF
  structure);
* ``ncc`` -- nearest-centre-classifier term: mean LDA posterior of the true
  class;
* ``vc`` -- within-class variability term: log of the summed per-class nuclear
  norms of the LDA posteriors.

The official code min-max normalises each term across the pool of candidate
models and ranks by ``ncc + seli - vc``. A score of *one* model in isolation
cannot be normalised against a pool, so :func:`ncti` returns the weighted sum
of the *raw* terms (see its Notes); :func:`ncti_combine` reproduces the
paper's pool-normalised score from per-model :func:`ncti_terms`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing import minmax_scale
from threadpoolctl import threadpool_limits

from pedrank.core._budget import check_memory
from pedrank.core._linalg import class_means
from pedrank.core._validation import LabelEncoding, check_features_labels
from pedrank.core.metrics import _precision
from pedrank.core.metrics._lda import eigen_lda
from pedrank.core.metrics._numerics import check_magnitude
from pedrank.core.metrics._registry import register

__all__ = ["NCTITerms", "ncti", "ncti_terms", "ncti_combine"]

# Shrinkage floor of the official code: below it the plain SVD LDA solver is used.
_SHRINK_FLOOR = 1e-10

# Below this sum of leading PCA variances the LDA shrinkage is 1 to within it and
# sklearn's between-class scatter (St - Sw) is dominated by rounding.
_MIN_LEADING_VARIANCE = 1e-8


@dataclass(frozen=True)
class NCTITerms:
    """The three raw NCTI terms of one model on one target task.

    Attributes
    ----------
    seli : float
        Nuclear norm of the centred LDA-projected features (higher is better).
    ncc : float
        Mean LDA posterior probability of the true class, in [0, 1] (higher is
        better).
    vc : float
        ``log sum_c ||P_c||_*`` with ``P_c`` the LDA posteriors (N_c x C) of
        class ``c`` (lower is better; it is *subtracted*).
    """

    seli: float
    ncc: float
    vc: float

    def raw_score(self, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> float:
        """``w_seli * seli + w_ncc * ncc - w_vc * vc`` without pool normalisation."""
        w_seli, w_ncc, w_vc = weights
        return float(w_seli * self.seli + w_ncc * self.ncc - w_vc * self.vc)


def _fit_pca(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact, deterministic PCA: the ``k`` leading variances and the N x k scores.

    The official code's default solver is randomized and unseeded. For N >= D
    the leading ``k`` eigenpairs of the D x D covariance are computed directly
    (``scipy.linalg.eigh`` with ``subset_by_index``, MRRR): hand-written for
    speed, measured: scikit-learn's ``covariance_eigh`` solver decomposes all
    D eigenvectors (3.7 s of NCTI's 8 s at 20000 x 2048, one thread) where 64
    are kept. Components match ``PCA(svd_solver="covariance_eigh")`` up to
    sign, which no NCTI term depends on (LDA posteriors and nuclear norms are
    invariant to flipping a PCA axis); N < D uses scikit-learn's full SVD.

    Returns ``(explained_variance, scores)``: variances (ddof=1) in decreasing
    order and the centred features projected on the components.
    """
    n, d = X.shape
    if n >= d:
        mean = X.mean(axis=0)
        Xc = X - mean
        cov = _precision.gram(Xc)
        cov /= n - 1
        evals, V = linalg.eigh(cov, subset_by_index=(d - k, d - 1), driver="evr")
        evals, V = evals[::-1], V[:, ::-1]
        return np.clip(evals, 0.0, None), _precision.matmul(Xc, V)
    pca = PCA(n_components=k, svd_solver="full")
    scores = pca.fit_transform(X)
    return pca.explained_variance_, scores


def _informative_scores(Z: np.ndarray, magnitude: float) -> np.ndarray:
    """Drop PCA score columns that hold only rounding noise.

    When ``k`` exceeds the rank of the centred features (N <= D: rank N - 1) the
    last component is rounding noise; the unshrunk LDA whitens it to unit scale, and
    the score then depends on the order of the samples (found by tests/fuzz: N = D = 6
    gave 8.14 and 8.13 for two orders). A column is noise when its variance is below
    1e-24 of the largest, or its standard deviation below 1e-12 of ``max|X|``.
    Full-rank inputs are unchanged.
    """
    var = Z.var(axis=0)
    keep = var > max(var.max() * 1e-24, (1e-12 * magnitude) ** 2)
    return Z if keep.all() else Z[:, keep]


def _check_within_class_variation(Z: np.ndarray, enc: LabelEncoding) -> None:
    """Reject features the LDA cannot whiten: constant, or collapsed onto the class means.

    Without within-class variation the LDA divides by (rounding-noise) standard
    deviations and the SELI nuclear norm becomes an arbitrary ~1e16.
    """
    total = float(np.sum(Z**2))  # PCA scores are centred
    within = float(np.sum((Z - class_means(Z, enc)[enc.codes]) ** 2))
    if total <= 0.0 or within <= 1e-24 * total:
        raise ValueError(
            "ncti needs within-class variation, but the features are "
            + ("constant" if total <= 0.0 else "identical within every class")
            + "; such collapsed features cannot be scored by its LDA."
        )


def _unshrunk_lda(Z: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The official code's LDA at the 1e-10 shrinkage floor: scikit-learn's SVD solver.

    Kept from scikit-learn (not :mod:`._lda`) because it handles a rank-deficient
    within-class scatter, which an unshrunk Cholesky solve cannot.
    """
    lda = LinearDiscriminantAnalysis(solver="svd")
    with warnings.catch_warnings():
        # Collinear PCA scores (N barely above C) only make the LDA rank
        # deficient; sklearn handles it, the warning is noise for a score.
        warnings.filterwarnings("ignore", message="Variables are collinear")
        low = lda.fit_transform(Z, codes)
        return low, lda.predict_proba(Z)


def ncti_terms(X: Any, y: Any, *, n_components: int = 64, n_shrink_components: int = 32
               ) -> NCTITerms:
    """Compute the three raw NCTI terms (SELI, NCC, VC) of one model.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features of the model.
    y : array-like, shape (N,)
        Target labels (any sortable type, at least two classes, more samples
        than classes).
    n_components : int
        PCA dimensionality before LDA (64 in the official code); capped at
        ``min(N, D)``.
    n_shrink_components : int
        The LDA shrinkage is ``max(exp(-sum of the leading
        n_shrink_components PCA variances), 1e-10)`` (32 in the official
        code); at the 1e-10 floor an unshrunk SVD-solver LDA is used, as in
        the official code.

    Returns
    -------
    NCTITerms
    """
    Xf, enc = check_features_labels(X, y)
    n, d = Xf.shape
    check_magnitude(Xf, "ncti", "its LDA shrinkage exp(-sum of PCA variances) depends on "
                    "the feature scale")
    check_memory(f"NCTI (N={n}, D={d}, C={enc.n_classes})",
                 8.0 * (2 * n * d + 3 * min(n, d) ** 2 + 4 * n * enc.n_classes),
                 "Subsample the rows, reduce the feature dimension, or use fewer classes.")
    if n <= enc.n_classes:
        raise ValueError(
            f"ncti needs more samples than classes to fit its LDA; got {n} samples for "
            f"{enc.n_classes} classes. Add samples or merge rare classes."
        )
    if n_components < 1 or n_shrink_components < 1:
        raise ValueError("n_components and n_shrink_components must be positive integers.")
    if not np.any(Xf != Xf[0]):
        raise ValueError("ncti needs within-class variation, but the features are constant "
                         "(every sample has the same feature vector).")
    k = int(min(n_components, n, d))
    magnitude = float(np.max(np.abs(Xf)))
    explained_variance, Z = _fit_pca(Xf, k)
    Z = _informative_scores(Z, magnitude)
    _check_within_class_variation(Z, enc)
    lead = float(explained_variance[:n_shrink_components].sum())
    if lead < _MIN_LEADING_VARIANCE:
        # shrinkage = exp(-lead) = 1 - lead: sklearn's eigen LDA forms the between-class
        # scatter as St - Sw of two matrices shrunk by that factor, which cancels to
        # rounding noise (found by tests/fuzz: SELI moved by 1e-4 under label renaming
        # at feature scale 1e-7).
        raise ValueError(
            f"ncti: the leading PCA variances of the features sum to {lead:.3g}, so its LDA "
            f"shrinkage exp(-{lead:.3g}) is 1 to within {lead:.1g} and the between-class "
            "scatter is rounding noise. NCTI depends on the feature scale by design; rescale "
            "every model's features the same way (e.g. by a common factor) so that their "
            f"variances sum to at least {_MIN_LEADING_VARIANCE:g}."
        )
    shrink = max(float(np.exp(-lead)),
                 _SHRINK_FLOOR)
    codes = enc.codes
    if shrink <= _SHRINK_FLOOR:
        low, proba = _unshrunk_lda(Z, codes)
    else:
        low, proba = eigen_lda(Z, enc, shrink)

    low -= low.mean(axis=0, keepdims=True)
    seli = float(np.linalg.norm(low, ord="nuc"))
    ncc = float(np.mean(proba[np.arange(n), codes]))

    # Per-class nuclear norms: one SVD per class block (a loop over classes,
    # not samples); the blocks come from one stable sort of the labels.
    order = np.argsort(codes, kind="stable")
    blocks = np.split(proba[order], np.cumsum(enc.counts)[:-1])
    # Many small SVDs gain nothing from BLAS threads, and on a busy machine
    # thread oversubscription made this loop ~50x slower (17 s vs 0.3 s for
    # 100 blocks of 100 x 100): run it single-threaded.
    with threadpool_limits(limits=1):
        vc_sum = float(sum(np.linalg.norm(b, ord="nuc") for b in blocks))
    vc = float(np.log(vc_sum))
    return NCTITerms(seli=seli, ncc=ncc, vc=vc)


@register(
    "ncti",
    input="features",
    reference="Wang et al., ICCV 2023 (NCTI, neural collapse)",
    cost="O(N D min(N, D) + N C^2)",
    supports_dtype=True,
)
def ncti(X: Any, y: Any, *, weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
         n_components: int = 64, n_shrink_components: int = 32) -> float:
    r"""Neural Collapse inspired Transferability Index of one model (raw terms).

    Features are reduced by PCA to ``k = 64`` dimensions, and an LDA (shrinkage
    :math:`\max(e^{-\sum_{j \le 32} \lambda_j}, 10^{-10})` with
    :math:`\lambda_j` the PCA variances) gives the projection :math:`H` (centred,
    ``N x min(C-1, k)``) and posteriors :math:`P` (``N x C``). Then

    .. math::

        S_{seli} = \lVert H \rVert_*, \quad
        S_{ncc} = \frac{1}{N} \sum_i P_{i, y_i}, \quad
        S_{vc} = \log \sum_{c=1}^C \lVert P_c \rVert_*, \\
        \mathrm{NCTI}_{raw} = w_1 S_{seli} + w_2 S_{ncc} - w_3 S_{vc},

    with :math:`P_c` the rows of :math:`P` whose true label is ``c``.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features.
    y : array-like, shape (N,)
        Target labels (any sortable type; at least two classes and more
        samples than classes).
    weights : (float, float, float)
        Weights of (SELI, NCC, VC) in the raw sum.
    n_components, n_shrink_components : int
        See :func:`ncti_terms`.

    Other Parameters
    ----------------
    dtype : {"float64", "float32"}, optional
        Compute dtype of the large Gram/scatter products (default float64). float32 is
        opt-in: those products run in float32, everything after them in float64;
        measured on real features: at most 3.3e-6 (N < D: the PCA runs in float64). See
        "float32" in ``docs/performance.md``.

    Returns
    -------
    float
        Higher means better expected transfer.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, fewer than two classes, mismatched lengths, or
        no more samples than classes.

    Notes
    -----
    *Single-model score (a pedrank choice).* The paper (and official code)
    min-max normalises each term over the pool of candidate models before
    summing, so NCTI of one model is only defined relative to the others. This
    function returns the weighted sum of the **un-normalised** terms so that it
    is a function of one model's features, usable by :func:`pedrank.score`.
    Its scale is dominated by ``S_seli`` (which grows with N and the LDA
    spread); to reproduce the paper's ranking of a model pool use
    :func:`ncti_terms` per model and :func:`ncti_combine`.

    Cost: PCA, O(N D min(N, D)); LDA on k <= 64 dimensions,
    O(N k^2 + N k C); per-class nuclear norms O(N C^2).

    References
    ----------
    Wang, Luo, Zheng, Huang, Baktashmotlagh. "How Far Pre-trained Models Are
    from Neural Collapse on the Target Dataset Informs their Transferability."
    ICCV 2023.
    """
    terms = ncti_terms(X, y, n_components=n_components,
                       n_shrink_components=n_shrink_components)
    return terms.raw_score(weights)


def ncti_combine(terms: Mapping[str, NCTITerms]) -> dict[str, float]:
    """Pool-normalised NCTI, as in the paper: ``mm(ncc) + mm(seli) - mm(vc)``.

    Parameters
    ----------
    terms : mapping model name -> NCTITerms
        Raw terms of every candidate model on the *same* target task (from
        :func:`ncti_terms`).

    Returns
    -------
    dict model name -> float
        Each term min-max scaled to [0, 1] across the pool (a term constant
        across the pool contributes 0), combined as in the official code; the
        result lies in [-1, 2]. Higher is better.

    Examples
    --------
    >>> terms = {name: ncti_terms(X, y) for name, (X, y) in models.items()}  # doctest: +SKIP
    >>> scores = ncti_combine(terms)  # doctest: +SKIP
    """
    if len(terms) < 2:
        raise ValueError(
            f"ncti_combine normalises terms across a pool of models; got {len(terms)} model(s). "
            "Pass at least two, or use ncti() for a single model's raw score."
        )
    names = list(terms)
    # minmax_scale maps a term constant over the pool to 0 (a zero range counts as 1)
    # instead of dividing by zero as the official code would.
    seli = minmax_scale(np.array([terms[m].seli for m in names], dtype=np.float64))
    ncc = minmax_scale(np.array([terms[m].ncc for m in names], dtype=np.float64))
    vc = minmax_scale(np.array([terms[m].vc for m in names], dtype=np.float64))
    total = ncc + seli - vc
    return {m: float(s) for m, s in zip(names, total, strict=True)}
