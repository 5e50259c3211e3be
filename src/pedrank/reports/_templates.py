"""The jinja2 environment of the report templates (``pedrank/reports/templates``).

HTML templates (``*.html.j2``) are autoescaped, so a model or dataset name with
``<`` or ``&`` cannot break the page; Markdown templates are not (their values
are escaped by :mod:`pedrank.reports.table` where a pipe table needs it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def environment():
    """The shared, cached :class:`jinja2.Environment` (imported lazily: CLI start-up)."""
    import jinja2

    from pedrank.reports._latex import latex_escape

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pedrank.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"),
                                            default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["latex"] = latex_escape
    return env


def render(name: str, **context: Any):
    """Render template ``name``; HTML comes back as ``markupsafe.Markup`` (safe to nest)."""
    from markupsafe import Markup

    text = environment().get_template(name).render(**context)
    return Markup(text) if name.endswith(".html.j2") else text
