"""Source statistics for any model: the mean/std PED standardises with.

PED (Li et al., ICCV 2023) standardises a model's target features with the
statistics of the same model's features on its *pre-training* data. For a
model of the user's own we cannot know that data, so :func:`source_stats_for`
takes, in this order:

1. ``source_data``: a sample the user says resembles the model's pre-training
   data (an image folder, a text file, a built-in dataset name: anything
   :func:`load_data` reads);
2. the statistics packaged for zoo models
   (:func:`pedrank.models.source_samples.load_source_stats`);
3. a bundled generic sample: random resized crops of the offline natural
   photographs for vision models
   (:func:`pedrank.models.source_samples.augmented_crops`), and a few thousand
   generic English sentences for text models (:func:`generic_english_text`);
4. when even that is impossible (e.g. scikit-image missing), the documented
   fallback ``PED(fallback="target")``: the target's own statistics.

Every result says which of these was used (:class:`SourceChoice`). Statistics
from a generic sample are cached under ``cache_dir/source_stats`` keyed by
(model, preprocessing, sample), so the sample is generated and run through the
model once.

The English sentences (``pedrank/data/source_text/generic_english.txt``) are
docstring sentences of Python's standard library (PSF licence), written by
``python3 -m pedrank.pipeline.sources --write-generic-text``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.core.source import SourceStats

__all__ = ["SourceChoice", "generic_english_text", "source_stats_for"]

log = logging.getLogger(__name__)

GENERIC_TEXT_FILE = "generic_english.txt"
# Crop side of the generic natural-image sample: the model's preprocessing resizes
# the crops to its own input; larger crops would only cost memory
# (720 crops x 96 x 96 x 3 uint8 = 20 MB).
GENERIC_CROP_SIDE = 96
SOURCE_CACHE_FORMAT = 1


@dataclass(frozen=True)
class SourceChoice:
    """The source statistics used for one model, and where they came from.

    Attributes
    ----------
    stats : SourceStats or None
        ``None`` means PED standardises with the target's own statistics.
    kind : {"given", "packaged", "generic", "target"}
    description : str
        One line for tables, e.g. ``"generic sample: 720 natural-image crops"``.
    from_cache : bool
        Read from the source-statistics cache (nothing extracted).
    """

    stats: SourceStats | None
    kind: str
    description: str
    from_cache: bool = False


def generic_english_text() -> list[str]:
    """The bundled generic English sentences (about 3,000; see the module docstring)."""
    ref = resources.files("pedrank") / "data" / "source_text" / GENERIC_TEXT_FILE
    return [s for s in ref.read_text(encoding="utf-8").splitlines() if s.strip()]


# --------------------------------------------------------------------------- the choice


def source_stats_for(
    spec: Any,
    *,
    extract: Callable[[Any, Any], Any],
    source_data: Any = None,
    load_data: Callable[[Any], Any] | None = None,
    cache_dir: str | Path | None = None,
) -> SourceChoice:
    """Source statistics of the model ``spec`` (a loaders ``ModelSpec``).

    Parameters
    ----------
    spec : ModelSpec
        Needs ``name``, ``kind``, ``cache_id``, ``preprocessing`` and ``image_size``.
    extract : callable
        ``extract(spec, dataset) -> FeatureSet``: the pipeline's cached extraction.
    source_data : str, path or dataset, optional
        A sample resembling the model's pre-training data; a string is read
        with ``load_data``.
    load_data : callable, optional
        ``load_data(str) -> dataset`` for a ``source_data`` string.
    cache_dir : path, optional
        Where statistics of generic samples are cached (``None``: not cached).
    """
    if source_data is not None:
        ds = load_data(source_data) if isinstance(source_data, str | Path) else source_data
        stats = SourceStats.from_features(extract(spec, ds).features)
        name = getattr(ds, "name", str(source_data))
        return SourceChoice(stats, "given", f"given sample {name} ({len(ds.labels)} inputs)")
    packaged = _packaged(spec)
    if packaged is not None:
        return packaged
    try:
        sample_id, make_sample, what = _generic_sample(spec, cache_dir)
    except ImportError as exc:
        log.info("no generic source sample for %s: %s", spec.name, exc)
        return SourceChoice(None, "target", f"target's own statistics (fallback: {exc})")
    path = _cache_path(cache_dir, spec, sample_id)
    if path is not None and path.is_file():
        try:
            return SourceChoice(SourceStats.load(path), "generic", what, from_cache=True)
        except (OSError, ValueError, KeyError):
            log.warning("unreadable cached source statistics %s; recomputing", path)
    stats = SourceStats.from_features(extract(spec, make_sample()).features)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        stats.save(path)
    return SourceChoice(stats, "generic", what)


def _packaged(spec: Any) -> SourceChoice | None:
    """The statistics shipped for a zoo vision model at its input size, if any."""
    from pedrank.models.source_samples import load_source_stats

    if not str(spec.cache_id).startswith("zoo:") or spec.kind != "vision":
        return None
    size = spec.image_size or getattr(spec.preprocessing, "size", None)
    if size is None:
        return None
    stats = load_source_stats(spec.name, int(size))
    if stats is None:
        return None
    return SourceChoice(stats, "packaged",
                        f"packaged (natural-image crops, ImageNet photos included), {size} px")


def _generic_sample(spec: Any, cache_dir: str | Path | None
                    ) -> tuple[str, Callable[[], Any], str]:
    """(sample identity, sample factory, description) of the bundled sample for ``spec``."""
    from pedrank.datasets import ImageDataset

    if spec.kind == "text":
        text = generic_english_text()
        digest = hashlib.sha256("\n".join(text).encode()).hexdigest()[:16]

        def make_text() -> Any:
            from pedrank.datasets.tables import TextDataset

            return TextDataset(text, np.zeros(len(text), dtype=np.int64), "generic-english")

        return f"generic-english:{digest}", make_text, (
            f"generic sample: {len(text)} English sentences")
    import importlib.util

    from pedrank.models.source_samples import (
        DEFAULT_CROPS_PER_IMAGE,
        imagenet_photo_files,
        natural_images,
    )

    if importlib.util.find_spec("skimage") is None:
        raise ImportError("the natural-image sample needs scikit-image: pip install scikit-image")
    side = min(int(spec.image_size or GENERIC_CROP_SIDE), GENERIC_CROP_SIDE)
    # foolbox's ImageNet photos join the sample when they are installed (natural_images)
    imagenet = bool(imagenet_photo_files())
    sample_id = (f"natural-crops:v1:per={DEFAULT_CROPS_PER_IMAGE}:side={side}:seed=0"
                 + (":imagenet=foolbox" if imagenet else ""))

    def make_crops() -> Any:
        # The photos are read only on a cache miss (reading them takes ~2 s).
        crops = _natural_crops(natural_images, side, sample_id, cache_dir)
        return ImageDataset(crops, np.zeros(len(crops), dtype=np.int64), "natural-crops")

    photos = "offline photo, ImageNet's included" if imagenet else "offline photo"
    return sample_id, make_crops, (
        f"generic sample: natural-image crops ({DEFAULT_CROPS_PER_IMAGE} per {photos})")


def _natural_crops(images: Callable[[], list[np.ndarray]], side: int, sample_id: str,
                   cache_dir: str | Path | None) -> np.ndarray:
    """The generic crops as uint8, cached on disk: making them costs ~20-35 s on 2 cores
    (720 antialiased resizes of crops of up to 1000 px), extracting them costs far less."""
    from pedrank.models.source_samples import DEFAULT_CROPS_PER_IMAGE, augmented_crops

    path = None
    if cache_dir is not None:
        digest = hashlib.sha256(sample_id.encode()).hexdigest()[:16]
        path = Path(cache_dir).expanduser() / "source_samples" / f"natural-crops-{digest}.npy"
        if path.is_file():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                log.warning("unreadable cached crops %s; recomputing", path)
    crops = augmented_crops(images(), DEFAULT_CROPS_PER_IMAGE, side, seed=0)
    crops = np.round(crops * 255.0).astype(np.uint8)  # 4x less memory than float32
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, crops, allow_pickle=False)
        os.replace(tmp, path)  # readers see no file or the whole file
    return crops


def _cache_path(cache_dir: str | Path | None, spec: Any, sample_id: str) -> Path | None:
    if cache_dir is None:
        return None
    pre = getattr(spec.preprocessing, "key", None) if spec.preprocessing is not None else "none"
    ident = json.dumps({"format": SOURCE_CACHE_FORMAT, "model": spec.cache_id,
                        "preprocess": pre, "sample": sample_id}, sort_keys=True)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
    return Path(cache_dir).expanduser() / "source_stats" / f"{digest}.npz"


# --------------------------------------------------------------------------- generating the text

# Standard-library modules whose docstrings make the generic English sample (PSF licence).
_DOC_MODULES = (
    "abc argparse ast asyncio base64 bisect calendar cmd codecs collections configparser "
    "contextlib copy csv dataclasses datetime decimal difflib email enum filecmp fileinput "
    "fnmatch fractions ftplib functools getopt gettext glob gzip hashlib heapq hmac html http "
    "imaplib inspect io ipaddress itertools json locale logging lzma mailbox mimetypes numbers "
    "operator optparse os pathlib pickle pkgutil platform plistlib poplib pprint queue random re "
    "sched secrets selectors shelve shlex shutil smtplib socket socketserver sqlite3 ssl "
    "statistics string struct subprocess tarfile tempfile textwrap threading timeit tokenize "
    "trace traceback turtle types typing unittest urllib uuid warnings weakref wave xml zipfile "
    "zoneinfo"
).split()
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_PLAIN_SENTENCE = re.compile(r"^[A-Z][A-Za-z ,;:'()\-]+[a-z][.!?]$")  # prose, no code


def _docstrings(module: Any) -> list[str]:
    """Docstrings of a module, its classes, functions and methods (sorted by name)."""
    import inspect

    top = module.__name__.split(".")[0]
    out = [inspect.getdoc(module) or ""]
    for _, obj in sorted(vars(module).items()):
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if getattr(obj, "__module__", "").split(".")[0] != top:
            continue
        out.append(inspect.getdoc(obj) or "")
        if inspect.isclass(obj):
            out += [inspect.getdoc(m) or "" for _, m in sorted(vars(obj).items())
                    if inspect.isfunction(m)]
    return out


def build_generic_text(max_sentences: int = 4000) -> list[str]:
    """Plain prose sentences (6-40 words) from the standard library's docstrings.

    Deterministic for a given Python version: sentences are de-duplicated and
    ordered by their SHA-256.
    """
    import importlib

    found: set[str] = set()
    for name in _DOC_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for doc in _docstrings(module):
            for para in re.split(r"\n\s*\n", doc):
                for s in _SENTENCE_END.split(" ".join(para.split())):
                    if 6 <= len(s.split()) <= 40 and _PLAIN_SENTENCE.match(s):
                        found.add(s)
    ordered = sorted(found, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    return ordered[:max_sentences]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write pedrank's generic English source sample.")
    p.add_argument("--write-generic-text", action="store_true", required=True)
    p.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data"
                                        / "source_text" / GENERIC_TEXT_FILE))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # a script: report on stderr
    text = build_generic_text()
    Path(args.out).write_text("\n".join(text) + "\n", encoding="utf-8")
    log.info("%d sentences (Python %s) -> %s", len(text), sys.version.split()[0], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
