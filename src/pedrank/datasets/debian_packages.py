"""Debian package descriptions labelled by archive section: a text-classification target.

Every Debian system carries the package index of its archive (``apt-get
update`` writes ``/var/lib/apt/lists/*_Packages*``; ``apt-cache dumpavail``
prints it decompressed). Each binary package has a one-line description
(the synopsis, e.g. "Real-time strategy game of ancient warfare") and a
``Section`` (``games``, ``libs``, ``python``, ...). The target: predict the
section from the synopsis.

Selection rules:

* the section's area prefix is dropped (``contrib/games`` -> ``games``);
* a (synopsis, section) pair that occurs more than once (``-dbg``/``-dev``
  siblings often share a synopsis) is kept once, so that no text can sit
  on both sides of a train/test split;
* sections with fewer than ``min_per_class=300`` texts are dropped (35
  sections on Debian 12 "bookworm" main, amd64).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["debian_package_sections", "parse_packages"]


def parse_packages(lines: Iterable[str]) -> list[tuple[str, str, str]]:
    """``(package, synopsis, section)`` of every stanza of a Debian ``Packages`` text.

    Stanzas without a ``Description`` or ``Section`` field are skipped;
    continuation lines (starting with a space) are ignored.
    """
    out: list[tuple[str, str, str]] = []
    fields: dict[str, str] = {}
    for line in [*lines, ""]:
        line = line.rstrip("\n")
        if not line.strip():
            if fields.get("Description") and fields.get("Section"):
                section = fields["Section"].split("/")[-1].strip()
                out.append((fields.get("Package", ""), fields["Description"].strip(), section))
            fields = {}
        elif not line[0].isspace() and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return out


def _dumpavail() -> list[str]:
    from pedrank.datasets._text_base import TextDatasetUnavailable

    exe = shutil.which("apt-cache")
    if exe is None:
        raise TextDatasetUnavailable(
            "debian-sections needs the apt package index: run on Debian/Ubuntu "
            "(apt-get update), or pass packages_file=PATH to a Packages file"
        )
    res = subprocess.run([exe, "dumpavail"], capture_output=True, text=True, check=False)
    if res.returncode != 0 or not res.stdout.strip():
        raise TextDatasetUnavailable(
            "apt-cache dumpavail printed no package index; run: sudo apt-get update"
        )
    return res.stdout.splitlines()


def debian_package_sections(
    max_per_class: int | None = None,
    seed: int = 0,
    *,
    min_per_class: int = 300,
    packages_file: str | os.PathLike | None = None,
) -> tuple[list[str], np.ndarray]:
    """Debian package synopses labelled by section (the ``debian-sections`` text target).

    Parameters
    ----------
    max_per_class : int, optional
        Seeded per-class subsample size.
    seed : int
        Seed of that subsample.
    min_per_class : int
        Sections with fewer (de-duplicated) texts are dropped.
    packages_file : path, optional
        A plain-text ``Packages`` file; default: ``apt-cache dumpavail``.

    Returns
    -------
    (texts, labels)
        Sorted by (section, synopsis): deterministic for a given package index.
    """
    from pedrank.datasets._text_base import finish_texts as _finish

    if packages_file is not None:
        lines = Path(packages_file).read_text(encoding="utf-8", errors="replace").splitlines()
    else:
        lines = _dumpavail()
    pairs = sorted({(sec, desc) for _, desc, sec in parse_packages(lines)})
    texts = [d for _, d in pairs]
    labels = [s for s, _ in pairs]
    return _finish(texts, labels, max_per_class, seed, min_per_class)
