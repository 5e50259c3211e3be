"""timm models (``timm:NAME``, e.g. ``timm:resnet18.a1_in1k``), when timm is installed.

The model is created with ``pretrained=True, num_classes=0`` (timm then returns
the pooled penultimate features, Wightman, *PyTorch Image Models*); the
weights come from the user's Hugging Face / timm cache, or are downloaded by
timm where there is internet. Preprocessing uses the model's pretrained data
config (input size, mean, std) through pedrank's deterministic
:class:`ImagePreprocessing`.
"""

from __future__ import annotations

import importlib
from typing import Any

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.loaders._common import ModelSpec, fail, no_layer

__all__ = ["resolve"]

_INSTALL = "pip install timm (it needs the torchvision build that matches your torch)"


def _timm(spec: str) -> Any:
    """The timm module, or an error with the install command."""
    try:
        return importlib.import_module("timm")
    except ModuleNotFoundError:
        raise fail(spec, "timm is not installed", _INSTALL) from None


def _pretrained_cfg(spec: str, timm: Any, name: str) -> dict[str, Any]:
    """The model's pretrained config as a dict (input_size, mean, std, ...)."""
    try:
        cfg = timm.models.get_pretrained_cfg(name)
    except Exception as exc:  # timm raises RuntimeError for a bad tag
        raise fail(spec, f"timm does not know {name!r} ({exc})", "see timm.list_models()") from None
    if cfg is None:
        raise fail(spec, f"timm has no pretrained model {name!r}",
                   "see timm.list_models(pretrained=True)")
    return cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)


def resolve(
    spec: str, name: str, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec:
    """A timm vision model; only its registry entry is read, no weights."""
    no_layer(spec, layer, "timm models")
    if kind == "text":
        raise fail(spec, "timm models are vision models")
    timm = _timm(spec)
    cfg = _pretrained_cfg(spec, timm, name)
    native = int(cfg.get("input_size", (3, 224, 224))[-1])
    # ViT-style models fix their input size (position embeddings); the others take any.
    side = native if cfg.get("fixed_input_size") else int(image_size or native)
    pre = ImagePreprocessing(side, tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
                             tuple(cfg.get("std", (0.229, 0.224, 0.225))))
    version = getattr(timm, "__version__", "unknown")
    tag = cfg.get("tag") or ""
    return ModelSpec(
        spec=spec,
        name=name,
        kind="vision",
        cache_id=f"timm:{name}:{tag}:timm={version}",
        preprocessing=pre,
        image_size=side,
        description=f"timm model {name}",
        loader=lambda: _load(spec, timm, name),
    )


def _load(spec: str, timm: Any, name: str) -> Any:
    """``timm.create_model(NAME, pretrained=True, num_classes=0)`` in eval mode."""
    try:
        model = timm.create_model(name, pretrained=True, num_classes=0)
    except Exception as exc:  # no cached weights and no internet, mostly
        raise fail(spec, f"timm could not create {name!r} with pretrained weights "
                   f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                   "download the weights once where you have internet (they are cached)"
                   ) from None
    return model.eval()
