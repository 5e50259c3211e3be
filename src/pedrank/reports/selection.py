"""Reports of a model selection (:class:`pedrank.pipeline.select.Selection`).

One view model (:func:`view`) rendered by jinja2 templates
(``templates/selection.md.j2``, ``templates/selection.html.j2``) and one bar
chart (matplotlib, optional). ``pedrank select --report DIR`` writes all three.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

__all__ = ["view", "render", "write_html", "write_png", "write_report"]

log = logging.getLogger(__name__)


def _fmt(v: Any) -> str:
    """5 significant digits (GBC's -1.0677e-26 stays readable); n/a for missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.5g}"


def view(sel: Any) -> dict[str, Any]:
    """The template context: rows best first, one (score, rank) cell per column."""
    cells = {(r["model"], r["column"]): r for r in sel.records}
    rows = [
        {"model": m, "cells": [{"score": _fmt(cells[(m, c)]["score"]),
                                "rank": cells[(m, c)]["rank"] or "",
                                "best": cells[(m, c)]["rank"] == 1} for c in sel.columns],
         "source": sel.sources.get(m, "")}
        for m in sel.models
    ]
    return {
        "dataset": sel.dataset, "columns": sel.columns, "rows": rows,
        "recommendation": sel.recommendation, "failed": sel.failed, "notes": sel.notes,
        "saturated": [c for c, s in sel.saturated.items() if s],
        "timings": {k: f"{v:.2f}" for k, v in sel.timings.items()},
    }


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("pedrank.reports", "templates"),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(sel: Any, fmt: str, **extra: Any) -> str:
    """The selection as ``"md"`` or ``"html"`` text."""
    if fmt not in ("md", "html"):
        raise ValueError(f"fmt must be 'md' or 'html'; got {fmt!r}")
    return _env().get_template(f"selection.{fmt}.j2").render(**view(sel), **extra)


def write_html(sel: Any, path: str | Path, image: str | None = None) -> Path:
    """Write the HTML page (``image``: a PNG beside it to show, optional)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render(sel, "html", image=image), encoding="utf-8")
    return p


def write_png(sel: Any, path: str | Path) -> Path | None:
    """A bar chart of the recommendation's column; ``None`` when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    col = sel.recommendation.column
    scores = sel.scores(col)
    models = [m for m in sel.models if m in scores]
    fig, ax = plt.subplots(figsize=(6.4, 0.5 + 0.45 * max(len(models), 1)), dpi=150)
    ax.barh(models[::-1], [scores[m] for m in models[::-1]], color="#0072B2")  # colour-blind safe
    ax.set_xlabel(f"{col} score (higher = better expected transfer)")
    ax.set_title(f"{sel.dataset.get('name', '')}: {col}", fontsize=10)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p)
    plt.close(fig)
    return p


def write_report(sel: Any, directory: str | Path) -> dict[str, Path | None]:
    """``selection.md``, ``selection.html`` and ``selection.png`` under ``directory``.

    The PNG is skipped (value ``None``, a note in the Markdown) when
    matplotlib is not installed.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    png = write_png(sel, d / "selection.png")
    image = png.name if png is not None else None
    md = d / "selection.md"
    md.write_text(render(sel, "md", image=image), encoding="utf-8")
    html = write_html(sel, d / "selection.html", image=image)
    return {"markdown": md, "html": html, "png": png}
