"""pedrank.select end to end on small real inputs, and its parts on constructed inputs."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import select_inputs as _inputs  # small real inputs; see its docstring
from hypothesis import given, settings
from hypothesis import strategies as st

import pedrank
from pedrank.datasets import from_arrays
from pedrank.pipeline import select as select_mod
from pedrank.pipeline.select import (
    check_same_samples,
    rank_columns,
    recommend,
    stratified_bootstrap,
)
from pedrank.pipeline.sources import generic_english_text

# The shared fixtures, made fixtures of this module.
digits_folder = _inputs.digits_folder
source_folder = _inputs.source_folder
models_py = _inputs.models_py
ts_models = _inputs.ts_models
few_photos = _inputs.few_photos


def _specs(models_py, *funcs):
    return [f"python:{models_py}:{f}" for f in funcs]


@pytest.fixture()
def selection(digits_folder, models_py, ts_models, tmp_path):
    pytest.importorskip("skimage", reason="the generic natural-image sample needs scikit-image")
    models = [*_specs(models_py, "good", "narrow"), *map(str, ts_models)]
    return pedrank.select(models, str(digits_folder), cache_dir=tmp_path, image_size=12,
                          n_bootstrap=10, progress=False)


def test_select_end_to_end_table_records_and_recommendation(selection):
    sel = selection
    assert sel.failed == {}
    assert sel.columns == ["logme", "PED+logme", "sfda", "PED+sfda", "gbc", "PED+gbc"]
    assert sorted(r.name for r in sel.runs) == ["mods:good", "mods:narrow", "narrow", "wide"]
    assert len(sel.records) == 4 * 6
    for c in sel.columns:
        scores = sel.scores(c)
        ranked = sorted(scores, key=lambda m: -scores[m])
        assert sel.best(c) == ranked[0]
        ranks = {r["model"]: r["rank"] for r in sel.records if r["column"] == c}
        assert ranks[ranked[0]] == 1 and sorted(ranks.values())[-1] <= 4
    rec = sel.recommendation
    assert rec.column == "PED+logme" and rec.model == sel.best() == sel.best("PED+logme")
    assert rec.n_bootstrap == 10 and rec.runner_up in sel.scores("PED+logme")
    assert rec.model in rec.text and rec.runner_up in rec.text
    assert sel.best("logme") == max(sel.scores("logme"), key=sel.scores("logme").get)
    assert set(sel.timings) >= {"extraction", "source_statistics", "scoring", "bootstrap"}
    assert sel.dataset["n_samples"] == 48 and sel.dataset["n_classes"] == 4
    assert all(r.source.kind == "generic" for r in sel.runs)
    assert all("natural-image crops" in d for d in sel.sources.values())


def test_table_is_model_by_column_with_ranks(selection):
    pytest.importorskip("pandas")
    t = selection.table
    assert list(t.index) == selection.models and t.index[0] == selection.best()
    assert list(t.columns[:2]) == ["logme", "logme rank"]
    assert t.shape == (4, 12)
    assert t.loc[selection.best(), "PED+logme rank"] == 1


def test_to_json_and_to_html(selection, tmp_path):
    data = json.loads(selection.to_json())
    assert data["recommendation"]["model"] == selection.best()
    assert {m["model"] for m in data["models"]} == set(selection.models)
    assert all(m["source_statistics"]["kind"] == "generic" for m in data["models"])
    pytest.importorskip("jinja2")
    page = selection.to_html(tmp_path / "sel.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and selection.recommendation.text in page
    assert all(m in page for m in selection.models)


def test_second_run_reads_the_cache_and_loads_no_model(digits_folder, models_py, tmp_path):
    specs = _specs(models_py, "good", "narrow")
    first = pedrank.select(specs, str(digits_folder), source_data=str(digits_folder),
                           cache_dir=tmp_path, n_bootstrap=0, progress=False)
    mod = next(m for n, m in sys.modules.items() if n.startswith("_pedrank_user_mods"))
    calls = len(mod.CALLS)
    again = pedrank.select(specs, str(digits_folder), source_data=str(digits_folder),
                           cache_dir=tmp_path, n_bootstrap=0, progress=False)
    assert len(mod.CALLS) == calls  # no forward pass: features and source features cached
    assert all(r.from_cache for r in again.runs)
    assert again.records == first.records


def test_ped_runs_once_per_model_whatever_the_number_of_metrics(digits_folder, models_py,
                                                                tmp_path, monkeypatch):
    calls = []
    real = select_mod.ped_transform

    def counting(X, y, source, **kw):
        calls.append(X.shape)
        return real(X, y, source, **kw)

    monkeypatch.setattr(select_mod, "ped_transform", counting)
    sel = pedrank.select(_specs(models_py, "good", "narrow"), str(digits_folder),
                         metrics=["logme", "sfda", "gbc", "hscore"], source_data=str(digits_folder),
                         cache_dir=tmp_path, n_bootstrap=5, progress=False)
    assert len(sel.columns) == 8
    assert len(calls) == 2  # two models, four metrics, bootstrap included


def test_given_source_data_is_used_and_named(digits_folder, source_folder, models_py, tmp_path):
    sel = pedrank.select(_specs(models_py, "good", "narrow"), str(digits_folder),
                         source_data=str(source_folder), ped=True, cache_dir=tmp_path,
                         n_bootstrap=0, progress=False)
    assert sel.columns == ["PED+logme", "PED+sfda", "PED+gbc"]
    assert {r.source.kind for r in sel.runs} == {"given"}
    assert all("30 inputs" in d for d in sel.sources.values())


def test_no_ped_and_a_failed_model_are_reported(digits_folder, models_py, tmp_path):
    sel = pedrank.select(_specs(models_py, "good", "broken", "narrow"), str(digits_folder),
                         ped=False, source_data=str(digits_folder), cache_dir=tmp_path,
                         n_bootstrap=0, progress=False)
    assert sel.columns == ["logme", "sfda", "gbc"]
    assert list(sel.failed) == ["mods:broken"]
    assert "the model exploded" in sel.failed["mods:broken"]
    assert "\n" not in sel.failed["mods:broken"]
    assert sorted(sel.models) == ["mods:good", "mods:narrow"]


def test_text_model_on_a_csv_gets_the_generic_english_sample(models_py, tmp_path):
    csv = tmp_path / "texts.csv"
    rows = ["text,label"] + [f'"{"apple pie " * (i % 5 + 1)}and tea",sweet' for i in range(10)]
    rows += [f'"{"sea salt " * (i % 4 + 1)}on chips",salty' for i in range(10)]
    csv.write_text("\n".join(rows) + "\n")
    sel = pedrank.select(_specs(models_py, "text_encoder"), str(csv), cache_dir=tmp_path,
                         n_bootstrap=0, progress=False)
    assert sel.failed == {} and sel.dataset["modality"] == "text"
    (run,) = sel.runs
    assert run.source.kind == "generic" and "English sentences" in run.source.description
    assert "Only mods:text_encoder" in sel.recommendation.text


def test_generic_english_text_is_a_few_thousand_plain_sentences():
    text = generic_english_text()
    assert 2000 <= len(text) <= 5000 and len(set(text)) == len(text)
    assert all(s[0].isupper() and s[-1] in ".!?" and 6 <= len(s.split()) <= 40 for s in text)


def test_regression_keeps_only_regression_metrics_and_skips_ped(models_py, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((40, 8, 8)).astype(np.float32)
    ds = from_arrays(images, images.mean(axis=(1, 2)) * 10 + rng.normal(0, 0.1, 40))
    sel = pedrank.select(_specs(models_py, "good", "narrow"), ds, task="regression",
                         source_data=ds, cache_dir=tmp_path, n_bootstrap=4, progress=False)
    assert sel.columns == ["logme"]
    assert any("skipped for regression" in n and "sfda" in n for n in sel.notes)
    assert any("PED skipped" in n for n in sel.notes)
    assert sel.recommendation.n_bootstrap == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": ["leep"]}, "source-model probabilities"),
        ({"metrics": ["nope"]}, "unknown metric"),
        ({"ped": "sometimes"}, "ped must be"),
        ({"task": "ranking"}, "task must be"),
        ({"max_samples": 1}, "max_samples"),
    ],
)
def test_bad_options_are_one_line_value_errors(digits_folder, models_py, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        pedrank.select(_specs(models_py, "good"), str(digits_folder), **kwargs)
    assert "\n" not in str(info.value)


def test_one_class_and_continuous_labels_are_refused(models_py):
    images = np.zeros((10, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="single class"):
        pedrank.select(_specs(models_py, "good"), from_arrays(images, np.zeros(10)))
    with pytest.raises(ValueError, match="regression"):
        pedrank.select(_specs(models_py, "good"), from_arrays(images, np.linspace(0, 1, 10)))


def test_unknown_spec_fails_before_any_extraction(digits_folder, models_py, tmp_path):
    from pedrank.models.loaders import ModelSpecError

    with pytest.raises(ModelSpecError, match="nope"):
        pedrank.select([*_specs(models_py, "good"), "nope"], str(digits_folder),
                       cache_dir=tmp_path)
    assert not (tmp_path / "features").exists()


# --------------------------------------------------------------------------- parts


def test_recommend_clear_lead():
    boot = {"a": np.full(30, 1.0) + np.linspace(0, 0.01, 30), "b": np.full(30, 0.5)}
    rec = recommend({"a": 1.0, "b": 0.5, "c": 0.1}, boot, "PED+logme")
    assert rec.model == "a" and rec.runner_up == "b" and not rec.tie
    assert rec.wins == 30 and rec.margin == pytest.approx(0.5)
    assert rec.text.startswith("Recommended: a") and "30/30" in rec.text


def test_recommend_statistical_tie_is_said_plainly():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1.0, 30)
    boot = {"a": 1.0 + noise, "b": 0.99 + noise[::-1]}
    rec = recommend({"a": 1.0, "b": 0.99}, boot, "logme")
    assert rec.tie and rec.model == "a" and rec.noise > 10 * rec.margin
    assert rec.text.startswith("Statistical tie: a and b")


def test_recommend_at_the_threshold():
    diff = np.r_[np.ones(28), -np.ones(2)]  # ahead in 28/30 < 95%
    rec = recommend({"a": 1.0, "b": 0.0}, {"a": diff, "b": np.zeros(30)}, "x")
    assert rec.tie and rec.wins == 28
    diff = np.r_[np.ones(29), -np.ones(1)]  # 29/30 >= 95%
    assert not recommend({"a": 1.0, "b": 0.0}, {"a": diff, "b": np.zeros(30)}, "x").tie


def test_recommend_edge_cases():
    assert recommend({}, None, "x").model is None
    assert "Only a" in recommend({"a": 1.0}, None, "x").text
    rec = recommend({"a": 1.0, "b": 0.2}, None, "x")
    assert rec.model == "a" and rec.noise is None and "not estimated" in rec.text
    exact = recommend({"a": 1.0, "b": 1.0}, {"a": np.ones(5), "b": np.ones(5)}, "x")
    assert exact.tie


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=4, max_size=60), st.integers(0, 2**16))
def test_stratified_bootstrap_keeps_every_class_size(labels, seed):
    y = np.array(labels)
    idx = stratified_bootstrap(y, 7, seed)
    assert idx.shape == (7, y.size)
    for row in idx:
        np.testing.assert_array_equal(np.bincount(y[row], minlength=4), np.bincount(y, minlength=4))
    np.testing.assert_array_equal(idx, stratified_bootstrap(y, 7, seed))


def test_check_same_samples_names_the_mismatch():
    y = np.repeat(np.arange(4), 25)
    check_same_samples({"a": (y, "h1"), "b": (y.copy(), "h1"), "c": (y.astype(str), None)})
    with pytest.raises(ValueError, match="a has 100 samples / 4 classes, b has 200 samples / 5"):
        check_same_samples({"a": (y, None), "b": (np.repeat(np.arange(5), 40), None)})
    with pytest.raises(ValueError, match="different order"):
        check_same_samples({"a": (y, None), "b": (y[::-1], None)})
    with pytest.raises(ValueError, match="different data"):
        check_same_samples({"a": (y, "h1"), "b": (y, "h2")})


def test_rank_columns_ties_saturation_and_metric_errors():
    scores = {"a": {"sfda": 1.0, "logme": 0.3}, "b": {"sfda": 1.0, "logme": "ValueError: bad"},
              "c": {"sfda": 1.0, "logme": 0.7}}
    records, saturated, notes = rank_columns(scores, ["logme", "sfda"])
    assert saturated == {"logme": False, "sfda": True}
    ranks = {(r["model"], r["column"]): r["rank"] for r in records}
    assert ranks[("c", "logme")] == 1 and ranks[("a", "logme")] == 2
    assert ranks[("b", "logme")] is None
    assert {ranks[(m, "sfda")] for m in "abc"} == {1}
    assert any("saturated" in n for n in notes) and any("failed on b" in n for n in notes)


def test_same_stem_models_are_told_apart_by_their_file_names(tmp_path):
    # model.pt and model.ts (say, the same network exported twice) are both "model": each
    # keeps its file name instead; files that are still ambiguous are refused.
    a = _inputs.write_torchscript(tmp_path / "tiny.pt", 4, 0)
    b = _inputs.write_torchscript(tmp_path / "tiny.ts", 4, 1)
    assert [s.name for s in select_mod.resolve_models([str(a), str(b)])] == ["tiny.pt", "tiny.ts"]
    (tmp_path / "other").mkdir()
    c = _inputs.write_torchscript(tmp_path / "other" / "tiny.pt", 4, 2)
    with pytest.raises(ValueError, match="two models have the same name 'tiny.pt'"):
        select_mod.resolve_models([str(a), str(c)])


def test_dtype_float32_scores_close_to_float64_and_notes_the_float64_metrics(
        digits_folder, models_py, tmp_path):
    """select(dtype="float32") runs LogME's float32 path (within the measured error bound of
    docs/performance.md, 7.5e-3 relative) and leaves GBC in float64, saying so."""
    models = _specs(models_py, "good", "narrow")
    kw = dict(cache_dir=tmp_path, image_size=12, n_bootstrap=0, progress=False,
              metrics=["logme", "gbc"], ped=False)
    s64 = pedrank.select(models, str(digits_folder), **kw)
    s32 = pedrank.select(models, str(digits_folder), dtype="float32", **kw)
    for m in s64.models:
        a, b = s64.scores("logme")[m], s32.scores("logme")[m]
        assert b == pytest.approx(a, rel=7.5e-3)
        assert s32.scores("gbc")[m] == s64.scores("gbc")[m]  # float64 either way
    # The float32 path ran: its rounding moves LogME's last digits (6e-6 relative here).
    assert any(s32.scores("logme")[m] != s64.scores("logme")[m] for m in s64.models)
    assert any("gbc" in n and "float64" in n for n in s32.notes)
    assert not any("float32" in n for n in s64.notes)
    with pytest.raises(ValueError, match="dtype"):
        pedrank.select(models, str(digits_folder), dtype="float16", **kw)


def test_suspect_source_statistics_become_a_note_naming_the_model() -> None:
    """Regression (stop 18): the demo printed PED's SourceScaleWarning without saying which
    of its 19 models it was about; select now names the model in its notes."""
    import warnings
    from types import SimpleNamespace

    from pedrank import SourceScaleWarning, SourceStats
    from pedrank.pipeline.select import ModelRun, score_models
    from pedrank.pipeline.sources import SourceChoice

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = rng.normal(size=(90, 6)) * 0.05 + y[:, None] * 0.05
    X[:, :2] += rng.uniform(0, 0.2, size=(90, 2))
    std = np.full(6, 0.05)
    std[:2] = 0.0  # never active on the source: clipped at eps
    done = {}
    for name, sd in (("suspect", std), ("fine", np.full(6, 0.05))):
        src = SourceChoice(SourceStats(np.zeros(6), sd), "given", "given")
        run = ModelRun(name, name, name, 6, False, src, {})
        done[name] = (SimpleNamespace(features=X), run)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SourceScaleWarning)  # none escapes
        scores, _, notes = score_models(done, y, ["logme"], [False, True], "classification")
    assert set(scores) == {"suspect", "fine"}
    assert len(notes) == 1 and notes[0].startswith("suspect: ")
    assert "2 of 6 feature dimensions" in notes[0] and "suspect" in notes[0]
