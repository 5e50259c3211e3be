"""Ground-truth transfer accuracy: linear probe and (partial) fine-tuning.

A transferability metric is judged by how well its scores rank models by the
accuracy they actually reach after transfer (SFDA, Shao et al., ECCV 2022;
PED, Li et al., ICCV 2023: fine-tuning with a grid over learning rate and
weight decay, accuracy on the held-out test split). This module measures two
such ground truths on a fixed stratified train/test split:

* :func:`linear_probe` - multinomial logistic regression on frozen,
  standardised features, its inverse regularisation ``C`` chosen by stratified
  k-fold cross-validation on the training split only;
* :func:`finetune` - SGD (momentum 0.9) on the top of the network (the last
  ``n_blocks`` MBConv blocks, the head convolution and a new linear
  classifier) over a learning-rate x weight-decay grid, the configuration
  chosen on a validation part of the training split, then retrained on the
  whole training split and evaluated once on the test split. Training only
  the top is a CPU-budget approximation of full fine-tuning: the frozen bottom
  is computed once and reused for every epoch and every grid point.

Both are deterministic for a given seed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "FinetuneResult",
    "ProbeResult",
    "finetune",
    "linear_probe",
    "train_test_indices",
]


def train_test_indices(
    labels: np.ndarray, test_size: float = 0.4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) indices of a stratified split (scikit-learn)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(np.asarray(labels).shape[0])
    tr, te = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    return np.sort(tr), np.sort(te)


@dataclass(frozen=True)
class ProbeResult:
    """Test accuracy of the cross-validated linear probe and the chosen ``C``."""

    accuracy: float
    C: float
    cv_accuracy: float


def linear_probe(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    cv: int = 3,
    seed: int = 0,
    max_iter: int = 2000,
) -> ProbeResult:
    """Linear-probe accuracy: standardise, logistic regression, ``C`` by CV.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : arrays
        Frozen features and labels of the two splits.
    Cs : sequence of float
        Candidate inverse L2 strengths.
    cv : int
        Stratified folds (shuffled with ``seed``) for choosing ``C``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    search = GridSearchCV(
        pipe,
        {"logisticregression__C": list(Cs)},
        cv=StratifiedKFold(cv, shuffle=True, random_state=seed),
        scoring="accuracy",
    )
    search.fit(np.asarray(X_train, dtype=np.float64), y_train)
    acc = float(search.score(np.asarray(X_test, dtype=np.float64), y_test))
    return ProbeResult(acc, float(search.best_params_["logisticregression__C"]), search.best_score_)


@dataclass(frozen=True)
class FinetuneResult:
    """Test accuracy after fine-tuning with the chosen (lr, weight decay)."""

    accuracy: float
    lr: float
    weight_decay: float
    val_accuracy: float
    grid: dict[str, float]


def train_eval(
    top: Any,
    n_classes: int,
    feat_dim: int,
    Z_train: Any,
    y_train: Any,
    Z_eval: Any,
    y_eval: Any,
    *,
    lr: float,
    weight_decay: float,
    epochs: int,
    batch_size: int,
    seed: int,
    device: str,
) -> float:
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(copy.deepcopy(top), torch.nn.Linear(feat_dim, n_classes)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    # Cosine decay to 0: the usual fine-tuning schedule, and it makes the last epoch stable.
    steps = epochs * int(np.ceil(Z_train.shape[0] / batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    gen = torch.Generator().manual_seed(seed)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(Z_train.shape[0], generator=gen)
        for b in range(0, perm.shape[0], batch_size):
            idx = perm[b : b + batch_size]
            if idx.shape[0] < 2:  # BatchNorm cannot train on a single sample
                continue
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Z_train[idx].to(device)), y_train[idx].to(device))
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    correct = 0
    with torch.inference_mode():
        for b in range(0, Z_eval.shape[0], 256):
            pred = model(Z_eval[b : b + 256].to(device)).argmax(1).cpu()
            correct += int((pred == y_eval[b : b + 256]).sum())
    return correct / Z_eval.shape[0]


def finetune(
    model_name: str,
    images_train: Any,
    y_train: np.ndarray,
    images_test: Any,
    y_test: np.ndarray,
    *,
    image_size: int = 64,
    lrs: Sequence[float] = (0.01, 0.001),
    weight_decays: Sequence[float] = (1e-4, 1e-3),
    epochs: int = 10,
    batch_size: int = 64,
    n_blocks: int = 3,
    val_fraction: float = 0.25,
    seed: int = 0,
    device: str | None = None,
) -> FinetuneResult:
    """Fine-tune the top of zoo model ``model_name``; return test accuracy.

    Parameters
    ----------
    model_name : str
        A :mod:`pedrank.models.zoo` vision entry with an ``extra["finetune_split"]``.
    images_train, images_test : image arrays
        Raw images (as in :mod:`pedrank.datasets`), preprocessed with the
        entry's preprocessing at ``image_size``.
    lrs, weight_decays : sequences of float
        The grid (SGD, momentum 0.9, cosine schedule).
    n_blocks : int
        Trailing MBConv blocks that are trained (plus head conv and classifier).
    val_fraction : float
        Part of the training split held out to choose the grid point.
    """
    import torch

    from pedrank.models.zoo import get_entry

    entry = get_entry(model_name)
    split = entry.extra.get("finetune_split")
    if split is None:
        raise ValueError(f"zoo model {model_name!r} does not support fine-tuning here")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    pre = entry.preprocessing_at(image_size)  # e.g. InceptionV3's 75-px minimum
    classes, y_tr = np.unique(y_train, return_inverse=True)
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    y_te = np.array([lookup.get(c, -1) for c in np.asarray(y_test).tolist()])

    pooled = entry.load()
    frozen, top = split(pooled, n_blocks)
    frozen = frozen.to(device).eval()

    def bottom(images: Any) -> torch.Tensor:
        outs = []
        with torch.inference_mode():
            for b in range(0, len(images), 128):
                x = torch.as_tensor(pre(images[b : b + 128]), device=device)
                outs.append(frozen(x).cpu())
        return torch.cat(outs)

    Z_tr, Z_te = bottom(images_train), bottom(images_test)
    t_tr, t_te = torch.as_tensor(y_tr), torch.as_tensor(y_te)
    top = top.cpu()
    with torch.inference_mode():
        feat_dim = int(top.eval()(Z_tr[:2]).shape[1])

    fit_idx, val_idx = train_test_indices(y_tr, test_size=val_fraction, seed=seed)
    fit_idx_t, val_idx_t = torch.as_tensor(fit_idx), torch.as_tensor(val_idx)
    kw = dict(epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    grid: dict[str, float] = {}
    best: tuple[float, float, float] | None = None
    for lr in lrs:
        for wd in weight_decays:
            acc = train_eval(
                top, len(classes), feat_dim,
                Z_tr[fit_idx_t], t_tr[fit_idx_t], Z_tr[val_idx_t], t_tr[val_idx_t],
                lr=lr, weight_decay=wd, **kw,
            )  # fmt: skip
            grid[f"lr={lr:g},wd={wd:g}"] = acc
            if best is None or acc > best[0]:
                best = (acc, lr, wd)
    assert best is not None
    val_acc, lr, wd = best
    test_acc = train_eval(
        top, len(classes), feat_dim, Z_tr, t_tr, Z_te, t_te, lr=lr, weight_decay=wd, **kw
    )
    return FinetuneResult(test_acc, lr, wd, val_acc, grid)
