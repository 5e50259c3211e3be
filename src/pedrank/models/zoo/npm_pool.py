"""Vision models of the evidence pool that ship inside npm packages: nsfwjs.

``nsfwjs`` 4.3.0 (npm, MIT; Infinite Red's NSFW classifiers) bundles two Keras
2.2.4 models converted to TensorFlow.js, uint8-quantised: an ImageNet
MobileNetV2 (width 1.0, 224 px) and an ImageNet InceptionV3 (299 px), each
with its later blocks fine-tuned (MobileNetV2 from ``block_11``, InceptionV3
from inside block ``mixed6`` on: the config's ``trainable`` flags) under a head
AveragePooling -> Dense 256 -> Dense 128 -> Dense 5 (Drawing, Hentai, Neutral,
Porn, Sexy). The zoo reads the bundles with :mod:`pedrank.models.zoo._tfjs` and
runs the Keras graph in torch; neither TensorFlow nor Node.js is needed once the
package is installed (``pedrank zoo install nsfwjs-mobilenetv2`` runs
``npm install --prefix <data>/npm nsfwjs@4.3.0``; ``<data>`` as in
:func:`pedrank._fs.data_dir`).

* ``nsfwjs-mobilenetv2`` — features: the 1280-d global-average-pooled
  ``out_relu`` map (the backbone's output, the input of the NSFW head). The
  graph runs at any size (the zoo pools globally where the package's head pools
  7 x 7), so the evidence grid runs it at 64 px like the other MobileNetV2s.
* ``nsfwjs-inceptionv3`` — features: the 2048-d global-average-pooled
  ``mixed10`` block. Native size 299 px; InceptionV3's stem needs at least
  75 px (``min_input_size``), so a smaller requested size runs at 75 px (the
  evidence grid's 64 px: 0.16 s per image at 299 px on one core would make its
  pools of 2,000-3,800 images take 5-10 minutes each).

Preprocessing as the package (``NSFWJS.infer``): RGB ``x / 255``, no mean
subtraction; the package resizes with ``tf.image.resizeBilinear(...,
alignCorners=true)``, the zoo with its common antialiased bilinear (as every
entry). ``tests/zoo/test_nsfwjs.py`` checks both graphs against the package's
own outputs (probabilities and pooled features, computed with nsfwjs 4.3.0 and
@tensorflow/tfjs 4.22.0 in Node.js) on three scikit-image photos.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

from pedrank._fs import npm_package_dir
from pedrank.models.extract import ImagePreprocessing
from pedrank.models.zoo._common import register_all, wheel_entry

__all__ = ["NSFWJS", "NSFWJS_CLASSES", "NsfwjsGraph"]

#: The npm package (and the version whose weights the tests pin).
NSFWJS = "nsfwjs@4.3.0"

#: Output classes of the nsfwjs heads, in output order.
NSFWJS_CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")


@dataclass(frozen=True)
class NsfwjsGraph:
    """Loader of one nsfwjs model: a :class:`~pedrank.models.zoo._tfjs.KerasGraph`.

    Attributes
    ----------
    folder : str
        The model's folder under ``nsfwjs/dist/models``.
    features : str
        The Keras layer whose spatially averaged output is the feature vector.
    """

    folder: str
    features: str

    def __call__(self, classifier: bool = False) -> Any:
        """The feature model (``classifier=True``: the whole graph, 5 class probabilities)."""
        from pedrank.models.zoo._tfjs import KerasGraph, read_layers_model

        package = npm_package_dir(NSFWJS)
        _check_version(package)
        layers, weights = read_layers_model(package / "dist" / "models" / self.folder)
        if classifier:
            return KerasGraph(layers, weights).eval()
        return KerasGraph(layers, weights, self.features, pool=True).eval()


def _mobilenetv2_split(net: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable): the last ``n_blocks`` inverted residuals + 1x1 conv + pooling.

    Keras names MobileNetV2's 17 inverted residuals ``expanded_conv``, ``block_1`` ..
    ``block_16``; the cut is the output of block ``16 - n_blocks`` (its ``add`` where
    the block has a skip connection).
    """
    if not 0 < int(n_blocks) < 16:
        raise ValueError(f"n_blocks must be in 1..15; got {n_blocks}")
    block = f"block_{16 - int(n_blocks)}"
    names = {name for name, _ in net.wiring}
    return net.split(f"{block}_add" if f"{block}_add" in names else f"{block}_project_BN")


def _inceptionv3_split(net: Any, n_blocks: int) -> tuple[Any, Any]:
    """(frozen, trainable): the last ``n_blocks`` of InceptionV3's 11 ``mixed`` blocks train.

    Keras names the blocks' outputs ``mixed0`` .. ``mixed10``; the cut is the output of
    ``mixed{10 - n_blocks}``.
    """
    if not 0 < int(n_blocks) < 11:
        raise ValueError(f"n_blocks must be in 1..10; got {n_blocks}")
    return net.split(f"mixed{10 - int(n_blocks)}")


def _check_version(package: Any) -> None:
    """Warn when the installed nsfwjs is not the version the zoo was checked against."""
    try:
        version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError) as exc:
        raise FileNotFoundError(f"{package}: not an installed npm package ({exc})") from exc
    wanted = NSFWJS.rsplit("@", 1)[1]
    if version != wanted:
        warnings.warn(
            f"nsfwjs {version} is installed; the zoo entry was checked against {wanted} "
            "(its features may differ)", RuntimeWarning, stacklevel=3)


def _install_hint(name: str) -> str:
    return (f'pedrank zoo install {name}  (or: npm install --prefix '
            f'"${{PEDRANK_DATA:-$HOME/.local/share/pedrank}}/npm" {NSFWJS})')


_UNIT = ImagePreprocessing(224, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # x / 255, as NSFWJS.infer

register_all([
    wheel_entry(
        "nsfwjs-mobilenetv2", "nsfwjs", (), NsfwjsGraph("mobilenet_v2", "out_relu"), 1280,
        _UNIT, "MobileNetV2 (ImageNet) fine-tuned for NSFW classes (nsfwjs), tfjs run in torch",
        "MIT", format="tfjs", install=_install_hint("nsfwjs-mobilenetv2"),
        pip=(), npm=(NSFWJS,), finetune_split=_mobilenetv2_split),
    wheel_entry(
        "nsfwjs-inceptionv3", "nsfwjs", (), NsfwjsGraph("inception_v3", "mixed10"), 2048,
        _UNIT.with_size(299),
        "InceptionV3 (ImageNet) fine-tuned for NSFW classes (nsfwjs), tfjs run in torch",
        "MIT", format="tfjs", install=_install_hint("nsfwjs-inceptionv3"),
        pip=(), npm=(NSFWJS,), min_input_size=75, finetune_split=_inceptionv3_split),
])
