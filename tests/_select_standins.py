"""Stand-ins for helper "loaders"' modules while their branch has not landed.

``install()`` registers minimal ``pedrank.models.loaders`` and
``pedrank.datasets.resolve`` modules implementing the agreed interface (zoo
names, TorchScript files and ``python:MODULE:FUNC`` specs; image folders and
built-in image datasets) **only when the real modules cannot be imported**, so
the select tests run against the real loaders as soon as they exist.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ModelSpecError(ValueError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    spec: str
    name: str
    kind: str
    cache_id: str
    preprocessing: Any
    image_size: int | None
    description: str
    loader: Any = None

    def load(self) -> Any:
        return self.loader()


def resolve_model(spec: str, *, layer=None, image_size=None, kind=None) -> ModelSpec:
    from pedrank.models.extract import ImagePreprocessing, _file_digest
    from pedrank.models.zoo import get_entry, registered_models

    if spec.startswith("python:"):
        mod, _, func = spec[7:].partition(":")
        model, pre = getattr(importlib.import_module(mod), func)()
        return ModelSpec(spec, func, "vision", f"python:{spec}", pre,
                         getattr(pre, "size", None), f"python {spec}", lambda: model)
    if spec.endswith((".pt", ".ts")):
        path = Path(spec)
        if not path.is_file():
            raise ModelSpecError(f"{spec}: no such file")

        def load():
            import torch

            return torch.jit.load(str(path))

        size = image_size or 32
        return ModelSpec(spec, path.stem, "vision", f"ts:{_file_digest(path)}",
                         ImagePreprocessing(size), size, f"TorchScript file {spec}", load)
    if spec in registered_models():
        e = get_entry(spec)
        pre = e.preprocessing
        if image_size is not None and hasattr(pre, "with_size"):
            pre = pre.with_size(image_size)
        return ModelSpec(spec, spec, e.kind, e.cache_id, pre, getattr(pre, "size", None),
                         f"zoo: {spec}", e.load)
    raise ModelSpecError(f"unknown model spec {spec!r}; give a zoo name, PATH.pt or "
                         "python:MODULE:FUNC")


def extract_features(spec: ModelSpec, data, *, batch_size=64, device=None, cache_dir=None,
                     progress=None):
    from pedrank.models.extract import _extract

    return _extract(spec.load, data, preprocess=spec.preprocessing, model_key=spec.cache_id,
                    batch_size=batch_size, device=device, cache_dir=cache_dir,
                    output_name=None, chunk_size=512, progress=progress, desc=spec.name)


def load_data(data, *, text_column=None, label_column=None, task="classification",
              max_samples=None, seed=0):
    from pedrank.datasets import load_dataset

    if not Path(data).exists() and "/" in str(data):
        raise FileNotFoundError(f"{data}: no such file or folder")
    return load_dataset(str(data), max_samples=max_samples, seed=seed)


def install() -> None:
    """Register the stand-ins for whichever real module is missing."""
    for name, attrs in (
        ("pedrank.models.loaders", {"ModelSpecError": ModelSpecError, "ModelSpec": ModelSpec,
                                    "resolve_model": resolve_model,
                                    "extract_features": extract_features}),
        ("pedrank.datasets.resolve", {"load_data": load_data}),
    ):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            sys.modules[name] = mod
