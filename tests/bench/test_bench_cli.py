"""``pedrank bench`` end to end through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pedrank.cli import main


def _toml(tmp_path: Path, zoo: Path, extra: str = "") -> Path:
    cfg = tmp_path / "bench.toml"
    cfg.write_text(
        f'features = "{zoo.name}"\nresults = "out"\nmetrics = ["logme", "sfda"]\n'
        f'groundtruth = "{zoo.name}/groundtruth.json"\nblas_threads = 1\n{extra}'
        "[ped]\nnsigma = 0.6\n")
    return cfg


def test_bench_command_runs_resumes_and_reports(tmp_path: Path, zoo: Path, capsys):
    cfg = _toml(tmp_path, zoo)
    assert main(["bench", str(cfg), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "24 cells: 0 already done, 24 computed (0 failed)" in out
    assert "| PED+SFDA |" in out
    for name in ("report.md", "report.html", "cells.csv", "ped_gain.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert main(["bench", str(cfg), "--no-progress", "--no-plots"]) == 0
    assert "24 already done, 0 computed" in capsys.readouterr().out


def test_flags_override_the_config(tmp_path: Path, zoo: Path, capsys):
    cfg = _toml(tmp_path, zoo)
    rc = main(["bench", str(cfg), "--no-progress", "--no-report", "--metrics", "logme",
               "--no-ped", "--models", "m1,m2", "--results", str(tmp_path / "flagged")])
    assert rc == 0
    assert "4 cells: 0 already done, 4 computed" in capsys.readouterr().out
    assert (tmp_path / "flagged" / "results.sqlite").is_file()


def test_ped_param_flag_changes_the_key(tmp_path: Path, zoo: Path, capsys):
    cfg = _toml(tmp_path, zoo)
    main(["bench", str(cfg), "--no-progress", "--no-report"])
    capsys.readouterr()
    main(["bench", str(cfg), "--no-progress", "--no-report", "--ped-param", "nsigma=0.3"])
    out = capsys.readouterr().out
    assert "12 already done, 12 computed" in out
    assert "recomputed under new keys" in out


def test_failed_cells_give_exit_status_1_and_report_only_rewrites(tmp_path: Path, zoo: Path,
                                                                   capsys):
    (zoo / "m1_d2.npz").write_bytes(b"broken")
    cfg = _toml(tmp_path, zoo)
    assert main(["bench", str(cfg), "--no-progress", "--no-plots"]) == 1
    err = capsys.readouterr().err
    assert "failed: m1 / d2" in err
    (tmp_path / "out" / "report.md").unlink()
    assert main(["bench", str(cfg), "--report-only", "--no-plots"]) == 0
    assert "m1 / d2 / LogME: failed" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize("argv, msg", [
    (["bench"], "CONFIG file or at least --features"),
    (["bench", "--features", "nowhere-xyz"], "features directory not found"),
    (["bench", "missing.toml"], "configuration file not found"),
])
def test_user_errors_exit_2(argv, msg, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert msg in capsys.readouterr().err


def test_unknown_metric_is_a_user_error(tmp_path: Path, zoo: Path, capsys):
    cfg = _toml(tmp_path, zoo)
    assert main(["bench", str(cfg), "--metrics", "nope", "--no-progress"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err
