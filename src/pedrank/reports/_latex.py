"""LaTeX escaping, shared by the table model and the report templates (its own module so
that :mod:`pedrank.reports.table` and :mod:`pedrank.reports._templates` do not import
each other)."""

from __future__ import annotations

import re

_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}",
                  # Characters pdflatex's utf8 input cannot typeset in text mode.
                  "τ": r"$\tau$", "×": r"$\times$", "−": r"$-$", "†": r"\dag{}", "‡": r"\ddag{}"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    r"""Escape LaTeX's special characters (``&``, ``%``, ``_``, ...) and spell ``τ``, ``×``,
    ``−``, ``†``, ``‡`` as commands (pdflatex's utf8 input has no text-mode glyph for them).

    >>> latex_escape("50% of a_b & c")
    '50\\% of a\\_b \\& c'
    """
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group()], text)
