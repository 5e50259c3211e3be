"""Feature extraction: preprocessing, model wrapping, on-disk cache, crash resume."""

from __future__ import annotations

import numpy as np
import pytest

from pedrank.datasets import from_arrays, from_folder
from pedrank.models.extract import (
    ImagePreprocessing,
    OnnxModel,
    extract,
    fingerprint,
    resize_images,
)

# --------------------------------------------------------------------------- resize


def test_resize_downscale_matches_hand_computed_triangle_filter():
    # 1-D ramp [0, 1, 2, 3] -> 2 samples. Scale 2, so the triangle kernel has support 2
    # around source coordinate 0.5: weights 0.75, 0.75, 0.25 on pixels 0, 1, 2
    # -> (0*.75 + 1*.75 + 2*.25) / 1.75 = 5/7; the other output is 3 - 5/7 by symmetry.
    img = np.tile(np.arange(4.0), (1, 1)).reshape(1, 1, 4, 1)
    out = resize_images(img, (1, 2))
    np.testing.assert_allclose(out.ravel(), [5 / 7, 3 - 5 / 7], rtol=1e-12)


def test_resize_upscale_is_linear_interpolation_with_edge_clamping():
    # [0, 1] -> 4: source coordinates -0.25, 0.25, 0.75, 1.25 (half-pixel convention);
    # outside [0, 1] the nearest pixel is used.
    img = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    out = resize_images(img, (1, 4))
    np.testing.assert_allclose(out.ravel(), [0.0, 0.25, 0.75, 1.0], atol=1e-12)


def test_resize_keeps_constants_and_is_identity_at_same_size():
    rng = np.random.default_rng(0)
    const = np.full((2, 7, 5, 3), 0.3)
    np.testing.assert_allclose(resize_images(const, 11), 0.3, atol=1e-12)
    x = rng.random((2, 6, 6, 1))
    np.testing.assert_array_equal(resize_images(x, 6), x)


# --------------------------------------------------------------------------- preprocessing


def test_preprocessing_grey_uint8_to_normalised_rgb_nchw():
    pre = ImagePreprocessing(8, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    batch = np.full((3, 5, 5), 255, dtype=np.uint8)
    out = pre(batch)
    assert out.shape == (3, 3, 8, 8) and out.dtype == np.float32
    # 255 -> 1.0, then (1 - mean) / std per channel.
    expected = [(1 - 0.5) / 0.5, (1 - 0.25) / 0.25, 1.0]
    np.testing.assert_allclose(out[:, :, 0, 0], np.tile(expected, (3, 1)), rtol=1e-6)
    np.testing.assert_allclose(out.std(axis=(2, 3)), 0.0, atol=1e-6)


def test_preprocessing_drops_alpha_and_handles_mixed_sizes():
    pre = ImagePreprocessing(4, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    rgba = np.zeros((1, 6, 6, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 7
    out = pre(rgba)
    np.testing.assert_allclose(out[0, 0], 1.0)
    np.testing.assert_allclose(out[0, 1:], 0.0)
    mixed = [np.zeros((5, 5), np.uint8), np.full((9, 3), 255, np.uint8)]
    out = pre(mixed)
    assert out.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(out[1], 1.0, atol=1e-6)


@pytest.mark.parametrize("shape, dtype", [((3, 8, 8), np.float64), ((2, 37, 23, 3), np.uint8),
                                          ((2, 9, 70, 4), np.uint8), ((1, 64, 64, 1), np.float32)])
def test_float32_preprocessing_equals_the_float64_reference(shape, dtype):
    # The fast path (float32 matrix products, folded normalisation) against the definition:
    # to [0, 1] in float64, resize_images, replicate grey, normalise, NCHW.
    rng = np.random.default_rng(1)
    batch = rng.random(shape)
    batch = (batch * 255).astype(np.uint8) if dtype == np.uint8 else batch.astype(dtype)
    pre = ImagePreprocessing(16)
    x = batch.astype(np.float64) / (255.0 if dtype == np.uint8 else 1.0)
    x = x[..., None] if x.ndim == 3 else x[..., :3]
    x = resize_images(x, 16)
    x = np.broadcast_to(x, (*x.shape[:3], 3))
    ref = ((x - np.asarray(pre.mean)) / np.asarray(pre.std)).transpose(0, 3, 1, 2)
    out = pre(batch)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=5e-6)


def test_preprocessing_rejects_bad_shapes():
    with pytest.raises(ValueError, match="images must be"):
        ImagePreprocessing(4)(np.zeros((2, 4, 4, 2)))
    assert ImagePreprocessing(4).key != ImagePreprocessing(5).key


# ---------------------------------------------------------------- extraction with callables


class CountingModel:
    """A deterministic feature map (random projection) that counts the samples it saw."""

    def __init__(self, d_in: int, d_out: int = 5, fail_after: int | None = None) -> None:
        self.W = np.random.default_rng(1).standard_normal((d_in, d_out))
        self.seen = 0
        self.calls = 0
        self.fail_after = fail_after

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated crash")
        self.calls += 1
        self.seen += len(batch)
        return np.asarray(batch).reshape(len(batch), -1) @ self.W


def _data(n: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    return from_arrays(rng.random((n, 4, 4)).astype(np.float32), rng.integers(0, 3, n))


def test_callable_extraction_shapes_and_order():
    ds = _data()
    model = CountingModel(16)
    fs = extract(model, ds, batch_size=7)
    assert fs.features.shape == (50, 5) and fs.cache_path is None
    expected = ds.inputs.reshape(50, -1) @ model.W
    np.testing.assert_allclose(fs.features, expected, rtol=1e-5)
    np.testing.assert_array_equal(fs.labels, ds.labels)


def test_cache_hit_does_not_call_the_model(tmp_path):
    ds = _data()
    first = extract(CountingModel(16), ds, cache_dir=tmp_path, model_key="proj", chunk_size=16)
    assert not first.from_cache and first.cache_path is not None
    again = CountingModel(16)
    second = extract(again, ds, cache_dir=tmp_path, model_key="proj", chunk_size=16)
    assert second.from_cache and again.seen == 0
    np.testing.assert_array_equal(first.features, second.features)
    # A different model key, dataset or preprocessing is a different cache entry.
    other = extract(CountingModel(16), ds, cache_dir=tmp_path, model_key="proj2")
    assert other.cache_path != first.cache_path
    pre = ImagePreprocessing(2, (0, 0, 0), (1, 1, 1))
    with_pre = extract(CountingModel(12), ds, preprocess=pre, cache_dir=tmp_path, model_key="proj")
    assert with_pre.cache_path != first.cache_path


def test_resume_after_crash_computes_only_missing_chunks(tmp_path):
    ds = _data(50)
    reference = extract(CountingModel(16), ds).features
    # Crash during the third batch of 10 (chunks of 10): chunks 0 and 1 are on disk.
    crashing = CountingModel(16, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        extract(crashing, ds, cache_dir=tmp_path, model_key="k", batch_size=10, chunk_size=10)
    chunk_files = sorted(p.name for p in tmp_path.rglob("chunk_*.npy"))
    assert chunk_files == ["chunk_000000.npy", "chunk_000001.npy"]
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file may survive a crash"
    resumed = CountingModel(16)
    fs = extract(resumed, ds, cache_dir=tmp_path, model_key="k", batch_size=10, chunk_size=10)
    assert resumed.seen == 30  # only the three missing chunks
    np.testing.assert_allclose(fs.features, reference, rtol=1e-6)
    # Once complete, the chunk files are folded into one features.npy.
    assert not list(tmp_path.rglob("chunk_*.npy"))
    assert fs.cache_path is not None and fs.cache_path.name == "features.npy"


def test_corrupt_cache_file_is_recomputed(tmp_path):
    ds = _data(20)
    fs = extract(CountingModel(16), ds, cache_dir=tmp_path, model_key="k")
    fs.cache_path.write_bytes(b"not a numpy file")
    model = CountingModel(16)
    again = extract(model, ds, cache_dir=tmp_path, model_key="k")
    assert model.seen == 20
    np.testing.assert_array_equal(again.features, fs.features)


def test_plain_callable_without_key_is_not_cached(tmp_path):
    fs = extract(CountingModel(16), _data(10), cache_dir=tmp_path)
    assert fs.cache_path is None and not list(tmp_path.rglob("*.npy"))


def test_extraction_errors():
    ds = _data(10)
    with pytest.raises(ValueError, match="different lengths"):
        extract(CountingModel(16), (ds.inputs, ds.labels[:5]))
    with pytest.raises(ValueError, match="NaN"):
        extract(lambda b: np.full((len(b), 2), np.nan), ds)
    with pytest.raises(ValueError, match="feature rows"):
        extract(lambda b: np.zeros((1, 2)), ds, batch_size=5)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        extract(42, ds)


def test_fingerprint_depends_on_inputs_and_labels():
    x = np.zeros((3, 2, 2))
    assert fingerprint(x, [0, 1, 2]) != fingerprint(x, [0, 1, 1])
    assert fingerprint(x, [0, 1, 2]) != fingerprint(x + 1, [0, 1, 2])
    assert fingerprint(["a", "b"], [0, 1]) != fingerprint(["a", "c"], [0, 1])


class _FakeSession:
    """The slice of onnxruntime.InferenceSession that OnnxModel uses."""

    class _Node:
        def __init__(self, name: str) -> None:
            self.name = name

    def get_outputs(self):
        return [self._Node("logits"), self._Node("features")]

    def get_inputs(self):
        return [self._Node("pixels")]

    def run(self, names, feeds):
        x = feeds["pixels"].reshape(len(feeds["pixels"]), -1)
        outs = {"logits": x[:, :1], "features": x * 2}
        return [outs[n] for n in names]


def test_onnx_output_name_is_configurable():
    ds = _data(6)
    feats = extract(OnnxModel(_FakeSession(), output_name="features"), ds).features
    np.testing.assert_allclose(feats, ds.inputs.reshape(6, -1) * 2, rtol=1e-6)
    assert extract(OnnxModel(_FakeSession()), ds).features.shape == (6, 1)
    with pytest.raises(ValueError, match="not found"):
        OnnxModel(_FakeSession(), output_name="nope")


# -------------------------------------------------------------- torch module + image folder


@pytest.fixture()
def image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for c, base in (("bright", 200), ("dark", 30)):
        (root / c).mkdir(parents=True)
        for i, size in enumerate([(12, 12), (16, 10), (9, 14)]):
            arr = np.clip(base + rng.integers(-20, 20, size + (3,)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / c / f"{i}.png")
    return root


def test_torch_module_on_image_folder(tmp_path, image_folder):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    ds = from_folder(image_folder)
    assert len(ds) == 6 and set(ds.labels) == {"bright", "dark"}
    pre = ImagePreprocessing(16)
    a = extract(net, ds, preprocess=pre, batch_size=4, device="cpu")
    b = extract(net, ds, preprocess=pre, batch_size=2, device="cpu")
    assert a.features.shape == (6, 4) and np.isfinite(a.features).all()
    np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)
    cached = extract(net, ds, preprocess=pre, cache_dir=tmp_path / "c", device="cpu")
    hit = extract(net, ds, preprocess=pre, cache_dir=tmp_path / "c", device="cpu")
    assert hit.from_cache and hit.cache_path == cached.cache_path
    # The cache key is derived from the weights: new weights, new entry.
    with torch.no_grad():
        net[0].weight.add_(1.0)
    changed = extract(net, ds, preprocess=pre, cache_dir=tmp_path / "c", device="cpu")
    assert not changed.from_cache and changed.cache_path != cached.cache_path


def test_cache_key_records_shape_dtype_and_checksum(tmp_path):
    import hashlib
    import json

    fs = extract(CountingModel(16), _data(20), cache_dir=tmp_path, model_key="k")
    key = json.loads((fs.cache_path.parent / "key.json").read_text())
    assert key["features"] == {"shape": [20, 5], "dtype": "<f4",
                               "sha256": hashlib.sha256(fs.cache_path.read_bytes()).hexdigest()}


@pytest.mark.parametrize("tamper", ["wrong width", "same shape, other values", "no record"])
def test_cached_features_that_do_not_match_their_record_are_recomputed(tmp_path, tamper):
    import json

    ds = _data(20)
    fs = extract(CountingModel(16), ds, cache_dir=tmp_path, model_key="k")
    key_path = fs.cache_path.parent / "key.json"
    if tamper == "wrong width":  # e.g. another layer's features under this key
        np.save(fs.cache_path, np.ones((20, 7), np.float32))
    elif tamper == "same shape, other values":
        np.save(fs.cache_path, np.ones((20, 5), np.float32))
    else:  # a cache written before key.json vouched for its file
        key = json.loads(key_path.read_text())
        del key["features"]
        key_path.write_text(json.dumps(key))
    model = CountingModel(16)
    again = extract(model, ds, cache_dir=tmp_path, model_key="k")
    assert model.seen == 20 and not again.from_cache
    np.testing.assert_array_equal(again.features, fs.features)
    # ... and the recomputed file is trusted again.
    third = CountingModel(16)
    assert extract(third, ds, cache_dir=tmp_path, model_key="k").from_cache
    assert third.seen == 0


def test_from_folder_names_an_unreadable_image_and_refuses_huge_ones(tmp_path, monkeypatch):
    pil = pytest.importorskip("PIL.Image", reason="image folders need Pillow")
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        pil.new("L", (8, 8)).save(tmp_path / c / "0.png")
    (tmp_path / "a" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ValueError, match="bad.png: not a readable image"):
        from_folder(tmp_path)
    (tmp_path / "a" / "bad.png").unlink()
    pil.new("L", (300, 200)).save(tmp_path / "b" / "big.png")
    monkeypatch.setenv("PEDRANK_MAX_IMAGE_PIXELS", "50000")
    with pytest.raises(ValueError, match=r"big.png: 300 x 200 pixels .* PEDRANK_MAX_IMAGE_PIXELS"):
        from_folder(tmp_path)
    monkeypatch.setenv("PEDRANK_MAX_IMAGE_PIXELS", "60000")
    assert len(from_folder(tmp_path)) == 3
    # Folders stream (decoded per batch), so their size is not capped by the memory budget.
    monkeypatch.setenv("PEDRANK_MEMORY_BUDGET", "1K")
    assert from_folder(tmp_path).inputs[2:3].shape == (1, 200, 300)
