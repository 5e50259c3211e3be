"""What every loader shares: :class:`ModelSpec`, :class:`ModelSpecError`, file digests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ACCEPTED_FORMS",
    "ModelSpec",
    "ModelSpecError",
    "digest_files",
    "fail",
    "file_digest",
]

KINDS = ("vision", "text")

#: The spec forms, as listed in every "unknown spec" message.
ACCEPTED_FORMS = (
    "a zoo name (pedrank.models.zoo.registered_models()), PATH.onnx, "
    "PATH.pt or PATH.ts (TorchScript), hf:ID_OR_DIR, timm:NAME, python:MODULE:FUNC"
)


class ModelSpecError(ValueError):
    """A model spec that cannot be resolved or loaded; the one-line message names the spec
    and the fix."""


def fail(spec: str, problem: str, fix: str | None = None) -> ModelSpecError:
    """A :class:`ModelSpecError` ``model 'SPEC': PROBLEM; FIX`` (one line)."""
    msg = f"model {spec!r}: {problem}"
    if fix:
        msg += f"; {fix}"
    return ModelSpecError(" ".join(msg.split()))  # one line, whatever the parts held


def missing_file(spec: str, path: Path) -> ModelSpecError:
    """The error for a spec naming a file that does not exist."""
    return fail(spec, f"file not found: {path}", f"check the path; accepted: {ACCEPTED_FORMS}")


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model spec: everything needed to extract features, weights not loaded yet.

    Attributes
    ----------
    spec : str
        The spec as the user wrote it.
    name : str
        Display name (zoo name, file stem, hub id, ...).
    kind : {"vision", "text"}
        Input modality.
    cache_id : str
        Content identity of the model for the feature cache (a weights digest,
        a zoo id, ...): two specs share cached features only when this matches.
    preprocessing : callable or None
        ``batch -> model input`` with a ``key`` string; ``None`` when the model
        takes a ``list[str]`` (text encoders tokenize themselves).
    image_size : int or None
        Square input side of vision models.
    description : str
        E.g. ``"TorchScript file ./m.pt"``.
    loader : callable
        ``loader() -> model`` accepted by :func:`pedrank.models.extract.extract`.
    """

    spec: str
    name: str
    kind: str
    cache_id: str
    preprocessing: Any
    image_size: int | None
    description: str
    loader: Callable[[], Any] | None = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ModelSpec.kind must be one of {KINDS}; got {self.kind!r}")

    def load(self) -> Any:
        """Load the weights: a ``torch.nn.Module`` or callable that ``extract`` accepts."""
        if self.loader is None:
            raise fail(self.spec, "this ModelSpec has no loader", "create it with resolve_model")
        return self.loader()


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 digest (hex prefix) of a file's bytes; the project's memoised one when present."""
    from pedrank._fs import file_digest as shared  # memoised on (inode, size, mtime_ns)

    return shared(path)


def digest_files(paths: Iterable[Path], root: Path) -> str:
    """One digest over several files: their paths relative to ``root`` and their contents."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(file_digest(p).encode())
    return h.hexdigest()[:16]


def check_kind(spec: str, actual: str, wanted: str | None) -> None:
    """Refuse a requested ``kind`` that the model does not have."""
    if wanted is not None and wanted not in KINDS:
        raise fail(spec, f"kind must be 'vision' or 'text'; got {wanted!r}")
    if wanted is not None and wanted != actual:
        raise fail(spec, f"this is a {actual} model, not a {wanted} model")


def no_layer(spec: str, layer: str | None, what: str) -> None:
    """``layer=`` names ONNX graph outputs only; refuse it elsewhere rather than ignore it."""
    if layer is not None:
        raise fail(
            spec,
            f"layer={layer!r} is not supported for {what}",
            "layer names an ONNX graph output; for other models return the wanted layer from "
            "python:MODULE:FUNC",
        )
