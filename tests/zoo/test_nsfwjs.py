"""nsfwjs (npm) zoo entries and the tfjs layers-model reader behind them.

The reader and the Keras-graph executor are tested on small bundles built here
(every layer type against a plain numpy computation); the two real models
against the package's own outputs (``tests/zoo/data/nsfwjs_reference.npz``,
computed by nsfwjs 4.3.0 on @tensorflow/tfjs 4.22.0 with
``scripts/nsfwjs_reference.js``). Those skip when the npm package is not in
the data folder (``pedrank zoo install nsfwjs-mobilenetv2``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pedrank._fs import npm_package_dir  # noqa: E402
from pedrank.cli.zoo_cmd import install_commands  # noqa: E402
from pedrank.models.zoo import MissingDependencyError, get_entry  # noqa: E402
from pedrank.models.zoo._tfjs import KerasGraph, read_js_literal, read_layers_model  # noqa: E402
from pedrank.models.zoo.npm_pool import NSFWJS, NSFWJS_CLASSES  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "nsfwjs_reference.npz"


# --------------------------------------------------------------------------- JS literals


def test_js_literal_minifier_spellings() -> None:
    text = 'a.exports={k:!0,f:!1,n:null,x:[.5,-.25,2.,1e-3,-7],"q":"a}b\\"c",e:{}};'
    assert read_js_literal(text, text.index("{")) == {
        "k": True, "f": False, "n": None, "x": [0.5, -0.25, 2.0, 1e-3, -7], "q": 'a}b"c', "e": {},
    }


def test_js_literal_stops_at_its_closing_brace() -> None:
    assert read_js_literal("[1,[2,{a:3}]],{junk", 0) == [1, [2, {"a": 3}]]


@pytest.mark.parametrize("text", ["x={a:function(){}}", "x={a:'single'}", "nothing"])
def test_js_literal_rejects_code(text: str) -> None:
    with pytest.raises(ValueError):
        read_js_literal(text, text.find("{") if "{" in text else 0)


# --------------------------------------------------------------------------- bundles


def _js_value(value: object) -> str:
    """JSON written the way the minifier writes it (unquoted keys, !0/!1)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_js_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_js_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "!0" if value else "!1"
    return json.dumps(value)


def _bundle(body: str) -> str:
    return ('!function(e){module.exports=e()}(function(){return function e(a,n,i){}({1:[function'
            f'(e,a,n){{a.exports={body}}},{{}}]}},{{}},[1])(1)}});')


def _write_model(folder: Path, layers: list[dict], weights: dict[str, np.ndarray],
                 quantise: bool, n_shards: int = 2) -> dict[str, np.ndarray]:
    """A tfjs bundle folder; returns the weights as tfjs will dequantise them."""
    specs, chunks, expected = [], [], {}
    for name, w in weights.items():
        spec = {"name": name, "shape": list(w.shape), "dtype": "float32"}
        if quantise:
            lo, scale = float(w.min()), float(np.ptp(w) / 255 or 1.0)
            q = np.rint((w - lo) / scale).clip(0, 255).astype(np.uint8)
            spec["quantization"] = {"min": lo, "scale": scale, "dtype": "uint8"}
            expected[name] = q.astype(np.float32) * np.float32(scale) + np.float32(lo)
            chunks.append(q.tobytes())
        else:
            expected[name] = w.astype(np.float32)
            chunks.append(w.astype("<f4").tobytes())
        specs.append(spec)
    data = b"".join(chunks)
    cut = len(data) // n_shards
    parts = [data[:cut], data[cut:]] if n_shards == 2 else [data]
    paths = [f"group1-shard{i + 1}of{len(parts)}" for i in range(len(parts))]
    for path, part in zip(paths, parts, strict=True):
        (folder / f"{path}.min.js").write_text(_bundle(json.dumps(base64.b64encode(part).decode())))
    artifacts = {"modelTopology": {"model_config": {"class_name": "Model", "config": {
        "layers": layers}}}, "weightsManifest": [{"paths": paths, "weights": specs}]}
    (folder / "model.min.js").write_text(_bundle(_js_value(artifacts)))
    return expected


def _layer(name: str, kind: str, inputs: list[str], **config: object) -> dict:
    return {"name": name, "class_name": kind, "config": {"name": name, **config},
            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]] if inputs else []}


@pytest.mark.parametrize("quantise", [False, True])
def test_reader_dequantises_across_shards(tmp_path: Path, quantise: bool) -> None:
    rng = np.random.default_rng(0)
    weights = {"d/kernel": rng.normal(size=(4, 3)), "d/bias": rng.normal(size=3)}
    layers = [_layer("in", "InputLayer", []), _layer("d", "Dense", ["in"], activation="linear")]
    expected = _write_model(tmp_path, layers, weights, quantise)
    got_layers, got = read_layers_model(tmp_path)
    assert [layer["name"] for layer in got_layers] == ["in", "d"]
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    if quantise:  # uint8 with per-tensor min/scale: within half a step of the float values
        for name, w in weights.items():
            assert np.abs(got[name] - w).max() <= np.ptp(w) / 255 * 0.5 + 1e-6


def test_reader_refuses_a_manifest_that_does_not_add_up(tmp_path: Path) -> None:
    layers = [_layer("in", "InputLayer", []), _layer("d", "Dense", ["in"])]
    _write_model(tmp_path, layers, {"d/kernel": np.ones((2, 2))}, quantise=False, n_shards=1)
    shard = tmp_path / "group1-shard1of1.min.js"
    shard.write_text(_bundle(json.dumps(base64.b64encode(b"\0" * 20).decode())))
    with pytest.raises(ValueError, match="accounts for 16 of 20 bytes"):
        read_layers_model(tmp_path)


# --------------------------------------------------------------------------- executor


def _run(layers: list[dict], weights: dict[str, np.ndarray], x: np.ndarray, **kw) -> np.ndarray:
    """Run the graph on NHWC ``x``; returns NHWC (or flat) output as numpy."""
    graph = KerasGraph(layers, {k: v.astype(np.float32) for k, v in weights.items()}, **kw).eval()
    with torch.no_grad():
        out = graph(torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32))).numpy()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


def _conv_nhwc(x: np.ndarray, kernel: np.ndarray, stride: int, pads: tuple[int, ...]) -> np.ndarray:
    """Plain numpy cross-correlation (Keras Conv2D), zero pads (top, bottom, left, right)."""
    top, bottom, left, right = pads
    x = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])
    kh, kw = kernel.shape[:2]
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i : i + stride * oh : stride, j : j + stride * ow : stride, :]
            out += patch @ kernel[i, j]
    return out


def test_conv_same_padding_puts_the_odd_pixel_bottom_right() -> None:
    rng = np.random.default_rng(1)
    x, kernel = rng.normal(size=(2, 6, 7, 3)), rng.normal(size=(3, 3, 3, 4))
    layers = [_layer("in", "InputLayer", []),
              _layer("c", "Conv2D", ["in"], strides=[2, 2], padding="same", activation="relu")]
    got = _run(layers, {"c/kernel": kernel}, x)
    # TensorFlow: out 3 x 4; height total pad 1 -> (0, 1); width total pad 2 -> (1, 1)
    want = np.maximum(_conv_nhwc(x, kernel, 2, (0, 1, 1, 1)), 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_depthwise_conv_and_zero_padding() -> None:
    rng = np.random.default_rng(2)
    x, kernel = rng.normal(size=(1, 5, 5, 3)), rng.normal(size=(3, 3, 3, 1))
    layers = [_layer("in", "InputLayer", []),
              _layer("p", "ZeroPadding2D", ["in"], padding=[[0, 1], [0, 1]]),
              _layer("d", "DepthwiseConv2D", ["p"], strides=[2, 2], padding="valid")]
    got = _run(layers, {"d/depthwise_kernel": kernel}, x)
    per_channel = [_conv_nhwc(x[..., c : c + 1], kernel[..., c : c + 1, :], 2, (0, 1, 0, 1))
                   for c in range(3)]
    want = np.concatenate(per_channel, axis=-1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_same_average_pool_divides_by_pixels_inside() -> None:
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    layers = [_layer("in", "InputLayer", []),
              _layer("a", "AveragePooling2D", ["in"], pool_size=[3, 3], strides=[1, 1],
                     padding="same")]
    got = _run(layers, {}, x)[0, :, :, 0]
    img = x[0, :, :, 0]
    want = np.array([[img[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].mean() for j in range(4)]
                     for i in range(4)])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_batchnorm_without_scale_relu6_concat_add_and_head() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 4, 2)) * 5
    beta, mean, var = rng.normal(size=2), rng.normal(size=2), rng.uniform(0.5, 2, size=2)
    kernel, bias = rng.normal(size=(2 * 4 * 4 * 2, 3)), rng.normal(size=3)
    layers = [
        _layer("in", "InputLayer", []),
        _layer("bn", "BatchNormalization", ["in"], axis=3, epsilon=1e-3, scale=False),
        _layer("r", "ReLU", ["bn"], max_value=6, negative_slope=0, threshold=0),
        _layer("s", "Add", ["r", "in"]),
        _layer("cat", "Concatenate", ["s", "in"], axis=-1),
        _layer("mp", "MaxPooling2D", ["cat"], pool_size=[2, 2], strides=[1, 1], padding="valid"),
        _layer("z", "ZeroPadding2D", ["cat"], padding=[[0, 0], [0, 0]]),
        _layer("f", "Flatten", ["z"]),
        _layer("drop", "Dropout", ["f"], rate=0.5),
        _layer("out", "Dense", ["drop"], activation="softmax"),
    ]
    weights = {"bn/beta": beta, "bn/moving_mean": mean, "bn/moving_variance": var,
               "out/kernel": kernel, "out/bias": bias}
    bn = (x - mean) / np.sqrt(var + 1e-3) + beta  # no gamma: Keras scale=False
    cat = np.concatenate([np.clip(bn, 0, 6) + x, x], axis=-1)
    logits = cat.reshape(2, -1) @ kernel + bias  # Keras flattens (H, W, C)
    want = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(_run(layers, weights, x), want / want.sum(1, keepdims=True),
                               rtol=1e-4, atol=1e-6)
    pooled = _run(layers, weights, x, output="cat", pool=True)
    np.testing.assert_allclose(pooled, cat.mean(axis=(1, 2)), rtol=1e-5, atol=1e-5)
    maxed = _run(layers, weights, x, output="mp")
    want_max = np.max([cat[:, i : i + 3, j : j + 3] for i in range(2) for j in range(2)], axis=0)
    np.testing.assert_allclose(maxed, want_max, rtol=1e-5, atol=1e-5)


def test_unsupported_layers_are_named() -> None:
    layers = [_layer("in", "InputLayer", []), _layer("lstm", "LSTM", ["in"])]
    with pytest.raises(ValueError, match="unsupported Keras layer 'LSTM'"):
        KerasGraph(layers, {})
    with pytest.raises(ValueError, match="no layer called 'nope'"):
        KerasGraph(layers[:1], {}, "nope")


# --------------------------------------------------------------------------- zoo entries


def test_entries_need_the_npm_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PEDRANK_DATA", str(tmp_path))
    entry = get_entry("nsfwjs-mobilenetv2")
    assert entry.missing() == [f"npm:{NSFWJS}"]
    with pytest.raises(MissingDependencyError, match="pedrank zoo install nsfwjs-mobilenetv2"):
        entry.load()
    assert install_commands("nsfwjs-inceptionv3") == [
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(tmp_path / "npm"), NSFWJS]]
    (npm_package_dir(NSFWJS)).mkdir(parents=True)
    (npm_package_dir(NSFWJS) / "package.json").write_text('{"version": "4.3.0"}')
    assert entry.missing() == []


def test_npm_package_dir_strips_versions(tmp_path: Path) -> None:
    assert npm_package_dir("nsfwjs@4.3.0", tmp_path) == tmp_path / "node_modules" / "nsfwjs"
    assert npm_package_dir("@scope/pkg@1", tmp_path) == tmp_path / "node_modules" / "@scope/pkg"
    assert npm_package_dir("@scope/pkg", tmp_path) == tmp_path / "node_modules" / "@scope/pkg"


def _photos(size: int) -> np.ndarray:
    """The photos of the reference: centre crops of exactly ``size`` px (no resizing)."""
    skimage_data = pytest.importorskip("skimage.data")
    out = []
    for name in ("astronaut", "chelsea", "coffee"):
        im = getattr(skimage_data, name)()[..., :3]
        top, left = (im.shape[0] - size) // 2, (im.shape[1] - size) // 2
        out.append(im[top : top + size, left : left + size])
    return np.stack(out)


@pytest.mark.parametrize(("name", "key", "size", "dim"), [
    ("nsfwjs-mobilenetv2", "mobilenetv2", 224, 1280),
    ("nsfwjs-inceptionv3", "inceptionv3", 299, 2048),
])
def test_matches_the_package_output(name: str, key: str, size: int, dim: int) -> None:
    entry = get_entry(name)
    if not entry.is_available():
        pytest.skip(f"{name} needs {', '.join(entry.missing())}: {entry.install}")
    ref = np.load(REFERENCE)
    pre = entry.preprocessing.with_size(size)
    x = torch.as_tensor(pre(_photos(size)))  # already at the model size: x / 255 only
    with torch.no_grad():
        features = entry.load()(x).numpy()
        probs = entry.loader(classifier=True)(x).numpy()
    assert features.shape == (3, dim) == (3, entry.feature_dim)
    # the package's float32 tfjs arithmetic vs torch's: same weights, same graph
    np.testing.assert_allclose(probs, ref[f"{key}_probs"], atol=1e-4)
    np.testing.assert_allclose(features, ref[f"{key}_features"], rtol=1e-3,
                               atol=1e-3 * np.abs(ref[f"{key}_features"]).max())
    # all three everyday photos are "Neutral", as the package says
    assert [NSFWJS_CLASSES[i] for i in probs.argmax(1)] == ["Neutral"] * 3


def test_split_at_a_block_boundary_composes() -> None:
    rng = np.random.default_rng(4)
    layers = [_layer("in", "InputLayer", []),
              _layer("c1", "Conv2D", ["in"], strides=[1, 1], padding="same"),
              _layer("r1", "ReLU", ["c1"]),
              _layer("c2", "Conv2D", ["r1"], strides=[1, 1], padding="same"),
              _layer("s", "Add", ["c2", "r1"])]
    weights = {"c1/kernel": rng.normal(size=(3, 3, 2, 4)).astype(np.float32),
               "c2/kernel": rng.normal(size=(3, 3, 4, 4)).astype(np.float32)}
    graph = KerasGraph(layers, weights, pool=True).eval()
    bottom, top = graph.split("r1")
    x = torch.rand(2, 2, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(top(bottom(x)), graph(x))
    assert {id(p) for p in top.parameters()} == {id(p) for p in graph.layers["c2"].parameters()}
    with pytest.raises(ValueError, match="layers above it also read"):
        graph.split("c2")  # the skip connection (Add) reads r1 from below the cut


@pytest.mark.parametrize(("name", "cut", "output", "too_many"), [
    ("nsfwjs-mobilenetv2", "block_13_project_BN", "out_relu", 16),
    ("nsfwjs-inceptionv3", "mixed7", "mixed10", 11),
])
def test_finetune_split_composes_at_the_grid_size(name: str, cut: str, output: str,
                                                  too_many: int) -> None:
    """The last 3 blocks train; at the evidence grid's 64 px (InceptionV3: its stem's 75)."""
    entry = get_entry(name)
    if not entry.is_available():
        pytest.skip(f"needs {', '.join(entry.missing())}: {entry.install}")
    net = entry.load()
    frozen, top = entry.extra["finetune_split"](net, 3)
    assert (top.input_name, top.output) == (cut, output)
    size = entry.input_size(64)
    x = torch.as_tensor(entry.preprocessing.with_size(size)(_photos(299)))
    with torch.no_grad():
        torch.testing.assert_close(top(frozen(x)), net(x))
    with pytest.raises(ValueError, match="n_blocks"):
        entry.extra["finetune_split"](net, too_many)
