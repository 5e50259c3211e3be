"""Report: paper-layout tables, independent check of the numbers, PNGs, missing cells."""

from __future__ import annotations

import json
import re
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pedrank.pipeline.bench.runner import run_bench
from pedrank.reports.bench_report import PARTIAL, write_report

PROBE = "bench_probe"  # the probe metric registered by the conftest fixture

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def finished(make_config, probe):
    cfg = make_config()
    run_bench(cfg, progress=False)
    return cfg


def test_report_files_and_plots_are_written(finished):
    files = write_report(finished)
    assert files.markdown.stat().st_size > 0 and files.html.stat().st_size > 0
    names = {p.name for p in files.plots}
    assert "ped_gain.png" in names
    assert {f"scatter_{m}_{v}.png" for m in ("logme", "sfda", "bench_probe")
            for v in ("none", "ped")} <= names
    for p in files.plots:
        assert p.parent == files.markdown.parent  # next to the report
        data = p.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 2000
        # Paper-ready copies beside each PNG (vector formats).
        assert p.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
        assert "<svg" in p.with_suffix(".svg").read_text()
    md = files.markdown.read_text()
    for p in files.plots:
        assert f"]({p.name})" in md
    html = files.html.read_text()
    assert "<table>" in html and "<b>" in html and 'src="ped_gain.png"' in html
    assert "None: every cell of the grid finished." in md


def test_weighted_tau_table_matches_scipy_on_stored_scores(finished, zoo):
    res = write_report(finished, plots=False).results
    gt = json.loads((zoo / "groundtruth.json").read_text())
    table = res.tables["weighted_tau"]
    assert table.columns == ["d1", "d2"]
    assert table.rows == [(m, v) for m in ("logme", "sfda", "bench_probe")
                          for v in ("none", "ped")]
    for row in table.rows:
        for d in ("d1", "d2"):
            sc = res.scores(*row, d)
            models = sorted(sc)
            expected = stats.weightedtau([sc[m] for m in models],
                                         [gt[d][m] for m in models]).statistic
            assert table.values[row][d] == pytest.approx(expected, abs=1e-12)
        assert table.mean(row) == pytest.approx(
            (table.values[row]["d1"] + table.values[row]["d2"]) / 2)


def test_markdown_layout_bolds_the_best_of_each_column(finished):
    files = write_report(finished, plots=False)
    table = files.results.tables["weighted_tau"]
    md = table.to_markdown().splitlines()
    assert md[0] == "| | d1 | d2 | mean |"
    labels = [ln.split("|")[1].strip() for ln in md[2:]]
    assert labels == ["LogME", "PED+LogME", "SFDA", "PED+SFDA", "bench_probe",
                      "PED+bench_probe"]
    cols = ["d1", "d2", "mean"]
    for j, col in enumerate(cols):
        vals = {r: round(table.mean(r) if col == "mean" else table.values[r][col], 3)
                for r in table.rows}
        best = max(vals.values())
        for i, r in enumerate(table.rows):
            cell = md[2 + i].split("|")[2 + j].strip()
            assert cell.startswith("**") == (vals[r] == best), (col, r, cell)
    report = files.markdown.read_text()
    for title in ("Weighted Kendall tau", "rel@1", "recall@3", "Run times"):
        assert title in report


def test_report_lists_failed_and_missing_cells_with_reasons(make_config, probe, zoo):
    (zoo / "m2_d2.npz").write_bytes(b"garbage")
    (zoo / "m3_d1.npz").unlink()
    cfg = make_config(models=["m1", "m2", "m3"], datasets=["d1", "d2"])
    run_bench(cfg, progress=False)
    files = write_report(cfg, plots=False)
    md = files.markdown.read_text()
    assert re.search(r"m2 / d2 / PED\+LogME: failed: cannot load", md)
    assert re.search(r"m3 / d1 / SFDA: feature file not found", md)
    # Datasets where a model is missing get a partial marker, not a silent value.
    assert PARTIAL in files.results.tables["weighted_tau"].to_markdown()
    assert "missing" in files.csv.read_text()


def test_report_of_an_interrupted_run_says_what_is_left(make_config, probe):
    cfg = make_config()
    n = []

    def stop(res):
        n.append(1)
        if len(n) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(cfg, progress=False, on_cell=stop)
    files = write_report(cfg, plots=False)
    md = files.markdown.read_text()
    assert md.count("was interrupted") == 36 - 3


def test_report_without_ground_truth_still_has_scores(make_config, probe):
    cfg = make_config(groundtruth=None)
    run_bench(cfg, progress=False)
    files = write_report(cfg)
    assert files.results.tables == {}
    assert "No ground truth" in files.markdown.read_text()
    assert len(files.csv.read_text().splitlines()) == 1 + 36


def test_report_without_matplotlib_says_so(finished, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import raises ImportError
    files = write_report(finished)
    assert files.plots == []
    assert "Plots skipped: matplotlib is not installed" in files.markdown.read_text()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=6),
       st.randoms(use_true_random=False))
def test_bold_marks_the_column_best_whatever_the_row_order(vals, rnd):
    from pedrank.reports.bench_report import EvaluationTable

    rows = [(f"m{i}", "none") for i in range(len(vals))]
    values = {r: {"a": v[0], "b": v[1]} for r, v in zip(rows, vals, strict=True)}

    def bold_sets(order):
        table = EvaluationTable("t", order, ["a", "b"], values).to_table()
        out = {c: set() for c in ("a", "b", "mean")}
        for i, c in table.bold:
            out[c].add(table.rows[i][""])
        return out

    got = bold_sets(rows)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert bold_sets(shuffled) == got
    for j, c in enumerate(("a", "b")):
        best = max(round(v[j], 3) for v in vals)
        assert got[c] == {r[0] for r, v in zip(rows, vals, strict=True) if round(v[j], 3) == best}
    means = {r[0]: round((v[0] + v[1]) / 2, 3) for r, v in zip(rows, vals, strict=True)}
    assert got["mean"] == {m for m, v in means.items() if v == max(means.values())}


def _layout_problems_of_report_figures(res):
    from pedrank.reports import plots

    figs = [plots.scatter_figure(res, row) for row in res.rows] + [plots.gain_figure(res),
                                                                  plots.tau_interval_figure(
                                                                      res.intervals)]
    out = {}
    try:
        for name, fig in zip([*map(str, res.rows), "gain", "tau"], figs, strict=True):
            out[name] = plots.layout_problems(fig)
    finally:
        for fig in figs:
            plots._pyplot().close(fig)
    return out


def test_report_figures_have_no_clipped_or_overlapping_labels(finished):
    """Regression: ped_gain.png hid a bar under its legend, scatter labels overlapped."""
    pytest.importorskip("matplotlib", reason="plots need the optional matplotlib")
    res = write_report(finished, plots=False).results
    assert _layout_problems_of_report_figures(res) == {
        k: [] for k in [*map(str, res.rows), "gain", "tau"]}


def test_crowded_scatter_labels_do_not_overlap(tmp_path, probe):
    """Ten models with nearly equal accuracies: the labels must still be spread apart."""
    pytest.importorskip("matplotlib", reason="plots need the optional matplotlib")
    from pedrank.pipeline.bench.config import BenchConfig
    from pedrank.pipeline.bench.synthetic import make_feature_zoo

    models = [f"a-rather-long-model-name-{i}" for i in range(10)]
    make_feature_zoo(tmp_path / "feat", models, ("d1", "d2"), seed=3)
    gt = {d: {m: 70.0 + 0.01 * i for i, m in enumerate(models)} for d in ("d1", "d2")}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    cfg = BenchConfig(features=tmp_path / "feat", metrics=[PROBE], groundtruth=str(
        tmp_path / "gt.json"), results=tmp_path / "res", blas_threads=1)
    run_bench(cfg, progress=False)
    res = write_report(cfg, plots=False).results
    problems = _layout_problems_of_report_figures(res)
    assert problems == {k: [] for k in problems}


def test_latex_tables_are_written_with_booktabs(finished):
    files = write_report(finished, plots=False)
    tex = files.latex.read_text()
    assert tex.count("\\begin{table}") == 3 and tex.count("\\toprule") == 3
    assert "\\caption{Weighted Kendall tau" in tex and "\\textbf{" in tex
    assert "PED+LogME &" in tex


def test_html_report_escapes_names(make_config, probe):
    """Names reach the HTML through an autoescaping template: no markup injection."""
    cfg = make_config(title="<script>alert(1)</script> & co")
    run_bench(cfg, progress=False)
    files = write_report(cfg, plots=False)
    html = files.html.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert files.markdown.read_text().startswith("# <script>alert(1)</script> & co\n")
    assert "\\& co" in files.latex.read_text()


def test_tau_interval_plot_per_metric_with_and_without_ped(finished):
    """The report plots the mean weighted tau over datasets of every metric setting with
    its interval bar (no per-seed ground truth here: the interval resamples the datasets)."""
    pytest.importorskip("matplotlib", reason="plots need the optional matplotlib")
    files = write_report(finished, plot_formats=("png",))
    png = files.markdown.parent / "tau_intervals.png"
    assert png in files.plots and png.read_bytes()[:8] == PNG_MAGIC
    md = files.markdown.read_text()
    assert "](tau_intervals.png)" in md and "bootstrap over the datasets" in md
    recs = files.results.intervals
    table = files.results.tables["weighted_tau"]
    assert {(r["metric"], r["ped"]) for r in recs} == {
        (m, v != "none") for m, v in files.results.rows}
    for r in recs:
        row = next(k for k in table.rows if k[0] == r["metric"] and (k[1] != "none") == r["ped"])
        assert r["tau"] == pytest.approx(table.mean(row))
        assert r["low"] <= r["high"] and r["datasets"] == 2


def test_tau_intervals_use_per_seed_ground_truth_when_the_table_has_it(make_config, probe,
                                                                        zoo):
    """With ``_replicates`` in the ground-truth JSON the interval is the replicate bootstrap
    of pedrank.evaluation (averaged over datasets), not the dataset resampling."""
    from pedrank import evaluation as ev

    gt = json.loads((zoo / "groundtruth.json").read_text())
    rng = np.random.default_rng(0)
    reps = {d: {m: list(a + rng.normal(scale=5.0, size=4)) for m, a in accs.items()}
            for d, accs in gt.items()}
    path = zoo / "gt_reps.json"
    path.write_text(json.dumps({**gt, "_replicates": reps}))
    cfg = make_config(groundtruth=str(path))
    run_bench(cfg, progress=False)
    res = write_report(cfg, plots=False).results
    assert "per-seed replicates" in res.interval_note
    rec = next(r for r in res.intervals if r["metric"] == "logme" and not r["ped"])
    per_d = []
    for d in sorted(gt):
        sc = res.scores("logme", "none", d)
        per_d.append(ev.weighted_tau_interval(sc, {m: reps[d][m] for m in sc}, n_boot=1000,
                                              seed=zlib.crc32(d.encode())))
    mean = ev.mean_over_targets(per_d)
    assert (rec["tau"], rec["low"], rec["high"]) == pytest.approx(
        (mean.statistic, mean.low, mean.high))
