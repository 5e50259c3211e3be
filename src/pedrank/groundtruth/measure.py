"""Resumable ground-truth measurement: one cell = model x target x protocol x seed.

A ground truth that a transferability ranking can be judged against needs
replicates (how much does the accuracy move with the split?) and a protocol
whose hyper-parameters are chosen, not fixed (PED, Li et al., ICCV 2023, and
SFDA, Shao et al., ECCV 2022, fine-tune over a learning-rate x weight-decay
grid). Measuring that for a pool of models takes hours on a CPU, so the work
is cut into independent *cells*, each appended to a JSON-lines store as soon
as it is finished (:class:`CellStore`): an interrupted run loses at most the
cell in progress, and rerunning the same command measures only what is
missing. Features come from the extraction cache
(:func:`pedrank.models.extract.extract_zoo`), so a model's features on a
target pool are computed once for all seeds and protocols.

Protocols
---------
``probe``
    Linear probe: a stratified train/test split drawn with the cell's seed,
    standardised frozen features, multinomial logistic regression whose
    inverse L2 strength ``C`` is chosen by stratified inner cross-validation on
    the training part (scikit-learn ``LogisticRegressionCV``).
``finetune``
    The trainable top of a torch model (see ``ZooEntry.extra["finetune_split"]``)
    plus a new linear head, SGD with momentum and a cosine schedule. The
    learning rate x weight decay grid is searched on a validation part of the
    training split of seed 0 and *extended* along any axis whose best value
    lies on the grid's edge (:func:`search_grid`); the chosen point is then
    trained with every seed on the full training split and tested once.

Targets
-------
:data:`TARGETS` lists them: emoji (category, subcategory, Google -> Twitter),
digits, Fashion-MNIST, OpenCV digits (vision) and Debian package sections,
WordNet supersenses, fortune categories (text).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TARGETS",
    "CellStore",
    "MeasureConfig",
    "TargetData",
    "load_target",
    "probe_cell",
    "replicate_table",
    "run",
    "search_grid",
    "summarise",
]


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetData:
    """A target: the pool its features are extracted from, and its labelled positions.

    Attributes
    ----------
    name, kind : str
        Target name; ``"vision"`` or ``"text"``.
    pool_inputs : array or list of str
        Everything fed to the models (shared by targets cut from one pool).
    pool_id : str
        Content hash of ``pool_inputs`` (the feature-cache identity).
    index : ndarray of int
        Positions in the pool that belong to the target.
    labels : ndarray
        One label per ``index`` entry.
    fixed_test : ndarray of bool or None
        For a fixed (e.g. cross-style) split: which ``index`` entries are test.
    """

    name: str
    kind: str
    pool_inputs: Any
    pool_id: str
    index: np.ndarray
    labels: np.ndarray
    fixed_test: np.ndarray | None = None


def _hash_inputs(inputs: Any) -> str:
    h = hashlib.sha256()
    if isinstance(inputs, np.ndarray):
        h.update(f"{inputs.dtype.str}{inputs.shape}".encode())
        h.update(np.ascontiguousarray(inputs).tobytes())
    else:
        for t in inputs:
            h.update(str(t).encode("utf-8") + b"\0")
    return h.hexdigest()[:20]


def _emoji_target(name: str) -> TargetData:
    from pedrank.datasets.emoji import load_emoji_pool

    pool = load_emoji_pool()
    google = pool["style"] == "google"
    fixed = None
    if name == "emoji-category":
        idx = np.flatnonzero(google)
        labels = pool["category"][idx]
    elif name == "emoji-subcategory":
        idx = np.flatnonzero(google & (pool["subcategory"] != ""))
        labels = pool["subcategory"][idx]
    else:  # emoji-google-twitter
        idx = np.arange(pool["images"].shape[0])
        labels = pool["category"]
        fixed = ~google
    images = pool["images"]
    return TargetData(name, "vision", images, _hash_inputs(images), idx, labels, fixed)


def _image_target(name: str, max_samples: int | None) -> TargetData:
    from pedrank.datasets import load_dataset

    ds = load_dataset(name, max_samples=max_samples, seed=0)
    idx = np.arange(len(ds))
    return TargetData(name, "vision", ds.inputs, _hash_inputs(ds.inputs), idx, ds.labels)


def _text_target(name: str, max_per_class: int | None) -> TargetData:
    from pedrank.datasets import load_text_dataset

    texts, labels = load_text_dataset(name, max_per_class=max_per_class, seed=0)
    idx = np.arange(len(texts))
    return TargetData(name, "text", list(texts), _hash_inputs(texts), idx, np.asarray(labels))


#: name -> (kind, loader(max_samples, max_per_class) -> TargetData)
TARGETS: dict[str, tuple[str, Callable[[int | None, int | None], TargetData]]] = {
    "emoji-category": ("vision", lambda m, k: _emoji_target("emoji-category")),
    "emoji-subcategory": ("vision", lambda m, k: _emoji_target("emoji-subcategory")),
    "emoji-google-twitter": ("vision", lambda m, k: _emoji_target("emoji-google-twitter")),
    "digits": ("vision", lambda m, k: _image_target("digits", None)),
    "fashion-mnist": ("vision", lambda m, k: _image_target("fashion-mnist", m)),
    "opencv-digits": ("vision", lambda m, k: _image_target("opencv-digits", m)),
    "debian-sections": ("text", lambda m, k: _text_target("debian-sections", k)),
    "wordnet-supersense": ("text", lambda m, k: _text_target("wordnet-supersense", k)),
    "fortune-category": ("text", lambda m, k: _text_target("fortune-category", k)),
}


def load_target(
    name: str, max_samples: int | None = 2000, max_per_class: int | None = 60
) -> TargetData:
    """Load target ``name`` (see :data:`TARGETS`)."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")
    return TARGETS[name][1](max_samples, max_per_class)


# --------------------------------------------------------------------------- store


def cell_key(model: str, target: str, protocol: str, seed: int) -> str:
    """The identity of one cell in the store."""
    return f"{model}|{target}|{protocol}|{int(seed)}"


class CellStore:
    """Append-only JSON-lines store of finished cells (one JSON object a line).

    A cell is written with one ``write`` + ``flush`` + ``fsync`` of a complete
    line, so a crash leaves at most a truncated last line, which :meth:`load`
    skips. Later records of the same key replace earlier ones.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, dict[str, Any]]:
        """All finished cells, by :func:`cell_key`."""
        return {cell_key(r["model"], r["target"], r["protocol"], r["seed"]): r
                for r in _read_lines(self.path)}

    def add(self, record: dict[str, Any]) -> None:
        """Append one finished cell."""
        _append_line(self.path, record)

    @property
    def grid_path(self) -> Path:
        """The fine-tuning grid points' side file (``cells.jsonl`` -> ``cells.grid.jsonl``)."""
        return self.path.with_name(self.path.stem + ".grid.jsonl")

    def grid_points(self, model: str, target: str, config: dict[str, Any]
                    ) -> dict[tuple[float, float], float]:
        """Validation accuracies ``{(lr, wd): val}`` of the grid points of one fine-tuning
        pair measured under ``config`` (a grid search killed mid-way resumes from them)."""
        return {(float(r["lr"]), float(r["wd"])): float(r["val"])
                for r in _read_lines(self.grid_path)
                if (r["model"], r["target"], r["config"]) == (model, target, config)}

    def add_grid_point(self, record: dict[str, Any]) -> None:
        """Append one finished grid point (``model, target, config, lr, wd, val``)."""
        _append_line(self.grid_path, record)


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines file (none if it is missing; a line cut short by a
    crash is skipped)."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line with one write + flush + fsync (a crash leaves at
    most a truncated last line, which the readers skip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


# --------------------------------------------------------------------------- protocols


@dataclass(frozen=True)
class MeasureConfig:
    """Settings of a measurement (stored in every cell as ``config``)."""

    image_size: int = 64
    max_samples: int | None = 1500
    max_per_class: int | None = 60
    test_size: float = 0.4
    probe_Cs: tuple[float, ...] = (1e-2, 1e-1, 1.0)
    probe_cv: int = 3
    probe_max_iter: int = 200
    probe_tol: float = 1e-3
    ridge_alphas: tuple[float, ...] = tuple(float(a) for a in np.logspace(-2, 6, 17))
    ft_lrs: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    ft_wds: tuple[float, ...] = (1e-5, 1e-4, 1e-3)
    ft_epochs: int = 10
    ft_blocks: int = 3
    ft_batch: int = 64
    ft_max_extend: int = 3
    cache_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def tag(self, protocol: str) -> dict[str, Any]:
        """The settings that define ``protocol``'s cells (stored with each one)."""
        common = {
            "image_size": self.image_size,
            "max_samples": self.max_samples,
            "max_per_class": self.max_per_class,
            "test_size": self.test_size,
        }
        if protocol == "probe":
            return {
                **common,
                "Cs": list(self.probe_Cs),
                "cv": self.probe_cv,
                "tol": self.probe_tol,
                "max_iter": self.probe_max_iter,
            }
        if protocol == "ridge":
            return {
                **common,
                "alphas": [min(self.ridge_alphas), max(self.ridge_alphas), len(self.ridge_alphas)],
            }
        return {
            **common,
            "lrs": list(self.ft_lrs),
            "wds": list(self.ft_wds),
            "epochs": self.ft_epochs,
            "blocks": self.ft_blocks,
            "batch": self.ft_batch,
        }


def split_positions(
    target: TargetData, seed: int, test_size: float
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions into ``target.index`` for ``seed``.

    Random targets: a stratified split drawn with ``seed``. Fixed targets: the
    test part is fixed and the training part is a stratified ``1 - test_size``
    subsample of the fixed training pool drawn with ``seed`` (so seeds differ).
    """
    from pedrank.groundtruth.protocol import train_test_indices

    if target.fixed_test is None:
        return train_test_indices(target.labels, test_size, seed)
    test = np.flatnonzero(target.fixed_test)
    pool = np.flatnonzero(~target.fixed_test)
    sub, _ = train_test_indices(target.labels[pool], test_size, seed)
    return pool[sub], test


def probe_cell(
    X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, cfg: MeasureConfig, seed: int
) -> dict[str, Any]:
    """Linear-probe accuracy of one split: ``C`` chosen by inner stratified CV."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X[train])
    clf = LogisticRegressionCV(
        Cs=list(cfg.probe_Cs),
        cv=StratifiedKFold(cfg.probe_cv, shuffle=True, random_state=seed),
        max_iter=cfg.probe_max_iter,
        tol=cfg.probe_tol,
        scoring="accuracy",
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    )
    clf.fit(scaler.transform(X[train]), y[train])
    acc = float(clf.score(scaler.transform(X[test]), y[test]))
    C = float(np.atleast_1d(clf.C_)[0])
    return {"accuracy": acc, "C": C, "C_at_edge": C in (min(cfg.probe_Cs), max(cfg.probe_Cs))}


def ridge_cell(
    X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, cfg: MeasureConfig
) -> dict[str, Any]:
    """Least-squares linear probe: ``alpha`` chosen by efficient leave-one-out CV.

    scikit-learn's ``RidgeClassifierCV`` (one-vs-all ridge regression on +-1
    targets; leave-one-out errors from one eigendecomposition, Rifkin &
    Lippert, 2007). Measured reason for having it beside :func:`probe_cell`:
    on this project's 2 shared CPU cores a logistic probe cell took 70-130 s,
    a ridge cell about 1 s, so only the ridge probe can cover the whole pool.
    """
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X[train])
    alphas = np.asarray(cfg.ridge_alphas, dtype=np.float64)
    clf = RidgeClassifierCV(alphas=alphas).fit(scaler.transform(X[train]), y[train])
    acc = float(clf.score(scaler.transform(X[test]), y[test]))
    a = float(clf.alpha_)
    return {"accuracy": acc, "alpha": a, "alpha_at_edge": a in (alphas.min(), alphas.max())}


def _extend(values: Sequence[float], best: float) -> tuple[float, ...] | None:
    """The grid axis extended by one decade past ``best`` when it is an edge, else ``None``."""
    vals = sorted(values)
    if best == vals[0]:
        return (vals[0] / 10.0, *vals)
    if best == vals[-1]:
        return (*vals, vals[-1] * 10.0)
    return None


def search_grid(
    evaluate: Callable[[float, float], float],
    lrs: Sequence[float],
    wds: Sequence[float],
    max_extend: int = 3,
) -> dict[str, Any]:
    """Grid search over (lr, wd) extended until the best point is inside the grid.

    ``evaluate(lr, wd)`` returns validation accuracy; already evaluated points
    are reused. An axis whose best value is its smallest or largest is extended
    by one decade past it, and the search repeats; it stops when the best point
    is interior on both axes, or after ``max_extend`` rounds (then reported as
    ``"at_edge": True``). Ties (validation accuracies are multiples of 1/n, so
    ties are common) go to the tied point with the fewest edge coordinates, then
    to the first in grid order: an axis along which accuracy is flat (weight
    decay often is) then settles on an interior value instead of being extended
    for ever. A grid where every point ties (all at chance, say) is no evidence
    for an interior optimum: its learning-rate axis is widened both ways.
    """
    scores: dict[tuple[float, float], float] = {}
    lrs, wds = tuple(sorted(lrs)), tuple(sorted(wds))
    for _ in range(max_extend + 1):
        for lr in lrs:
            for wd in wds:
                if (lr, wd) not in scores:
                    scores[(lr, wd)] = float(evaluate(lr, wd))
        best_lr, best_wd = _best_point(scores, lrs, wds)
        new_lrs, new_wds = _extend(lrs, best_lr), _extend(wds, best_wd)
        if len({scores[(lr, wd)] for lr in lrs for wd in wds}) == 1:
            # A flat grid (every point ties, e.g. all at chance) says nothing about where
            # the optimum is: widen the learning rate, the axis that matters, both ways.
            new_lrs = (lrs[0] / 10.0, *lrs, lrs[-1] * 10.0)
        if new_lrs is None and new_wds is None:
            return _grid_choice(scores, best_lr, best_wd, at_edge=False)
        lrs, wds = new_lrs or lrs, new_wds or wds
    return _grid_choice(scores, best_lr, best_wd, at_edge=True)


def _grid_choice(scores: dict[tuple[float, float], float], lr: float, wd: float, *,
                 at_edge: bool) -> dict[str, Any]:
    """The record :func:`search_grid` returns for the chosen point ``(lr, wd)``."""
    return {"lr": lr, "wd": wd, "val": scores[(lr, wd)], "at_edge": at_edge,
            "grid": _grid_dict(scores)}


def _best_point(scores: dict[tuple[float, float], float], lrs: tuple[float, ...],
                wds: tuple[float, ...]) -> tuple[float, float]:
    """The best (lr, wd) of the current grid; among ties the most interior, then grid order."""
    points = [(lr, wd) for lr in lrs for wd in wds]
    top = max(scores[p] for p in points)

    def edges(p: tuple[float, float]) -> int:
        return int(p[0] in (lrs[0], lrs[-1])) + int(p[1] in (wds[0], wds[-1]))

    return min((p for p in points if scores[p] == top), key=edges)  # min keeps grid order


def _grid_dict(scores: dict[tuple[float, float], float]) -> dict[str, float]:
    return {f"lr={lr:g},wd={wd:g}": s for (lr, wd), s in sorted(scores.items())}


# --------------------------------------------------------------------------- fine-tuning


def _finetune_tensors(model: str, target: TargetData, cfg: MeasureConfig) -> tuple[Any, Any, int]:
    """(frozen-bottom outputs of the target's pool, trainable top, top's output dim)."""
    import torch

    from pedrank.models.zoo import get_entry

    entry = get_entry(model)
    split = entry.extra.get("finetune_split")
    if split is None:
        raise ValueError(f"zoo model {model!r} has no finetune_split")
    pre = entry.preprocessing_at(cfg.image_size)  # e.g. InceptionV3's 75-px minimum
    frozen, top = split(entry.load(), cfg.ft_blocks)
    frozen.eval()
    inputs = target.pool_inputs
    outs = []
    with torch.inference_mode():
        for b in range(0, len(target.index), 128):
            x = torch.as_tensor(pre(inputs[target.index[b : b + 128]]))
            outs.append(frozen(x))
        Z = torch.cat(outs)
        dim = int(top.eval()(Z[:2]).shape[1])
    return Z, top, dim


def _ft_eval(
    top: Any,
    dim: int,
    Z: Any,
    y: np.ndarray,
    fit: np.ndarray,
    ev: np.ndarray,
    lr: float,
    wd: float,
    cfg: MeasureConfig,
    seed: int,
) -> float:
    import torch

    from pedrank.groundtruth.protocol import train_eval

    classes, codes = np.unique(y, return_inverse=True)
    t = torch.as_tensor(codes)
    fi, ei = torch.as_tensor(fit), torch.as_tensor(ev)
    return train_eval(
        top,
        len(classes),
        dim,
        Z[fi],
        t[fi],
        Z[ei],
        t[ei],
        lr=lr,
        weight_decay=wd,
        epochs=cfg.ft_epochs,
        batch_size=cfg.ft_batch,
        seed=seed,
        device="cpu",
    )


# --------------------------------------------------------------------------- driver


def _features(
    model: str, target: TargetData, cfg: MeasureConfig, cached_only: bool = False
) -> np.ndarray:
    """Features of ``model`` on the target's pool (extracted once, then from the cache).

    ``cached_only``: never load the model; a pool whose features are not (all) in the
    cache raises :class:`FeaturesNotCached` (a reader beside a running measurement
    waits for its extraction instead of repeating it).
    """
    from pedrank.models.extract import DEFAULT_CHUNK, default_cache_dir, extract_with_loader
    from pedrank.models.zoo import get_entry

    entry = get_entry(model)
    pre = entry.preprocessing_at(cfg.image_size)  # text entries keep theirs

    def not_cached() -> Any:
        raise FeaturesNotCached(f"features of {model} on {target.name} are not cached yet")

    # extract_zoo's call, spelled out so that the loader can be swapped (same cache key)
    fs = extract_with_loader(
        not_cached if cached_only else entry.load,
        _Pool(target.pool_inputs, target.pool_id),
        preprocess=pre,
        model_key=entry.cache_id,
        batch_size=64,
        device=None,
        cache_dir=cfg.cache_dir or default_cache_dir(),
        output_name=None,
        chunk_size=DEFAULT_CHUNK,
        progress=False,
        desc=model,
    )
    return np.asarray(fs.features, dtype=np.float64)[target.index]


class FeaturesNotCached(LookupError):
    """Raised by :func:`_features` with ``cached_only=True`` on a cache miss."""


@dataclass(frozen=True)
class _Pool:
    """Label-free data for the extraction cache: features depend on inputs only."""

    inputs: Any
    pool_id: str

    @property
    def labels(self) -> np.ndarray:
        return np.zeros(len(self.inputs), dtype=np.int64)

    @property
    def fingerprint(self) -> str:
        return "pool:" + self.pool_id


def run(
    store: CellStore,
    models: Iterable[str],
    targets: Iterable[str],
    *,
    protocols: Sequence[str] = ("probe",),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    cfg: MeasureConfig | None = None,
    log: Callable[[str], None] = print,
    deadline: float | None = None,
) -> dict[str, int]:
    """Measure every missing cell; return counts ``{"done", "skipped", "failed"}``.

    Targets are loaded once; for each (target, model) features are extracted
    (or read from the cache) only when some cell of that pair is missing.
    ``deadline`` (a ``time.time()`` value) stops before starting a new cell.
    """
    cfg = cfg or MeasureConfig()
    counts = {"done": 0, "skipped": 0, "failed": 0}
    from pedrank.models.zoo import get_entry

    models, targets = list(models), list(targets)
    loaded: dict[str, TargetData | None] = {}
    # Protocols outermost (the cheap one covers the whole grid before the costly ones start),
    # then models, then targets: targets cut from one image pool (the three emoji targets)
    # reuse a model's features right after they are extracted.
    for protocol in protocols:
        for model in models:
            entry = get_entry(model)
            for tname in targets:
                if tname not in loaded:
                    try:
                        loaded[tname] = load_target(tname, cfg.max_samples, cfg.max_per_class)
                    except (FileNotFoundError, ImportError) as exc:
                        log(f"[{tname}] unavailable: {exc}")
                        loaded[tname] = None
                target = loaded[tname]
                if target is None or entry.kind != target.kind:
                    continue
                if deadline is not None and time.time() > deadline:
                    log("deadline reached; rerun the same command to continue")
                    return counts
                # Re-read the store: another worker on the same store may have done it meanwhile.
                done = store.load()
                todo = [s for s in seeds if cell_key(model, tname, protocol, s) not in done]
                counts["skipped"] += len(seeds) - len(todo)
                if not todo:
                    continue
                if protocol == "finetune" and "finetune_split" not in entry.extra:
                    continue
                try:
                    _run_pair(store, model, target, protocol, todo, cfg, log)
                    counts["done"] += len(todo)
                except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the grid
                    counts["failed"] += len(todo)
                    log(f"[{tname}] {model} {protocol}: FAILED {type(exc).__name__}: {exc}")
    return counts


def _record(
    model: str,
    target: TargetData,
    protocol: str,
    seed: int,
    cfg: MeasureConfig,
    result: dict[str, Any],
    seconds: float,
    n: tuple[int, int],
) -> dict[str, Any]:
    return {
        "model": model,
        "target": target.name,
        "protocol": protocol,
        "seed": int(seed),
        **result,
        "n_train": n[0],
        "n_test": n[1],
        "seconds": round(seconds, 2),
        "config": cfg.tag(protocol),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _run_pair(
    store: CellStore,
    model: str,
    target: TargetData,
    protocol: str,
    seeds: Sequence[int],
    cfg: MeasureConfig,
    log: Callable[[str], None],
) -> None:
    t0 = time.perf_counter()
    if protocol in ("probe", "ridge"):
        X = _features(model, target, cfg)
        log(f"[{target.name}] {model}: features {X.shape} in {time.perf_counter() - t0:.1f}s")
        for seed in seeds:
            t1 = time.perf_counter()
            tr, te = split_positions(target, seed, cfg.test_size)
            if protocol == "probe":
                res = probe_cell(X, target.labels, tr, te, cfg, seed)
            else:
                res = ridge_cell(X, target.labels, tr, te, cfg)
            dt = time.perf_counter() - t1
            store.add(_record(model, target, protocol, seed, cfg, res, dt, (tr.size, te.size)))
            reg = f"C={res['C']:g}" if "C" in res else f"alpha={res['alpha']:g}"
            log(
                f"[{target.name}] {model} {protocol} seed {seed}: {res['accuracy']:.4f} "
                f"({reg}, {dt:.1f}s)"
            )
        return
    if protocol != "finetune":
        raise ValueError(f"unknown protocol {protocol!r}; use 'ridge', 'probe' or 'finetune'")
    _finetune_pair(store, model, target, seeds, cfg, log)


def _finetune_pair(
    store: CellStore,
    model: str,
    target: TargetData,
    seeds: Sequence[int],
    cfg: MeasureConfig,
    log: Callable[[str], None],
) -> None:
    from pedrank.groundtruth.protocol import train_test_indices

    t0 = time.perf_counter()
    Z, top, dim = _finetune_tensors(model, target, cfg)
    y = target.labels
    tr0, _ = split_positions(target, 0, cfg.test_size)
    fit_i, val_i = train_test_indices(y[tr0], 0.25, 0)
    tag = cfg.tag("finetune")
    measured = store.grid_points(model, target.name, tag)

    def evaluate(lr: float, wd: float) -> float:
        if (lr, wd) in measured:  # measured by an earlier, interrupted run
            return measured[(lr, wd)]
        t1 = time.perf_counter()
        acc = _ft_eval(top, dim, Z, y, tr0[fit_i], tr0[val_i], lr, wd, cfg, 0)
        dt = time.perf_counter() - t1
        store.add_grid_point({"model": model, "target": target.name, "config": tag,
                              "lr": lr, "wd": wd, "val": float(acc), "seconds": round(dt, 2)})
        log(f"[{target.name}] {model} finetune grid lr={lr:g} wd={wd:g}: val {acc:.4f} "
            f"({dt:.0f}s)")
        return acc

    if measured:
        log(f"[{target.name}] {model} finetune grid: {len(measured)} points from "
            f"{store.grid_path.name}")

    grid = search_grid(evaluate, cfg.ft_lrs, cfg.ft_wds, cfg.ft_max_extend)
    log(
        f"[{target.name}] {model} finetune grid: lr={grid['lr']:g} wd={grid['wd']:g} "
        f"val={grid['val']:.4f} at_edge={grid['at_edge']} ({time.perf_counter() - t0:.0f}s)"
    )
    for seed in seeds:
        t1 = time.perf_counter()
        tr, te = split_positions(target, seed, cfg.test_size)
        acc = _ft_eval(top, dim, Z, y, tr, te, grid["lr"], grid["wd"], cfg, seed)
        res = {"accuracy": float(acc), **grid}
        dt = time.perf_counter() - t1
        store.add(_record(model, target, "finetune", seed, cfg, res, dt, (tr.size, te.size)))
        log(f"[{target.name}] {model} finetune seed {seed}: {acc:.4f} ({dt:.0f}s)")


# --------------------------------------------------------------------------- summaries


def replicate_table(
    cells: Iterable[dict[str, Any]], protocol: str
) -> dict[str, dict[str, list[float]]]:
    """``{target: {model: [accuracy per seed, in seed order]}}`` of one protocol."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for c in cells:
        if c["protocol"] == protocol:
            out.setdefault(c["target"], {}).setdefault(c["model"], {})[int(c["seed"])] = float(
                c["accuracy"]
            )
    return {t: {m: [v[s] for s in sorted(v)] for m, v in ms.items()} for t, ms in out.items()}


def summarise(accs: Sequence[float]) -> dict[str, float]:
    """Mean, standard deviation and a 95% t-interval of the mean of replicate accuracies."""
    from scipy import stats

    a = np.asarray(accs, dtype=np.float64)
    mean = float(a.mean())
    if a.size < 2:
        return {"mean": mean, "std": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 1}
    std = float(a.std(ddof=1))
    half = float(stats.t.ppf(0.975, a.size - 1) * std / np.sqrt(a.size))
    return {"mean": mean, "std": std, "lo": mean - half, "hi": mean + half, "n": int(a.size)}


def noise_ceiling(replicates: dict[str, list[float]]) -> dict[str, float]:
    """Weighted tau of one replicate ground truth against another, over seed pairs.

    The ground truth of seed ``i`` (each model's accuracy on split ``i``) is
    compared with that of seed ``j`` for every pair ``i < j`` seen by every
    model (``scipy.stats.weightedtau``, as :func:`pedrank.evaluation.weighted_tau`).
    No metric can be expected to agree with one replicate better than another
    replicate does. Returns median, min, max and the number of pairs.
    """
    from itertools import combinations

    from scipy import stats

    n = min((len(v) for v in replicates.values()), default=0)
    if len(replicates) < 3 or n < 2:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "pairs": 0}
    A = np.asarray([v[:n] for v in replicates.values()], dtype=np.float64)  # models x seeds
    taus = [
        float(stats.weightedtau(A[:, i], A[:, j]).statistic) for i, j in combinations(range(n), 2)
    ]
    return {
        "median": float(np.median(taus)),
        "min": float(np.min(taus)),
        "max": float(np.max(taus)),
        "pairs": len(taus),
    }


def write_table(
    cells: Iterable[dict[str, Any]],
    protocol: str,
    path: str | os.PathLike,
    about: str = "",
    min_seeds: int = 1,
) -> dict[str, Any]:
    """Write the ground-truth table of ``protocol`` as package data and return it.

    ``{target: {model: mean accuracy}}`` (read by :func:`pedrank.groundtruth.load`)
    plus ``_replicates`` (per-seed accuracies, read by
    :func:`pedrank.groundtruth.replicates`), ``_summary`` (mean, std, 95%
    interval per cell), ``_noise_ceiling`` per target and ``_about``. Models
    with fewer than ``min_seeds`` seeds are left out.
    """
    reps = replicate_table(cells, protocol)
    reps = {t: {m: v for m, v in ms.items() if len(v) >= min_seeds} for t, ms in reps.items()}
    reps = {t: ms for t, ms in reps.items() if ms}
    table: dict[str, Any] = {
        t: {m: round(float(np.mean(v)), 6) for m, v in sorted(ms.items())} for t, ms in reps.items()
    }
    table["_replicates"] = reps
    table["_summary"] = {t: {m: summarise(v) for m, v in ms.items()} for t, ms in reps.items()}
    table["_noise_ceiling"] = {t: noise_ceiling(ms) for t, ms in reps.items()}
    table["_about"] = about
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return table
