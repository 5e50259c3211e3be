"""TensorFlow.js layers models (Keras 2 graphs, uint8-quantised weights) run as torch modules.

The npm package ``nsfwjs`` ships its Keras models as browserify bundles: a
``model.min.js`` whose export is the tfjs ``{modelTopology, weightsManifest}``
object written as a JavaScript literal (unquoted keys, ``!0`` / ``!1`` for
true / false, ``.5`` numbers), and ``group1-shard*.min.js`` files whose export
is one base64 string of weight bytes. Neither TensorFlow nor Node.js is needed
to use them:

* :func:`read_js_literal` turns the literal into Python objects with a small
  tokenizer (JSON plus the three JavaScript spellings above);
* :func:`read_layers_model` reads a model folder: the Keras layer list and
  every weight, dequantised the way tfjs does (``q * scale + min`` for
  ``uint8`` quantisation);
* :class:`KerasGraph` executes the Keras layer list in torch, layer by layer
  as the config wires them, so no architecture is re-declared by hand.
  Images are NCHW in torch; Keras' channels-last semantics are kept where they
  matter (TensorFlow ``"same"`` padding puts the odd pixel bottom/right;
  ``"same"`` average pooling divides by the pixels inside the image; ``Flatten``
  flattens in HWC order).

References
----------
Smilkov et al., "TensorFlow.js: Machine Learning for the Web and Beyond", SysML 2019
(the layers-model format). nsfwjs: https://github.com/infinitered/nsfwjs.
"""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pedrank.models.zoo._common import tf_same_padding

__all__ = ["KerasGraph", "read_js_literal", "read_layers_model"]

# One JavaScript token of a minified object literal: a double-quoted string, the minifier's
# booleans, a number (".5", "-.5", "1e-3", "2."), an identifier, punctuation or blanks.
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|!0|!1|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_$][\w$]*'
    r"|[{}\[\]:,]|\s+"
)
_JS_WORDS = {"!0": "true", "!1": "false", "true": "true", "false": "false", "null": "null"}


def _json_token(tok: str) -> str:
    """The JSON spelling of one JavaScript token."""
    if tok in _JS_WORDS:
        return _JS_WORDS[tok]
    if tok[0] in "-.0123456789":
        tok = re.sub(r"^(-?)\.", r"\g<1>0.", tok)  # .5 -> 0.5
        return tok + "0" if tok.endswith(".") else tok  # 2. -> 2.0
    if tok[0] == '"' or tok in "{}[]:,":
        return tok
    return json.dumps(tok)  # an unquoted key


def read_js_literal(text: str, start: int) -> Any:
    """Parse the JavaScript object or array literal that begins at ``text[start]``.

    Only what minifiers emit for JSON-like data is accepted (no functions, no
    single-quoted strings); anything else raises ``ValueError``.

    Examples
    --------
    >>> read_js_literal('x={a:!0,b:[.5,-1e-3,null],"c d":"}"};', 2)
    {'a': True, 'b': [0.5, -0.001, None], 'c d': '}'}
    """
    if text[start : start + 1] not in ("{", "["):
        raise ValueError(f"no object or array literal at offset {start}")
    parts: list[str] = []
    depth, pos = 0, start
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"unexpected JavaScript at offset {pos}: {text[pos:pos + 40]!r}")
        tok, pos = match.group(), match.end()
        if tok.isspace():
            continue
        if tok in ("{", "["):
            depth += 1
        elif tok in ("}", "]"):
            depth -= 1
        parts.append(_json_token(tok))
        if depth == 0:
            return json.loads("".join(parts))


# The module body's ``<m>.exports={...}`` / ``<m>.exports="..."`` (the UMD wrapper before it
# assigns ``module.exports=e()``, which this does not match).
_EXPORT = re.compile(r"\.exports=(?=[{\"])")


def _bundle_export(path: Path) -> str:
    """The text of a browserify bundle from its module's ``exports=`` value on."""
    text = path.read_text(encoding="utf-8")
    match = _EXPORT.search(text)
    if match is None:
        raise ValueError(f"{path}: no browserify 'exports=' assignment found")
    return text[match.end() :]


def _shard_bytes(path: Path) -> bytes:
    match = re.match(r'"([A-Za-z0-9+/=]*)"', _bundle_export(path))
    if match is None:
        raise ValueError(f"{path}: the bundle does not export a base64 string")
    return base64.b64decode(match.group(1))


def _dequantise(raw: bytes, spec: dict[str, Any]) -> np.ndarray:
    """One weight from its bytes: float32 as stored, or ``q * scale + min`` (uint8/uint16)."""
    shape = tuple(int(s) for s in spec["shape"])
    quant = spec.get("quantization")
    if quant is None:
        if spec.get("dtype", "float32") != "float32":
            raise ValueError(f"weight {spec['name']}: unsupported dtype {spec.get('dtype')!r}")
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
    if quant.get("dtype") not in ("uint8", "uint16") or "scale" not in quant:
        raise ValueError(f"weight {spec['name']}: unsupported quantisation {quant}")
    q = np.frombuffer(raw, dtype=np.uint8 if quant["dtype"] == "uint8" else "<u2")
    return (q.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])).reshape(
        shape
    )


def _weight_nbytes(spec: dict[str, Any]) -> int:
    width = {"uint8": 1, "uint16": 2}.get(spec.get("quantization", {}).get("dtype", ""), 4)
    return math.prod(int(s) for s in spec["shape"]) * width


def read_layers_model(folder: str | Path) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The Keras layer list and the dequantised weights of a bundled tfjs layers model.

    Parameters
    ----------
    folder : path
        Folder holding ``model.min.js`` and the ``<path>.min.js`` weight shards
        its manifest names (as in ``nsfwjs/dist/models/<model>``).

    Returns
    -------
    layers : list of dict
        ``modelTopology.model_config.config.layers`` (Keras ``Model`` config).
    weights : dict
        ``"layer/variable"`` -> float32 array in Keras layout.
    """
    folder = Path(folder)
    artifacts = read_js_literal(_bundle_export(folder / "model.min.js"), 0)
    config = artifacts["modelTopology"]["model_config"]
    if config.get("class_name") not in ("Model", "Functional"):
        raise ValueError(f"{folder}: not a functional Keras model ({config.get('class_name')})")
    weights: dict[str, np.ndarray] = {}
    for group in artifacts["weightsManifest"]:
        data = b"".join(_shard_bytes(folder / f"{p}.min.js") for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            size = _weight_nbytes(spec)
            weights[spec["name"]] = _dequantise(data[offset : offset + size], spec)
            offset += size
        if offset != len(data):
            raise ValueError(f"{folder}: manifest accounts for {offset} of {len(data)} bytes")
    return config["config"]["layers"], weights


# --------------------------------------------------------------------------- layers


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if np.isscalar(value) else (int(value[0]), int(value[1]))


_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": F.relu,
    "relu6": F.relu6,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=1),
}


def _activation(name: str) -> Any:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unsupported Keras activation {name!r}")
    return _ACTIVATIONS[name]


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


class _Conv(nn.Module):
    """Keras ``Conv2D`` / ``DepthwiseConv2D``: kernel (kh, kw, in, out | multiplier)."""

    def __init__(self, cfg: dict[str, Any], w: dict[str, np.ndarray], depthwise: bool) -> None:
        super().__init__()
        kernel = w["depthwise_kernel" if depthwise else "kernel"]
        kh, kw, c_in, c_out = kernel.shape
        if depthwise:  # (kh, kw, C, m) -> (C * m, 1, kh, kw)
            weight, groups = kernel.transpose(2, 3, 0, 1).reshape(c_in * c_out, 1, kh, kw), c_in
        else:
            weight, groups = kernel.transpose(3, 2, 0, 1), 1
        self.conv = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], (kh, kw),
                              _pair(cfg["strides"]), dilation=_pair(cfg.get("dilation_rate", 1)),
                              groups=groups, bias="bias" in w)
        self.conv.weight = nn.Parameter(_tensor(weight))
        if "bias" in w:
            self.conv.bias = nn.Parameter(_tensor(w["bias"]))
        self.same = cfg.get("padding", "valid") == "same"
        self.act = _activation(cfg.get("activation", "linear"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = F.pad(x, tf_same_padding(tuple(x.shape[-2:]), self.conv.kernel_size,
                                       self.conv.stride, self.conv.dilation))
        return self.act(self.conv(x))


class _BatchNorm(nn.BatchNorm2d):
    """Keras ``BatchNormalization`` over channels; no ``gamma`` (``scale=False``) means 1."""

    def __init__(self, cfg: dict[str, Any], w: dict[str, np.ndarray]) -> None:
        mean = w["moving_mean"]
        super().__init__(mean.shape[0], eps=float(cfg.get("epsilon", 1e-3)))
        with torch.no_grad():
            self.running_mean.copy_(_tensor(mean))
            self.running_var.copy_(_tensor(w["moving_variance"]))
            self.weight.copy_(_tensor(w.get("gamma", np.ones_like(mean))))
            self.bias.copy_(_tensor(w.get("beta", np.zeros_like(mean))))
        # Keras' scale=False / center=False: the parameter does not exist, so it never trains.
        self.weight.requires_grad_("gamma" in w)
        self.bias.requires_grad_("beta" in w)


class _Pool(nn.Module):
    """Keras ``MaxPooling2D`` / ``AveragePooling2D`` with TensorFlow's ``"same"`` semantics."""

    def __init__(self, cfg: dict[str, Any], kind: str) -> None:
        super().__init__()
        self.kernel = _pair(cfg["pool_size"])
        self.stride = _pair(cfg.get("strides") or cfg["pool_size"])
        self.same, self.kind = cfg.get("padding", "valid") == "same", kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = tf_same_padding(tuple(x.shape[-2:]), self.kernel, self.stride) if self.same else []
        if self.kind == "max":
            x = F.pad(x, pads, value=-math.inf) if any(pads) else x
            return F.max_pool2d(x, self.kernel, self.stride)
        if not any(pads):
            return F.avg_pool2d(x, self.kernel, self.stride)
        # TensorFlow divides by the number of pixels inside the image, not the window size.
        ones = torch.ones((1, 1, *x.shape[-2:]), dtype=x.dtype, device=x.device)
        total = F.avg_pool2d(F.pad(x, pads), self.kernel, self.stride)
        return total / F.avg_pool2d(F.pad(ones, pads), self.kernel, self.stride)


class _Dense(nn.Linear):
    """Keras ``Dense``: kernel (in, out)."""

    def __init__(self, cfg: dict[str, Any], w: dict[str, np.ndarray]) -> None:
        super().__init__(*w["kernel"].shape, bias="bias" in w)
        self.weight = nn.Parameter(_tensor(w["kernel"].T))
        if "bias" in w:
            self.bias = nn.Parameter(_tensor(w["bias"]))
        self.act = _activation(cfg.get("activation", "linear"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(super().forward(x))


class _Op(nn.Module):
    """A weightless layer: ``fn(*inputs)``."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.fn(*inputs)


def _relu(cfg: dict[str, Any]) -> Any:
    """Keras ``ReLU(max_value, negative_slope, threshold)``; ``threshold`` must be 0."""
    if float(cfg.get("threshold") or 0.0) != 0.0:
        raise ValueError("Keras ReLU with a non-zero threshold is not supported")
    cap, slope = cfg.get("max_value"), float(cfg.get("negative_slope") or 0.0)

    def relu(x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(x, slope) if slope else F.relu(x)
        return x.clamp(max=float(cap)) if cap is not None else x

    return relu


def _zero_pad(cfg: dict[str, Any]) -> Any:
    (top, bottom), (left, right) = (_pair(p) for p in cfg["padding"])
    return lambda x: F.pad(x, [left, right, top, bottom])


def _concat(cfg: dict[str, Any]) -> Any:
    if int(cfg.get("axis", -1)) not in (-1, 3):
        raise ValueError("only channel-axis Concatenate is supported")
    return lambda *xs: torch.cat(xs, dim=1)


def _flatten(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).flatten(1)  # Keras flattens channels-last (H, W, C)


def _add(*xs: torch.Tensor) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


# Weightless Keras layers: class name -> (config -> the function the layer applies).
_WEIGHTLESS = {
    "Activation": lambda cfg: _activation(cfg["activation"]),
    "ReLU": _relu,
    "ZeroPadding2D": _zero_pad,
    "Concatenate": _concat,
    "Add": lambda cfg: _add,
    "Flatten": lambda cfg: _flatten,
}


def _layer(kind: str, cfg: dict[str, Any], w: dict[str, np.ndarray]) -> nn.Module:
    """The torch module of one Keras layer (``w``: its weights by variable name)."""
    if kind in ("Conv2D", "DepthwiseConv2D"):
        return _Conv(cfg, w, depthwise=kind == "DepthwiseConv2D")
    if kind == "BatchNormalization":
        if int(cfg.get("axis", -1)) not in (-1, 3):
            raise ValueError("only channel-axis BatchNormalization is supported")
        return _BatchNorm(cfg, w)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return _Pool(cfg, "max" if kind == "MaxPooling2D" else "avg")
    if kind == "Dense":
        return _Dense(cfg, w)
    if kind == "Dropout":
        return nn.Dropout(float(cfg.get("rate", 0.0)))
    if kind not in _WEIGHTLESS:
        raise ValueError(f"unsupported Keras layer {kind!r}")
    return _Op(_WEIGHTLESS[kind](cfg))


class KerasGraph(nn.Module):
    """A Keras functional model (its config's layer list) executed in torch.

    Parameters
    ----------
    layers : list of dict
        Keras ``Model`` config layers, in the config's (topological) order.
    weights : dict
        ``"layer/variable"`` -> array in Keras layout (:func:`read_layers_model`).
    output : str, optional
        Name of the layer whose output ``forward`` returns (default: the last).
    pool : bool
        Average the output over its spatial axes (features of a conv layer).

    ``forward`` takes NCHW float images, preprocessed as the model expects.
    """

    def __init__(self, layers: list[dict[str, Any]], weights: dict[str, np.ndarray],
                 output: str | None = None, *, pool: bool = False) -> None:
        super().__init__()
        output = output or layers[-1]["name"]
        names = [layer["name"] for layer in layers]
        if output not in names:
            raise ValueError(f"no layer called {output!r} in the graph")
        by_layer: dict[str, dict[str, np.ndarray]] = {}
        for key, value in weights.items():  # "layer/variable", grouped once
            layer_name, _, variable = key.partition("/")
            by_layer.setdefault(layer_name, {})[variable] = value
        modules: dict[str, nn.Module] = {}
        wiring: list[tuple[str, list[str]]] = []
        input_name = ""
        for layer in layers[: names.index(output) + 1]:
            name, kind = layer["name"], layer["class_name"]
            if kind == "InputLayer":
                input_name = name
                continue
            modules[name] = _layer(kind, layer["config"], by_layer.get(name, {}))
            inbound = layer["inbound_nodes"]
            if len(inbound) != 1:
                raise ValueError(f"layer {name!r} is shared ({len(inbound)} calls): not supported")
            wiring.append((name, [node[0] for node in inbound[0]]))
        self._assemble(modules, wiring, input_name, output, pool)

    def _assemble(self, modules: dict[str, nn.Module], wiring: list[tuple[str, list[str]]],
                  input_name: str, output: str, pool: bool) -> None:
        """Set the graph's state: its layers, their wiring, where it starts and ends."""
        self.layers = nn.ModuleDict(modules)
        self.wiring, self.input_name, self.output, self.pool = wiring, input_name, output, pool
        self._last_use = {src: i for i, (_, srcs) in enumerate(wiring) for src in srcs}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_name: x}
        for i, (name, sources) in enumerate(self.wiring):
            values[name] = self.layers[name](*(values[s] for s in sources))
            for s in sources:  # free what no later layer reads
                if self._last_use[s] == i:
                    values.pop(s)
        out = values[self.output]
        return out.mean(dim=(2, 3)) if self.pool else out

    def split(self, cut: str) -> tuple[KerasGraph, KerasGraph]:
        """(bottom, top): the graph up to layer ``cut``, and from its output on.

        The two share this graph's layer modules (nothing is copied). ``cut`` must
        be a layer whose output is the only tensor that crosses it (a block
        boundary, e.g. MobileNetV2's ``block_13_project_BN``), else ``ValueError``.
        """
        names = [name for name, _ in self.wiring]
        if cut not in names:
            raise ValueError(f"no layer called {cut!r} before the output {self.output!r}")
        at = names.index(cut) + 1
        above = {cut, *names[at:]}
        crossing = {s for _, srcs in self.wiring[at:] for s in srcs} - above
        if crossing:
            raise ValueError(f"cannot cut at {cut!r}: layers above it also read {sorted(crossing)}")
        return (self._part(self.wiring[:at], self.input_name, cut, pool=False),
                self._part(self.wiring[at:], cut, self.output, pool=self.pool))

    def _part(self, wiring: list[tuple[str, list[str]]], input_name: str, output: str,
              *, pool: bool) -> KerasGraph:
        """A graph over some of this graph's layers (shared modules)."""
        part = KerasGraph.__new__(KerasGraph)
        nn.Module.__init__(part)
        part._assemble({name: self.layers[name] for name, _ in wiring}, wiring, input_name,
                       output, pool)
        return part
