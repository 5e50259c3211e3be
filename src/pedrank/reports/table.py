"""One table model, rendered to text, Markdown, HTML, LaTeX, CSV and JSON.

Every table pedrank prints or writes (``pedrank metrics``, ``pedrank rank``,
the benchmark report, the reproduction comparison) is a :class:`Table`:
columns with a header, an alignment and a number format; rows of raw values;
optional per-cell emphasis (the bold "best of column") and suffix markers
(the partial-grid dagger); a title and notes. The renderers only decide how a
cell looks in each output format, so the formats cannot drift apart.

Text output is width-aware: when the natural layout is wider than ``width``
characters, the widest wrappable columns are narrowed and their cells wrapped
(:func:`textwrap.wrap`) onto continuation lines. HTML goes through a jinja2
template with autoescaping; LaTeX uses booktabs rules.

Examples
--------
>>> from pedrank.reports.table import Column, Table
>>> t = Table([Column("model"), Column("score", fmt=".3f")],
...           [{"model": "a", "score": 0.12345}, {"model": "b", "score": None}])
>>> print(t.to_text())
model  score
-----  -----
a      0.123
b          —
>>> print(t.to_markdown())
| model | score |
|---|---:|
| a | 0.123 |
| b | — |
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pedrank.reports._latex import latex_escape

MISSING = "—"

Align = Literal["left", "right"]


@dataclass(frozen=True)
class Column:
    """One column of a :class:`Table`.

    Parameters
    ----------
    key
        The record key the column reads.
    header
        The heading shown (default: ``key``); may be empty.
    fmt
        A :func:`format` spec (``".3f"``) or a callable ``value -> str`` for
        non-missing values; default: ``.6g`` for floats, ``str`` otherwise.
    align
        ``"left"`` or ``"right"``; default: right for a numeric ``fmt``, else left.
    code
        Render the cell as code (Markdown backticks, ``<code>``, ``\\texttt``).
    wrap
        Whether text output may wrap this column to fit the width.
    missing
        Text of a missing (``None`` or non-finite) value.
    """

    key: str
    header: str | None = None
    fmt: str | Callable[[Any], str] | None = None
    align: Align | None = None
    code: bool = False
    wrap: bool = True
    missing: str = MISSING

    @property
    def title(self) -> str:
        return self.key if self.header is None else self.header

    @property
    def alignment(self) -> Align:
        if self.align is not None:
            return self.align
        numeric = isinstance(self.fmt, str) and self.fmt[-1:] in "defgn%"
        return "right" if numeric else "left"

    def format(self, value: Any) -> str:
        """The cell's plain text (no emphasis, no markers)."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return self.missing
        if callable(self.fmt):
            return self.fmt(value)
        if isinstance(self.fmt, str):
            return format(value, self.fmt)
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)


@dataclass
class Table:
    """Columns, rows of raw values, emphasis, markers, a title and notes.

    Parameters
    ----------
    columns
        The columns, in order (strings are shorthand for ``Column(name)``).
    rows
        One mapping per row, keyed by column key (missing keys are ``None``).
    title
        Shown above the table (Markdown/HTML/LaTeX caption; not in CSV/JSON).
    notes
        Lines shown below the table.
    bold
        ``(row index, column key)`` cells to emphasise.
    markers
        ``{(row index, column key): suffix}``, e.g. a dagger after a value.
    index
        Whether the first column labels the rows (rendered as ``<th>`` in HTML).
    """

    columns: Sequence[Column | str]
    rows: Sequence[Mapping[str, Any]]
    title: str | None = None
    notes: Sequence[str] = ()
    bold: set[tuple[int, str]] = field(default_factory=set)
    markers: dict[tuple[int, str], str] = field(default_factory=dict)
    index: bool = False

    def __post_init__(self) -> None:
        self.columns = [c if isinstance(c, Column) else Column(c) for c in self.columns]
        self.rows = [dict(r) for r in self.rows]

    # -- cell text -------------------------------------------------------------------------

    def texts(self) -> list[list[str]]:
        """Plain cell texts (formatted values plus markers), row by row."""
        return [[_marked(c.format(r.get(c.key)), c, self.markers.get((i, c.key), ""))
                 for c in self.columns] for i, r in enumerate(self.rows)]

    def _cells(self) -> list[list[tuple[str, Column, bool]]]:
        """``(text, column, is_bold)`` per cell, for the marked-up renderers."""
        return [[(t, c, (i, c.key) in self.bold) for t, c in zip(row, self.columns, strict=True)]
                for i, row in enumerate(self.texts())]

    # -- renderers -------------------------------------------------------------------------

    def to_text(self, width: int | None = None, *, sep: str = "  ") -> str:
        """An aligned plain-text table, wrapped to ``width`` characters if given."""
        heads = [c.title for c in self.columns]
        body = self.texts()
        widths = _fit_widths(self.columns, heads, body, width, len(sep))
        lines = _text_row(heads, self.columns, widths, sep)
        lines.append(sep.join("-" * w for w in widths))
        for row in body:
            lines += _text_row(row, self.columns, widths, sep)
        return "\n".join(ln.rstrip() for ln in lines)

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown pipe table (``|`` in cells escaped)."""

        def cell(text: str, col: Column, bold: bool) -> str:
            text = text.replace("|", "\\|")
            if col.code and text and text != col.missing:
                text = f"`{text}`"
            return f"**{text}**" if bold else text

        def line(cells: Iterable[str]) -> str:
            return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"

        out = [line(c.title.replace("|", "\\|") for c in self.columns),
               "|" + "|".join("---:" if c.alignment == "right" else "---"
                              for c in self.columns) + "|"]
        out += [line(cell(*x) for x in row) for row in self._cells()]
        return "\n".join(out)

    def to_html(self, *, caption: bool = False) -> str:
        """An HTML ``<table>`` (jinja2 template, autoescaped); a ``markupsafe.Markup``."""
        from pedrank.reports._templates import render

        return render("table.html.j2", table=self, cells=self._cells(), caption=caption)

    def to_latex(self) -> str:
        """A LaTeX ``tabular`` with booktabs rules (needs ``\\usepackage{booktabs}``)."""

        def cell(text: str, col: Column, bold: bool) -> str:
            text = latex_escape(text)
            if col.code and text and text != col.missing:
                text = f"\\texttt{{{text}}}"
            return f"\\textbf{{{text}}}" if bold else text

        spec = "".join("r" if c.alignment == "right" else "l" for c in self.columns)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                 " & ".join(latex_escape(c.title) for c in self.columns) + " \\\\",
                 "\\midrule"]
        lines += [" & ".join(cell(*x) for x in row) + " \\\\" for row in self._cells()]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines)

    def to_records(self) -> list[dict[str, Any]]:
        """The raw row values (column keys only), e.g. for JSON."""
        return [{c.key: r.get(c.key) for c in self.columns} for r in self.rows]

    def to_json(self, indent: int | None = 2) -> str:
        """The raw records as a JSON array (non-finite floats become ``null``)."""
        recs = [{k: None if isinstance(v, float) and not math.isfinite(v) else v
                 for k, v in r.items()} for r in self.to_records()]
        return json.dumps(recs, indent=indent, ensure_ascii=False)

    def to_csv(self) -> str:
        """CSV with the column keys as header and raw values (``None`` empty)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.key for c in self.columns])
        writer.writerows([["" if v is None else v for v in r.values()]
                          for r in self.to_records()])
        return buf.getvalue().rstrip("\n")

    def render(self, fmt: str, *, width: int | None = None) -> str:
        """Dispatch on ``fmt``: text/table, markdown, html, latex, csv or json."""
        renderers: dict[str, Callable[[], str]] = {
            "text": lambda: self.to_text(width), "table": lambda: self.to_text(width),
            "markdown": self.to_markdown, "html": lambda: str(self.to_html()),
            "latex": self.to_latex, "csv": self.to_csv, "json": self.to_json,
        }
        if fmt not in renderers:
            raise ValueError(f"unknown table format {fmt!r}; choose one of {sorted(renderers)}")
        return renderers[fmt]()


def _marked(text: str, col: Column, marker: str) -> str:
    """``text`` with its marker, except on a missing value (nothing to qualify)."""
    return text if text == col.missing else text + marker


def _fit_widths(columns: Sequence[Column], heads: list[str], body: list[list[str]],
                width: int | None, sep: int) -> list[int]:
    """Natural column widths, narrowed (wrappable columns, widest first) to fit ``width``."""
    widths = [max([len(h), *(len(r[j]) for r in body)]) for j, h in enumerate(heads)]
    if width is None:
        return widths
    # A wrapped column keeps at least its header and its longest word (wrapping
    # inside words would make formulas such as O(N·D²) unreadable), and 8 characters.
    floors = [max(8, len(h), *(len(w) for r in body for w in r[j].split()))
              if c.wrap else widths[j] for j, (c, h) in enumerate(zip(columns, heads,
                                                                      strict=True))]
    excess = sum(widths) + sep * (len(widths) - 1) - width
    while excess > 0:
        slack = [w - f for w, f in zip(widths, floors, strict=True)]
        j = max(range(len(widths)), key=lambda i: (slack[i] > 0, widths[i]))
        if slack[j] <= 0:
            break  # nothing left to narrow: the table stays wider than asked
        widths[j] -= 1
        excess -= 1
    return widths


def _text_row(texts: Sequence[str], columns: Sequence[Column], widths: Sequence[int],
              sep: str) -> list[str]:
    """One table row as one or more lines (wrapped cells continue below)."""
    parts = [textwrap.wrap(t, w, break_on_hyphens=False) or [""] if len(t) > w else [t]
             for t, w in zip(texts, widths, strict=True)]
    height = max(len(p) for p in parts)
    lines = []
    for k in range(height):
        cells = [(p[k] if k < len(p) else "") for p in parts]
        lines.append(sep.join(c.rjust(w) if col.alignment == "right" else c.ljust(w)
                              for c, col, w in zip(cells, columns, widths, strict=True)))
    return lines
