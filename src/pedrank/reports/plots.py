"""Report figures (matplotlib, non-interactive Agg back end).

* ``scatter_<metric>_<variant>.png``: per dataset, the metric's score of each
  model against its fine-tuning accuracy; each point is annotated with the
  rank the metric gives it (``#1`` = predicted best), with the least-squares
  trend and the weighted Kendall tau in the panel title.
* ``ped_gain.png``: the change of weighted tau that PED brings to each
  metric on each dataset (``tau(PED+metric) - tau(metric)``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pedrank.pipeline.bench.config import BASELINE
from pedrank.reports.labels import row_label

if TYPE_CHECKING:
    from pedrank.reports.bench_report import BenchResults


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ValueError("plots need matplotlib: pip install 'pedrank[plot]' "
                         "(or pass --no-plots)") from None
    matplotlib.use("Agg", force=True)  # files only: no display needed (CI, servers)
    import matplotlib.pyplot as plt

    return plt


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def plot_scatter(res: BenchResults, out: Path) -> list[Path]:
    """One PNG per metric setting with a score-vs-accuracy panel per dataset."""
    plt = _pyplot()
    gt = res.groundtruth or {}
    tau = res.tables.get("weighted_tau")
    paths = []
    datasets = list(res.grid.datasets)
    ncols = min(4, len(datasets))
    nrows = math.ceil(len(datasets) / ncols)
    for row in res.rows:
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows),
                                 squeeze=False)
        for ax, d in zip(axes.flat, datasets, strict=False):
            acc = gt.get(d, {})
            sc = {m: s for m, s in res.scores(*row, d).items() if m in acc}
            t = tau.values[row].get(d) if tau is not None else None
            ax.set_title(f"{d}   τw = {t:.3f}" if t is not None else f"{d}   τw = n/a",
                         fontsize=10)
            ax.set_xlabel("score", fontsize=8)
            ax.set_ylabel("ground-truth accuracy", fontsize=8)
            ax.tick_params(labelsize=7)
            if not sc:
                ax.text(0.5, 0.5, "no results", ha="center", va="center",
                        transform=ax.transAxes)
                continue
            names = sorted(sc, key=lambda m: -sc[m])  # predicted ranking, best first
            x = np.array([sc[m] for m in names])
            y = np.array([acc[m] for m in names])
            ax.scatter(x, y, s=22, color="tab:blue", zorder=3)
            for r, (m, xi, yi) in enumerate(zip(names, x, y, strict=True), start=1):
                ax.annotate(f"#{r} {m}", (xi, yi), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
            if len(x) >= 2 and np.ptp(x) > 0:
                slope, icept = np.polyfit(x, y, 1)
                xs = np.linspace(x.min(), x.max(), 2)
                ax.plot(xs, slope * xs + icept, "--", color="grey", lw=1, zorder=2)
        for ax in list(axes.flat)[len(datasets):]:
            ax.set_visible(False)
        fig.suptitle(f"{row_label(*row)}: score vs. ground truth (#k = predicted rank)")
        fig.tight_layout()
        path = out / f"scatter_{_safe(row[0])}_{_safe(row[1])}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_gain(res: BenchResults, out: Path) -> Path | None:
    """Grouped bars of PED's weighted-tau gain per metric and dataset (+ mean)."""
    tau = res.tables.get("weighted_tau")
    if tau is None:
        return None
    pairs = [(m, v) for (m, v) in res.rows if v != BASELINE and (m, BASELINE) in tau.values]
    if not pairs:
        return None
    plt = _pyplot()
    cols = [*res.grid.datasets, "mean"]
    width = 0.8 / len(pairs)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(cols) * max(1, len(pairs)) / 2 + 3), 4))
    xs = np.arange(len(cols))
    for i, (m, v) in enumerate(pairs):
        gains = []
        for c in cols:
            if c == "mean":
                a, b = tau.mean((m, v)), tau.mean((m, BASELINE))
            else:
                a, b = tau.values[(m, v)].get(c), tau.values[(m, BASELINE)].get(c)
            gains.append(np.nan if a is None or b is None else a - b)
        ax.bar(xs + (i - (len(pairs) - 1) / 2) * width, gains, width, label=row_label(m, v))
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(xs, cols, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Δ weighted τ (PED+metric − metric)")
    ax.set_title("PED's gain in ranking quality")
    ax.legend(fontsize=7, ncols=min(4, len(pairs)))
    fig.tight_layout()
    path = out / "ped_gain.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
