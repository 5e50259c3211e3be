"""Offline text-classification datasets built from Debian packages.

Three labelled corpora for ranking text encoders, all read from files that the
Debian/Ubuntu package manager installs (no download at run time):

``"wordnet-supersense"``
    WordNet 3.0 noun glosses (``apt-get install wordnet-base``), labelled by
    their lexicographer file, i.e. the 26 noun supersenses ``noun.Tops`` ...
    ``noun.time`` (Miller, 1995; Ciaramita & Johnson, 2003).
``"fortune-category"``
    English fortune cookies (``apt-get install fortunes``) labelled by the
    file they come from (``computers``, ``food``, ``law``, ...).
``"fortune-language"``
    Fortune cookies labelled by the language of the Debian package that ships
    them (``fortunes`` = en, ``fortunes-de`` = de, ...).

They are looked up by name in :data:`TEXT_DATASETS` by
:func:`pedrank.datasets.load_data` (a :class:`~pedrank.datasets.TextDataset`) and
:func:`pedrank.datasets.load_text_dataset` (per-class quotas, ``(texts, labels)``).
Every loader returns ``(texts, labels)``: a list of ``str`` and a 1-D numpy
array of ``str`` labels of the same length, in a deterministic order. A
seeded per-class subsample is taken with ``max_per_class``. When the Debian
package is missing the loader raises :class:`TextDatasetUnavailable` (a
``FileNotFoundError``) whose message gives the ``apt-get`` command, so tests
and scripts can skip cleanly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from pedrank.core.sampling import subsample_per_class
from pedrank.datasets._text_base import TextDatasetUnavailable, finish_texts

__all__ = [
    "FORTUNE_LANGUAGE_PACKAGES",
    "TEXT_DATASETS",
    "WORDNET_NOUN_LEXNAMES",
    "TextDatasetUnavailable",
    "fortune_categories",
    "fortune_languages",
    "read_fortune_file",
    "subsample_per_class",
    "wordnet_glosses",
    "wordnet_supersenses",
]

WORDNET_ROOT = Path("/usr/share/wordnet")
DPKG_INFO = Path("/var/lib/dpkg/info")
FORTUNE_ROOT = Path("/usr/share/games/fortunes")

#: Lexicographer-file numbers of WordNet 3.0 nouns (lexnames(5WN)): the 26 supersenses.
WORDNET_NOUN_LEXNAMES: dict[int, str] = {
    3: "noun.Tops",
    4: "noun.act",
    5: "noun.animal",
    6: "noun.artifact",
    7: "noun.attribute",
    8: "noun.body",
    9: "noun.cognition",
    10: "noun.communication",
    11: "noun.event",
    12: "noun.feeling",
    13: "noun.food",
    14: "noun.group",
    15: "noun.location",
    16: "noun.motive",
    17: "noun.object",
    18: "noun.person",
    19: "noun.phenomenon",
    20: "noun.plant",
    21: "noun.possession",
    22: "noun.process",
    23: "noun.quantity",
    24: "noun.relation",
    25: "noun.shape",
    26: "noun.state",
    27: "noun.substance",
    28: "noun.time",
}

#: Debian fortune packages and the language of their cookies (Debian 12 names).
#: ``fortunes-cs`` ships Czech and Slovak; it is labelled "cs" (its package name).
FORTUNE_LANGUAGE_PACKAGES: dict[str, str] = {
    "fortunes": "en",
    "fortunes-de": "de",
    "fortunes-es": "es",
    "fortunes-it": "it",
    "fortunes-pl": "pl",
    "fortunes-ru": "ru",
    "fortunes-br": "pt",
    "fortunes-cs": "cs",
    "fortunes-bg": "bg",
    "fortunes-zh": "zh",
    "fortunes-ga": "ga",
    "fortunes-eo": "eo",
}

# Terminal colour codes appear in some cookie files (fortunes-zh); they are not text.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Index files and alternative encodings that sit beside the cookie files.
_NOT_COOKIES = (".dat", ".u8", ".pdat", ".gz")


def _apt_hint(packages: Iterable[str]) -> str:
    return "sudo apt-get install " + " ".join(packages)


# ----------------------------------------------------------------------------- WordNet


def wordnet_supersenses(
    max_per_class: int | None = None,
    seed: int = 0,
    *,
    root: str | Path = WORDNET_ROOT,
    with_examples: bool = True,
    min_per_class: int = 1,
) -> tuple[list[str], np.ndarray]:
    """WordNet noun glosses labelled by supersense (lexicographer file), 26 classes.

    Each synset of ``data.noun`` gives one text: its gloss (definition, and
    the quoted usage examples when ``with_examples``); its label is the
    lexicographer file name, e.g. ``"noun.animal"``. The synset's own words are
    *not* part of the text, so the task is to recognise the semantic field
    from the definition alone.

    Parameters
    ----------
    max_per_class : int or None
        Seeded subsample of at most this many glosses per supersense.
    seed : int
        Seed of the subsample.
    root : path
        WordNet database directory (Debian: ``/usr/share/wordnet``).
    with_examples : bool
        Keep the ``"..."`` usage examples that follow the definition.
    min_per_class : int
        Drop supersenses with fewer glosses than this (before subsampling).

    Returns
    -------
    texts : list of str
    labels : numpy.ndarray of str

    Raises
    ------
    TextDatasetUnavailable
        ``data.noun`` is missing (install ``wordnet-base``).

    References
    ----------
    G. A. Miller, "WordNet: a lexical database for English", CACM 38(11), 1995.
    """
    path = Path(root) / "data.noun"
    if not path.is_file():
        raise TextDatasetUnavailable(
            f"WordNet noun database not found at {path}; install it with "
            f"{_apt_hint(['wordnet-base'])}"
        )
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            # The licence header lines start with two spaces; data lines with an offset.
            if line.startswith(" ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            fields = head.split()
            lex = WORDNET_NOUN_LEXNAMES.get(int(fields[1]))
            if lex is None:
                continue
            gloss = gloss.strip()
            if not with_examples:
                gloss = gloss.split('; "', 1)[0].strip()
            if gloss:
                texts.append(gloss)
                labels.append(lex)
    return finish_texts(texts, labels, max_per_class, seed, min_per_class)


def wordnet_glosses(
    pos: Sequence[str] = ("verb", "adj"),
    max_items: int | None = None,
    seed: int = 0,
    *,
    root: str | Path = WORDNET_ROOT,
) -> list[str]:
    """Unlabelled WordNet glosses of other parts of speech: a generic English text sample.

    Used as a stand-in for a text encoder's *source* data when PED needs source
    feature statistics (pedrank ships no pre-training corpus): definitions of
    verbs/adjectives/adverbs are generic English and disjoint from the noun
    glosses of ``"wordnet-supersense"``.

    Parameters
    ----------
    pos : sequence of {"verb", "adj", "adv", "noun"}
        WordNet data files to read.
    max_items : int or None
        Seeded random subsample of this many glosses (all when ``None``).
    seed : int
        Seed of the subsample.
    root : path
        WordNet database directory.
    """
    texts: list[str] = []
    for part in pos:
        path = Path(root) / f"data.{part}"
        if not path.is_file():
            raise TextDatasetUnavailable(
                f"WordNet file not found at {path}; install it with {_apt_hint(['wordnet-base'])}"
            )
        with path.open(encoding="utf-8", errors="replace") as fh:
            texts.extend(
                line.split("|", 1)[1].strip()
                for line in fh
                if not line.startswith(" ") and "|" in line
            )
    if max_items is not None and max_items < len(texts):
        keep = np.sort(np.random.default_rng(seed).choice(len(texts), max_items, replace=False))
        texts = [texts[i] for i in keep]
    return texts


# ----------------------------------------------------------------------------- fortunes


def read_fortune_file(path: str | Path) -> list[str]:
    """The cookies of one fortune file (entries separated by a line holding ``%``).

    Leading/trailing blank space is stripped, terminal colour codes are
    removed and empty entries dropped.
    """
    raw = Path(path).read_bytes().decode("utf-8", errors="replace")
    raw = _ANSI.sub("", raw.replace("\r\n", "\n"))
    out = []
    for chunk in re.split(r"(?m)^%[ \t]*$", raw):
        text = chunk.strip()
        if text:
            out.append(text)
    return out


def _package_fortune_files(
    package: str, dpkg_info: Path, fortune_root: Path
) -> list[Path]:
    """Cookie files of an installed Debian package, from dpkg's file list."""
    listing = dpkg_info / f"{package}.list"
    if not listing.is_file():
        raise TextDatasetUnavailable(
            f"Debian package {package!r} is not installed (no {listing}); install it with "
            f"{_apt_hint([package])}"
        )
    root = str(fortune_root).rstrip("/") + "/"
    files = []
    for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
        p = line.strip()
        if not p.startswith(root) or p.endswith(_NOT_COOKIES):
            continue
        # Offensive sections ("off/") are opt-in for fortune(6); leave them out here too.
        rel = p[len(root):]
        if "off" in rel.split("/")[:-1]:
            continue
        path = Path(p)
        # Symlinks duplicate files shipped elsewhere in the package (fortunes-it, -cs).
        if path.is_file() and not path.is_symlink():
            files.append(path)
    return sorted(files)


def fortune_categories(
    max_per_class: int | None = None,
    seed: int = 0,
    *,
    package: str = "fortunes",
    min_per_class: int = 20,
    max_chars: int | None = 2000,
    dpkg_info: str | Path = DPKG_INFO,
    fortune_root: str | Path = FORTUNE_ROOT,
) -> tuple[list[str], np.ndarray]:
    """Fortune cookies of one Debian package labelled by category (their file name).

    Parameters
    ----------
    max_per_class : int or None
        Seeded subsample of at most this many cookies per category.
    seed : int
        Seed of the subsample.
    package : str
        Debian package whose files are the categories (default the English ``fortunes``).
    min_per_class : int
        Drop categories with fewer cookies than this (a few files hold a handful).
    max_chars : int or None
        Drop cookies longer than this many characters (long ASCII-art screens).
    dpkg_info, fortune_root : path
        Where dpkg keeps its file lists, and the fortunes directory.

    Returns
    -------
    texts : list of str
    labels : numpy.ndarray of str
        The category, e.g. ``"computers"``.

    Raises
    ------
    TextDatasetUnavailable
        The package is not installed.
    """
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for path in _package_fortune_files(package, Path(dpkg_info), Path(fortune_root)):
        category = path.name.removesuffix(".fortunes")
        for text in read_fortune_file(path):
            # Some cookies appear in two files; a duplicate with two labels is noise.
            if text in seen or (max_chars is not None and len(text) > max_chars):
                continue
            seen.add(text)
            texts.append(text)
            labels.append(category)
    return finish_texts(texts, labels, max_per_class, seed, min_per_class)


def fortune_languages(
    max_per_class: int | None = None,
    seed: int = 0,
    *,
    packages: Mapping[str, str] | None = None,
    min_per_class: int = 20,
    max_chars: int | None = 2000,
    dpkg_info: str | Path = DPKG_INFO,
    fortune_root: str | Path = FORTUNE_ROOT,
) -> tuple[list[str], np.ndarray]:
    """Fortune cookies labelled by the language of their Debian package.

    Parameters
    ----------
    max_per_class : int or None
        Seeded subsample of at most this many cookies per language.
    seed : int
        Seed of the subsample.
    packages : mapping or None
        ``{debian_package: language}``; default :data:`FORTUNE_LANGUAGE_PACKAGES`.
        Packages that are not installed are skipped.
    min_per_class : int
        Drop languages with fewer cookies than this.
    max_chars : int or None
        Drop cookies longer than this many characters.
    dpkg_info, fortune_root : path
        Where dpkg keeps its file lists, and the fortunes directory.

    Returns
    -------
    texts : list of str
    labels : numpy.ndarray of str
        ISO 639-1 codes (``"en"``, ``"de"``, ...).

    Raises
    ------
    TextDatasetUnavailable
        Fewer than two of the packages are installed.
    """
    pkgs = dict(FORTUNE_LANGUAGE_PACKAGES if packages is None else packages)
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    found = 0
    for package, lang in pkgs.items():
        try:
            files = _package_fortune_files(package, Path(dpkg_info), Path(fortune_root))
        except TextDatasetUnavailable:
            continue
        found += 1
        for path in files:
            for text in read_fortune_file(path):
                if text in seen or (max_chars is not None and len(text) > max_chars):
                    continue
                seen.add(text)
                texts.append(text)
                labels.append(lang)
    if found < 2:
        raise TextDatasetUnavailable(
            "the fortune-language dataset needs at least two fortune packages; install them "
            f"with {_apt_hint(pkgs)}"
        )
    return finish_texts(texts, labels, max_per_class, seed, min_per_class)


#: Registered text datasets: name -> loader(max_per_class=None, seed=0, **kwargs).
TEXT_DATASETS: dict[str, Callable[..., tuple[list[str], np.ndarray]]] = {
    "wordnet-supersense": wordnet_supersenses,
    "fortune-category": fortune_categories,
    "fortune-language": fortune_languages,
    "debian-sections": lambda **kw: _debian_sections(**kw),
}


def _debian_sections(**kwargs: object) -> tuple[list[str], np.ndarray]:
    from pedrank.datasets.debian_packages import debian_package_sections  # imports this module

    return debian_package_sections(**kwargs)  # type: ignore[arg-type]
