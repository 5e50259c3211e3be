"""PyTorch back end: PED dynamics, LogME, SFDA, GBC and H-score on CPU or GPU.

PED's dynamics and LogME's fixed point are not mirrored here: both back ends run the one
array-API implementation in :mod:`pedrank.core._array_kernels`, with only the
class-mean distances (``torch.cdist``) and LogME's spectrum (``torch.linalg.eigh``, per-class
sums) in torch — the measured reasons are in that module's docstring. SFDA, GBC and
H-score mirror the numpy implementations operation for operation (same formulas, same
stopping rules, same numerical-rank cut-offs). In float64 the results agree with the
numpy back end to ~1e-12 relative on the CPU; ``tests/backends/test_torch_backend.py``
runs one test contract against both back ends (1e-8). The public entry points
(``pedrank.score(..., device=...)``, the metrics' ``device=`` argument,
``PED.transform(..., device=...)``) validate inputs and call these functions; they
receive

* ``X``: a validated float64 ndarray (N x D);
* ``codes``: int64 labels ``0..C-1``; ``n_classes``: C.

torch is imported on first use only (``import pedrank`` never imports it); a
missing torch raises ``ValueError("... pip install pedrank[torch]")``.

Precision: float64 by default. ``dtype=torch.float32`` (or ``"float32"``) is
an explicit opt-in accepted only by :func:`ped_dynamics`, where it was
measured to keep the moved features within 1e-7 relative of float64 (the
dynamics only act on C x D class means). LogME, SFDA, GBC and H-score refuse
float32: their results moved by up to 1e-3 (LogME/SFDA) and 5e-6 (GBC)
relative in float32, beyond the project's 1e-6 tolerance.

References: PED — Li et al., ICCV 2023; LogME — You et al., ICML 2021 / JMLR
2022; SFDA — Shao et al., ECCV 2022; GBC — Pandy et al., CVPR 2022; H-score —
Bao et al., ICIP 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.core import _array_kernels as kernels

_INSTALL_HINT = (
    "the PyTorch back end (device=...) needs torch: pip install pedrank[torch] "
    "(or use device=None for the numpy back end)"
)

# Row chunk for N x D temporaries: ~64 MB of float64 per chunk whatever N is.
_CHUNK_ELEMS = 1 << 23


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
        raise ValueError(_INSTALL_HINT) from None
    return torch


def _setup(device: Any, dtype: Any, *, float32_ok: bool = False,
           what: str = "") -> tuple[Any, Any, Any]:
    """Resolve (torch module, torch.device, torch dtype); actionable errors.

    float32 is accepted only where ``float32_ok`` (results measured within 1e-6
    of float64); elsewhere it is refused rather than silently less accurate.
    """
    torch = _torch()
    if device is None:
        raise ValueError("device must be 'cpu', 'cuda', 'cuda:N' or a torch.device")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"invalid device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} requested but CUDA is not available to torch "
            f"{torch.__version__}; use device='cpu' or device=None."
        )
    if dtype is None:
        dt = torch.float64
    elif isinstance(dtype, str):
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
        dt = getattr(torch, dtype)
    elif dtype in (torch.float64, torch.float32):
        dt = dtype
    else:
        raise ValueError(f"dtype must be torch.float64 or torch.float32; got {dtype!r}")
    if dt == torch.float32 and not float32_ok:
        raise ValueError(
            f"{what} is computed in float64 only: in float32 its result moves by up to "
            "1e-3 relative (ill-conditioned covariance / Gram matrices), beyond the 1e-6 "
            "that pedrank accepts. Use dtype=None (float64)."
        )
    return torch, dev, dt


def _tensor(torch: Any, a: np.ndarray, dev: Any, dt: Any) -> Any:
    # from_numpy shares memory with a float64 CPU array: no copy of X on the CPU.
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.to(device=dev, dtype=dt)


def _codes(torch: Any, codes: np.ndarray, dev: Any) -> Any:
    return torch.from_numpy(np.asarray(codes, dtype=np.int64)).to(dev)


def _class_sums(torch: Any, X: Any, codes: Any, C: int) -> Any:
    out = torch.zeros((C, X.shape[1]), dtype=X.dtype, device=X.device)
    return out.index_add_(0, codes, X)


def _row_step(D: int) -> int:
    return max(1024, _CHUNK_ELEMS // max(D, 1))


# ------------------------------------------------------------------------- PED


def ped_dynamics(means_z: np.ndarray, rho: np.ndarray, *, time_step: float, nsigma: float,
                 constant: float, exit_ratio: float, max_steps: int, device: Any,
                 dtype: Any = None) -> tuple[np.ndarray, int, list[float]]:
    """PED dynamics on the C x D standardised class means (mirror of ``pedrank.core.ped``).

    Parameters
    ----------
    means_z : ndarray, shape (C, D)
        Class means in the source-standardised space.
    rho : ndarray, shape (C,)
        Class radii (RMS distance of a class's samples to its mean).
    time_step, nsigma, constant, exit_ratio, max_steps
        PED hyper-parameters.
    device : str or torch.device
    dtype : torch dtype or str, optional
        ``float64`` (default) or an explicit ``float32``.

    Returns
    -------
    shift_z : ndarray, shape (C, D)
        Total displacement of each class (standardised space), float64.
    n_steps : int
        Accepted steps.
    changes : list of float
        L1 change of every computed step (the last one rejected when the exit
        ratio stopped the loop).
    """
    torch, dev, dt = _setup(device, dtype, float32_ok=True)
    M0 = _tensor(torch, np.asarray(means_z, dtype=np.float64), dev, dt)
    r = _tensor(torch, np.asarray(rho, dtype=np.float64), dev, dt)

    def distances(M: Any) -> Any:
        # Direct (not Gram-based) distances: same accuracy as scipy's cdist.
        return torch.cdist(M, M, compute_mode="donot_use_mm_for_euclid_dist")

    shift, n_steps, changes = kernels.ped_dynamics(
        M0, r, time_step=time_step, nsigma=nsigma, constant=constant, exit_ratio=exit_ratio,
        max_steps=max_steps, distances=distances, stacklevel=4,
    )
    return shift.to(device="cpu", dtype=torch.float64).numpy(), n_steps, changes


# ----------------------------------------------------------------------- LogME

def logme(X: np.ndarray, codes: np.ndarray, n_classes: int, *, device: Any,
          dtype: Any = None) -> float:
    """LogME (You et al., ICML 2021; JMLR 2022 fixed point), classification targets.

    One eigendecomposition of the smaller Gram matrix (D x D or N x N) serves
    every class; ``U^T Y`` is a per-class sum, never a one-hot product. The
    ``(D - k)/2 log(alpha)`` term for zero singular values is kept (the
    reference drops it when N < D).
    """
    torch, dev, dt = _setup(device, dtype, what="LogME")
    F = _tensor(torch, X, dev, dt)
    y = _codes(torch, codes, dev)
    N, D = F.shape
    C = int(n_classes)
    counts = torch.bincount(y, minlength=C).to(dt)
    if N > D:
        evals, V = torch.linalg.eigh(F.T @ F)
    else:
        evals, U = torch.linalg.eigh(F @ F.T)
    cutoff = evals.max() * max(N, D) * torch.finfo(dt).eps
    keep = evals > cutoff
    sigma = evals[keep]
    k = int(keep.sum())
    if N > D:
        V = V[:, keep]
        # U^T Y = V^T (F^T Y) / s and F^T Y is the class sums (transposed).
        FtY = _class_sums(torch, F, y, C).T                    # D x C
        proj = (V.T @ FtY) / torch.sqrt(sigma)[:, None]
    else:
        U = U[:, keep]
        proj = _class_sums(torch, U, y, C).T                   # k x C
    x2 = proj**2
    res_x2 = counts - x2.sum(dim=0)                            # sum_i y_i^2 = n_c
    return float(kernels.logme_fixed_point(sigma, x2, res_x2, N, D, k).mean())


# ------------------------------------------------------------------------ SFDA

_POWER_ITERATIONS = 3


def _within_scatter(torch: Any, X: Any, y: Any, means: Any) -> Any:
    """Sw = (1/N) sum_i (x_i - m_{y_i})(x_i - m_{y_i})^T from one centred product (chunked)."""
    N, D = X.shape
    S = torch.zeros((D, D), dtype=X.dtype, device=X.device)
    step = _row_step(D)
    for a in range(0, N, step):
        R = X[a:a + step] - means[y[a:a + step]]
        S += R.T @ R
    return S / N


def _largest_eigenvalue(A: Any) -> float:
    # The reference's 3 power-iteration rounds from the row sums (kept for fidelity).
    x = A.sum(dim=1)
    yv = x
    for _ in range(_POWER_ITERATIONS):
        t = A @ x
        yv = t / t.norm()
        t = A @ yv
        x = t / t.norm()
    return float(x @ A @ yv)


def _shrink(S: Any, lam: float) -> Any:
    D = S.shape[0]
    out = (1.0 - lam) * S
    out.diagonal().add_(lam * float(S.diagonal().sum()) / D)
    return out


def _fda_posterior(torch: Any, X: Any, y: Any, counts: Any, lam: float | None) -> tuple[Any, float]:
    """p(y|x) of the shrunk FDA classifier ``coef = M Sw'^{-1}`` (see pedrank.core.metrics.sfda)."""
    N = X.shape[0]
    C = counts.shape[0]
    priors = counts / N
    means = _class_sums(torch, X, y, C) / counts[:, None]
    Sw = _within_scatter(torch, X, y, means)
    if lam is None:
        lam = max(float(np.exp(-5.0 * _largest_eigenvalue(Sw))), 1e-10)
    if not float(Sw.diagonal().sum()) > 0:
        raise ValueError(
            "SFDA needs within-class variation, but every class's features are constant; "
            "check that the features are not all identical within classes."
        )
    Sw_shrunk = _shrink(Sw, lam)
    L, info = torch.linalg.cholesky_ex(Sw_shrunk)
    if int(info) == 0:
        coef = torch.cholesky_solve(means.T.contiguous(), L).T          # C x D
    else:
        coef = (torch.linalg.pinv(Sw_shrunk, hermitian=True) @ means.T).T
    intercept = -0.5 * (means * coef).sum(dim=1) + torch.log(priors)
    logits = X @ coef.T + intercept
    return torch.softmax(logits, dim=1), lam


def sfda(X: np.ndarray, codes: np.ndarray, n_classes: int, *, device: Any,
         dtype: Any = None) -> float:
    """SFDA (Shao et al., ECCV 2022): FDA fit, self-challenging ConfMix, refit; mean p(y_i|x_i)."""
    torch, dev, dt = _setup(device, dtype, what="SFDA")
    F = _tensor(torch, X, dev, dt)
    y = _codes(torch, codes, dev)
    C = int(n_classes)
    N = F.shape[0]
    counts = torch.bincount(y, minlength=C).to(dt)
    rows = torch.arange(N, device=dev)
    prob, lam = _fda_posterior(torch, F, y, counts, None)
    softened = torch.softmax(prob, dim=1)
    p_true = softened[rows, y][:, None]
    del prob, softened
    means = _class_sums(torch, F, y, C) / counts[:, None]
    others = (means.sum(dim=0, keepdim=True) - means) / (C - 1)
    mixed = p_true * F + (1.0 - p_true) * others[y]
    del p_true
    prob2, _ = _fda_posterior(torch, mixed, y, counts, lam)
    return float(prob2[rows, y].mean())


# ------------------------------------------------------------------------- GBC

_GBC_VAR_FLOOR = 1e-4


def gbc(X: np.ndarray, codes: np.ndarray, n_classes: int, *, gaussian_type: str = "spherical",
        device: Any, dtype: Any = None) -> float:
    """GBC (Pandy et al., CVPR 2022): minus the sum of pairwise Bhattacharyya coefficients.

    Per class a Gaussian with mean ``mu_c`` and per-dimension population
    variance floored at 1e-4, averaged over dimensions for ``"spherical"``
    (whose log-variance terms then count once, as in the google-research
    reference and ``pedrank.core.metrics.gbc``).
    ``DB = 1/8 sum (mu_i - mu_j)^2 / s + 1/2 [sum log s - (sum log s_i + sum log s_j)/2]``
    with ``s = (s_i + s_j) / 2``; all pairs at once (row blocks for
    ``"diagonal"`` so that the C x C x D temporaries stay bounded).
    """
    if gaussian_type not in ("spherical", "diagonal"):
        raise ValueError(f"gaussian_type must be 'spherical' or 'diagonal'; got {gaussian_type!r}")
    torch, dev, dt = _setup(device, dtype, what="GBC")
    F = _tensor(torch, X, dev, dt)
    y = _codes(torch, codes, dev)
    C = int(n_classes)
    N, D = F.shape
    counts = torch.bincount(y, minlength=C).to(dt)
    means = _class_sums(torch, F, y, C) / counts[:, None]
    # Population variance from centred residuals (no E[x^2] - m^2 cancellation).
    var = torch.zeros((C, D), dtype=dt, device=dev)
    step = _row_step(D)
    for a in range(0, N, step):
        R = F[a:a + step] - means[y[a:a + step]]
        var.index_add_(0, y[a:a + step], R * R)
    var = (var / counts[:, None]).clamp_min(_GBC_VAR_FLOOR)
    if gaussian_type == "spherical":
        v = var.mean(dim=1)                                                  # C
        s = 0.5 * (v[:, None] + v[None, :])
        sq = torch.cdist(means, means, compute_mode="donot_use_mm_for_euclid_dist") ** 2
        logv = torch.log(v)
        # As the reference (a scalar variance per class), the log terms count once.
        db = 0.125 * sq / s + 0.5 * (torch.log(s) - 0.5 * (logv[:, None] + logv[None, :]))
    else:
        logv = torch.log(var).sum(dim=1)
        db = torch.empty((C, C), dtype=dt, device=dev)
        block = max(1, _CHUNK_ELEMS // max(C * D, 1))
        for a in range(0, C, block):
            s = 0.5 * (var[a:a + block, None, :] + var[None, :, :])          # b x C x D
            diff2 = (means[a:a + block, None, :] - means[None, :, :]) ** 2
            db[a:a + block] = (0.125 * (diff2 / s).sum(dim=2)
                               + 0.5 * (torch.log(s).sum(dim=2)
                                        - 0.5 * (logv[a:a + block, None] + logv[None, :])))
    bc = torch.exp(-db)
    bc.fill_diagonal_(0.0)
    return float(-bc.sum())


# --------------------------------------------------------------------- H-score


def hscore(X: np.ndarray, codes: np.ndarray, n_classes: int, *, device: Any,
           dtype: Any = None) -> float:
    """H-score (Bao et al., ICIP 2019): ``tr(pinv(Cov(X)) Cov(E[X|y]))``.

    ``Cov(E[X|y]) = sum_c n_c (m_c - m)(m_c - m)^T / N`` has rank < C, so the
    trace is ``sum_c n_c (m_c - m)^T pinv(Cov X) (m_c - m) / N``; both
    covariances share the normalisation, which cancels. The pseudo-inverse
    uses the symmetric eigendecomposition with numpy's default cut-off
    (``rcond = 1e-15`` times the largest eigenvalue).
    """
    torch, dev, dt = _setup(device, dtype, what="H-score")
    F = _tensor(torch, X, dev, dt)
    y = _codes(torch, codes, dev)
    C = int(n_classes)
    N, D = F.shape
    counts = torch.bincount(y, minlength=C).to(dt)
    mean = F.mean(dim=0)
    cov = torch.zeros((D, D), dtype=dt, device=dev)
    step = _row_step(D)
    for a in range(0, N, step):
        R = F[a:a + step] - mean
        cov += R.T @ R
    cov /= N
    means = _class_sums(torch, F, y, C) / counts[:, None] - mean             # C x D
    evals, V = torch.linalg.eigh(cov)
    cutoff = 1e-15 * evals.abs().max()
    keep = evals.abs() > cutoff
    P = means @ V[:, keep]                                                   # C x k
    quad = (P * P / evals[keep]).sum(dim=1)
    return float((counts * quad).sum() / N)


__all__ = ["ped_dynamics", "logme", "sfda", "gbc", "hscore"]
