"""``pedrank metrics``: the table of registered metrics."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from pedrank.cli import main
from pedrank.core.metrics import _registry, available_metrics
from pedrank.core.metrics._registry import MetricSpec


def run_cli(capsys, *argv: str) -> str:
    assert main(["metrics", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.fixture
def fake_metric(monkeypatch):
    """A registered metric that exists only for this test (registry restored after)."""
    spec = MetricSpec(name="zz_fake", func=lambda P, y: 0.0, input="source_probs",
                      reference="Doe et al., Fake 2099 | piped", cost="O(1)")
    monkeypatch.setitem(_registry._REGISTRY, spec.name, spec)
    return spec


def _text_rows(out: str) -> tuple[list[str], dict[str, list[str]]]:
    """Header words and, per metric, its column texts with wrapped lines joined."""
    lines = out.rstrip("\n").splitlines()
    rule = lines[1]
    assert set(rule.replace(" ", "")) == {"-"}
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    rows: dict[str, list[list[str]]] = {}
    for line in lines[2:]:
        cells = [line[a:b].strip() for a, b in spans[:-1]] + [line[spans[-1][0]:].strip()]
        if cells[0]:  # a new row; a blank first cell continues the previous one
            key = cells[0]
            rows[key] = [[c] for c in cells]
        else:
            for parts, c in zip(rows[key], cells, strict=True):
                parts.append(c)
    return lines[0].split(), {k: [" ".join(p for p in v if p) for v in cols]
                              for k, cols in rows.items()}


def test_text_table_lists_every_registered_metric(capsys, fake_metric):
    head, rows = _text_rows(run_cli(capsys))
    assert head == ["Metric", "Needs", "PED", "Torch", "Reference", "Cost"]
    specs = available_metrics()
    assert set(rows) == {s.name for s in specs}
    for s in specs:
        _, kind, ped, _, reference, cost = rows[s.name]
        assert kind == ("features" if s.input == "features" else "source outputs")
        assert ped == ("yes" if s.input == "features" else "no")
        # Wrapping only splits at spaces, so joining the lines gives the text back.
        assert reference == s.reference and cost == s.cost


def test_text_table_fits_the_terminal_width(capsys, fake_metric, monkeypatch):
    # Regression: the table was 308 characters wide (long references and costs).
    for width in (100, 80):
        monkeypatch.setenv("COLUMNS", str(width))
        out = run_cli(capsys)
        assert max(len(line) for line in out.splitlines()) <= width
        assert set(_text_rows(out)[1]) == {s.name for s in available_metrics()}


def test_known_metrics_are_listed_with_their_input_kind(capsys):
    rows = {r["name"]: r for r in json.loads(run_cli(capsys, "--format", "json"))}
    for name in ("logme", "sfda", "ncti", "etran"):
        assert rows[name]["input"] == "features" and rows[name]["ped_composable"] is True
    for name in ("leep", "nce"):
        assert rows[name]["input"] == "source_probs" and rows[name]["ped_composable"] is False


def test_json_matches_registry(capsys, fake_metric):
    records = json.loads(run_cli(capsys, "--format", "json"))
    specs = available_metrics()
    assert [r["name"] for r in records] == [s.name for s in specs]
    for r, s in zip(records, specs, strict=True):
        assert r == {"name": s.name, "input": s.input, "ped_composable": s.ped_composable,
                     "supports_device": s.supports_device, "reference": s.reference,
                     "cost": s.cost}
    fake = next(r for r in records if r["name"] == "zz_fake")
    assert fake["input"] == "source_probs" and fake["ped_composable"] is False


def test_csv_round_trips(capsys, fake_metric):
    rows = list(csv.DictReader(io.StringIO(run_cli(capsys, "--format", "csv"))))
    assert [r["metric"] for r in rows] == [s.name for s in available_metrics()]
    fake = next(r for r in rows if r["metric"] == "zz_fake")
    assert fake == {"metric": "zz_fake", "input": "source outputs", "ped": "no",
                    "device": "no", "reference": "Doe et al., Fake 2099 | piped",
                    "cost": "O(1)"}


def test_markdown_table_escapes_pipes(capsys, fake_metric):
    lines = run_cli(capsys, "--format", "markdown").rstrip("\n").splitlines()
    assert lines[0].startswith("| Metric |") and lines[1].startswith("|---|")
    assert len(lines) == 2 + len(available_metrics())
    fake = next(line for line in lines if line.startswith("| `zz_fake` |"))
    assert "Fake 2099 \\| piped" in fake
    # Every row has the header's six cells (escaped pipes do not split cells).
    for line in lines[2:]:
        assert line.replace("\\|", "").count("|") == 7


def test_rejects_unknown_format(capsys):
    assert main(["metrics", "--format", "yaml"]) == 2  # a usage error: status 2, no exit()
    assert "invalid choice" in capsys.readouterr().err
