"""ONNX graphs (``PATH.onnx``) run with onnxruntime.

Which output holds the features: ``layer=NAME`` names a graph output;
otherwise the first output of rank 2 (a pooled ``(batch, features)`` output),
else the first of rank 4 (NCHW maps, global-average-pooled) or rank 3 (tokens,
averaged) -- the output rule of :mod:`pedrank.models.loaders._pooling`. The
input side comes from the graph when it is fixed, else from ``image_size``
(default 224); NHWC graphs (TensorFlow exports: a fixed 3 last) get transposed batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.models.extract import ImagePreprocessing, OnnxModel
from pedrank.models.loaders._common import ModelSpec, fail, file_digest, missing_file

__all__ = ["GraphInfo", "graph_info", "resolve"]

DEFAULT_SIZE = 224
_FLOAT = 1  # onnx.TensorProto.FLOAT


@dataclass(frozen=True)
class GraphInfo:
    """Input and output signature of a graph (dims are ``None`` when symbolic)."""

    input_name: str
    input_dims: tuple[int | None, ...]
    input_is_float: bool
    outputs: tuple[tuple[str, int | None], ...]  # (name, rank or None when unknown)


def _dims(value_info) -> tuple[int | None, ...] | None:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)


def graph_info(path: Path) -> GraphInfo:
    """The signature, read with ``onnx`` when installed, else from an onnxruntime session."""
    try:
        import onnx
    except ModuleNotFoundError:
        return _graph_info_ort(path)
    model = onnx.load(str(path), load_external_data=False)
    g = model.graph
    weights = {i.name for i in g.initializer}  # old exporters list weights as inputs too
    inputs = [i for i in g.input if i.name not in weights]
    if not inputs:
        raise ValueError("the graph has no input")
    dims = _dims(inputs[0]) or ()
    outs = tuple((o.name, None if _dims(o) is None else len(_dims(o))) for o in g.output)
    is_float = inputs[0].type.tensor_type.elem_type == _FLOAT
    return GraphInfo(inputs[0].name, dims, is_float, outs)


def _graph_info_ort(path: Path) -> GraphInfo:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    i = sess.get_inputs()[0]
    dims = tuple(d if isinstance(d, int) else None for d in (i.shape or ()))
    outs = tuple((o.name, None if o.shape is None else len(o.shape)) for o in sess.get_outputs())
    return GraphInfo(i.name, dims, i.type == "tensor(float)", outs)


def choose_output(outputs: tuple[tuple[str, int | None], ...]) -> str:
    """The feature output: the first of rank 2, else of rank 4 or 3, else the first."""
    for wanted in ((2,), (4, 3)):
        for name, rank in outputs:
            if rank in wanted:
                return name
    return outputs[0][0]


def _input_layout(spec: str, info: GraphInfo, image_size: int | None) -> tuple[int, bool]:
    """(square input side, channels_last): the graph's fixed side, else ``image_size`` / 224.

    NCHW ``(batch, 3, H, W)`` is the PyTorch export layout; NHWC ``(batch, H, W, 3)``
    the TensorFlow one (tf2onnx), recognised by a fixed 3 in the last place only.
    """
    dims = info.input_dims
    channels_last = len(dims) == 4 and dims[3] == 3 and dims[1] != 3
    if len(dims) != 4 or not info.input_is_float or (dims[1] not in (3, None)
                                                     and not channels_last):
        raise fail(
            spec,
            f"input {info.input_name!r} has shape {list(dims)}; pedrank feeds float32 RGB "
            "images, (batch, 3, H, W) or (batch, H, W, 3)",
            "export the graph with such an input, or wrap it as python:MODULE:FUNC",
        )
    h, w = (dims[1], dims[2]) if channels_last else (dims[2], dims[3])
    if h is not None and w is not None:
        if h != w:
            raise fail(spec, f"the graph takes {h}x{w} images; only square inputs are supported")
        return int(h), channels_last
    return int(image_size or DEFAULT_SIZE), channels_last


class ChannelsLast:
    """An ONNX model taking NHWC images, fed the NCHW batches of :class:`ImagePreprocessing`."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.model(np.ascontiguousarray(np.asarray(batch).transpose(0, 2, 3, 1)))


def _load(path: Path, output: str, input_name: str, channels_last: bool) -> Any:
    model = OnnxModel(str(path), output_name=output, input_name=input_name)
    return ChannelsLast(model) if channels_last else model


def resolve(
    spec: str, path: Path, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec:
    """An ONNX vision model; the graph is read for its signature, no session is kept."""
    if not path.is_file():
        raise missing_file(spec, path)
    if kind == "text":
        raise fail(spec, "ONNX graphs are run as vision models",
                   "wrap a text graph with its tokenizer as python:MODULE:FUNC")
    try:
        info = graph_info(path)
    except Exception as exc:  # onnx raises DecodeError / ValidationError / its own types
        raise fail(spec, f"{path} is not a readable ONNX graph ({type(exc).__name__}: {exc})",
                   "re-export it with torch.onnx.export") from None
    names = [n for n, _ in info.outputs]
    if layer is not None and layer not in names:
        raise fail(spec, f"no graph output {layer!r}", f"choose one of {names}")
    output = layer or choose_output(info.outputs)
    size, channels_last = _input_layout(spec, info, image_size)
    return ModelSpec(
        spec=spec,
        name=path.stem,
        kind="vision",
        cache_id=f"onnx:{file_digest(path)}:{output}",
        preprocessing=ImagePreprocessing(size),
        image_size=size,
        description=f"ONNX file {path} (output {output!r}{', NHWC' if channels_last else ''})",
        loader=lambda: _load(path, output, info.input_name, channels_last),
    )
