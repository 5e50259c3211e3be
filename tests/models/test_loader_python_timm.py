"""python:MODULE:FUNC specs, and timm: (the wiring through a fake timm; the missing-timm error)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.loaders import ModelSpecError, extract_features, resolve_model

USER_MODULE = '''
import numpy as np

CALLS = []

class Pre:
    key = "user-pre:v1"
    def __call__(self, batch):
        return np.asarray(batch, dtype=np.float64).reshape(len(batch), -1)

def build():
    CALLS.append("build")
    w = np.linspace(-1, 1, 20 * 20 * 3 * 4).reshape(-1, 4)
    return (lambda x: {"logits": x[:, :3], "features": x @ w}), Pre()

def encoder():
    return (lambda texts: np.array([[len(t), t.count(" ")] for t in texts], float)), None
encoder.kind = "text"

def not_a_pair():
    return 42
'''


@pytest.fixture()
def user_file(tmp_path):
    path = tmp_path / "my_models.py"
    path.write_text(USER_MODULE)
    return path


def test_python_file_spec_calls_func_once_on_a_cache_miss(user_file, tmp_path, tiny_images):
    spec = resolve_model(f"python:{user_file}:build")
    assert spec.kind == "vision" and spec.name == "my_models:build"
    mod = next(m for n, m in sys.modules.items() if n.startswith("_pedrank_user_my_models"))
    assert mod.CALLS == []  # resolving imports the module but loads no model
    fs = extract_features(spec, tiny_images, batch_size=5, cache_dir=tmp_path / "c")
    # dict output without pooler_output: the first 2-D tensor ("logits") is the feature.
    flat = tiny_images.inputs.reshape(12, -1).astype(np.float64)
    np.testing.assert_allclose(fs.features, flat[:, :3], rtol=1e-6)
    assert mod.CALLS == ["build"]
    again = extract_features(resolve_model(f"python:{user_file}:build"), tiny_images,
                             cache_dir=tmp_path / "c")
    assert again.from_cache and mod.CALLS == ["build"]


def test_python_text_function_declares_its_kind(user_file):
    spec = resolve_model(f"python:{user_file}:encoder")
    assert spec.kind == "text"
    fs = extract_features(spec, (["a b", "abc", "a b c d"], np.array([0, 1, 0])))
    np.testing.assert_array_equal(fs.features, [[3, 1], [3, 0], [7, 3]])


def test_python_importable_module_name(tmp_path, monkeypatch):
    (tmp_path / "pkg_models_for_test.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = resolve_model("python:pkg_models_for_test:build")
    assert spec.cache_id.startswith("python:") and spec.kind == "vision"


@pytest.mark.parametrize(
    "rest, match",
    [
        ("{f}", "expected python:MODULE:FUNC"),
        ("{f}:missing", "has no function 'missing'"),
        ("./nowhere.py:build", "file not found"),
        ("no_such_module_xyz:build", "cannot import 'no_such_module_xyz'"),
    ],
)
def test_python_spec_errors(user_file, rest, match):
    with pytest.raises(ModelSpecError, match=match):
        resolve_model("python:" + rest.format(f=user_file))


def test_python_func_must_return_a_pair(user_file, tiny_images):
    with pytest.raises(ModelSpecError, match=r"not_a_pair\(\) returned int.*\(model, preprocess\)"):
        extract_features(resolve_model(f"python:{user_file}:not_a_pair"), tiny_images)


# --------------------------------------------------------------------------- timm


def test_timm_missing_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm -> ModuleNotFoundError
    with pytest.raises(ModelSpecError, match=r"'timm:resnet18'.*not installed.*pip install timm"):
        resolve_model("timm:resnet18")


@pytest.fixture()
def fake_timm(monkeypatch):
    """A stand-in timm module with the two functions the loader uses."""
    torch = pytest.importorskip("torch")
    timm = types.ModuleType("timm")
    timm.__version__ = "0.0-fake"
    created = []

    class Cfg:
        def to_dict(self):
            return {"input_size": (3, 12, 12), "mean": (0.1, 0.2, 0.3), "std": (0.5, 0.5, 0.5),
                    "tag": "fake_in1k"}

    class FixedCfg(Cfg):
        def to_dict(self):
            return {**super().to_dict(), "fixed_input_size": True}

    def get_pretrained_cfg(name):
        return {"tiny": Cfg(), "tiny-vit": FixedCfg()}.get(name)

    def create_model(name, pretrained, num_classes):
        created.append((name, pretrained, num_classes))
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                   torch.nn.Flatten())

    timm.models = types.SimpleNamespace(get_pretrained_cfg=get_pretrained_cfg)
    timm.create_model = create_model
    timm.created = created
    monkeypatch.setitem(sys.modules, "timm", timm)
    return timm


def test_timm_wiring_with_a_fake_timm(fake_timm, tiny_images):
    spec = resolve_model("timm:tiny")
    assert spec.preprocessing == ImagePreprocessing(12, (0.1, 0.2, 0.3), (0.5, 0.5, 0.5))
    assert spec.cache_id == "timm:tiny:fake_in1k:timm=0.0-fake" and fake_timm.created == []
    fs = extract_features(spec, tiny_images, device="cpu")
    assert fs.features.shape == (12, 4)
    assert fake_timm.created == [("tiny", True, 0)]
    assert resolve_model("timm:tiny", image_size=20).image_size == 20
    assert resolve_model("timm:tiny-vit", image_size=20).image_size == 12  # fixed_input_size


def test_timm_unknown_model(fake_timm):
    with pytest.raises(ModelSpecError, match="timm has no pretrained model 'nope'"):
        resolve_model("timm:nope")


def test_a_module_that_fails_on_import_is_one_line(tmp_path):
    path = tmp_path / "boom.py"
    path.write_text("import numpy\nraise RuntimeError('no weights here\\nsecond line')\n")
    with pytest.raises(ModelSpecError, match=r"importing .*boom\.py' failed \(RuntimeError: no "
                                             r"weights here\); fix the module") as info:
        resolve_model(f"python:{path}:build")
    assert "\n" not in str(info.value)
    path.write_text("import a_package_that_is_not_installed_xyz\ndef build(): pass\n")
    with pytest.raises(ModelSpecError, match="ModuleNotFoundError.*not_installed_xyz"):
        resolve_model(f"python:{path}:build")
