"""Paper-ready figures: formats and resolution, label placement, the layout check itself."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("matplotlib", reason="plots need the optional matplotlib (pedrank[plot])")

from pedrank.reports import plots  # noqa: E402

RECORDS = [("logme", False, 0.41, 0.20, 0.60), ("logme", True, 0.52, 0.33, 0.69),
           ("regularized_hscore", False, -0.05, -0.31, 0.22),
           ("regularized_hscore", True, 0.10, -0.12, 0.35),
           {"metric": "sfda", "ped": False, "tau": 0.35, "low": 0.12, "high": 0.55},
           {"metric": "sfda", "ped": True, "tau": 0.47, "low": 0.25, "high": 0.64}]


def png_dpi(data: bytes) -> float:
    """Horizontal resolution from a PNG's pHYs chunk (pixels per metre -> dpi)."""
    i = data.index(b"pHYs")
    ppm, _, unit = struct.unpack(">IIB", data[i + 4:i + 13])
    assert unit == 1  # metres
    return ppm * 0.0254


def test_interval_plot_is_written_as_png_pdf_svg_at_300_dpi(tmp_path):
    png = plots.plot_tau_intervals(RECORDS, tmp_path)
    assert png == tmp_path / "tau_intervals.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and png_dpi(data) == pytest.approx(300, abs=0.5)
    assert (tmp_path / "tau_intervals.pdf").read_bytes()[:5] == b"%PDF-"
    assert "<svg" in (tmp_path / "tau_intervals.svg").read_text()


def test_interval_figure_has_no_layout_problems_and_one_row_per_metric():
    fig = plots.tau_interval_figure(RECORDS)
    try:
        assert plots.layout_problems(fig) == []
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["LogME", "Reg. H-Score",
                                                                 "SFDA"]
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["without PED",
                                                                       "with PED"]
    finally:
        plots._pyplot().close(fig)


@pytest.mark.parametrize("bad", [[("logme", False, 0.5, 0.6, 0.2)],
                                 [("logme", False, float("nan"), 0.2, 0.6)], []])
def test_interval_records_are_validated(bad):
    with pytest.raises(ValueError, match="low <= high|no interval records"):
        plots.tau_interval_figure(bad)


def test_interval_may_leave_out_its_point_estimate():
    """Regression: a percentile bootstrap interval can exclude the point estimate (a tau of
    1.0 whose draws all fall below it, seen in the evidence report); the figure used to
    refuse such records, now it draws the bar and the marker where they are."""
    fig = plots.tau_interval_figure([("logme", False, 0.95, 0.40, 0.90),
                                     ("logme", True, 0.10, 0.20, 0.60)])
    try:
        assert plots.layout_problems(fig) == []
        xs = [x for line in fig.axes[0].get_lines() for x in np.atleast_1d(line.get_xdata())]
        assert 0.95 in xs and 0.10 in xs
    finally:
        plots._pyplot().close(fig)


def test_layout_check_catches_the_old_plot_faults():
    """Regression: ped_gain.png hid a bar under its legend; scatter labels overlapped and
    ran off the edge. The check must see all three on a figure made the old way."""
    plt = plots._pyplot()
    fig, (bar_ax, pt_ax) = plt.subplots(1, 2, figsize=(6, 3))
    try:
        bar_ax.bar([0, 1, 2], [1.0, 0.2, 0.95], label="a long legend entry")
        bar_ax.legend(loc="upper right", fontsize=12)
        pt_ax.scatter([0.0, 0.01, 1.0], [0.0, 0.01, 1.0])
        for i, (x, y) in enumerate([(0.0, 0.0), (0.01, 0.01), (1.0, 1.0)]):
            pt_ax.annotate(f"#{i + 1} some-model-name", (x, y), xytext=(3, 3),
                           textcoords="offset points")
        problems = plots.layout_problems(fig)
    finally:
        plt.close(fig)
    assert any(p.startswith("'legend' covers a bar") for p in problems), problems
    assert any(p.startswith("overlap: '#1") for p in problems), problems
    assert any(p.startswith("clipped: '#3") for p in problems), problems


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=15), st.floats(0.01, 0.06))
def test_spread_keeps_order_and_gaps_within_bounds(ys, gap):
    p = plots.spread(ys, gap, low=0.0, high=1.0)
    order = np.argsort(ys, kind="stable")
    assert np.all(np.diff(p[order]) >= gap - 1e-12)  # sorted order kept, gaps met
    assert p.min() >= -1e-12
    if (len(ys) - 1) * gap <= 1.0:
        assert p.max() <= 1.0 + 1e-12
    if len(ys) == 1:
        assert p[0] == pytest.approx(ys[0])
