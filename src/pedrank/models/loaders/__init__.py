"""Model specs: rank *your* models, whatever format they come in.

:func:`resolve_model` turns a spec string into a :class:`ModelSpec` (cheap: no
weights are loaded); :func:`extract_features` loads the model only when the
feature cache misses. Spec forms (see ``docs/models.md``):

=========================  ==========================================================
spec                       model
=========================  ==========================================================
``efficientnet-lite0``     a zoo name (:mod:`pedrank.models.zoo`)
``PATH.onnx``              an ONNX graph (onnxruntime); ``layer=`` picks a graph output
``PATH.pt`` / ``PATH.ts``  a TorchScript file (``torch.jit.load``); pickled
                           ``torch.save`` files are refused, never unpickled
``hf:ID_OR_DIR``           a Hugging Face ``transformers`` model with its image
                           processor or tokenizer (a local folder works offline)
``timm:NAME``              a timm model (pretrained weights from the user's cache)
``python:MODULE:FUNC``     ``FUNC()`` returns ``(model, preprocess)``; ``MODULE`` may
                           be a file path (``./my_models.py``)
=========================  ==========================================================

Outputs that are tuples, dicts or ``ModelOutput`` s become (N, D) features by
the rule in :mod:`pedrank.models.loaders._pooling`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pedrank.models.loaders._common import (
    ACCEPTED_FORMS,
    KINDS,
    ModelSpec,
    ModelSpecError,
    fail,
)
from pedrank.models.loaders._pooling import OutputShapeError

__all__ = ["ACCEPTED_FORMS", "ModelSpec", "ModelSpecError", "extract_features", "resolve_model"]

_PREFIXES = ("hf:", "timm:", "python:")


def resolve_model(
    spec: str,
    *,
    layer: str | None = None,
    image_size: int | None = None,
    kind: str | None = None,
) -> ModelSpec:
    """Resolve a model spec without loading its weights.

    Parameters
    ----------
    spec : str
        One of the forms in the module docstring.
    layer : str, optional
        ONNX graph output holding the features (default: the pooled output).
    image_size : int, optional
        Input side of vision models whose input size is not fixed by the model
        (default: the model's own, else 224).
    kind : {"vision", "text"}, optional
        Expected modality; a model of the other kind is an error. For
        ``python:`` specs it declares the modality (default ``FUNC.kind``, else
        ``"vision"``).

    Raises
    ------
    ModelSpecError
        Unknown spec, missing file, unsupported suffix, unsafe file, ... (one line).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise fail(str(spec), "empty model spec", f"use one of: {ACCEPTED_FORMS}")
    if kind is not None and kind not in KINDS:
        raise fail(spec, f"kind must be 'vision' or 'text'; got {kind!r}")
    if image_size is not None and int(image_size) < 1:
        raise fail(spec, f"image_size must be positive; got {image_size}")
    opts = {"layer": layer, "image_size": image_size, "kind": kind}
    for prefix in _PREFIXES:
        if spec.startswith(prefix):
            return _resolve_prefixed(spec, prefix, spec[len(prefix):], opts)
    return _resolve_path_or_zoo(spec, opts)


def _resolve_prefixed(spec: str, prefix: str, rest: str, opts: dict[str, Any]) -> ModelSpec:
    """``hf:`` / ``timm:`` / ``python:`` specs."""
    if not rest:
        raise fail(spec, f"nothing after {prefix!r}", f"use one of: {ACCEPTED_FORMS}")
    if prefix == "hf:":
        from pedrank.models.loaders import huggingface as mod
    elif prefix == "timm:":
        from pedrank.models.loaders import timm as mod  # type: ignore[no-redef]
    else:
        from pedrank.models.loaders import python as mod  # type: ignore[no-redef]
    return mod.resolve(spec, rest, **opts)


def _resolve_path_or_zoo(spec: str, opts: dict[str, Any]) -> ModelSpec:
    """A file path by its suffix, else a zoo name."""
    from pedrank.models.loaders import onnx, torchscript, zoo

    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return onnx.resolve(spec, path, **opts)
    if suffix in torchscript.SUFFIXES:
        return torchscript.resolve(spec, path, **opts)
    found = zoo.resolve(spec, **opts)
    if found is not None:
        return found
    if path.is_dir() and (path / "config.json").is_file():
        raise fail(spec, "a folder is not a spec by itself", f"use hf:{spec} for a Hugging Face "
                   "model folder")
    if path.exists():
        raise fail(spec, f"unsupported file type {suffix or '(no suffix)'!r}",
                   f"use one of: {ACCEPTED_FORMS}")
    looks_like_path = os.sep in spec or spec.startswith(".") or bool(suffix)
    problem = f"file not found: {path}" if looks_like_path else "not a known zoo model or file"
    raise fail(spec, problem, f"use one of: {ACCEPTED_FORMS}")


def _placed(model: Any, device: str | None) -> Any:
    """Tell self-contained callables (text encoders that tokenize) which device to use
    (``None``: CUDA when available, as for torch modules)."""
    if hasattr(model, "set_device"):
        model.set_device(device)
    return model


def extract_features(
    spec: ModelSpec | str,
    data: Any,
    *,
    batch_size: int = 64,
    device: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
):
    """Features of the model ``spec`` on ``data`` (cached; weights loaded on a cache miss only).

    Parameters
    ----------
    spec : ModelSpec or str
        A resolved spec, or a spec string (resolved with defaults).
    data : dataset or (inputs, labels)
        An ``ImageDataset`` / ``TextDataset`` (their ``modality`` must match
        ``spec.kind``) or a pair.
    batch_size, device, cache_dir, progress
        As in :func:`pedrank.models.extract.extract` (``cache_dir=None`` disables the cache).

    Returns
    -------
    pedrank.models.extract.FeatureSet

    Raises
    ------
    ModelSpecError
        Model and data of different modalities, or an output that is not (N, D)
        after the output rule (bad input).

    Errors of the model's own forward pass (a torch ``RuntimeError``, an
    onnxruntime error) propagate unchanged: a failed computation, which
    :func:`pedrank.select` reports for that model while it ranks the others.
    """
    from pedrank.models.extract import DEFAULT_CHUNK, extract_with_loader

    if isinstance(spec, str):
        spec = resolve_model(spec)
    modality = getattr(data, "modality", None)
    if modality is not None and modality != spec.kind:
        raise fail(spec.spec, f"is a {spec.kind} model but the data "
                   f"{getattr(data, 'name', '')!r} is {modality}",
                   f"choose {modality} models for this data")
    try:
        return extract_with_loader(
            lambda: _placed(spec.load(), device),
            data,
            preprocess=spec.preprocessing,
            model_key=spec.cache_id,
            batch_size=batch_size,
            device=device,
            cache_dir=cache_dir,
            output_name=None,
            chunk_size=DEFAULT_CHUNK,
            progress=progress,
            desc=spec.name,
        )
    except OutputShapeError as exc:
        raise fail(spec.spec, f"unexpected model output: {exc}",
                   "return (batch, features) from the model, or wrap it as python:MODULE:FUNC"
                   ) from None
