"""PED — Potential Energy Decline (Li, Hu, Ge, Shan, Duan; ICCV 2023, arXiv 2308.15074).

Each class of target features is a soft ball in the space standardised by the
model's *source* statistics. Overlapping balls repel each other; a few simulated
steps approximate how fine-tuning moves class clusters apart, and any
feature-based metric is then computed on the moved features.

Because every sample of a class receives the same displacement, classes
translate rigidly and their radii never change. The whole simulation therefore
runs on the C x D class means (memory O(N*D + C*D + C^2)) and ``X`` is shifted
once at the end. The official code instead builds C x C x D arrays.

Deliberate differences from the official code (defects, not method):

* labels need not be ``0..C-1`` (they are remapped);
* coincident class means (``d_ij = 0``) exert no push and raise a
  :class:`CoincidentClassMeansWarning`, instead of turning the whole result
  into NaN and silently disabling PED;
* computation is float64 whatever the input dtype;
* the caller's arrays are never modified;
* only the source mean/std are needed (:class:`~pedrank.core.source.SourceStats`);
  with none, the target's own statistics can be used, but only when asked for
  explicitly (``source="target"`` / ``PED(fallback="target")``), and a
  :class:`SourceFallbackWarning` says so; source statistics that leave most of the
  standardised target variance in dimensions the source never varied (std clipped at
  ``eps``) raise a :class:`SourceScaleWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array

from pedrank.core._array_kernels import ped_dynamics
from pedrank.core._budget import check_memory
from pedrank.core._linalg import class_means, row_blocks
from pedrank.core._validation import LabelEncoding, check_features_labels
from pedrank.core._warnings import (
    CoincidentClassMeansWarning,
    SourceFallbackWarning,
    SourceScaleWarning,
)
from pedrank.core.ped_params import MAX_STEPS_CAP, check_ped_param
from pedrank.core.source import DEFAULT_EPS, SourceStats

SourceArg = SourceStats | tuple[Any, Any] | Literal["target"] | None

# Row blocks of 8 MB for the per-row passes over X: PED's peak memory is then X
# (float64) plus a few C x D arrays, ~20x below the official C x C x D arrays.
_BLOCK_BYTES = 1 << 23

def check_ped_params(time_step: Any, nsigma: Any, constant: Any, exit_ratio: Any,
                     max_steps: Any) -> dict[str, Any]:
    """Validate PED's hyper-parameters; return them as floats and an int.

    The ranges are :data:`pedrank.core.ped_params.PED_PARAM_RANGES`, the table
    the benchmark configuration and the CLI check against too: ``time_step``,
    ``nsigma`` and ``constant`` finite and positive (with generous upper bounds
    that keep the arithmetic finite), ``0 < exit_ratio <= 1``, and ``max_steps``
    an integer in ``1..MAX_STEPS_CAP``. Raises ``ValueError`` naming the
    parameter and the accepted range.
    """
    given = {"time_step": time_step, "nsigma": nsigma, "constant": constant,
             "exit_ratio": exit_ratio, "max_steps": max_steps}
    return {name: check_ped_param(name, value) for name, value in given.items()}


@dataclass(frozen=True)
class PEDResult:
    """Outcome of :func:`ped_transform`.

    Attributes
    ----------
    features : ndarray, shape (N, D)
        The moved features, in the original feature space (float64).
    n_steps : int
        Accepted steps. 0 means no class overlapped: ``features`` equals the input.
    changes : tuple of float
        The L1 change (over classes and dimensions, standardised space) of
        every *computed* step; when the loop stopped on the exit ratio, the
        last entry is the rejected step.
    ratios : tuple of float
        ``changes[s] / changes[0]`` for each computed step.
    shift : ndarray, shape (C, D)
        Total displacement of each class in the original feature space.
    classes : ndarray, shape (C,)
        The class labels, in the row order of ``shift``.
    """

    features: np.ndarray
    n_steps: int
    changes: tuple[float, ...]
    ratios: tuple[float, ...]
    shift: np.ndarray
    classes: np.ndarray

    @property
    def moved(self) -> bool:
        """Whether any class overlapped (and so the features changed)."""
        return self.n_steps > 0


@dataclass
class _Dynamics:
    shift_z: np.ndarray
    n_steps: int
    changes: list[float] = field(default_factory=list)


def _resolve_source(source: SourceArg, X: np.ndarray, eps: float) -> SourceStats:
    if isinstance(source, SourceStats):
        stats = source
    elif isinstance(source, str):
        if source != "target":
            raise ValueError(f"source must be SourceStats, (mean, std) or 'target'; got {source!r}")
        warnings.warn(
            "PED: no source statistics given; standardising with the target features' own "
            "mean/std (source='target'). This approximates the paper, which uses the model's "
            "features on its pre-training data; pass SourceStats for faithful results.",
            SourceFallbackWarning,
            stacklevel=3,
        )
        stats = SourceStats.from_features(X, eps=eps)
    elif isinstance(source, tuple) and len(source) == 2:
        stats = SourceStats(source[0], source[1], eps)
    elif source is None:
        raise ValueError(
            "PED needs the model's source statistics (mean/std of its features on "
            "pre-training data): pass source=SourceStats.from_features(source_X), or "
            "source='target' (PED(fallback='target')) to use the target's own statistics "
            "as a documented approximation."
        )
    else:
        raise ValueError(f"source must be SourceStats, (mean, std) or 'target'; got {type(source)}")
    stats.check_dim(X.shape[1])
    return stats


#: Share of the standardised target variance in eps-clipped source dimensions above which
#: :class:`SourceScaleWarning` is raised. Measured on the evidence pool with natural-image
#: source crops: 0% for DINOv2 (no clipped dimension; the 7 models with packaged
#: statistics have 0-1), 9-45% for nsfwjs-inceptionv3 and 73-75% for
#: nsfwjs-mobilenetv2, the two models whose PED scores jumped (docs/evidence.md).
CLIPPED_SHARE_WARN = 0.25


def _warn_clipped_source(stats: SourceStats, enc: LabelEncoding, means_z: np.ndarray,
                         within_z: np.ndarray | None) -> None:
    """Raise :class:`SourceScaleWarning` when the eps-clipped source dimensions carry more
    than :data:`CLIPPED_SHARE_WARN` of sum_d Var(z_d).

    ``within_z`` is the per-dimension within-class sum of squares in z, accumulated by
    :func:`_class_radii` in its pass over ``X`` (``None``: nothing is clipped); the
    between-class part comes from the class means, so ``X`` is not read again.
    """
    if within_z is None:
        return
    clipped = stats.std < stats.eps
    centred = means_z - enc.counts @ means_z / enc.counts.sum()
    var_z = within_z + enc.counts @ centred**2  # total sum of squares per dimension
    total = var_z.sum()
    share = float(var_z[clipped].sum() / total) if total > 0 else 0.0
    if share > CLIPPED_SHARE_WARN:
        warnings.warn(
            f"PED: {share:.0%} of the standardised target variance lies in "
            f"{int(clipped.sum())} of {clipped.size} feature dimensions whose source std is "
            "below eps (clipped, so they are scaled by up to 1/eps); PED's geometry is mostly "
            "those dimensions. The source sample may not resemble the data this model was "
            "trained on; its ranking with PED is suspect.",
            SourceScaleWarning,
            stacklevel=3,
        )


def _class_radii(X: np.ndarray, enc: LabelEncoding, means_x: np.ndarray,
                 scale: np.ndarray, within_z: np.ndarray | None = None) -> np.ndarray:
    """RMS distance of each class's standardised samples to their class mean.

    rho_c^2 = sum_d Var_c(z_d) with z = (x - mu) / scale; computed from
    centred residuals (not E[z^2] - E[z]^2, which cancels badly) in row chunks.
    ``within_z`` (length D), when given, accumulates the same residuals' per-dimension
    sums of squares (for :func:`_warn_clipped_source`, in this one pass over ``X``).
    """
    inv = 1.0 / scale
    sq = np.empty(X.shape[0])
    blocks = row_blocks(*X.shape, block_bytes=_BLOCK_BYTES)
    # One block buffer reused for every block: gathering into a fresh array would
    # keep two blocks alive (the new one is built before the old one is freed).
    buf = np.empty((blocks[0].stop - blocks[0].start, X.shape[1]))
    for rows in blocks:
        resid = buf[: rows.stop - rows.start]
        np.take(means_x, enc.codes[rows], axis=0, out=resid, mode="clip")  # "raise" buffers
        np.subtract(X[rows], resid, out=resid)
        resid *= inv
        np.einsum("ij,ij->i", resid, resid, out=sq[rows])
        if within_z is not None:
            within_z += np.einsum("ij,ij->j", resid, resid)
    per_class = np.bincount(enc.codes, weights=sq, minlength=enc.n_classes)
    return np.sqrt(per_class / enc.counts)


def _dynamics_numpy(means_z: np.ndarray, rho: np.ndarray, *, time_step: float, nsigma: float,
                    constant: float, exit_ratio: float, max_steps: int) -> _Dynamics:
    """The shared array-API dynamics (:mod:`pedrank.core._array_kernels`) on numpy arrays,
    with scipy's ``cdist`` for the class-mean distances."""
    shift_z, n_steps, changes = ped_dynamics(
        means_z, rho, time_step=time_step, nsigma=nsigma, constant=constant,
        exit_ratio=exit_ratio, max_steps=max_steps, distances=_cdist, stacklevel=4,
    )
    return _Dynamics(np.asarray(shift_z), n_steps, changes)


def _cdist(M: np.ndarray) -> np.ndarray:
    return cdist(M, M)


def ped_transform(
    X: Any,
    y: Any,
    source: SourceArg,
    time_step: float = 0.1,
    nsigma: float = 0.6,
    constant: float = 1.0,
    exit_ratio: float = 0.5,
    max_steps: int = 6,
    *,
    eps: float = DEFAULT_EPS,
    device: str | None = None,
) -> PEDResult:
    """Move target features by PED dynamics (Li et al., ICCV 2023).

    In the space ``z = (x - mu) / max(sd, eps)`` each class ``c`` has mean
    ``m_c`` and radius ``rho_c`` (RMS distance to its mean). For each pair the
    overlap is ``o_ij = max(|nsigma| (rho_i + rho_j) - ||m_i - m_j||, 0)`` and
    class ``i`` moves by ``sum_j min(k t^2 o_ij / 2, o_ij) (m_i - m_j) / d_ij``.
    A step is accepted while its L1 change over the first step's exceeds
    ``exit_ratio``; at most ``max_steps`` steps.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Target features of one model.
    y : array-like, shape (N,)
        Target labels (any hashable type).
    source : SourceStats, (mean, std) or "target"
        The model's source-feature statistics. ``"target"`` explicitly uses the
        target's own mean/std instead (warns: an approximation).
    time_step, nsigma, constant, exit_ratio, max_steps
        PED hyper-parameters; defaults are the official ones. ``time_step``,
        ``nsigma`` and ``constant`` are positive, ``0 < exit_ratio <= 1``,
        ``1 <= max_steps <= MAX_STEPS_CAP`` (see :func:`check_ped_params`).
    eps : float
        Lower clip of the source std (only used when ``source`` is not a
        :class:`SourceStats`, which carries its own).
    device : str, optional
        Run the class-mean dynamics with the PyTorch back end on this device.

    Returns
    -------
    PEDResult
        Moved features, accepted steps, per-step changes.
    """
    params = check_ped_params(time_step, nsigma, constant, exit_ratio, max_steps)
    check_ped_param("eps", eps)
    Xf, enc = check_features_labels(X, y)
    N, D = Xf.shape
    C = enc.n_classes
    # Peak: X (float64 copy), an 8 MB row block, ~6 C x D and ~5 C x C arrays.
    check_memory(f"PED (N={N}, D={D}, C={C})", 8.0 * (N * D + 6 * C * D + 5 * C * C) + 16e6,
                 "Subsample the rows, reduce the feature dimension, or use fewer classes.")
    stats = _resolve_source(source, Xf, eps)
    scale = stats.scale
    means_x = class_means(Xf, enc)
    means_z = (means_x - stats.mean) / scale
    within_z = np.zeros(D) if (stats.std < stats.eps).any() else None
    rho = _class_radii(Xf, enc, means_x, scale, within_z)
    _warn_clipped_source(stats, enc, means_z, within_z)
    if device is None:
        dyn = _dynamics_numpy(means_z, rho, **params)
    else:
        from pedrank.core.backends import torch_backend

        shift_z, n_steps, changes = torch_backend.ped_dynamics(means_z, rho, device=device,
                                                                **params)
        dyn = _Dynamics(np.asarray(shift_z, dtype=np.float64), int(n_steps), list(changes))
    shift = dyn.shift_z * scale
    if not (np.isfinite(shift).all() and np.isfinite(means_x).all()):
        # Finite-or-error (issue 12): class means or moves beyond float64 (|x| near 1e308).
        raise ValueError("PED: the class means or their displacements overflow float64 for "
                         "features of this magnitude; rescale the features (and the source "
                         "statistics) first, e.g. divide both by abs(X).max().")
    if dyn.n_steps > 0:
        # In row chunks: shift[codes] for all rows at once would be another N x D array.
        for rows in row_blocks(*Xf.shape, block_bytes=_BLOCK_BYTES):
            Xf[rows] += shift[enc.codes[rows]]
    first = dyn.changes[0] if dyn.changes else 0.0
    ratios = tuple(c / first if first > 0 else 0.0 for c in dyn.changes)
    return PEDResult(Xf, dyn.n_steps, tuple(dyn.changes), ratios, shift, enc.classes)


# auto_wrap_output_keys=None: no set_output wrapper around transform (it would add a stack
# frame, so PED's warnings would point into scikit-learn instead of at the caller).
class PED(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """PED as a scikit-learn transformer (Li et al., ICCV 2023).

    ``fit`` learns the model's *source* statistics from source features (or takes
    a ready :class:`~pedrank.core.source.SourceStats`); ``transform(X, y)``
    moves *target* features.

    **Exemption from the transformer API**: ``transform`` needs the target
    labels ``y``, because PED moves whole classes. It therefore cannot sit
    inside a :class:`sklearn.pipeline.Pipeline` (which calls ``transform(X)``),
    and scikit-learn's ``check_estimator`` checks that call ``transform(X)``
    are expected failures (listed and explained in ``tests/test_ped.py``).
    Everything else follows the conventions: parameters are stored untouched
    by ``__init__`` and validated in :meth:`fit`, ``get_params``/``set_params``
    and ``clone`` work, ``n_features_in_`` is set by :meth:`fit`, an unfitted
    ``transform`` raises :class:`~sklearn.exceptions.NotFittedError`, and
    :meth:`fit_transform` is ``fit`` then ``transform``.

    Parameters
    ----------
    time_step, nsigma, constant, exit_ratio, max_steps
        PED hyper-parameters (official defaults 0.1, 0.6, 1.0, 0.5, 6);
        positive, ``0 < exit_ratio <= 1``, ``1 <= max_steps <= MAX_STEPS_CAP``.
    eps : float
        Lower clip of the source std (positive).
    fallback : {"error", "target"}
        Without source statistics: raise (default), or standardise with the
        target's own statistics and emit a :class:`SourceFallbackWarning`
        (then ``transform`` works without ``fit``).

    Attributes
    ----------
    source_ : SourceStats
        Set by :meth:`fit`.
    n_features_in_ : int
        Feature dimension seen by :meth:`fit` (source and target must agree).
    result_ : PEDResult
        The outcome of the last :meth:`transform` (steps, change history).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> source_X = rng.normal(size=(100, 4))
    >>> X = np.repeat(np.eye(2, 4), 20, axis=0) + rng.normal(size=(40, 4))
    >>> y = np.repeat([0, 1], 20)
    >>> ped = PED().fit(source_X)
    >>> ped.n_features_in_
    4
    >>> moved = ped.transform(X, y)
    >>> moved.shape, ped.result_.n_steps > 0
    ((40, 4), True)
    """

    def __init__(self, time_step: float = 0.1, nsigma: float = 0.6, constant: float = 1.0,
                 exit_ratio: float = 0.5, max_steps: int = 6, eps: float = DEFAULT_EPS,
                 fallback: Literal["error", "target"] = "error") -> None:
        self.time_step = time_step
        self.nsigma = nsigma
        self.constant = constant
        self.exit_ratio = exit_ratio
        self.max_steps = max_steps
        self.eps = eps
        self.fallback = fallback

    def _validate_params(self) -> None:
        check_ped_params(self.time_step, self.nsigma, self.constant, self.exit_ratio,
                         self.max_steps)
        check_ped_param("eps", self.eps)
        if self.fallback not in ("error", "target"):
            raise ValueError(f"fallback must be 'error' or 'target'; got {self.fallback!r}")

    def _set_source(self, source: SourceStats) -> PED:
        self.source_ = source
        self.n_features_in_ = source.dim
        return self

    def fit(self, X: Any, y: Any = None) -> PED:
        """Learn the source statistics.

        Parameters
        ----------
        X : array-like of shape (n_source, D), or SourceStats
            The model's features on source (pre-training) samples.
        y : ignored
            Present for API consistency.

        Returns
        -------
        PED
            ``self``, fitted.
        """
        self._validate_params()
        if isinstance(X, SourceStats):
            return self._set_source(X)
        # scikit-learn's own checks and messages: dense, real, finite, non-empty, 2-D
        Xs = check_array(X, dtype=np.float64, input_name="source_X")
        return self._set_source(SourceStats.from_features(Xs, eps=self.eps))

    def with_source(self, source: SourceStats) -> PED:
        """A copy of this estimator fitted with ``source``."""
        return PED(**self.get_params()).fit(source)

    def transform(self, X: Any, y: Any = None, *, device: str | None = None) -> np.ndarray:
        """Return the PED-moved copy of target features ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (N, D)
            Target features, ``D == n_features_in_``.
        y : array-like of shape (N,)
            Target labels, any hashable type. Required (PED moves classes); the
            default ``None`` exists only so that a missing ``y`` gets a clear
            ``ValueError`` (after the fitted check) instead of a ``TypeError``.
        device : str, optional
            Run the dynamics with the PyTorch back end on this device.

        Returns
        -------
        ndarray of shape (N, D)
            The moved features (float64); :attr:`result_` holds the details.
        """
        source: SourceArg = getattr(self, "source_", None)
        if source is None:
            if self.fallback != "target":
                self._validate_params()
                raise NotFittedError(
                    "This PED instance is not fitted yet: call fit(source_X) with the model's "
                    "features on source (pre-training) samples, or use PED(fallback='target') "
                    "to standardise with the target's own statistics."
                )
            self._validate_params()
            source = "target"
        if y is None:
            raise ValueError(
                "PED.transform needs the target labels y (PED moves whole classes): "
                "call transform(X, y); PED cannot run inside a sklearn Pipeline."
            )
        self.result_ = ped_transform(
            X, y, source, time_step=self.time_step, nsigma=self.nsigma, constant=self.constant,
            exit_ratio=self.exit_ratio, max_steps=self.max_steps, eps=self.eps, device=device,
        )
        return self.result_.features

    def fit_transform(self, X: Any, y: Any = None, source: Any = None, *,
                      device: str | None = None) -> np.ndarray:
        """Fit on ``source`` (source features or SourceStats), then move ``X``.

        Without ``source`` the statistics come from ``X`` itself, which is the
        documented target fallback: allowed only with ``fallback="target"``
        (and announced by a :class:`SourceFallbackWarning`).
        """
        if y is None:
            raise ValueError("PED.fit_transform needs the target labels y: PED moves classes")
        if source is None:
            self._validate_params()
            if self.fallback != "target":
                raise ValueError(
                    "PED.fit_transform(X, y) without source= would standardise X with its own "
                    "statistics: pass source=source_X (or a SourceStats), or use "
                    "PED(fallback='target') to accept that approximation."
                )
            for attr in ("source_", "n_features_in_"):
                self.__dict__.pop(attr, None)
            out = self.transform(X, y, device=device)
            self.n_features_in_ = out.shape[1]
            return out
        return self.fit(source).transform(X, y, device=device)



__all__ = [
    "MAX_STEPS_CAP",
    "PED",
    "check_ped_params",
    "PEDResult",
    "ped_transform",
    "CoincidentClassMeansWarning",
    "SourceFallbackWarning",
    "SourceScaleWarning",
]
