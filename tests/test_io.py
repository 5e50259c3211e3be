from __future__ import annotations

import io
import os
import stat
import zipfile

import numpy as np
import pytest

from pedrank import SourceStats
from pedrank.pipeline.feature_files import load_feature_file, save_feature_file


def test_roundtrip_with_string_labels(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    y = np.array(["a", "b"] * 3, dtype=object)
    src = SourceStats(np.zeros(2), np.ones(2))
    p = save_feature_file(tmp_path / "m.npz", X, y, src, source_probs=np.full((6, 2), 0.5))
    ff = load_feature_file(p)
    assert ff.name == "m"
    np.testing.assert_array_equal(ff.features, X)
    assert list(ff.labels) == list(y)
    np.testing.assert_array_equal(ff.source.mean, src.mean)
    assert ff.source_probs.shape == (6, 2)
    assert not list(tmp_path.glob(".*tmp"))  # atomic: no temporary left behind


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"features": np.ones((4, 2))}, "missing array 'labels'"),
        ({"labels": np.arange(4)}, "missing array 'features'"),
        ({"features": np.ones((4, 2)), "labels": np.arange(3)}, "3 labels but X has 4"),
        ({"features": np.full((4, 2), np.nan), "labels": np.arange(4) % 2}, "NaN"),
        ({"features": np.ones((4, 2)), "labels": np.zeros(4)}, "at least 2"),
        ({"features": np.ones((4, 2)), "labels": np.arange(4) % 2,
          "source_mean": np.zeros(2)}, "only one of"),
        ({"features": np.ones((4, 2)), "labels": np.arange(4) % 2,
          "source_mean": np.zeros(3), "source_std": np.ones(3)}, "dimension 3"),
    ],
)
def test_errors_name_the_file(tmp_path, arrays, message):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_feature_file(p)
    assert str(p) in str(info.value)


def test_corrupt_file(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a .npz feature file"):
        load_feature_file(p)


# --------------------------------------------------------------------------- pedrank._fs
def test_atomic_writes_honour_the_umask(tmp_path):
    from pedrank import _fs

    old = os.umask(0o022)
    try:
        p = _fs.atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644  # mkstemp alone gives 0o600
        os.umask(0o077)
        q = save_feature_file(tmp_path / "m.npz", np.ones((4, 2)), np.arange(4) % 2)
        assert stat.S_IMODE(q.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_atomic_write_keeps_the_old_file_and_no_temporary_on_error(tmp_path):
    from pedrank import _fs

    p = _fs.atomic_write_bytes(tmp_path / "f.bin", b"old")
    with pytest.raises(RuntimeError), _fs.atomic_write(p) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("crash mid-write")
    assert p.read_bytes() == b"old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.bin"]


def test_file_digest_is_memoised_and_follows_in_place_rewrites(tmp_path, monkeypatch):
    import hashlib

    from pedrank import _fs

    p = tmp_path / "x.npz"
    p.write_bytes(b"abc")
    assert _fs.file_digest(p) == hashlib.sha256(b"abc").hexdigest()
    reads = []
    real_open = open
    monkeypatch.setattr(_fs, "open", lambda *a, **k: reads.append(a) or real_open(*a, **k),
                        raising=False)
    assert _fs.file_digest(p) == hashlib.sha256(b"abc").hexdigest()
    assert not reads  # memoised: not read again
    st = p.stat()
    with real_open(p, "r+b") as fh:  # same size, mtime restored: only ctime tells
        fh.write(b"xyz")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _fs.file_digest(p) == hashlib.sha256(b"xyz").hexdigest()
    assert len(reads) == 1


def _zip_with_npy_header(path, shape, dtype="<f8", data=b""):
    from numpy.lib import format as npformat

    head = io.BytesIO()
    npformat.write_array_header_1_0(head, {"descr": dtype, "fortran_order": False,
                                           "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("features.npy", head.getvalue() + data)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: np.save(open(p, "wb"), np.ones(3)), "single .npy array"),
    (lambda p: p.write_text("hello"), "not a zip archive"),
    (lambda p: _zip_with_npy_header(p, (10**7, 10**6)), "declares shape"),
    (lambda p: _zip_with_npy_header(p, (2, 2), data=b"\0" * 8), "declares shape"),
    (lambda p: np.savez(p, features=np.array([None, 1], dtype=object)), "pickled"),
    (lambda p: np.savez_compressed(p, features=np.zeros((1024, 1024))), "memory budget"),
])
def test_check_npz_refuses_before_allocating(tmp_path, make, message):
    from pedrank import _fs

    p = tmp_path / "bad.npz"
    make(p)
    with pytest.raises(_fs.NpzError, match=message) as info:
        _fs.check_npz(p, budget=4 << 20)  # the 8 MiB bomb is above a 4 MiB budget
    assert str(p) in str(info.value) and "allow_pickle" not in str(info.value)


def test_check_npz_passes_a_good_file_and_reads_only_headers(tmp_path):
    from pedrank import _fs

    p = tmp_path / "m.npz"
    np.savez(p, features=np.ones((5, 3), np.float32), labels=np.array(["a", "bb"] * 2 + ["a"]))
    info = _fs.check_npz(p, budget=1 << 30)
    assert info["features"] == ((5, 3), np.dtype(np.float32))
    assert info["labels"][0] == (5,)


def test_feature_file_errors_name_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PEDRANK_MEMORY_BUDGET", "1M")
    big = tmp_path / "big.npz"
    np.savez_compressed(big, features=np.zeros((2048, 128)), labels=np.arange(2048) % 2)
    with pytest.raises(ValueError, match="PEDRANK_MEMORY_BUDGET") as info:
        load_feature_file(big)
    assert str(big) in str(info.value)
    with pytest.raises(ValueError, match="is a directory"):
        load_feature_file(tmp_path)


def test_feature_files_use_the_one_memory_budget(tmp_path, monkeypatch):
    """npz header checks use pedrank.core's budget: PEDRANK_MEMORY_BUDGET and
    set_memory_budget() apply to feature files as to the metrics (one budget)."""
    from pedrank.core import set_memory_budget

    p = tmp_path / "m.npz"
    np.savez(p, features=np.zeros((1000, 100)), labels=np.arange(1000) % 2)
    set_memory_budget("100K")
    try:
        with pytest.raises(ValueError, match="memory"):
            load_feature_file(p)
    finally:
        set_memory_budget(None)
    monkeypatch.setenv("PEDRANK_MEMORY_BUDGET", "100K")
    with pytest.raises(ValueError, match="memory"):
        load_feature_file(p)
    monkeypatch.delenv("PEDRANK_MEMORY_BUDGET")
    assert load_feature_file(p).features.shape == (1000, 100)
