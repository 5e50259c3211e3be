"""TorchScript files (``PATH.pt`` / ``PATH.ts``), loaded with ``torch.jit.load`` only.

A ``torch.save`` file of a whole module is a pickle: loading it runs whatever
code the pickle names, so it is refused *before* anything is unpickled. The
two kinds of file are told apart by their archive layout: both are zip files
(or, for old ``torch.save`` files, a bare pickle), but only TorchScript
archives carry the compiled ``code/`` folder.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.loaders._common import ModelSpec, fail, file_digest, missing_file, no_layer

__all__ = ["SUFFIXES", "is_torchscript_archive", "resolve"]

SUFFIXES = (".pt", ".ts", ".pth")
DEFAULT_SIZE = 224

_SAFE_ALTERNATIVES = (
    "pedrank never unpickles model files (unpickling can run arbitrary code); save the model "
    "as TorchScript (torch.jit.save(torch.jit.script(model) or torch.jit.trace(model, x), "
    "'model.pt')), export it to ONNX (torch.onnx.export), or load it yourself with "
    "python:MODULE:FUNC"
)


def is_torchscript_archive(path: Path) -> bool:
    """Whether ``path`` is a TorchScript zip archive (has ``<root>/code/`` entries).

    Only the zip directory is read; nothing is unpickled.
    """
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.split("/", 2)[1:2] == ["code"] or n.startswith("code/") for n in names)


def resolve(
    spec: str, path: Path, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec:
    """A TorchScript vision model taking float32 NCHW images (ImageNet normalisation)."""
    if not path.is_file():
        raise missing_file(spec, path)
    if not is_torchscript_archive(path):
        what = "a zip archive without TorchScript code" if zipfile.is_zipfile(path) else (
            "not a zip archive (a legacy torch.save pickle, or not a torch file at all)"
        )
        raise fail(spec, f"{path} is not a TorchScript file: it is {what}", _SAFE_ALTERNATIVES)
    if kind == "text":
        raise fail(spec, "TorchScript files are run as vision models", "wrap a text model with "
                   "its tokenizer as python:MODULE:FUNC")
    no_layer(spec, layer, "TorchScript files")
    size = int(image_size or DEFAULT_SIZE)
    return ModelSpec(
        spec=spec,
        name=path.stem,
        kind="vision",
        cache_id=f"torchscript:{file_digest(path)}",
        preprocessing=ImagePreprocessing(size),
        image_size=size,
        description=f"TorchScript file {path}",
        loader=lambda: _load(path),
    )


def _load(path: Path):
    """``torch.jit.load`` on CPU (extraction moves the module to its device), in eval mode."""
    import torch

    return torch.jit.load(str(path), map_location="cpu").eval()
