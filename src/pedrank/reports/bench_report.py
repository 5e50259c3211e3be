"""Paper-style benchmark report (Markdown + HTML) from the result store.

Layout of the main table follows the PED paper (Li et al., ICCV 2023,
Table 1) and SFDA (Shao et al., ECCV 2022): one row per metric and one per
metric+PED, one column per target dataset plus the mean, best value of each
column in bold. The entries are the weighted Kendall tau between the metric's
scores and the models' fine-tuning accuracies (``scipy.stats.weightedtau``
defaults), then the same layout for rel@1 and recall@3.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.pipeline.bench.config import BASELINE, BenchConfig
from pedrank.pipeline.bench.runner import Grid, load_groundtruth, plan_grid
from pedrank.pipeline.bench.store import CellResult, ResultStore
from pedrank.reports._templates import render
from pedrank.reports.labels import DISPLAY_NAMES, row_label
from pedrank.reports.table import Column, Table

__all__ = ["DISPLAY_NAMES", "PARTIAL", "BenchResults", "EvaluationTable", "ReportFiles",
           "collect", "row_label", "write_report"]

PARTIAL = "†"
MAX_MISSING_LINES = 300  # a huge partial grid lists the rest in cells.csv


@dataclass
class EvaluationTable:
    """A rows x (datasets + mean) table of floats (``None`` = not available).

    The numbers behind one report table; :meth:`to_table` turns them into the
    shared :class:`pedrank.reports.table.Table` (best of each column bold,
    :data:`PARTIAL` after entries computed over fewer models than the grid has).
    """

    title: str
    rows: list[tuple[str, str]]  # (metric, variant)
    columns: list[str]
    values: dict[tuple[str, str], dict[str, float | None]]
    partial: set[tuple[tuple[str, str], str]] = field(default_factory=set)
    higher_is_better: bool = True
    digits: int = 3

    def mean(self, row: tuple[str, str]) -> float | None:
        vals = [v for v in self.values[row].values() if v is not None]
        return float(sum(vals) / len(vals)) if vals else None

    def mean_is_partial(self, row: tuple[str, str]) -> bool:
        return any(self.values[row].get(c) is None for c in self.columns) or any(
            (row, c) in self.partial for c in self.columns)

    def get(self, row: tuple[str, str], col: str) -> float | None:
        """The value of ``row`` in column ``col`` (``"mean"`` = the row's mean)."""
        return self.mean(row) if col == "mean" else self.values[row].get(col)

    def _best(self, col: str) -> float | None:
        vals = [round(v, self.digits) for r in self.rows if (v := self.get(r, col)) is not None]
        if not vals:
            return None
        return max(vals) if self.higher_is_better else min(vals)

    def to_table(self) -> Table:
        """The shared table model: a label column, one column per dataset, the mean."""
        cols = [*self.columns, "mean"]
        best = {c: self._best(c) for c in cols}
        records, bold, markers = [], set(), {}
        for i, row in enumerate(self.rows):
            records.append({"": row_label(*row), **{c: self.get(row, c) for c in cols}})
            for c in cols:
                v = self.get(row, c)
                if v is not None and best[c] is not None and round(v, self.digits) == best[c]:
                    bold.add((i, c))
                if self.mean_is_partial(row) if c == "mean" else (row, c) in self.partial:
                    markers[(i, c)] = PARTIAL
        columns = [Column("", wrap=False),
                   *(Column(c, fmt=f".{self.digits}f", wrap=False) for c in cols)]
        return Table(columns, records, title=self.title, bold=bold, markers=markers,
                     index=True)

    def to_markdown(self) -> str:
        return self.to_table().to_markdown()

    def to_html(self) -> str:
        return self.to_table().to_html()


@dataclass
class BenchResults:
    """Everything the report shows, computed from the store and the grid."""

    config: BenchConfig
    grid: Grid
    groundtruth: dict[str, dict[str, float]] | None
    cells: dict[tuple[str, str, str, str], CellResult]  # (model, dataset, metric, variant)
    runs: list[dict[str, Any]]
    tables: dict[str, EvaluationTable]
    missing: list[str]
    #: per metric setting: the mean weighted tau over datasets with its interval
    #: (:func:`tau_intervals`); empty without ground truth
    intervals: list[dict[str, Any]] = field(default_factory=list)
    #: what those intervals resample (shown under the plot)
    interval_note: str = ""

    @property
    def rows(self) -> list[tuple[str, str]]:
        return [(m, v) for m in self.grid.metrics for v in self.grid.variants
                if any(c.metric == m and c.variant == v for c in self.grid.cells)]

    def scores(self, metric: str, variant: str, dataset: str) -> dict[str, float]:
        """Successful scores of one row on one dataset, by model."""
        out = {}
        for model in self.grid.models:
            res = self.cells.get((model, dataset, metric, variant))
            if res is not None and res.ok and res.score is not None:
                out[model] = float(res.score)
        return out


def _evaluators() -> dict[str, tuple[str, Callable[[Mapping[str, float], Mapping[str, float]],
                                                    float]]]:
    from pedrank.core import evaluation

    return {
        "weighted_tau": ("Weighted Kendall tau (τw) between scores and ground-truth accuracy",
                         evaluation.weighted_tau),
        "rel@1": ("rel@1: best accuracy among the top-1 scored model / best accuracy",
                  lambda s, a: evaluation.rel_at_k(s, a, 1)),
        "recall@3": ("recall@3: the top-scored model is among the 3 most accurate ones",
                     lambda s, a: evaluation.recall_at_k(s, a, 3)),
    }


def collect(config: BenchConfig, store: ResultStore | None = None) -> BenchResults:
    """Read the grid's cells from the store and compute the evaluation tables."""
    own = store is None
    store = store if store is not None else ResultStore(config.results)
    try:
        gt = load_groundtruth(config.groundtruth)
        grid = plan_grid(config, store, gt)
        rows = store.get(c.key for c in grid.runnable if c.key)
        runs = store.runs()
    finally:
        if own:
            store.close()
    cells = {c.name: rows[c.key] for c in grid.runnable if c.key in rows}
    res = BenchResults(config, grid, gt, cells, runs, {}, [])
    res.missing = _missing_lines(res)
    if gt is not None:
        res.tables = _tables(res, gt)
        res.intervals, res.interval_note = tau_intervals(res, _replicates(config.groundtruth))
    return res


def _replicates(spec: str | None) -> dict[str, dict[str, list[float]]]:
    """Per-seed ground truth of a table name or JSON file; ``{}`` when it has none."""
    from pedrank.groundtruth import tables as groundtruth

    if spec is None:
        return {}
    path = Path(spec)
    try:
        if path.suffix == ".json" or path.is_file():
            return groundtruth.replicates_file(path)
        return groundtruth.replicates(spec)
    except (ValueError, OSError):  # published tables carry means only
        return {}


def _dataset_taus(res: BenchResults, row: tuple[str, str],
                  reps: dict[str, dict[str, list[float]]], n_boot: int
                  ) -> tuple[list[Any], int]:
    """Per dataset: a tau :class:`~pedrank.evaluation.IntervalResult` over ground-truth
    replicates where every scored model has them, else a zero-width one at the tau;
    and how many datasets had replicates."""
    from pedrank.core import evaluation

    table = res.tables["weighted_tau"]
    out, n_reps = [], 0
    for d in res.grid.datasets:
        tau = table.values[row].get(d)
        if tau is None:
            continue
        acc = res.groundtruth.get(d, {}) if res.groundtruth else {}
        sc = {m: s for m, s in res.scores(*row, d).items() if m in acc}
        rep = reps.get(d, {})
        if sc and all(rep.get(m) for m in sc):
            out.append(evaluation.weighted_tau_interval(
                sc, {m: rep[m] for m in sc}, n_boot=n_boot, seed=zlib.crc32(d.encode())))
            n_reps += 1
        else:
            out.append(evaluation.IntervalResult(tau, tau, tau, 0.95, np.full(n_boot, tau)))
    return out, n_reps


def tau_intervals(res: BenchResults, reps: dict[str, dict[str, list[float]]], *,
                  n_boot: int = 1000) -> tuple[list[dict[str, Any]], str]:
    """Mean weighted tau over datasets with a 95% interval, per metric setting.

    With per-seed ground truth (``reps``, e.g. ``pedrank.groundtruth.replicates``)
    the interval is the percentile bootstrap over those replicates
    (:func:`pedrank.evaluation.weighted_tau_interval`, averaged over datasets by
    :func:`~pedrank.evaluation.mean_over_targets`); without it, over the datasets
    (each draw the mean over a with-replacement resample of the datasets; zero
    width with one dataset). Returns the records for
    :func:`pedrank.reports.plots.plot_tau_intervals` (``metric``, ``ped``, ``tau``,
    ``low``, ``high``; a PED setting other than ``ped`` is named in ``metric``)
    and a note saying which interval it is.
    """
    from pedrank.core import evaluation

    recs, kinds = [], set()
    for row in res.rows:
        per_d, n_reps = _dataset_taus(res, row, reps, n_boot)
        if not per_d:
            continue
        with_reps = n_reps > 0
        if with_reps or len(per_d) == 1:
            mean = evaluation.mean_over_targets(per_d)
            lo, hi = mean.low, mean.high
            kinds.add("replicates" if with_reps else "none")
        else:
            taus = np.array([r.statistic for r in per_d])
            picks = np.random.default_rng(0).integers(0, taus.size, (n_boot, taus.size))
            lo, hi = np.percentile(taus[picks].mean(axis=1), [2.5, 97.5])
            kinds.add("datasets")
        metric, variant = row
        name = metric if variant in (BASELINE, "ped") else f"{metric} [{variant}]"
        recs.append({"metric": name, "ped": variant != BASELINE,
                     "tau": float(np.mean([r.statistic for r in per_d])),
                     "low": float(lo), "high": float(hi), "datasets": len(per_d)})
    words = {"replicates": "the ground truth's per-seed replicates",
             "datasets": "the datasets (no per-seed ground truth)",
             "none": "nothing: one dataset and no per-seed ground truth, so the bar has no width"}
    note = ("Weighted τ, mean over datasets, per metric setting; 95% percentile bootstrap "
            f"over {' / '.join(words[k] for k in sorted(kinds))}." if recs else "")
    return recs, note


def _tables(res: BenchResults, gt: dict[str, dict[str, float]]
            ) -> dict[str, EvaluationTable]:
    tables = {}
    for name, (title, fn) in _evaluators().items():
        values: dict[tuple[str, str], dict[str, float | None]] = {}
        partial = set()
        for row in res.rows:
            values[row] = {}
            for d in res.grid.datasets:
                acc = gt.get(d, {})
                sc = {m: s for m, s in res.scores(*row, d).items() if m in acc}
                expected = [m for m in res.grid.models if m in acc]
                if len(sc) < 2:
                    values[row][d] = None
                    continue
                try:
                    v = float(fn(sc, {m: acc[m] for m in sc}))
                except ValueError:
                    v = math.nan
                values[row][d] = v if math.isfinite(v) else None
                if len(sc) < len(expected):
                    partial.add((row, d))
        tables[name] = EvaluationTable(title, res.rows, list(res.grid.datasets), values, partial)
    return tables


def _missing_lines(res: BenchResults) -> list[str]:
    last = res.runs[-1] if res.runs else None
    why_absent = "not computed yet: rerun `pedrank bench` to finish"
    how = {"interrupted": "was interrupted",
           "crashed": "stopped on an error",
           "running": "did not finish (its process died, or it is still running)"}
    if last is not None and last["status"] in how:
        why_absent = (f"not computed: run #{last['run_id']} {how[last['status']]}; "
                      "rerun `pedrank bench` to finish")
    lines = []
    for c in res.grid.cells:
        label = f"{c.model} / {c.dataset} / {row_label(c.metric, c.variant)}"
        if c.missing is not None:
            lines.append(f"{label}: {c.missing}")
            continue
        r = res.cells.get(c.name)
        if r is None:
            lines.append(f"{label}: {why_absent}")
        elif not r.ok:
            lines.append(f"{label}: failed: {r.error}")
    gt = res.groundtruth
    if gt is not None:
        for d in res.grid.datasets:
            if d not in gt:
                lines.append(f"dataset {d}: no ground truth; excluded from the tables")
                continue
            for m in res.grid.models:
                if m not in gt[d]:
                    lines.append(f"{m} / {d}: no ground-truth accuracy; excluded from the tables")
    return lines


def _timing_table(res: BenchResults) -> Table:
    """Cells and seconds per metric setting."""
    records = []
    for row in res.rows:
        rs = [r for k, r in res.cells.items() if (k[2], k[3]) == row]
        ok = [r for r in rs if r.ok]
        tot = sum(r.seconds or 0.0 for r in ok)
        records.append({"": row_label(*row), "ok": len(ok), "failed": len(rs) - len(ok),
                        "total": tot, "per_cell": tot / len(ok) if ok else None,
                        "ped": sum(r.ped_seconds or 0.0 for r in ok)})
    cols = [Column("", wrap=False), Column("ok", "cells ok", fmt="d"),
            Column("failed", fmt="d"), Column("total", "metric s (total)", fmt=".2f"),
            Column("per_cell", "metric s / cell", fmt=".3f"),
            Column("ped", "PED s (total) ‡", fmt=".2f")]
    note = ("‡ PED runs once per feature file and PED setting and is shared by that file's "
            "metrics; each row counts the PED runs its cells used. Times are per-process "
            "CPU-bound wall times inside the workers.")
    return Table(cols, records, notes=[note], index=True)


def _runs_table(res: BenchResults) -> Table:
    """One row per ``pedrank bench`` run recorded in the store."""
    records = [{**r, "started": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["started_at"])),
                "n_computed": r["n_computed"] or 0, "n_skipped": r["n_skipped"] or 0,
                "n_failed": r["n_failed"] or 0} for r in res.runs]
    cols = [Column("run_id", "run", fmt="d"), Column("started", "started (UTC)"),
            Column("status"), Column("executor"), Column("n_computed", "computed", fmt="d"),
            Column("n_skipped", "skipped", fmt="d"), Column("n_failed", "failed", fmt="d"),
            Column("wall_seconds", "wall s", fmt=".2f")]
    return Table(cols, records)


def _cells_table(res: BenchResults) -> Table:
    """Every grid cell with its status, score (``repr``: full precision) and error."""
    records = []
    for c in res.grid.cells:
        r = res.cells.get(c.name)
        records.append({
            "model": c.model, "dataset": c.dataset, "metric": c.metric, "variant": c.variant,
            "status": "missing" if r is None else r.status,
            "score": None if r is None or r.score is None else repr(r.score),
            "seconds": None if r is None or r.seconds is None else f"{r.seconds:.4f}",
            "error": c.missing or ("" if r is None else (r.error or ""))})
    return Table(["model", "dataset", "metric", "variant", "status", "score", "seconds",
                  "error"], records)


def _make_plots(res: BenchResults, out: Path, formats: Sequence[str]
                ) -> tuple[list[Path], str | None]:
    """The report's figures (first format's files) or the note saying why there are none."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return [], "Plots skipped: matplotlib is not installed (pip install 'pedrank[plot]')."
    from pedrank.reports.plots import plot_gain, plot_scatter, plot_tau_intervals

    pngs = plot_scatter(res, out, formats)
    gain = plot_gain(res, out, formats)
    taus = ([plot_tau_intervals(res.intervals, out, formats=formats,
                                title="Weighted τ, mean over datasets (95% interval)")]
            if res.intervals else [])
    return [*pngs, *([gain] if gain is not None else []), *taus], None


def _missing_shown(res: BenchResults) -> list[str]:
    """The missing-cell lines, cut at :data:`MAX_MISSING_LINES` (the rest: cells.csv)."""
    shown = res.missing[:MAX_MISSING_LINES]
    if len(res.missing) > len(shown):
        shown.append(f"... and {len(res.missing) - len(shown)} more: every cell's status and "
                     "error is in cells.csv")
    return shown


def _report_context(config: BenchConfig, res: BenchResults, plots: list[Path],
                    plot_note: str | None) -> dict[str, Any]:
    """Everything the Markdown and HTML templates show (the two render the same data)."""
    partial = any(t.partial for t in res.tables.values())
    note = (f"{PARTIAL} computed over fewer models than the grid has (some cells missing or "
            "failed): not comparable with complete entries. " if partial else "")
    return {
        "title": config.title,
        "n_models": len(res.grid.models), "n_datasets": len(res.grid.datasets),
        "n_rows": len(res.rows), "n_cells": len(res.grid.cells),
        "n_ok": sum(1 for r in res.cells.values() if r.ok),
        "groundtruth": config.groundtruth or "none",
        "store": str(Path(config.results) / "results.sqlite"),
        "ped_settings": [(v.name, ", ".join(f"{k}={val}" for k, val in
                                            v.resolved_params().items())) for v in config.ped],
        "tables": [t.to_table() for t in res.tables.values()],
        "table_note": note + "Bold: best of each column.",
        "timing": _timing_table(res), "runs": _runs_table(res),
        "plot_note": plot_note, "plots": plots, "missing": _missing_shown(res),
        "interval_note": res.interval_note if plots else "",
    }


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    csv: Path
    plots: list[Path]
    results: BenchResults
    latex: Path | None = None  # the evaluation tables (booktabs), when there is ground truth


def write_report(config: BenchConfig, out_dir: str | Path | None = None, *,
                 plots: bool = True, store: ResultStore | None = None,
                 plot_formats: Sequence[str] = ("png", "pdf", "svg")) -> ReportFiles:
    """Write ``report.md``, ``report.html``, ``cells.csv``, ``report.tex`` and the figures.

    Files go to ``out_dir`` (default: the results folder), figures next to the
    report: each as 300-dpi PNG (shown in the report), PDF and SVG, or in
    ``plot_formats`` (the first one is embedded). Works on a partial store:
    missing cells are listed with reasons.
    All documents are rendered from one context by the jinja2 templates
    ``report.md.j2``, ``report.html.j2`` (autoescaped) and ``report.tex.j2`` (the
    evaluation tables as booktabs LaTeX tables, written when there is ground truth).
    """
    res = collect(config, store)
    out = Path(out_dir) if out_dir is not None else config.results
    out.mkdir(parents=True, exist_ok=True)
    pngs, plot_note = _make_plots(res, out, plot_formats) if plots and res.tables else ([], None)
    ctx = _report_context(config, res, pngs, plot_note)
    md_path, html_path, csv_path = out / "report.md", out / "report.html", out / "cells.csv"
    md_path.write_text(render("report.md.j2", **ctx), encoding="utf-8")
    html_path.write_text(render("report.html.j2", **ctx), encoding="utf-8")
    csv_path.write_text(_cells_table(res).to_csv() + "\n", encoding="utf-8")
    tex_path = None
    if res.tables:
        tex_path = out / "report.tex"
        tex_path.write_text(render("report.tex.j2", partial_mark=PARTIAL, **ctx),
                            encoding="utf-8")
    return ReportFiles(md_path, html_path, csv_path, pngs, res, tex_path)
