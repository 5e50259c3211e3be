"""The optional [extract] step: missing feature files are built once, then reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pedrank.core.source import SourceStats
from pedrank.pipeline.bench import extraction
from pedrank.pipeline.bench.config import config_from_mapping
from pedrank.pipeline.bench.runner import run_bench


def test_missing_files_are_extracted_once_and_then_reused(tmp_path: Path, monkeypatch):
    calls: list[tuple[str, str]] = []

    def fake_extract(model, dataset, opts):
        # Stands in for the zoo (torch models are not needed to test the plumbing).
        calls.append((model, dataset))
        assert opts["max_samples"] == 60
        rng = np.random.default_rng(len(calls))
        y = np.repeat([0, 1, 2], 20)
        X = np.abs(rng.normal(1.0, 0.3, size=(60, 5))) + y[:, None] * 0.2
        return X, y, SourceStats(np.ones(5), np.full(5, 0.5))

    monkeypatch.setattr(extraction, "_extract_one", fake_extract)
    (tmp_path / "feat" / "ds1").mkdir(parents=True)
    cfg = config_from_mapping({
        "features": "feat", "pattern": "{dataset}/{model}.npz", "models": ["a", "b"],
        "datasets": ["ds1", "ds2"], "metrics": ["logme"], "results": "res",
        "blas_threads": 1, "extract": {"max_samples": 60, "cache_dir": "cache"},
    }, base_dir=tmp_path)
    assert cfg.extract["cache_dir"] == str(tmp_path / "cache")
    s1 = run_bench(cfg, progress=False)
    assert sorted(calls) == [("a", "ds1"), ("a", "ds2"), ("b", "ds1"), ("b", "ds2")]
    assert (s1.computed, s1.failed, s1.missing_inputs) == (8, 0, 0)
    assert (tmp_path / "feat" / "ds2" / "b.npz").is_file()
    s2 = run_bench(cfg, progress=False)
    assert len(calls) == 4  # files exist: nothing extracted again
    assert (s2.computed, s2.skipped) == (0, 8)


def test_failed_extraction_leaves_the_cell_missing(tmp_path: Path, monkeypatch, capsys):
    def broken(model, dataset, opts):
        raise RuntimeError("no weights for this model")

    monkeypatch.setattr(extraction, "_extract_one", broken)
    cfg = config_from_mapping({
        "features": str(tmp_path / "feat"), "pattern": "{dataset}/{model}.npz",
        "models": ["a"], "datasets": ["ds1"], "metrics": ["logme"], "ped": False,
        "results": str(tmp_path / "res"), "extract": {},
    })
    (tmp_path / "feat").mkdir()
    summary = run_bench(cfg, progress=False)
    assert summary.missing_inputs == 1 and summary.computed == 0
    assert "extracting a on ds1 failed: RuntimeError: no weights" in capsys.readouterr().err


def test_unknown_extract_option_is_rejected():
    with pytest.raises(ValueError, match="unknown \\[extract\\] key"):
        config_from_mapping({"features": "f", "extract": {"max_sample": 10}})
