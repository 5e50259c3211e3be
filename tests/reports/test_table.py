"""The one table model: every renderer shows the same cells, escaped for its format."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedrank.reports.table import Column, Table, latex_escape

WORDS = st.text(alphabet="abcdefgh|<>&_%", min_size=1, max_size=9)
SENTENCES = st.lists(WORDS, min_size=1, max_size=12).map(" ".join)


def sample() -> Table:
    cols = [Column("", wrap=False), Column("tau", fmt=".3f"), Column("name", code=True),
            Column("note")]
    rows = [{"": "PED+LogME", "tau": 0.81234, "name": "a|b", "note": "x < y & z"},
            {"": "LogME", "tau": None, "name": "c_d", "note": "50%"}]
    return Table(cols, rows, title="T", notes=["n <1>"], bold={(0, "tau")},
                 markers={(0, "tau"): "†", (1, "tau"): "†"}, index=True)


def test_text_aligns_and_marks_without_decorating_missing_values():
    lines = sample().to_text().splitlines()
    assert lines[0].split() == ["tau", "name", "note"]
    assert lines[2].startswith("PED+LogME  0.812†")
    # The marker qualifies a value; a missing one shows the plain dash.
    assert "—†" not in lines[3] and "—" in lines[3]
    # Numbers are right-aligned: the dash ends where 0.812† ends.
    assert lines[3].index("—") == lines[2].index("†")


def test_markdown_escapes_pipes_and_marks_bold_and_code():
    md = sample().to_markdown().splitlines()
    assert md[0] == "| | tau | name | note |"
    assert md[1] == "|---|---:|---|---|"
    assert md[2] == "| PED+LogME | **0.812†** | `a\\|b` | x < y & z |"
    assert all(ln.replace("\\|", "").count("|") == 5 for ln in md)


def test_html_is_autoescaped_with_row_headers():
    html = str(sample().to_html(caption=True))
    assert "<caption>T</caption>" in html
    assert "<th>PED+LogME</th><td><b>0.812†</b></td><td><code>a|b</code></td>" in html
    assert "x &lt; y &amp; z" in html and "<p>n &lt;1&gt;</p>" in html
    assert "<script" not in Table(["a"], [{"a": "<script>"}]).to_html()


def test_latex_uses_booktabs_and_escapes():
    tex = sample().to_latex().splitlines()
    assert tex[0] == "\\begin{tabular}{lrll}" and tex[1] == "\\toprule"
    assert tex[-2:] == ["\\bottomrule", "\\end{tabular}"]
    assert "\\textbf{0.812\\dag{}} & \\texttt{a|b} & x < y \\& z \\\\" in tex[4]
    assert "\\texttt{c\\_d} & 50\\%" in tex[5]


def test_csv_and_json_carry_raw_values():
    t = sample()
    rows = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert rows[0]["tau"] == "0.81234" and rows[1]["tau"] == ""
    recs = json.loads(Table(["x"], [{"x": math.nan}, {"x": 1.5}]).to_json())
    assert recs == [{"x": None}, {"x": 1.5}]


def test_unknown_format_is_an_actionable_error():
    with pytest.raises(ValueError, match="choose one of"):
        sample().render("yaml")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(WORDS, SENTENCES, SENTENCES), min_size=1, max_size=5),
       st.integers(40, 120))
def test_text_wraps_to_width_and_loses_no_word(rows, width):
    t = Table([Column("key", wrap=False), Column("a"), Column("b")],
              [{"key": k, "a": a, "b": b} for k, a, b in rows])
    lines = t.to_text(width).splitlines()
    # Longest words are never split, so the width is met whenever it can be.
    floor = max(len(k) for k, *_ in rows) + 2 * max(8, *(len(w) for _, a, b in rows
                                                       for w in f"{a} {b}".split())) + 4
    assert max(len(ln) for ln in lines) <= max(width, floor)
    words = " ".join(lines[2:]).split()
    for k, a, b in rows:
        for w in (k, *a.split(), *b.split()):
            assert w in words


def test_latex_escape_covers_specials():
    assert latex_escape("a_b & 5% #1 {x} $") == "a\\_b \\& 5\\% \\#1 \\{x\\} \\$"


def test_latex_escape_spells_glyphs_pdflatex_lacks():
    assert latex_escape("τw 0.5† × −1") == "$\\tau$w 0.5\\dag{} $\\times$ $-$1"
