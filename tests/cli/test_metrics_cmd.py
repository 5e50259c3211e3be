"""``pedrank metrics``: the table of registered metrics."""

from __future__ import annotations

import csv
import io
import json

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


def test_text_table_lists_every_registered_metric(capsys, fake_metric):
    out = run_cli(capsys)
    lines = out.rstrip("\n").splitlines()
    assert lines[0].split() == ["metric", "input", "ped", "device", "reference", "cost"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    rows = {line.split()[0]: line for line in lines[2:]}
    specs = available_metrics()
    assert set(rows) == {s.name for s in specs}
    for s in specs:
        row = rows[s.name]
        kind = "features" if s.input == "features" else "source outputs"
        ped = "yes" if s.input == "features" else "no"
        assert f"  {kind}  " in row and f"  {ped}  " in row
        assert s.reference in row and s.cost in row


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
