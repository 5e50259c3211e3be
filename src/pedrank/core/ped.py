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
  :class:`SourceFallbackWarning` says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator

from pedrank.core._budget import check_memory
from pedrank.core._validation import LabelEncoding, check_features_labels, class_means, row_blocks
from pedrank.core.source import DEFAULT_EPS, SourceStats

SourceArg = SourceStats | tuple[Any, Any] | Literal["target"] | None

# Row blocks of 8 MB for the per-row passes over X: PED's peak memory is then X
# (float64) plus a few C x D arrays, ~20x below the official C x C x D arrays.
_BLOCK_BYTES = 1 << 23


class CoincidentClassMeansWarning(RuntimeWarning):
    """Two classes have identical means; that pair exerts no push."""


def warn_coincident_class_means(stacklevel: int) -> None:
    """Emit the :class:`CoincidentClassMeansWarning` (shared by the numpy and torch dynamics)."""
    warnings.warn(
        "PED: two or more classes have identical means in the standardised space; "
        "those pairs exert no push (the official code returns NaN here).",
        CoincidentClassMeansWarning,
        stacklevel=stacklevel + 1,
    )


class SourceFallbackWarning(UserWarning):
    """PED standardised with the target's own statistics (no source statistics given)."""


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


def _class_radii(X: np.ndarray, enc: LabelEncoding, means_x: np.ndarray,
                 scale: np.ndarray) -> np.ndarray:
    """RMS distance of each class's standardised samples to their class mean.

    rho_c^2 = sum_d Var_c(z_d) with z = (x - mu) / scale; computed from
    centred residuals (not E[z^2] - E[z]^2, which cancels badly) in row chunks.
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
    per_class = np.bincount(enc.codes, weights=sq, minlength=enc.n_classes)
    return np.sqrt(per_class / enc.counts)


def _pair_displacement(M: np.ndarray, rho: np.ndarray, nsigma: float, time_step: float,
                       constant: float) -> tuple[np.ndarray, bool]:
    """One PED step on class means: returns Delta (C x D) and whether a coincident pair pushed."""
    dist = cdist(M, M)
    overlap = np.abs(nsigma) * (rho[:, None] + rho[None, :]) - dist
    np.fill_diagonal(overlap, 0.0)
    np.maximum(overlap, 0.0, out=overlap)
    step = np.minimum(0.5 * constant * time_step**2 * overlap, overlap)
    coincident = (dist == 0.0) & (step > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where((step > 0.0) & (dist > 0.0), step / dist, 0.0)
    # Delta_i = sum_j W_ij (m_i - m_j) = (W 1)_i m_i - (W M)_i
    delta = weights.sum(axis=1)[:, None] * M - weights @ M
    return delta, bool(coincident.any())


def _dynamics_numpy(means_z: np.ndarray, rho: np.ndarray, *, time_step: float, nsigma: float,
                    constant: float, exit_ratio: float, max_steps: int) -> _Dynamics:
    # Distances and displacements are translation invariant: centring the means
    # keeps their magnitudes small, which avoids cancellation in W @ M.
    M = means_z - means_z.mean(axis=0)
    start = M.copy()
    dyn = _Dynamics(np.zeros_like(M), 0)
    first = 0.0
    warned = False
    for s in range(max_steps):
        delta, coincident = _pair_displacement(M, rho, nsigma, time_step, constant)
        if coincident and not warned:
            warn_coincident_class_means(stacklevel=4)
            warned = True
        change = float(np.abs(delta).sum())
        dyn.changes.append(change)
        if s == 0:
            first = change
            if first == 0.0:
                break
        if change / first <= exit_ratio:
            break
        M += delta
        dyn.n_steps += 1
    dyn.shift_z = M - start
    return dyn


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
        PED hyper-parameters; defaults are the official ones.
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
    Xf, enc = check_features_labels(X, y)
    N, D = Xf.shape
    C = enc.n_classes
    # Peak: X (float64 copy), an 8 MB row block, ~6 C x D and ~5 C x C arrays.
    check_memory(f"PED (N={N}, D={D}, C={C})", 8.0 * (N * D + 6 * C * D + 5 * C * C) + 16e6,
                 "Subsample the rows, reduce the feature dimension, or use fewer classes.")
    for name, val in (("time_step", time_step), ("nsigma", nsigma), ("constant", constant),
                      ("exit_ratio", exit_ratio)):
        if not np.isfinite(val):
            raise ValueError(f"{name} must be finite; got {val}")
    if int(max_steps) != max_steps or max_steps < 0:
        raise ValueError(f"max_steps must be a non-negative integer; got {max_steps}")
    stats = _resolve_source(source, Xf, eps)
    scale = stats.scale
    means_x = class_means(Xf, enc)
    means_z = (means_x - stats.mean) / scale
    rho = _class_radii(Xf, enc, means_x, scale)
    params = dict(time_step=float(time_step), nsigma=float(nsigma), constant=float(constant),
                  exit_ratio=float(exit_ratio), max_steps=int(max_steps))
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


class PED(BaseEstimator):
    """Scikit-learn-style PED transformer.

    ``fit`` takes the model's *source* features (or ready
    :class:`~pedrank.core.source.SourceStats`); ``transform(X, y)`` moves *target*
    features. Labels are needed at transform time because PED moves classes.

    Parameters
    ----------
    time_step, nsigma, constant, exit_ratio, max_steps
        PED hyper-parameters (official defaults 0.1, 0.6, 1.0, 0.5, 6).
    eps : float
        Lower clip of the source std.
    fallback : {"error", "target"}
        What to do when ``transform`` is called without source statistics:
        raise (default) or standardise with the target's own statistics and
        emit a :class:`SourceFallbackWarning`.

    Attributes
    ----------
    source_ : SourceStats
        Set by :meth:`fit`.
    result_ : PEDResult
        The outcome of the last :meth:`transform` (steps, change history).

    Examples
    --------
    >>> ped = PED(nsigma=0.6).fit(source_features)          # doctest: +SKIP
    >>> moved = ped.transform(target_features, target_labels)  # doctest: +SKIP
    >>> ped.result_.n_steps                                  # doctest: +SKIP
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

    def fit(self, X: Any, y: Any = None) -> PED:
        """Learn the source statistics from source features ``X`` (or take a SourceStats)."""
        if isinstance(X, SourceStats):
            self.source_ = X
        else:
            self.source_ = SourceStats.from_features(X, eps=self.eps)
        return self

    def with_source(self, source: SourceStats) -> PED:
        """A copy of this estimator fitted with ``source``."""
        est = PED(**self.get_params())
        est.source_ = source
        return est

    def transform(self, X: Any, y: Any, *, device: str | None = None) -> np.ndarray:
        """Return the PED-moved copy of target features ``X`` with labels ``y``."""
        if self.fallback not in ("error", "target"):
            raise ValueError(f"fallback must be 'error' or 'target'; got {self.fallback!r}")
        source: SourceArg = getattr(self, "source_", None)
        if source is None and self.fallback == "target":
            source = "target"
        self.result_ = ped_transform(
            X, y, source, time_step=self.time_step, nsigma=self.nsigma, constant=self.constant,
            exit_ratio=self.exit_ratio, max_steps=self.max_steps, eps=self.eps, device=device,
        )
        return self.result_.features


__all__ = [
    "PED",
    "PEDResult",
    "ped_transform",
    "CoincidentClassMeansWarning",
    "SourceFallbackWarning",
]
