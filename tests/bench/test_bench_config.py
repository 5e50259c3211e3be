"""Benchmark configuration files (TOML, YAML) and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pedrank.pipeline.bench.config import BenchConfig, PedVariant, config_from_mapping, load_config

TOML = """
features = "feat"
metrics = ["logme", "sfda"]
models = ["a", "b"]
groundtruth = "self_supervised"
jobs = 2

[ped]
nsigma = 0.3
time_step = 0.2

[metric_kwargs.logme]
tol = 1e-6
"""


def test_toml_config(tmp_path: Path):
    (tmp_path / "b.toml").write_text(TOML)
    cfg = load_config(tmp_path / "b.toml")
    assert cfg.metrics == ["logme", "sfda"]
    assert cfg.models == ["a", "b"]
    assert cfg.jobs == 2
    assert cfg.groundtruth == "self_supervised"  # a table name, not a path
    assert cfg.ped == [PedVariant("ped", {"nsigma": 0.3, "time_step": 0.2})]
    assert cfg.metric_kwargs == {"logme": {"tol": 1e-6}}
    assert [v if v is None else v.name for v in cfg.variants] == [None, "ped"]


def test_yaml_config_equals_toml(tmp_path: Path):
    pytest.importorskip("yaml")  # pyyaml is in .ci/requirements.txt
    (tmp_path / "b.toml").write_text(TOML)
    (tmp_path / "b.yaml").write_text(
        "features: feat\nmetrics: [logme, sfda]\nmodels: [a, b]\n"
        "groundtruth: self_supervised\njobs: 2\nped: {nsigma: 0.3, time_step: 0.2}\n"
        "metric_kwargs: {logme: {tol: 1.0e-6}}\n")
    assert load_config(tmp_path / "b.yaml").to_json() == load_config(tmp_path / "b.toml").to_json()


def test_several_ped_variants_and_no_ped():
    cfg = config_from_mapping({"features": "f", "ped": [{"name": "p6", "nsigma": 0.6},
                                                        {"name": "p3", "nsigma": 0.3}]})
    assert [v.name for v in cfg.ped] == ["p6", "p3"]
    assert config_from_mapping({"features": "f", "ped": False}).variants == [None]


def test_resolved_ped_params_fill_in_the_defaults():
    from pedrank.core.ped import PED

    full = PedVariant("ped", {"nsigma": 0.3}).resolved_params()
    assert full["nsigma"] == 0.3
    defaults = PED().get_params()
    assert {k: v for k, v in full.items() if k != "nsigma"} == {
        k: v for k, v in defaults.items() if k != "nsigma"}


@pytest.mark.parametrize("data, match", [
    ({"features": "f", "metrix": ["logme"]}, "unknown configuration key"),
    ({"features": "f", "jobs": 0}, "jobs"),
    ({"features": "f", "pattern": "{model}.npz"}, "dataset"),
    ({"features": "f", "ped": False, "baseline": False}, "nothing to run"),
    ({"features": "f", "ped": [{"name": "x"}, {"name": "x"}]}, "distinct"),
    ({"features": "f", "metrics": []}, "metrics"),
])
def test_invalid_configs_are_rejected(data, match):
    with pytest.raises(ValueError, match=match):
        config_from_mapping(data)


def test_unknown_ped_parameter_is_rejected():
    with pytest.raises(ValueError, match="unknown PED parameter"):
        PedVariant("ped", {"sigma": 1}).resolved_params()


def test_bad_files(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "none.toml")
    (tmp_path / "b.ini").write_text("x=1")
    with pytest.raises(ValueError, match="toml"):
        load_config(tmp_path / "b.ini")
    (tmp_path / "b.toml").write_text("features = [")
    with pytest.raises(ValueError, match="invalid TOML"):
        load_config(tmp_path / "b.toml")


def test_config_json_round_trip_is_stable():
    cfg = BenchConfig(features=Path("f"), metrics=["sfda"])
    assert cfg.to_json() == BenchConfig(features=Path("f"), metrics=["sfda"]).to_json()
