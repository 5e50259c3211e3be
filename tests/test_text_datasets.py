"""Tests of pedrank.datasets.text on hand-made Debian-like trees (and the real ones if present)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedrank.datasets import load_text_dataset
from pedrank.datasets.text import (
    TEXT_DATASETS,
    WORDNET_NOUN_LEXNAMES,
    TextDatasetUnavailable,
    fortune_categories,
    fortune_languages,
    read_fortune_file,
    subsample_per_class,
    wordnet_glosses,
    wordnet_supersenses,
)

# --------------------------------------------------------------------------- WordNet

DATA_NOUN = """\
  1 This software and database is being provided to you, the LICENSEE, by
  2 Princeton University under the following license. | not a synset
00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived  \n\
02084071 05 n 02 dog 0 domestic_dog 0 001 @ 02083346 n 0000 | a member of the genus Canis; \
"the dog barked all night"  \n\
02121620 05 n 01 cat 0 000 | feline mammal usually having thick soft fur  \n\
07747607 13 n 01 apple 0 000 | fruit with red or yellow or green skin  \n\
99999999 45 n 01 bogus 0 000 | lexicographer file 45 is not a noun supersense  \n\
"""


@pytest.fixture
def wordnet_root(tmp_path: Path) -> Path:
    (tmp_path / "data.noun").write_text(DATA_NOUN, encoding="utf-8")
    (tmp_path / "data.verb").write_text(
        "  1 licence header | no\n"
        "00001740 29 v 01 breathe 0 000 | draw air into, and expel out of, the lungs  \n",
        encoding="utf-8",
    )
    return tmp_path


def test_wordnet_parses_glosses_and_supersenses(wordnet_root: Path) -> None:
    texts, labels = wordnet_supersenses(root=wordnet_root)
    assert texts == [
        "that which is perceived",
        'a member of the genus Canis; "the dog barked all night"',
        "feline mammal usually having thick soft fur",
        "fruit with red or yellow or green skin",
    ]
    assert labels.tolist() == ["noun.Tops", "noun.animal", "noun.animal", "noun.food"]
    short, _ = wordnet_supersenses(root=wordnet_root, with_examples=False)
    assert short[1] == "a member of the genus Canis"


def test_wordnet_min_per_class_and_subsample(wordnet_root: Path) -> None:
    texts, labels = wordnet_supersenses(root=wordnet_root, min_per_class=2)
    assert labels.tolist() == ["noun.animal", "noun.animal"]
    texts, labels = wordnet_supersenses(1, seed=3, root=wordnet_root)
    assert sorted(labels.tolist()) == ["noun.Tops", "noun.animal", "noun.food"]


def test_wordnet_glosses_other_pos(wordnet_root: Path) -> None:
    assert wordnet_glosses(("verb",), root=wordnet_root) == [
        "draw air into, and expel out of, the lungs"
    ]


def test_wordnet_missing_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(TextDatasetUnavailable, match="apt-get install wordnet-base"):
        wordnet_supersenses(root=tmp_path)
    assert issubclass(TextDatasetUnavailable, FileNotFoundError)


def test_lexnames_are_the_26_noun_supersenses() -> None:
    # lexnames(5WN): files 03..28 are noun.Tops .. noun.time.
    assert sorted(WORDNET_NOUN_LEXNAMES) == list(range(3, 29))
    assert all(v.startswith("noun.") for v in WORDNET_NOUN_LEXNAMES.values())


REAL_NOUN = Path("/usr/share/wordnet/data.noun")


@pytest.mark.skipif(not REAL_NOUN.is_file(), reason="Debian package wordnet-base not installed")
def test_real_wordnet_has_all_noun_synsets() -> None:
    texts, labels = wordnet_supersenses()
    # WordNet 3.0 statistics (wnstats(7WN)): 82,115 noun synsets, 26 noun lexicographer files.
    assert len(texts) == 82115
    assert len(np.unique(labels)) == 26
    sub_t, sub_l = wordnet_supersenses(max_per_class=10, seed=0)
    _, counts = np.unique(sub_l, return_counts=True)
    assert counts.max() == 10 and len(sub_t) == len(sub_l)


# --------------------------------------------------------------------------- fortunes


def _write_package(info: Path, root: Path, package: str, files: dict[str, str]) -> None:
    info.mkdir(parents=True, exist_ok=True)
    lines = ["/.", str(root)]
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        lines.append(str(path))
    (info / f"{package}.list").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def fortune_tree(tmp_path: Path) -> tuple[Path, Path]:
    info, root = tmp_path / "info", tmp_path / "fortunes"
    _write_package(info, root, "fortunes", {
        "food": "Eat your greens.\n%\nBread is life.\n%\n\n%\nCheese!\n%\n",
        "food.dat": "binary index",
        "law": "Laws are made to be broken.\n%\nBread is life.\n%\n",
        "off/rude": "rude cookie\n%\n",
    })
    # A symlink duplicating a file (as fortunes-it does) must not be read twice.
    (root / "food-link").symlink_to(root / "food")
    with (info / "fortunes.list").open("a") as fh:
        fh.write(f"{root / 'food-link'}\n")
    _write_package(info, root, "fortunes-de", {
        "de/essen": "Essen ist fertig.\n%\nGuten Appetit!\n%\n\x1b[1;31mRot\x1b[0m\n%\n",
    })
    return info, root


def test_read_fortune_file_splits_and_cleans(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_text("one\n  line two\n%\n\n%\n\x1b[32mgreen\x1b[0m\n%", encoding="utf-8")
    assert read_fortune_file(p) == ["one\n  line two", "green"]


def test_fortune_categories(fortune_tree: tuple[Path, Path]) -> None:
    info, root = fortune_tree
    texts, labels = fortune_categories(min_per_class=1, dpkg_info=info, fortune_root=root)
    # .dat index, the off/ section, the symlink and the duplicate cookie are all skipped.
    assert texts == ["Eat your greens.", "Bread is life.", "Cheese!",
                     "Laws are made to be broken."]
    assert labels.tolist() == ["food", "food", "food", "law"]
    texts, labels = fortune_categories(min_per_class=2, dpkg_info=info, fortune_root=root)
    assert set(labels.tolist()) == {"food"}
    texts, _ = fortune_categories(min_per_class=1, max_chars=10, dpkg_info=info,
                                  fortune_root=root)
    assert texts == ["Cheese!"]


def test_fortune_languages(fortune_tree: tuple[Path, Path]) -> None:
    info, root = fortune_tree
    pkgs = {"fortunes": "en", "fortunes-de": "de", "fortunes-xx": "xx"}
    texts, labels = fortune_languages(packages=pkgs, min_per_class=1, dpkg_info=info,
                                      fortune_root=root)
    assert labels.tolist().count("en") == 4 and labels.tolist().count("de") == 3
    assert "Rot" in texts and "xx" not in labels
    with pytest.raises(TextDatasetUnavailable, match="apt-get install"):
        fortune_languages(packages={"fortunes": "en", "fortunes-xx": "xx"}, dpkg_info=info,
                          fortune_root=root)


def test_fortune_missing_package(tmp_path: Path) -> None:
    with pytest.raises(TextDatasetUnavailable, match="apt-get install fortunes"):
        fortune_categories(dpkg_info=tmp_path, fortune_root=tmp_path)


@pytest.mark.skipif(not Path("/var/lib/dpkg/info/fortunes.list").is_file(),
                    reason="Debian package fortunes not installed")
def test_real_fortune_categories() -> None:
    texts, labels = load_text_dataset("fortune-category", max_per_class=5)
    assert len(texts) == len(labels) >= 5 * 10
    assert {"computers", "food", "law"} <= set(labels.tolist())


# --------------------------------------------------------------------------- subsampling


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=60),
    st.integers(1, 8),
    st.integers(0, 2**31 - 1),
)
def test_subsample_per_class_properties(labels: list[int], k: int, seed: int) -> None:
    lab = np.asarray(labels)
    idx = subsample_per_class(lab, k, seed)
    assert np.all(np.diff(idx) > 0)  # sorted, no repeats
    for c in np.unique(lab):
        assert np.sum(lab[idx] == c) == min(k, np.sum(lab == c))
    np.testing.assert_array_equal(idx, subsample_per_class(lab, k, seed))
    # Relabelling the classes does not change which items are drawn.
    np.testing.assert_array_equal(idx, subsample_per_class(lab.astype(str), k, seed))


def test_subsample_none_and_bad_value() -> None:
    np.testing.assert_array_equal(subsample_per_class(["a", "b"], None), [0, 1])
    with pytest.raises(ValueError, match="max_per_class"):
        subsample_per_class(["a"], 0)


def test_load_text_dataset_unknown_name() -> None:
    assert set(TEXT_DATASETS) == {
        "wordnet-supersense", "fortune-category", "fortune-language", "debian-sections"
    }
    with pytest.raises(ValueError, match="unknown text dataset"):
        load_text_dataset("imdb")
