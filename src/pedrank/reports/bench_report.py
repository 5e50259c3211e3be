"""Paper-style benchmark report (Markdown + HTML) from the result store.

Layout of the main table follows the PED paper (Li et al., ICCV 2023,
Table 1) and SFDA (Shao et al., ECCV 2022): one row per metric and one per
metric+PED, one column per target dataset plus the mean, best value of each
column in bold. The entries are the weighted Kendall tau between the metric's
scores and the models' fine-tuning accuracies (``scipy.stats.weightedtau``
defaults), then the same layout for rel@1 and recall@3.
"""

from __future__ import annotations

import csv
import html
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pedrank.pipeline.bench.config import BenchConfig
from pedrank.pipeline.bench.runner import Grid, load_groundtruth, plan_grid
from pedrank.pipeline.bench.store import CellResult, ResultStore
from pedrank.reports.labels import row_label

PARTIAL = "†"
MAX_MISSING_LINES = 300  # a huge partial grid lists the rest in cells.csv

@dataclass
class Table:
    """A rows x (datasets + mean) table of floats (``None`` = not available)."""

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

    def _best(self, col: str) -> float | None:
        vals = [self._get(r, col) for r in self.rows]
        vals = [round(v, self.digits) for v in vals if v is not None]
        if not vals:
            return None
        return max(vals) if self.higher_is_better else min(vals)

    def _get(self, row: tuple[str, str], col: str) -> float | None:
        return self.mean(row) if col == "mean" else self.values[row].get(col)

    def cells(self) -> list[tuple[str, list[tuple[str, bool]]]]:
        """Formatted rows: ``(label, [(text, is_best), ...])`` over columns + mean."""
        cols = [*self.columns, "mean"]
        best = {c: self._best(c) for c in cols}
        out = []
        for row in self.rows:
            texts = []
            for c in cols:
                v = self._get(row, c)
                if v is None:
                    texts.append(("—", False))
                    continue
                text = f"{v:.{self.digits}f}"
                part = (self.mean_is_partial(row) if c == "mean"
                        else (row, c) in self.partial)
                if part:
                    text += PARTIAL
                texts.append((text, best[c] is not None and round(v, self.digits) == best[c]))
            out.append((row_label(*row), texts))
        return out

    def to_markdown(self) -> str:
        cols = [*self.columns, "mean"]
        lines = ["| | " + " | ".join(cols) + " |",
                 "|---|" + "|".join("---:" for _ in cols) + "|"]
        for label, texts in self.cells():
            parts = [f"**{t}**" if b else t for t, b in texts]
            lines.append(f"| {label} | " + " | ".join(parts) + " |")
        return "\n".join(lines)

    def to_html(self) -> str:
        cols = [*self.columns, "mean"]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = []
        for label, texts in self.cells():
            tds = "".join(
                f"<td><b>{html.escape(t)}</b></td>" if b else f"<td>{html.escape(t)}</td>"
                for t, b in texts)
            body.append(f"<tr><th>{html.escape(label)}</th>{tds}</tr>")
        return (f"<table><thead><tr><th></th>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")


@dataclass
class BenchResults:
    """Everything the report shows, computed from the store and the grid."""

    config: BenchConfig
    grid: Grid
    groundtruth: dict[str, dict[str, float]] | None
    cells: dict[tuple[str, str, str, str], CellResult]  # (model, dataset, metric, variant)
    runs: list[dict[str, Any]]
    tables: dict[str, Table]
    missing: list[str]

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
    return res


def _tables(res: BenchResults, gt: dict[str, dict[str, float]]) -> dict[str, Table]:
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
        tables[name] = Table(title, res.rows, list(res.grid.datasets), values, partial)
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


def _timing_markdown(res: BenchResults) -> str:
    lines = ["| | cells ok | failed | metric s (total) | metric s / cell | PED s (total) ‡ |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in res.rows:
        rs = [r for k, r in res.cells.items() if (k[2], k[3]) == row]
        ok = [r for r in rs if r.ok]
        tot = sum(r.seconds or 0.0 for r in ok)
        ped = sum(r.ped_seconds or 0.0 for r in ok)
        per = f"{tot / len(ok):.3f}" if ok else "—"
        lines.append(f"| {row_label(*row)} | {len(ok)} | {len(rs) - len(ok)} | {tot:.2f} | "
                     f"{per} | {ped:.2f} |")
    lines += ["", "‡ PED runs once per feature file and PED setting and is shared by that "
              "file's metrics; each row counts the PED runs its cells used. Times are "
              "per-process CPU-bound wall times inside the workers."]
    lines += ["", "| run | started (UTC) | status | executor | computed | skipped | failed |"
              " wall s |", "|---:|---|---|---|---:|---:|---:|---:|"]
    for r in res.runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["started_at"]))
        wall = f"{r['wall_seconds']:.2f}" if r["wall_seconds"] is not None else "—"
        lines.append(f"| {r['run_id']} | {started} | {r['status']} | {r['executor']} | "
                     f"{r['n_computed'] or 0} | {r['n_skipped'] or 0} | {r['n_failed'] or 0} |"
                     f" {wall} |")
    return "\n".join(lines)


def _md_to_html_table(md: str) -> str:
    # Only for the plain timing tables and notes we generate ourselves (no inline markup).
    out: list[str] = []
    block: list[str] = []
    for ln in [*md.splitlines(), ""]:
        if ln.startswith("|"):
            block.append(ln)
            continue
        if block:
            head = [html.escape(x.strip()) for x in block[0].strip("|").split("|")]
            body = [[html.escape(x.strip()) for x in b.strip("|").split("|")] for b in block[2:]]
            out.append("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
                                 for r in body) + "</tbody></table>")
            block = []
        if ln.strip():
            out.append(f"<p>{html.escape(ln)}</p>")
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escape for HTML, rendering our Markdown `code` spans."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    csv: Path
    plots: list[Path]
    results: BenchResults


def write_report(config: BenchConfig, out_dir: str | Path | None = None, *,
                 plots: bool = True, store: ResultStore | None = None) -> ReportFiles:
    """Write ``report.md``, ``report.html``, ``cells.csv`` and PNG plots.

    Files go to ``out_dir`` (default: the results folder), PNGs next to the
    report. Works on a partial store: missing cells are listed with reasons.
    """
    res = collect(config, store)
    out = Path(out_dir) if out_dir is not None else config.results
    out.mkdir(parents=True, exist_ok=True)
    pngs: list[Path] = []
    plot_note = None
    if plots and res.tables:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            plot_note = "Plots skipped: matplotlib is not installed (pip install 'pedrank[plot]')."
        else:
            from pedrank.reports.plots import plot_gain, plot_scatter

            pngs += plot_scatter(res, out)
            gain = plot_gain(res, out)
            if gain is not None:
                pngs.append(gain)

    gt_name = config.groundtruth or "none"
    n_ok = sum(1 for r in res.cells.values() if r.ok)
    head = [f"# {config.title}", "",
            f"{len(res.grid.models)} models × {len(res.grid.datasets)} datasets × "
            f"{len(res.rows)} metric settings = {len(res.grid.cells)} cells; "
            f"{n_ok} finished, {len(res.grid.cells) - n_ok} missing or failed. "
            f"Ground truth: `{gt_name}`. Store: `{Path(config.results) / 'results.sqlite'}`.", ""]
    ped_lines = [f"- `{v.name}`: " + ", ".join(f"{k}={val}" for k, val in
                                                v.resolved_params().items())
                 for v in config.ped]
    if ped_lines:
        head += ["PED settings:", "", *ped_lines, ""]
    md = list(head)
    html_parts = [f"<h1>{html.escape(config.title)}</h1>", f"<p>{_inline(head[2])}</p>"]
    if ped_lines:
        html_parts.append("<p>PED settings:</p><ul>" + "".join(
            f"<li>{_inline(ln[2:])}</li>" for ln in ped_lines) + "</ul>")
    if not res.tables:
        msg = ("No ground truth given (`groundtruth = ...`): only the raw scores are in "
               "`cells.csv`.")
        md += [msg, ""]
        html_parts.append(f"<p>{_inline(msg)}</p>")
    for table in res.tables.values():
        md += [f"## {table.title}", "", table.to_markdown(), ""]
        html_parts += [f"<h2>{html.escape(table.title)}</h2>", table.to_html()]
    if any(t.partial for t in res.tables.values()):
        note = (f"{PARTIAL} computed over fewer models than the grid has (some cells missing "
                "or failed): not comparable with complete entries. Bold: best of each column.")
    else:
        note = "Bold: best of each column."
    md += [note, ""]
    html_parts.append(f"<p>{html.escape(note)}</p>")
    timing = _timing_markdown(res)
    md += ["## Run times", "", timing, ""]
    html_parts += ["<h2>Run times</h2>", _md_to_html_table(timing)]
    if plot_note:
        md += [plot_note, ""]
        html_parts.append(f"<p>{html.escape(plot_note)}</p>")
    if pngs:
        md += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in pngs] + [""]
        html_parts += ["<h2>Plots</h2>"] + [
            f'<p><img src="{html.escape(p.name)}" alt="{html.escape(p.stem)}" '
            'style="max-width:100%"></p>' for p in pngs]
    md += ["## Missing cells", ""]
    html_parts.append("<h2>Missing cells</h2>")
    if res.missing:
        shown = res.missing[:MAX_MISSING_LINES]
        if len(res.missing) > len(shown):
            shown = [*shown, f"... and {len(res.missing) - len(shown)} more: every cell's "
                             "status and error is in cells.csv"]
        md += [f"- {ln}" for ln in shown]
        html_parts.append("<ul>" + "".join(f"<li>{html.escape(ln)}</li>" for ln in shown)
                          + "</ul>")
    else:
        md.append("None: every cell of the grid finished.")
        html_parts.append("<p>None: every cell of the grid finished.</p>")
    md_path = out / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    html_path = out / "report.html"
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}"
             "table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "th:first-child{text-align:left}")
    html_path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(config.title)}"
        f"</title><style>{style}</style></head><body>\n" + "\n".join(html_parts)
        + "\n</body></html>\n", encoding="utf-8")
    csv_path = out / "cells.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "dataset", "metric", "variant", "status", "score", "seconds",
                    "error"])
        for c in res.grid.cells:
            r = res.cells.get(c.name)
            status = "missing" if r is None else r.status
            w.writerow([c.model, c.dataset, c.metric, c.variant, status,
                        "" if r is None or r.score is None else repr(r.score),
                        "" if r is None or r.seconds is None else f"{r.seconds:.4f}",
                        c.missing or ("" if r is None else (r.error or ""))])
    return ReportFiles(md_path, html_path, csv_path, pngs, res)
