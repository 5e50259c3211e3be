from __future__ import annotations

import json

import pytest

from pedrank import groundtruth


def test_self_supervised_table_shape():
    table = groundtruth.load("self_supervised")
    assert len(table) == 11
    models = {m for ds in table.values() for m in ds}
    assert len(models) == 12
    assert all(len(ds) == 12 for ds in table.values())
    assert table["cifar10"]["byol"] == 96.98


def test_supervised_table_and_available():
    assert {"self_supervised", "supervised"} <= set(groundtruth.available())
    table = groundtruth.load("supervised")
    assert len(table) == 11
    assert all(len(ds) == 11 for ds in table.values())


def test_unknown_table():
    with pytest.raises(ValueError, match="available"):
        groundtruth.load("nope")


def test_user_file_flat_and_nested(tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"a": 1, "b": 2.5}))
    assert groundtruth.load_file(flat) == {"": {"a": 1.0, "b": 2.5}}
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"_about": "x", "ds": {"a": 1}}))
    assert groundtruth.load_file(nested) == {"ds": {"a": 1.0}}
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        groundtruth.load_file(bad)
