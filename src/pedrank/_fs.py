"""Atomic file writes, content digests, safe ``.npz`` reading and the data folder: one home each.

Every file pedrank writes (feature files, cached features, source statistics,
reports' data) goes through :func:`atomic_write_bytes` or one of its wrappers,
so a crash or Ctrl-C leaves either the old file or the complete new one, never
a half-written file, and no temporary file behind. Written files get the mode
an ordinary ``open(path, "w")`` would give them (``0o666 & ~umask``):
:func:`tempfile.mkstemp` creates files ``0o600``, which would make shared
caches and results unreadable to the group whatever the user's umask says.

:func:`file_digest` is the one content hash of a file (SHA-256, streamed),
memoised within the process on ``(device, inode, size, mtime_ns, ctime_ns)`` so a run
hashes each input once, yet a file rewritten in place (new mtime, ctime or
size) is hashed again.

:func:`check_npz` reads only the zip directory and the ``.npy`` headers of an
``.npz`` file and refuses one whose arrays would not fit the memory budget or
whose declared sizes do not match the bytes stored (a 1 KB file claiming a
huge shape; a deflate bomb), before numpy allocates anything.

:func:`data_dir` is pedrank's data folder (npm packages the zoo and the datasets
install, e.g. the emoji images and nsfwjs); :func:`npm_package_dir` finds one npm
package inside it.

Standard library only (plus numpy's header reader in :func:`check_npz`): this
module sits below every pedrank layer, ``core`` included.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "NpzError",
    "atomic_save_npy",
    "atomic_save_npz",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_npz",
    "data_dir",
    "file_digest",
    "npm_package_dir",
]

_CHUNK = 1 << 20


def data_dir() -> Path:
    """The data folder: $PEDRANK_DATA, else $XDG_DATA_HOME/pedrank, else ~/.local/share/pedrank."""
    env = os.environ.get("PEDRANK_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "pedrank"


def npm_package_dir(spec: str, prefix: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the npm package ``spec`` (``name`` or ``name@version``) under an npm prefix.

    Parameters
    ----------
    spec : str
        Package name, optionally with a version (``nsfwjs@4.3.0``,
        ``@scope/name@1``); the version is ignored.
    prefix : path, optional
        The ``npm install --prefix`` folder (default ``data_dir() / "npm"``).
    """
    name = spec if spec.rfind("@") <= 0 else spec[: spec.rfind("@")]
    root = Path(prefix) if prefix is not None else data_dir() / "npm"
    return root / "node_modules" / name


def _umask() -> int:
    """The process umask.

    Read from ``/proc/self/status`` where it is shown (Linux >= 4.7): setting
    and restoring it, the only portable way, briefly changes it for every
    thread of the process.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb",
                 encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success fsync it and rename it over ``path``.

    The temporary file lives in the same folder (``os.replace`` is atomic only
    within one file system) and is removed on any error, ``KeyboardInterrupt``
    included. The final file's mode honours the umask (``0o666 & ~umask``).
    The parent folder must exist.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w'; got {mode!r}")
    p = Path(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)  # readers see the old file or the whole new one
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def atomic_save_npy(path: str | os.PathLike[str], array: Any) -> Path:
    """``numpy.save`` (no pickle) to ``path`` atomically."""
    import numpy as np

    with atomic_write(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    return Path(path)


def atomic_save_npz(path: str | os.PathLike[str], **arrays: Any) -> Path:
    """``numpy.savez`` (uncompressed, no pickle) of ``arrays`` to ``path`` atomically."""
    import numpy as np

    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)
    return Path(path)


# --------------------------------------------------------------------------- digests

_DIGESTS: dict[tuple[int, int, int, int, int, str], str] = {}
_DIGEST_LOCK = threading.Lock()


def file_digest(path: str | os.PathLike[str], *, stat: os.stat_result | None = None) -> str:
    """SHA-256 (hex) of a file's bytes, memoised on (device, inode, size, mtime_ns, ctime_ns).

    A file rewritten in place changes its size or mtime_ns, so it is hashed
    again; the inode-change time (which no user call can set back, unlike the
    mtime that ``touch -d`` or ``os.utime`` restore) covers the rest. An
    untouched file is read once per process however often it is asked for.
    """
    st = stat if stat is not None else os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, os.fspath(path))
    with _DIGEST_LOCK:
        cached = _DIGESTS.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
    digest = h.hexdigest()
    with _DIGEST_LOCK:
        _DIGESTS[key] = digest
    return digest


def _clear_digest_cache() -> None:
    """Forget every memoised digest (tests)."""
    with _DIGEST_LOCK:
        _DIGESTS.clear()


# --------------------------------------------------------------------------- npz guard


class NpzError(ValueError):
    """An ``.npz`` file that cannot or must not be read; the message names the file."""


def _npy_header(fh: IO[bytes]) -> tuple[tuple[int, ...], Any, int]:
    """(shape, dtype, header length) of an ``.npy`` stream, reading only its header."""
    import numpy as np
    from numpy.lib import format as npformat

    version = npformat.read_magic(fh)
    readers: dict[tuple[int, int], Callable[..., Any]] = {
        (1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}
    reader = readers.get(version)
    if reader is None:
        raise ValueError(f"unsupported .npy format version {version}")
    shape, _fortran, dtype = reader(fh, max_header_size=1 << 16)
    return tuple(int(s) for s in shape), np.dtype(dtype), fh.tell()


def check_npz(path: str | os.PathLike[str], *, budget: int,
              what: str = ".npz file") -> dict[str, tuple[tuple[int, ...], Any]]:
    """Check an ``.npz`` file before loading it; return ``{name: (shape, dtype)}``.

    Refuses (``NpzError``, naming the file and the fix): something that is not
    a zip archive (a ``.npy`` file, an empty file, text), members that are not
    ``.npy`` arrays, object (pickled) arrays, an array whose declared size does
    not match the bytes stored in the archive, and arrays that together exceed
    ``budget`` bytes (callers pass :func:`pedrank.core.memory_budget`, the one
    budget ``PEDRANK_MEMORY_BUDGET`` and ``set_memory_budget`` control). Compressed members may
    inflate at most to their declared size, so a deflate bomb is refused from
    its header instead of being decompressed.
    """
    p = Path(path)
    if p.is_dir():
        raise NpzError(f"{p}: is a directory; expected a {what}")
    try:
        with open(p, "rb") as raw:
            magic = raw.read(6)
    except OSError as exc:
        raise NpzError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if not magic:
        raise NpzError(f"{p}: empty file; expected a {what} (write it with numpy.savez)")
    if magic == b"\x93NUMPY":
        raise NpzError(f"{p}: is a single .npy array; expected a {what} with named arrays "
                       "(write it with numpy.savez(path, features=..., labels=...))")
    if not zipfile.is_zipfile(p):
        raise NpzError(f"{p}: not a {what} (not a zip archive; write it with numpy.savez)")
    try:
        with zipfile.ZipFile(p) as zf:
            out = _check_members(p, zf, budget, what)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise NpzError(f"{p}: corrupt {what} ({exc}); write it again") from None
    return out


def _check_members(p: Path, zf: zipfile.ZipFile, budget: int,
                   what: str) -> dict[str, tuple[tuple[int, ...], Any]]:
    """Header checks of every member of an open ``.npz`` archive (see :func:`check_npz`)."""
    out: dict[str, tuple[tuple[int, ...], Any]] = {}
    total = 0
    for info in zf.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if not info.filename.endswith(".npy"):
            raise NpzError(f"{p}: member {info.filename!r} is not a .npy array; not a {what}")
        with zf.open(info) as fh:
            try:
                shape, dtype, header = _npy_header(fh)  # type: ignore[arg-type]
            except ValueError as exc:
                raise NpzError(f"{p}: array {name!r} has an invalid .npy header ({exc}); "
                               "write the file again") from None
        if dtype.hasobject:
            raise NpzError(f"{p}: array {name!r} holds Python objects (pickled data), which "
                           "pedrank never loads; store numbers or fixed-width strings")
        n_bytes = dtype.itemsize
        for s in shape:
            n_bytes *= s
        if info.file_size != header + n_bytes:
            raise NpzError(
                f"{p}: array {name!r} declares shape {shape} ({n_bytes} bytes) but holds "
                f"{max(0, info.file_size - header)} bytes; the file is corrupt, write it again")
        total += n_bytes
        if total > budget:
            raise NpzError(
                f"{p}: arrays need {total / 2**20:.0f} MiB, above the memory budget of "
                f"{budget / 2**20:.0f} MiB; subsample the data or raise PEDRANK_MEMORY_BUDGET")
        out[name] = (shape, dtype)
    return out
