"""Debian package sections text target (pedrank.datasets.debian_packages)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pedrank.datasets import load_text_dataset
from pedrank.datasets.debian_packages import debian_package_sections, parse_packages
from pedrank.datasets.text import TEXT_DATASETS

STANZAS = """\
Package: a
Section: games
Description: A fun game
 long description line
Version: 1

Package: a-data
Section: contrib/games
Description: A fun game

Package: b
Section: games
Description: Another game

Package: c
Section: libs
Description: A library

Package: d
Description: no section here
"""


def test_parse_packages_strips_area_and_skips_incomplete() -> None:
    rows = parse_packages(STANZAS.splitlines())
    assert rows == [
        ("a", "A fun game", "games"),
        ("a-data", "A fun game", "games"),
        ("b", "Another game", "games"),
        ("c", "A library", "libs"),
    ]


def test_sections_deduplicate_and_filter(tmp_path: Path) -> None:
    f = tmp_path / "Packages"
    f.write_text(STANZAS)
    texts, labels = debian_package_sections(packages_file=f, min_per_class=2)
    # the repeated (synopsis, section) pair is kept once; 'libs' has 1 text < 2
    assert texts == ["A fun game", "Another game"]
    np.testing.assert_array_equal(labels, ["games", "games"])
    texts, labels = debian_package_sections(packages_file=f, min_per_class=1)
    assert sorted(set(labels.tolist())) == ["games", "libs"]


def test_registered(tmp_path: Path) -> None:
    f = tmp_path / "Packages"
    f.write_text(STANZAS)
    assert "debian-sections" in TEXT_DATASETS
    texts, labels = load_text_dataset(
        "debian-sections", packages_file=f, min_per_class=1, max_per_class=1
    )
    assert len(texts) == 2 and set(labels.tolist()) == {"games", "libs"}
