"""``python:MODULE:FUNC``: any model, loaded by the user's own function.

``FUNC()`` returns ``(model, preprocess)``: ``model`` is anything
:func:`pedrank.models.extract.extract` accepts (a ``torch.nn.Module``, an ONNX
session, a callable ``batch -> features``), ``preprocess`` maps a batch of
dataset inputs to the model's input (``None``: the model takes the batch as
is, e.g. a text encoder taking ``list[str]``). ``MODULE`` is an importable
name (``my_pkg.models``) or a file path (``./models.py``, ``/abs/models.py``).

``FUNC`` is called only when features are extracted (a cache miss). The
module is imported when the spec is resolved, so ``FUNC.kind = "text"`` can
declare a text model (or pass ``kind="text"``). The feature-cache identity is
the module file's digest and ``FUNC``'s name: edit the file (or clear the
cache) when the weights it loads change.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from pedrank.models.loaders._common import (
    KINDS,
    ModelSpec,
    fail,
    file_digest,
    missing_file,
    no_layer,
)

__all__ = ["resolve"]


def _split(spec: str, rest: str) -> tuple[str, str]:
    """(module, function) from ``MODULE:FUNC`` (the module part may hold a Windows drive)."""
    module, sep, func = rest.rpartition(":")
    if not sep or not module or not func.isidentifier():
        raise fail(spec, "expected python:MODULE:FUNC", "e.g. python:./models.py:build or "
                   "python:my_pkg.models:build")
    return module, func


def _import(spec: str, module: str) -> Any:
    """Import a module by name, or a ``.py`` file by path (under a private module name)."""
    path = Path(module).expanduser()
    if module.endswith(".py") or "/" in module:
        if not path.is_file():
            raise missing_file(spec, path)
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        name = f"_pedrank_user_{path.stem}_{digest}"
        if name in sys.modules:
            return sys.modules[name]
        mod_spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(mod_spec)  # type: ignore[arg-type]
        sys.modules[name] = mod
        try:
            mod_spec.loader.exec_module(mod)  # type: ignore[union-attr]
        except Exception as exc:
            del sys.modules[name]
            raise _import_failed(spec, path, exc) from exc
        except BaseException:
            del sys.modules[name]
            raise
        return mod
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module.split(".")[0] and exc.name != module:
            raise _import_failed(spec, module, exc) from exc  # the module's own import failed
        raise fail(spec, f"cannot import {module!r} ({exc})", "check the module name or pass "
                   "a file path, python:./models.py:FUNC") from None
    except Exception as exc:
        raise _import_failed(spec, module, exc) from exc


def _import_failed(spec: str, module: Any, exc: BaseException) -> Exception:
    """A one-line error for a user module that raised while being imported."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return fail(spec, f"importing {str(module)!r} failed ({type(exc).__name__}: {first})",
                "fix the module (run it with python to see the traceback)")


class _Loaded:
    """Calls ``FUNC`` once and keeps ``(model, preprocess)``: load and preprocess share it."""

    def __init__(self, spec: str, func: Any) -> None:
        self.spec, self.func, self.value = spec, func, None

    def get(self) -> tuple[Any, Any]:
        if self.value is None:
            out = self.func()
            if not (isinstance(out, tuple) and len(out) == 2):
                raise fail(self.spec, f"{self.func.__name__}() returned "
                           f"{type(out).__name__}; it must return (model, preprocess)",
                           "return (model, None) when the model takes the batch as is")
            self.value = out
        return self.value


class _DeferredPreprocess:
    """The user's ``preprocess``, fetched on first use; ``key`` identifies it for the cache."""

    def __init__(self, loaded: _Loaded, key: str) -> None:
        self.loaded, self.key = loaded, key

    def __call__(self, batch: Any) -> Any:
        pre = self.loaded.get()[1]
        return batch if pre is None else pre(batch)


def resolve(
    spec: str, rest: str, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec:
    """A user function's model; imports the module, calls nothing."""
    no_layer(spec, layer, "python: specs (return the wanted layer from FUNC)")
    module, func_name = _split(spec, rest)
    mod = _import(spec, module)
    func = getattr(mod, func_name, None)
    if not callable(func):
        raise fail(spec, f"{module!r} has no function {func_name!r}")
    kind = kind or getattr(func, "kind", "vision")
    if kind not in KINDS:
        raise fail(spec, f"{func_name}.kind must be 'vision' or 'text'; got {kind!r}")
    origin = getattr(mod, "__file__", None)
    ident = file_digest(origin) if origin and Path(origin).is_file() else module
    loaded = _Loaded(spec, func)
    cache_id = f"python:{ident}:{func_name}"
    return ModelSpec(
        spec=spec,
        name=f"{Path(module).stem}:{func_name}",
        kind=kind,
        cache_id=cache_id,
        preprocessing=_DeferredPreprocess(loaded, f"{cache_id}:preprocess"),
        image_size=image_size,
        description=f"python function {module}:{func_name}",
        loader=lambda: loaded.get()[0],
    )
