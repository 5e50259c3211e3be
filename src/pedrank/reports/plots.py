"""Paper-ready report figures (matplotlib, non-interactive Agg back end).

* ``scatter_<metric>_<variant>``: per dataset, the metric's score of each model
  against its fine-tuning accuracy, with the least-squares trend and the
  weighted Kendall tau in the panel title. Each point's label (``#k model``,
  ``#1`` = predicted best) sits in a column right of the panel, joined to its
  point by a thin leader line; the labels are spread vertically so that they
  never overlap each other or a point.
* ``ped_gain``: the change of weighted tau that PED brings to each metric on
  each dataset (``tau(PED+metric) - tau(metric)``), legend outside the axes; a
  zero gain shows as a line at 0, a missing one as no bar.
* ``tau_intervals``: weighted tau with its interval per metric, with and without
  PED (:func:`plot_tau_intervals`; records ``(metric, ped, tau, low, high)``).

Every figure is written as PNG (300 dpi), PDF and SVG with constrained layout,
in the Okabe-Ito colour-blind-safe palette (Okabe & Ito, "Color Universal
Design", 2002; Wong, Nature Methods 8:441, 2011). :func:`layout_problems` checks
a drawn figure for clipped or overlapping labels; the tests run it on every
figure made here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from pedrank.pipeline.bench.config import BASELINE
from pedrank.reports.labels import display_name, row_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class BenchResults(Protocol):
    """What the figures read from :class:`pedrank.reports.bench_report.BenchResults`.

    A protocol, so that this module does not import the report module (which
    imports this one to draw its figures): no import cycle, not even for typing.
    """

    groundtruth: dict[str, dict[str, float]] | None
    tables: dict[str, Any]
    grid: Any

    @property
    def rows(self) -> list[tuple[str, str]]: ...

    def scores(self, metric: str, variant: str, dataset: str) -> dict[str, float]: ...

#: Okabe-Ito palette without its black (kept for reference lines and text).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000")
#: Series colours: the palette with its low-contrast yellow moved to the end.
SERIES = tuple(OKABE_ITO[i] for i in (0, 1, 2, 4, 5, 6, 3))
FORMATS = ("png", "pdf", "svg")
DPI = 300
LABEL_FONTSIZE = 7.0
_STYLE = {
    "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7,
    "ytick.labelsize": 7, "legend.fontsize": 7, "figure.titlesize": 10,
    "axes.spines.top": False, "axes.spines.right": False,
    "svg.fonttype": "none", "pdf.fonttype": 42,  # editable text in SVG, TrueType in PDF
}


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ValueError("plots need matplotlib: pip install 'pedrank[plot]' "
                         "(or pass --no-plots)") from None
    matplotlib.use("Agg", force=True)  # files only: no display needed (CI, servers)
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def style():
    """The report style (fonts, spines, the Okabe-Ito colour cycle) as an rc context."""
    plt = _pyplot()
    from matplotlib import cycler

    with plt.rc_context({**_STYLE, "axes.prop_cycle": cycler(color=SERIES)}):
        yield plt


def _new_figure(**kw: Any) -> Figure:
    """A constrained-layout figure (call inside :func:`style`)."""
    return _pyplot().figure(layout="constrained", **kw)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def save_figure(fig: Figure, out: Path, stem: str, formats: Sequence[str] = FORMATS) -> Path:
    """Write ``stem.png`` (300 dpi), ``stem.pdf`` and ``stem.svg``, close ``fig``.

    Returns the path of the first format's file (the PNG by default).
    """
    try:
        with style():
            for ext in formats:
                fig.savefig(out / f"{stem}.{ext}", dpi=DPI)
    finally:
        _pyplot().close(fig)
    return out / f"{stem}.{formats[0]}"


# -- label placement ------------------------------------------------------------------------

def spread(positions: Sequence[float], gap: float, low: float = -math.inf,
           high: float = math.inf) -> np.ndarray:
    """Move sorted-order positions apart to at least ``gap``, as little as needed.

    A 1-D repel: each position keeps its order and moves only as far as the
    gaps need (three vectorised cumulative max/min passes). Chosen over the
    adjustText package (PyPI, 1.4.0): its iterative 2-D repel does not
    guarantee zero overlaps, which the report's layout test demands. Positions
    are pushed up from ``low`` and then down from ``high`` (when the span is too
    short for all, ``low`` wins and the stack runs past ``high``).
    Returns the positions in the input order.

    >>> spread([0.0, 0.01, 0.5], 0.1).round(3).tolist()
    [0.0, 0.1, 0.5]
    >>> spread([0.95, 0.99], 0.1, high=1.0).round(3).tolist()
    [0.9, 1.0]
    """
    y = np.asarray(positions, dtype=np.float64)
    order = np.argsort(y, kind="stable")
    k = np.arange(y.size) * gap
    p = np.maximum.accumulate(np.maximum(y[order], low) - k) + k
    top = high - (k[-1] if k.size else 0.0)
    p = np.minimum.accumulate(np.minimum(p - k, top)[::-1])[::-1] + k
    p = np.maximum.accumulate(np.maximum(p, low) - k) + k
    out = np.empty_like(p)
    out[order] = p
    return out


def _label_points(fig: Figure, panels: list[tuple[Any, np.ndarray, np.ndarray, list[str]]]
                  ) -> None:
    """Labels in a column right of each panel, spread apart, leader lines to their points.

    ``panels`` holds ``(axes, x, y, labels)``. One draw first: the layout fixes
    each axes' height, which sets the label gap in axes-fraction units.
    """
    fig.canvas.draw()
    for ax, x, y, labels in panels:
        height_pt = ax.get_window_extent().height * 72.0 / fig.dpi
        gap = 1.3 * LABEL_FONTSIZE / max(height_pt, 1.0)
        frac = ax.transLimits.transform(np.column_stack([x, y]))[:, 1]  # data -> axes fraction
        target = spread(frac, gap, low=0.0, high=1.0)
        for xi, yi, ty, text in zip(x, y, target, labels, strict=True):
            ax.annotate(text, (xi, yi), xytext=(1.04, ty), textcoords="axes fraction",
                        fontsize=LABEL_FONTSIZE, va="center", ha="left",
                        annotation_clip=False, zorder=1,  # leader lines pass behind points
                        arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5,
                                    "shrinkA": 0, "shrinkB": 2})


def _scatter_panel(ax, name: str, sc: Mapping[str, float], acc: Mapping[str, float],
                   t: float | None) -> tuple[Any, np.ndarray, np.ndarray, list[str]] | None:
    """One dataset's score-vs-accuracy panel; returns its points' labels to place."""
    ax.set_title(f"{name}   τw = {t:.3f}" if t is not None else f"{name}   τw = n/a")
    ax.set_xlabel("score")
    ax.set_ylabel("ground-truth accuracy")
    if not sc:
        ax.text(0.5, 0.5, "no results", ha="center", va="center", transform=ax.transAxes)
        return None
    names = sorted(sc, key=lambda m: -sc[m])  # predicted ranking, best first
    x = np.array([sc[m] for m in names])
    y = np.array([acc[m] for m in names])
    ax.scatter(x, y, s=18, color=OKABE_ITO[4], zorder=3)
    if len(x) >= 2 and np.ptp(x) > 0:
        slope, icept = np.polyfit(x, y, 1)
        xs = np.linspace(x.min(), x.max(), 2)
        ax.plot(xs, slope * xs + icept, "--", color="0.5", lw=0.8, zorder=2)
    ax.margins(x=0.08, y=0.08)
    return ax, x, y, [f"#{r} {m}" for r, m in enumerate(names, start=1)]


def scatter_figure(res: BenchResults, row: tuple[str, str]) -> Figure:
    """Score-vs-accuracy panels, one per dataset, of one metric setting ``row``."""
    gt = res.groundtruth or {}
    tau = res.tables.get("weighted_tau")
    datasets = list(res.grid.datasets)
    ncols = min(3, len(datasets))
    nrows = math.ceil(len(datasets) / ncols)
    with style():
        fig = _new_figure(figsize=(3.6 * ncols, 2.9 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        panels = []
        for ax, d in zip(axes.flat, datasets, strict=False):
            acc = gt.get(d, {})
            sc = {m: s for m, s in res.scores(*row, d).items() if m in acc}
            t = tau.values[row].get(d) if tau is not None else None
            panels.append(_scatter_panel(ax, d, sc, acc, t))
        for ax in list(axes.flat)[len(datasets):]:
            ax.set_visible(False)
        fig.suptitle(f"{row_label(*row)}: score vs. ground truth "
                     "(#k = predicted rank; dashed: least-squares fit)")
        _label_points(fig, [p for p in panels if p is not None])
    return fig


def plot_scatter(res: BenchResults, out: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write :func:`scatter_figure` for every metric setting.

    Returns the first format's files (PNG by default), one per metric setting.
    """
    return [save_figure(scatter_figure(res, row), out,
                        f"scatter_{_safe(row[0])}_{_safe(row[1])}", formats)
            for row in res.rows]


def _gains(res: BenchResults, pairs: list[tuple[str, str]], cols: list[str]) -> np.ndarray:
    """``tau(PED+metric) - tau(metric)`` per pair and column (NaN where either is missing)."""
    tau = res.tables["weighted_tau"]
    out = np.full((len(pairs), len(cols)), np.nan)
    for i, (m, v) in enumerate(pairs):
        for j, c in enumerate(cols):
            a, b = tau.get((m, v), c), tau.get((m, BASELINE), c)
            if a is not None and b is not None:
                out[i, j] = a - b
    return out


def gain_figure(res: BenchResults) -> Figure | None:
    """Grouped bars of PED's weighted-tau gain per metric and dataset (+ mean), or None.

    None when there is no ground truth or no metric has both a PED and a baseline row.
    """
    tau = res.tables.get("weighted_tau")
    if tau is None:
        return None
    pairs = [(m, v) for (m, v) in res.rows if v != BASELINE and (m, BASELINE) in tau.values]
    if not pairs:
        return None
    cols = [*res.grid.datasets, "mean"]
    gains = _gains(res, pairs, cols)
    width = 0.8 / len(pairs)
    xs = np.arange(len(cols))
    with style():
        # At most a double-column figure (7.2 in); bars get thinner, not the page wider.
        fig = _new_figure(figsize=(min(7.2, max(4.5, 0.35 * len(cols) * len(pairs) + 2.5)), 3.0))
        ax = fig.subplots()
        for i, (m, v) in enumerate(pairs):
            color = SERIES[i % len(SERIES)]
            # The edge in the bar's colour keeps a zero gain visible as a line at 0, so
            # "no change" is not mistaken for "not computed" (NaN: no bar at all).
            ax.bar(xs + (i - (len(pairs) - 1) / 2) * width, gains[i], width,
                   label=row_label(m, v), color=color, edgecolor=color, lw=0.8, zorder=2)
        ax.axhline(0.0, color="black", lw=0.6, zorder=1)
        ax.set_xticks(xs, cols, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_ylabel("Δ weighted τ (PED+metric − metric)")
        ax.set_title("PED's gain in ranking quality")
        fig.legend(loc="outside right upper", frameon=False)
    return fig


def plot_gain(res: BenchResults, out: Path, formats: Sequence[str] = FORMATS) -> Path | None:
    """Write :func:`gain_figure` as ``ped_gain``; None when there is nothing to show."""
    fig = gain_figure(res)
    return None if fig is None else save_figure(fig, out, "ped_gain", formats)


def _interval_records(records: Iterable[Any]) -> list[tuple[str, bool, float, float, float]]:
    """``(metric, ped, tau, low, high)`` from tuples or mappings with those keys."""
    rows = []
    for r in records:
        if isinstance(r, Mapping):
            r = (r["metric"], r["ped"], r["tau"], r["low"], r["high"])
        metric, ped, t, lo, hi = r
        t, lo, hi = float(t), float(lo), float(hi)
        # A percentile interval may leave out its own point estimate (a skewed bootstrap
        # distribution, e.g. near tau = 1), so only the interval's own order is checked.
        if not (np.isfinite([t, lo, hi]).all() and lo <= hi):
            raise ValueError(f"{metric} (ped={ped}): need finite tau and low <= high, got "
                             f"tau={t}, [{lo}, {hi}]")
        rows.append((str(metric), bool(ped), t, lo, hi))
    if not rows:
        raise ValueError("no interval records to plot")
    return rows


def tau_interval_figure(records: Iterable[Any], *, title: str = "Weighted τ with intervals",
                        xlabel: str = "weighted τ") -> Figure:
    """Dot-and-whisker plot of tau and its interval per metric, with and without PED.

    Parameters
    ----------
    records
        ``(metric, ped, tau, low, high)`` tuples, or mappings with those keys;
        ``ped`` is a bool; ``low <= high`` (e.g. a bootstrap percentile interval,
        which may leave out ``tau``: the bar is drawn from ``low`` to ``high`` and
        the marker at ``tau`` wherever it is).
    title, xlabel
        The axes' title and x label.
    """
    rows = _interval_records(records)
    metrics = list(dict.fromkeys(m for m, *_ in rows))
    y_of = {m: i for i, m in enumerate(metrics)}
    styles = {False: ("without PED", OKABE_ITO[4], "o", -0.15),
              True: ("with PED", OKABE_ITO[5], "s", 0.15)}
    with style():
        fig = _new_figure(figsize=(4.8, 0.42 * len(metrics) + 1.3))
        ax = fig.subplots()
        for ped, (label, color, marker, dy) in styles.items():
            sel = [r for r in rows if r[1] == ped]
            if not sel:
                continue
            y = np.array([y_of[m] + dy for m, *_ in sel])
            t, lo, hi = (np.array([r[k] for r in sel]) for k in (2, 3, 4))
            ax.hlines(y, lo, hi, color=color, lw=1)
            for edge in (lo, hi):  # caps
                ax.plot(edge, y, "|", color=color, ms=5, mew=1)
            ax.plot(t, y, marker, color=color, ms=4, ls="none", label=label)
        ax.axvline(0.0, color="0.6", lw=0.6, zorder=0)
        ax.set_yticks(range(len(metrics)), [display_name(m) for m in metrics])
        ax.set_ylim(len(metrics) - 0.5, -0.5)  # first metric on top
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        fig.legend(loc="outside right upper", frameon=False)
    return fig


def plot_tau_intervals(records: Iterable[Any], out: Path, *, stem: str = "tau_intervals",
                       formats: Sequence[str] = FORMATS, **kw: Any) -> Path:
    """Write :func:`tau_interval_figure` as ``stem.png`` (300 dpi), ``.pdf``, ``.svg``.

    Returns the first format's path. ``kw`` goes to :func:`tau_interval_figure`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> recs = [("logme", False, 0.41, 0.20, 0.60), ("logme", True, 0.52, 0.33, 0.69),
    ...         ("sfda", False, 0.35, 0.12, 0.55), ("sfda", True, 0.47, 0.25, 0.64)]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_tau_intervals(recs, Path(tmp), formats=("png",)).name
    'tau_intervals.png'
    """
    return save_figure(tau_interval_figure(records, **kw), out, stem, formats)




# -- layout check ---------------------------------------------------------------------------

def _texts(fig: Figure) -> tuple[list[Any], list[Any]]:
    """The figure's visible, non-empty texts: (tick labels, everything else).

    Collected artist by artist rather than with ``findobj``: matplotlib keeps
    spare tick objects outside the view limits, which are never drawn.
    """
    ticks, other = [], [*fig.texts]
    if fig._suptitle is not None:  # noqa: SLF001 - no public accessor
        other.append(fig._suptitle)
    for lg in fig.legends:
        other += lg.get_texts()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        ticks += _ticks_in_view(ax)
        other += [ax.title, ax._left_title, ax._right_title,  # noqa: SLF001
                  ax.xaxis.label, ax.yaxis.label, *ax.texts]
        if ax.get_legend() is not None:
            other += ax.get_legend().get_texts()

    def shown(t) -> bool:
        return t.get_visible() and bool(t.get_text().strip())

    other = list({id(t): t for t in other}.values())  # the suptitle is in fig.texts too
    return [t for t in ticks if shown(t)], [t for t in other if shown(t)]


def _ticks_in_view(ax) -> list[Any]:
    """Tick labels inside the axes' view limits (the ones matplotlib draws)."""
    out = []
    for labels, (lo, hi), k in ((ax.get_xticklabels(), sorted(ax.get_xlim()), 0),
                                (ax.get_yticklabels(), sorted(ax.get_ylim()), 1)):
        span = (hi - lo) * 1e-9
        out += [t for t in labels if lo - span <= t.get_position()[k] <= hi + span]
    return out


def _marks(fig: Figure, renderer: Any) -> list[tuple[str, Any]]:
    """Plotted points (display coordinates) and bars (extents) of every axes."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    marks: list[tuple[str, Any]] = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for coll in ax.collections:
            if isinstance(coll, PathCollection):
                pts = coll.get_offset_transform().transform(coll.get_offsets())
                marks += [("point", p) for p in pts]
        for line in ax.lines:
            if line.get_marker() not in (None, "", "None", " "):
                marks += [("point", p) for p in ax.transData.transform(line.get_xydata())]
        marks += [("bar", p.get_window_extent(renderer)) for p in ax.patches
                  if isinstance(p, Rectangle) and np.isfinite(p.get_height())
                  and p.get_height() != 0]
    return marks


def layout_problems(fig: Figure, *, tol: float = 0.5) -> list[str]:
    """Clipped or overlapping labels of a figure, as readable lines (empty: none).

    Draws the figure and compares renderer extents (``get_window_extent``):
    every visible text must lie inside the figure; no two texts may overlap
    (tick labels excepted among themselves: rotated ones have overlapping
    boxes but not glyphs); no text or legend may cover a plotted point or bar.
    ``tol`` is in pixels.
    """
    from matplotlib.text import Text

    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ticks, texts = _texts(fig)
    # Text's own extent: an Annotation's would include its leader line.
    box = {id(t): Text.get_window_extent(t, r) for t in [*ticks, *texts]}
    page = fig.bbox.padded(tol)
    problems = [f"clipped: {t.get_text()!r}" for t in [*ticks, *texts]
                if not (page.x0 <= box[id(t)].x0 and box[id(t)].x1 <= page.x1
                        and page.y0 <= box[id(t)].y0 and box[id(t)].y1 <= page.y1)]
    for a, b in combinations([*texts, *ticks], 2):
        if a in ticks and b in ticks:
            continue
        if box[id(a)].padded(-tol).overlaps(box[id(b)].padded(-tol)):
            problems.append(f"overlap: {a.get_text()!r} and {b.get_text()!r}")
    covers = [(t.get_text(), box[id(t)]) for t in texts]
    covers += [("legend", lg.get_window_extent(r)) for lg in
               [*fig.legends, *(a.get_legend() for a in fig.axes if a.get_legend())]]
    for name, cover in covers:
        inner = cover.padded(-tol)
        for kind, m in _marks(fig, r):
            if inner.contains(*m) if kind == "point" else inner.overlaps(m):
                problems.append(f"{name!r} covers a {kind}")
    return problems
