"""The documentation: nav and pages agree, generated pages cover the code, README stays short.

The site itself is built by ``.ci/run`` (``mkdocs build --strict``); the ``>>>``
examples of ``docs/*.md`` run as doctests (pytest's ``--doctest-glob``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from pedrank.cli import _COMMANDS
from pedrank.core.metrics import available_metrics

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_SETUP = [
    "## Set-up on a fresh machine",
    "",
    "```bash",
    "# 1. install and run the main job: rank every installed zoo model on the emoji categories",
]


def _hook():
    spec = importlib.util.spec_from_file_location("docs_hook", DOCS / "hooks" / "generated.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _nav_pages() -> list[str]:
    yaml = pytest.importorskip("yaml", reason="reading mkdocs.yml needs pyyaml")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from walk(value) if isinstance(value, list) else [value]

    return list(walk(nav))


def test_every_nav_entry_has_a_page_and_every_page_is_in_the_nav():
    nav = _nav_pages()
    assert len(nav) == len(set(nav))
    missing = [p for p in nav if not (DOCS / p).is_file()]
    assert missing == [], f"nav entries without a page: {missing}"
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
             if p.relative_to(DOCS).parts[0] not in ("hooks", "scripts")}
    assert sorted(pages - set(nav)) == [], "pages missing from mkdocs.yml's nav"


def test_cli_reference_lists_every_sub_command():
    text = _hook().cli_reference()
    for name in _COMMANDS:
        assert f"## `pedrank {name}`" in text
        assert f"usage: pedrank {name}" in text
    assert "<!-- cli-reference -->" in (DOCS / "cli.md").read_text(encoding="utf-8")


def test_one_page_per_registered_metric_with_its_registry_card():
    names = {s.name for s in available_metrics()}
    pages = {p.stem for p in (DOCS / "metrics").glob("*.md")} - {"index"}
    assert pages == names
    hook = _hook()
    for name in names:
        text = (DOCS / "metrics" / f"{name}.md").read_text(encoding="utf-8")
        assert f"<!-- metric-card {name} -->" in text
        for section in ("## Definition", "## When it saturates", "## API"):
            assert section in text, (name, section)
        card = hook.on_page_markdown(text, None, None, None)
        assert f"| `{name}` |" in card and "<!--" not in card
    with pytest.raises(ValueError, match="unregistered"):
        hook.metric_table(["no_such_metric"])


def test_readme_is_short_keeps_its_set_up_commands_and_the_recipe_markers():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    i = lines.index(README_SETUP[0])
    assert lines[i:i + len(README_SETUP)] == README_SETUP
    assert 'pip install "torch==2.13.0" -e ".[zoo]" && pedrank demo' in lines
    assert "bash .ci/run" in lines
    begin = lines.index("<!-- BEGIN rank-your-own -->")
    end = lines.index("<!-- END rank-your-own -->")
    assert i < begin < end
    # Right after the set-up section: nothing but its paragraphs in between.
    assert not any(ln.startswith("## ") for ln in lines[i + 1:begin])
    for link in re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)\)", "\n".join(lines)):
        assert (ROOT / link).exists(), link


def test_ped_figure_script_runs(tmp_path):
    pytest.importorskip("matplotlib", reason="the figure needs the optional matplotlib")
    spec = importlib.util.spec_from_file_location("ped_figure",
                                                  DOCS / "scripts" / "ped_figure.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(tmp_path / "ped.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (DOCS / "img" / "ped.png").is_file()  # the committed copy the PED page shows


def test_ci_docs_build_is_strict_without_quiet():
    """``mkdocs build --strict --quiet`` passes with warnings (mkdocs 1.6 drops them before
    --strict counts them): a broken link in docs/performance.md went through CI that way."""
    builds = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
              if "mkdocs build" in line and not line.lstrip().startswith("#")]
    assert builds, ".ci/run no longer builds the documentation site"
    for line in builds:
        assert "--strict" in line and "--quiet" not in line and " -q" not in line, line


def test_docs_link_only_to_pages_of_the_site():
    """mkdocs cannot serve files outside docs/: a relative link out of it is broken."""
    bad = [f"{page.relative_to(DOCS)}: {target}"
           for page in DOCS.rglob("*.md")
           for target in re.findall(r"\]\((\.\./[^)#]+)\)", page.read_text(encoding="utf-8"))
           if not (page.parent / target).resolve().is_relative_to(DOCS.resolve())]
    assert not bad, "links out of docs/: " + "; ".join(bad)
