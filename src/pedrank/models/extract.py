"""Penultimate-layer feature extraction with a resumable on-disk cache.

Transferability metrics score a model from its *features* on the target data
(You et al., LogME, ICML 2021; Li et al., PED, ICCV 2023: the penultimate
layer of each pre-trained model). This module turns (model, dataset) into an
(N, D) feature matrix:

* ``model`` is a ``torch.nn.Module`` whose output is the feature vector, an
  ONNX graph (:class:`OnnxModel`, output name configurable) or any callable
  ``batch -> (B, D) array``;
* inputs are preprocessed deterministically (:class:`ImagePreprocessing`:
  grey-to-RGB replication, antialiased bilinear resize written in numpy so it
  does not depend on torchvision/PIL versions, the model's own normalisation);
* features are cached under ``cache_dir`` keyed by (model, dataset,
  preprocessing). The dataset is processed in chunks, each written atomically
  (:mod:`pedrank._fs`: temporary file, fsync, ``os.replace``), so an interrupted
  run resumes at the first missing chunk and never leaves a half-written file
  behind. ``key.json`` records the final file's shape, dtype and SHA-256, and a
  cached file that does not match them is recomputed, never used.

torch and onnxruntime are imported only when a model of that kind is used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pedrank._fingerprint import data_fingerprint as fingerprint
from pedrank._fs import atomic_save_npy, atomic_write_text, file_digest
from pedrank._progress import ProgressArg, progress_bar

__all__ = [
    "FeatureSet",
    "ImagePreprocessing",
    "OnnxModel",
    "default_cache_dir",
    "extract",
    "extract_with_loader",
    "extract_zoo",
    "fingerprint",
    "resize_images",
    "torch_device",
]

_LOG = logging.getLogger(__name__)
CACHE_FORMAT = 2  # 2: key.json records the features' shape, dtype and SHA-256
DEFAULT_CHUNK = 512


def default_cache_dir() -> Path:
    """``$PEDRANK_CACHE`` if set, else ``$XDG_CACHE_HOME/pedrank`` or ``~/.cache/pedrank``."""
    env = os.environ.get("PEDRANK_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pedrank"


# --------------------------------------------------------------------------- preprocessing


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) linear-interpolation weights with antialiasing on downscale.

    A triangle (bilinear) kernel centred on each output pixel's source
    coordinate (half-pixel convention), widened by the scale factor when
    shrinking, as PIL's ``BILINEAR`` filter does: without the widening a
    downscale aliases (skips pixels) instead of averaging them.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale - 0.5  # source coordinate of each output pixel
    src = np.arange(n_in)
    w = np.clip(1.0 - np.abs(src[None, :] - centres[:, None]) / support, 0.0, None)
    empty = w.sum(axis=1) == 0  # cannot happen for the kernel above; guard the division anyway
    w[empty, np.clip(np.rint(centres[empty]).astype(int), 0, n_in - 1)] = 1.0
    return w / w.sum(axis=1, keepdims=True)


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a batch (B, H, W, C) to (B, h, w, C) with antialiased bilinear filtering.

    Separable: ``out = R_h @ img @ R_w.T`` per channel, one ``einsum`` per
    batch (no Python loop over images). float64 in, float64 out.
    """
    h, w = (size, size) if isinstance(size, int) else size
    x = np.asarray(images, dtype=np.float64)
    if x.shape[1:3] == (h, w):
        return x
    rh = _resize_matrix(x.shape[1], h)
    rw = _resize_matrix(x.shape[2], w)
    return np.einsum("ih,bhwc,jw->bijc", rh, x, rw, optimize=True)


@dataclass(frozen=True)
class ImagePreprocessing:
    """Deterministic image preprocessing: to RGB in [0, 1], resize, normalise, NCHW.

    Accepted batches: (B, H, W) grey, (B, H, W, 1|3|4) channels-last. ``uint8``
    input is divided by 255; float input is taken to be in [0, 1] already
    (:mod:`pedrank.datasets` returns one of the two). Grey images are
    replicated to three channels; an alpha channel is dropped.

    Parameters
    ----------
    size : int
        Square output side in pixels.
    mean, std : tuple of 3 floats
        The model's own input normalisation ``(x - mean) / std`` per channel.
    """

    size: int
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    @property
    def key(self) -> str:
        """Identity for cache keys (bump the ``v`` when the algorithm changes)."""
        m = ",".join(f"{v:g}" for v in self.mean)
        s = ",".join(f"{v:g}" for v in self.std)
        return f"image:v1:size={self.size}:mean={m}:std={s}:bilinear-aa"

    def with_size(self, size: int) -> ImagePreprocessing:
        """The same normalisation at another input size."""
        return ImagePreprocessing(int(size), self.mean, self.std)

    def __call__(self, batch: Any) -> np.ndarray:
        """(B, 3, size, size) float32: the model input of a batch of images."""
        if not isinstance(batch, np.ndarray):
            shapes = {np.shape(im) for im in batch}
            if len(shapes) > 1:  # images of different sizes (an image folder): one at a time
                out = np.empty((len(batch), 3, self.size, self.size), np.float32)
                for i, im in enumerate(batch):
                    out[i] = self(np.asarray(im)[None])[0]
                return out
        x = np.asarray(batch)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
            raise ValueError(
                "images must be (B, H, W) or (B, H, W, C) with C in {1, 3, 4}; got shape "
                f"{x.shape}"
            )
        # float32 NCHW from the start (alpha dropped): one copy of the small input image.
        planes = np.ascontiguousarray(x[..., :3].transpose(0, 3, 1, 2), dtype=np.float32)
        resized = _resize_planes(planes, self.size, self.size)
        # (x / 255 - mean) / std as one scale and offset per channel, applied in place
        # (resizing commutes with it: every row of the resize weights sums to 1).
        scale = np.float32(1 / 255 if x.dtype == np.uint8 else 1) / np.asarray(self.std, np.float32)
        offset = -np.asarray(self.mean, np.float32) / np.asarray(self.std, np.float32)
        if resized.shape[1] == 3:
            resized *= scale[None, :, None, None]
            resized += offset[None, :, None, None]
            return resized
        out = np.empty((resized.shape[0], 3, self.size, self.size), np.float32)
        for c in range(3):  # grey: one resized plane, normalised per channel
            np.multiply(resized[:, 0], scale[c], out=out[:, c])
            out[:, c] += offset[c]
        return out


@functools.lru_cache(maxsize=64)
def _resize_matrix32(n_in: int, n_out: int) -> np.ndarray:
    """:func:`_resize_matrix` as a read-only float32 array, built once per shape pair."""
    w = _resize_matrix(n_in, n_out).astype(np.float32)
    w.flags.writeable = False
    return w


def _resize_planes(planes: np.ndarray, h: int, w: int) -> np.ndarray:
    """Resize float32 (B, C, H, W) to a new (B, C, h, w) array, as :func:`resize_images` does.

    The same separable antialiased bilinear weights, in float32 and as two
    matrix products (one GEMM over all rows for the width, one batched product
    for the height) instead of a float64 ``einsum``. The result differs from
    :func:`resize_images` only by float32 rounding (about 1e-7 relative), below
    what the float32 model input keeps anyway, so the cache key is unchanged.
    """
    b, c, hi, wi = planes.shape
    if (hi, wi) == (h, w):
        return planes.copy()
    rows = planes.reshape(b * c * hi, wi)
    if wi != w:
        rows = rows @ _resize_matrix32(wi, w).T
    stack = rows.reshape(b * c, hi, w)
    if hi != h:
        stack = np.matmul(_resize_matrix32(hi, h), stack)
    return np.ascontiguousarray(stack).reshape(b, c, h, w)


# --------------------------------------------------------------------------- models


class OnnxModel:
    """An ONNX graph used as a feature extractor.

    Parameters
    ----------
    model : str, path or ``onnxruntime.InferenceSession``
    output_name : str, optional
        Which graph output holds the features (default: the first output).
    input_name : str, optional
        Which graph input receives the batch (default: the first input).
    """

    def __init__(
        self, model: Any, output_name: str | None = None, input_name: str | None = None
    ) -> None:
        if isinstance(model, str | os.PathLike):
            try:
                import onnxruntime as ort
            except ModuleNotFoundError as exc:
                raise ImportError("ONNX models need onnxruntime: pip install onnxruntime") from exc
            self.path: str | None = os.fspath(model)
            model = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        else:
            self.path = None
        self.session = model
        outs = [o.name for o in self.session.get_outputs()]
        ins = [i.name for i in self.session.get_inputs()]
        if output_name is not None and output_name not in outs:
            raise ValueError(f"ONNX output {output_name!r} not found; outputs are {outs}")
        if input_name is not None and input_name not in ins:
            raise ValueError(f"ONNX input {input_name!r} not found; inputs are {ins}")
        self.output_name = output_name or outs[0]
        self.input_name = input_name or ins[0]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: batch})
        return np.asarray(out)

    def cache_id(self) -> str | None:
        if self.path is None:
            return None
        return f"onnx:{_file_digest(self.path)}:{self.output_name}"


def _file_digest(path: str | os.PathLike) -> str:
    """Short content id of a model file (the memoised :func:`pedrank._fs.file_digest`)."""
    return file_digest(path)[:16]


def _is_torch_module(model: Any) -> bool:
    torch = sys.modules.get("torch")  # never import torch just to check a type
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_onnx_session(model: Any) -> bool:
    ort = sys.modules.get("onnxruntime")
    return ort is not None and isinstance(model, ort.InferenceSession)


def torch_device(device: str | None) -> str:
    import torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _as_batch_function(model: Any, device: str | None, output_name: str | None) -> Callable:
    """Wrap ``model`` into ``batch -> (B, D) float32 ndarray``.

    Tuples, dicts and ``transformers`` ``ModelOutput`` s are reduced by the output
    rule of :func:`pedrank.models.loaders._pooling.pool_output` (``pooler_output``,
    else the first 2-D tensor, else the mean-pooled first 3-D/4-D tensor).
    """
    from pedrank.models.loaders._pooling import pool_output

    if _is_torch_module(model):
        import torch

        dev = torch_device(device)
        model = model.to(dev).eval()

        def run_torch(batch: Any) -> np.ndarray:
            with torch.inference_mode():
                x = torch.as_tensor(np.asarray(batch), device=dev)
                return pool_output(model(x))

        return run_torch
    if isinstance(model, str | os.PathLike) and str(model).endswith(".onnx"):
        model = OnnxModel(model, output_name=output_name)
    elif _is_onnx_session(model):
        model = OnnxModel(model, output_name=output_name)
    if not callable(model):
        raise TypeError(
            "model must be a torch.nn.Module, an ONNX model/path or a callable "
            f"batch -> features; got {type(model).__name__}"
        )
    return lambda batch: pool_output(model(batch))


def _model_cache_id(model: Any) -> str | None:
    """A content identity for models we can hash; ``None`` means 'do not cache'."""
    if isinstance(model, OnnxModel):
        return model.cache_id()
    if isinstance(model, str | os.PathLike) and str(model).endswith(".onnx"):
        return f"onnx:{_file_digest(model)}"
    if _is_torch_module(model):
        h = hashlib.sha256(type(model).__qualname__.encode())
        for name, t in model.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return f"torch:{h.hexdigest()[:16]}"
    return None


# --------------------------------------------------------------------------- data


def _unpack_data(data: Any) -> tuple[Any, np.ndarray, str | None]:
    """(inputs, labels, fingerprint or None) from a dataset object or a pair."""
    if isinstance(data, tuple) and len(data) == 2:
        inputs, labels = data
        fp = None
    else:
        try:
            inputs, labels = data.inputs, data.labels
        except AttributeError:
            raise TypeError(
                "data must be a (inputs, labels) pair or an object with .inputs and .labels "
                f"(e.g. pedrank.datasets.ImageDataset); got {type(data).__name__}"
            ) from None
        fp = getattr(data, "fingerprint", None)
    labels = np.asarray(labels)
    if len(inputs) != labels.shape[0]:
        raise ValueError(
            f"inputs and labels have different lengths: {len(inputs)} and {labels.shape[0]}"
        )
    if labels.shape[0] == 0:
        raise ValueError("the dataset is empty")
    return inputs, labels, fp


@dataclass(frozen=True)
class FeatureSet:
    """Extracted features and the labels they belong to.

    Attributes
    ----------
    features : ndarray, shape (N, D), float32
    labels : ndarray, shape (N,)
    cache_path : Path or None
        Where the features are cached (``None`` when not cached).
    from_cache : bool
        ``True`` when nothing had to be computed.
    """

    features: np.ndarray
    labels: np.ndarray
    cache_path: Path | None = None
    from_cache: bool = False


# --------------------------------------------------------------------------- cache I/O


def _load_array(path: Path, n_rows: int) -> np.ndarray | None:
    """The cached array if it is complete and readable, else ``None`` (recompute)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.ndim != 2 or arr.shape[0] != n_rows or not np.isfinite(arr).all():
        return None
    return arr


def _features_record(path: Path, feats: np.ndarray) -> dict[str, Any]:
    """What ``key.json`` records about ``features.npy``: shape, dtype and SHA-256."""
    return {"shape": [int(s) for s in feats.shape], "dtype": feats.dtype.str,
            "sha256": file_digest(path)}


def _load_verified(cache: Path, ident: dict[str, Any], n_rows: int) -> np.ndarray | None:
    """The cached ``features.npy`` if ``key.json`` vouches for it, else ``None``.

    The file must match the identity it was cached under and the shape, dtype
    and checksum recorded when it was written, so a file replaced, truncated
    or of another width (another model, another layer) is recomputed instead
    of being used silently.
    """
    final = cache / "features.npy"
    try:
        key = json.loads((cache / "key.json").read_text(encoding="utf-8"))
        record = key.get("features") if isinstance(key, dict) else None
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or {k: key.get(k) for k in ident} != ident:
        return None
    if not final.is_file() or file_digest(final) != record.get("sha256"):
        return None
    feats = _load_array(final, n_rows)
    if feats is None or [*feats.shape] != record.get("shape") \
            or feats.dtype.str != record.get("dtype"):
        return None
    return feats


# --------------------------------------------------------------------------- extraction


def _cache_entry(
    cache_dir: str | os.PathLike | None, model_key: str | None, preprocess: Any,
    inputs: Any, labels: np.ndarray, fp: str | None,
) -> tuple[Path | None, dict[str, Any]]:
    """(cache folder or ``None``, its identity) for one (model, data, preprocessing).

    No cache without a cache root, a model identity, or a preprocessing ``key``
    (the last one warns: the user asked for a cache that cannot be keyed).
    """
    if cache_dir is None or model_key is None:
        return None, {}
    pre_key = "none" if preprocess is None else getattr(preprocess, "key", None)
    if pre_key is None:
        warnings.warn("preprocess has no 'key' attribute, so features are not cached",
                      RuntimeWarning, stacklevel=4)
        return None, {}
    ident = {"format": CACHE_FORMAT, "model": model_key,
             "data": fp if fp is not None else fingerprint(inputs, labels),
             "n": int(labels.shape[0]), "preprocess": pre_key}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]
    return Path(cache_dir).expanduser() / "features" / digest, ident


def _cached_chunks(cache: Path | None, starts: list[int], chunk_size: int, n: int
                   ) -> list[np.ndarray | None]:
    """The chunks an interrupted run left complete (``None`` for the ones to compute)."""
    chunks: list[np.ndarray | None] = [None] * len(starts)
    if cache is not None:
        for i, s in enumerate(starts):
            p = cache / f"chunk_{i:06d}.npy"
            if p.exists():
                chunks[i] = _load_array(p, min(s + chunk_size, n) - s)
    return chunks


def _extract_chunk(fn: Callable, inputs: Any, preprocess: Callable | None, s: int, e: int,
                   batch_size: int, bar: Any) -> np.ndarray:
    """Features of samples ``s..e-1``, a batch at a time (lazy inputs decode per slice)."""
    parts = []
    for b in range(s, e, batch_size):
        batch = inputs[b : min(b + batch_size, e)]
        x = preprocess(batch) if preprocess is not None else batch
        out = np.asarray(fn(x), dtype=np.float32)
        parts.append(out.reshape(out.shape[0], -1))
        if bar is not None:
            bar.update(parts[-1].shape[0])
    chunk = np.concatenate(parts, axis=0)
    if chunk.shape[0] != e - s:
        raise ValueError(f"the model returned {chunk.shape[0]} feature rows for {e - s} inputs")
    if not np.isfinite(chunk).all():
        raise ValueError("the model produced NaN or infinite features")
    return chunk


def _consolidate(cache: Path, ident: dict[str, Any], feats: np.ndarray, n_chunks: int) -> Path:
    """Write ``features.npy``, then the ``key.json`` that vouches for it; drop the chunks."""
    final = atomic_save_npy(cache / "features.npy", feats)
    # key.json is written last: it vouches for features.npy (shape, dtype, checksum).
    atomic_write_text(cache / "key.json", json.dumps(
        {**ident, "features": _features_record(final, feats)}, indent=1, sort_keys=True))
    # The consolidated file is complete; the per-chunk files are redundant now.
    for i in range(n_chunks):
        (cache / f"chunk_{i:06d}.npy").unlink(missing_ok=True)
    return final


def extract_with_loader(
    load_model: Callable[[], Any],
    data: Any,
    *,
    preprocess: Callable[[Any], Any] | None,
    model_key: str | None,
    batch_size: int,
    device: str | None,
    cache_dir: str | os.PathLike | None,
    output_name: str | None,
    chunk_size: int,
    progress: ProgressArg,
    desc: str,
) -> FeatureSet:
    """Features of the model ``load_model()`` returns, loading it only on a cache miss.

    The engine behind :func:`extract`, :func:`extract_zoo` and
    :func:`pedrank.models.loaders.extract_features`: keyword arguments as in
    :func:`extract`; ``desc`` labels the progress bar.
    """
    if batch_size < 1 or chunk_size < 1:
        raise ValueError("batch_size and chunk_size must be positive")
    inputs, labels, fp = _unpack_data(data)
    n = labels.shape[0]
    cache, ident = _cache_entry(cache_dir, model_key, preprocess, inputs, labels, fp)
    if cache is not None:
        feats = _load_verified(cache, ident, n)
        if feats is not None:
            return FeatureSet(feats, labels, cache / "features.npy", from_cache=True)
        cache.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache / "key.json", json.dumps(ident, indent=1, sort_keys=True))
    starts = list(range(0, n, chunk_size))
    chunks = _cached_chunks(cache, starts, chunk_size, n)
    todo = [i for i, c in enumerate(chunks) if c is None]
    if todo:
        fn = _as_batch_function(load_model(), device, output_name)
        total = sum(min(starts[i] + chunk_size, n) - starts[i] for i in todo)
        bar = progress_bar(progress, total, desc=desc, unit="img", logger=_LOG)
        try:
            for i in todo:
                chunks[i] = _extract_chunk(fn, inputs, preprocess, starts[i],
                                           min(starts[i] + chunk_size, n), batch_size, bar)
                if cache is not None:
                    atomic_save_npy(cache / f"chunk_{i:06d}.npy", chunks[i])
        finally:
            if bar is not None:
                bar.close()
    dims = {c.shape[1] for c in chunks if c is not None}
    if len(dims) != 1:
        raise ValueError(f"inconsistent feature dimensions across chunks: {sorted(dims)}")
    feats = np.concatenate(chunks, axis=0)  # type: ignore[arg-type]
    if cache is None:
        return FeatureSet(feats, labels, None, from_cache=False)
    return FeatureSet(feats, labels, _consolidate(cache, ident, feats, len(starts)),
                      from_cache=not todo)


def extract(
    model: Any,
    data: Any,
    *,
    preprocess: Callable[[Any], Any] | None = None,
    batch_size: int = 64,
    device: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    model_key: str | None = None,
    output_name: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: ProgressArg = None,
) -> FeatureSet:
    """Features of ``model`` on every sample of ``data``, in order, cached on disk.

    Parameters
    ----------
    model : torch.nn.Module, OnnxModel, onnxruntime.InferenceSession, str or callable
        Its output for a batch is the (B, D) feature matrix; a (B, T, D) or
        (B, C, H, W) output is mean-pooled over tokens / space, and tuples, dicts
        and ``ModelOutput`` s follow the rule of
        :func:`pedrank.models.loaders._pooling.pool_output`. A ``.onnx`` path is
        loaded with onnxruntime; ``output_name`` picks the graph output.
    data : (inputs, labels) or dataset object
        ``inputs`` is indexable by slices (an array of images, a list of
        strings); an object needs ``.inputs`` and ``.labels`` and may carry a
        ``.fingerprint`` string (see :mod:`pedrank.datasets`).
    preprocess : callable, optional
        ``batch -> model input``; needs a ``key`` string attribute for caching
        (e.g. :class:`ImagePreprocessing`).
    batch_size : int
        Samples per forward pass.
    device : str, optional
        torch device; default CUDA when available, else CPU.
    cache_dir : path, optional
        Cache root (e.g. :func:`default_cache_dir`); ``None`` disables the cache.
    model_key : str, optional
        Identity of the model for the cache. Derived from the weights for torch
        modules and ONNX files; a plain callable is cached only if given one.
    chunk_size : int
        Samples per cache chunk: the most work a crash can lose.
    progress : bool or callable, optional
        A progress-bar factory such as ``tqdm`` (what the CLI passes), ``True`` to
        log milestones at INFO level, or ``None``/``False`` for nothing
        (see :mod:`pedrank._progress`).

    Returns
    -------
    FeatureSet
    """
    if model_key is None:
        model_key = _model_cache_id(model)
    return extract_with_loader(
        lambda: model,
        data,
        preprocess=preprocess,
        model_key=model_key,
        batch_size=batch_size,
        device=device,
        cache_dir=cache_dir,
        output_name=output_name,
        chunk_size=chunk_size,
        progress=progress,
        desc="features",
    )


def extract_zoo(
    name: str,
    data: Any,
    *,
    image_size: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: ProgressArg = None,
) -> FeatureSet:
    """Features of the zoo model ``name`` (see :mod:`pedrank.models.zoo`) on ``data``.

    The model is loaded only when some chunk is missing from the cache, so a
    fully cached run imports no torch and reads no weights.

    Parameters
    ----------
    image_size : int, optional
        Override the entry's input size (vision models; smaller is faster on
        CPU, at some cost in feature quality).
    Other parameters as in :func:`extract`.
    """
    from pedrank.models.zoo import get_entry

    entry = get_entry(name)
    pre = entry.preprocessing
    if image_size is not None:
        if not hasattr(pre, "with_size"):
            raise ValueError(f"zoo model {name!r} has no resizable preprocessing; drop image_size")
        pre = pre.with_size(image_size)
    return extract_with_loader(
        entry.load,
        data,
        preprocess=pre,
        model_key=entry.cache_id,
        batch_size=batch_size,
        device=device,
        cache_dir=cache_dir,
        output_name=None,
        chunk_size=chunk_size,
        progress=progress,
        desc=name,
    )
