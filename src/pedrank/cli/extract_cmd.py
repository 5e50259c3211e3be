"""``pedrank extract``: write zoo models' features on a dataset as feature files.

``pedrank extract --dataset digits --models efficientnet-lite0 ... --out-dir feats/``
writes ``feats/<model>.npz`` (features, labels and, where packaged, the
model's source statistics for PED), ready for ``pedrank rank feats/``.
Extraction is cached (``--cache-dir``) and resumable.
"""

from __future__ import annotations

import argparse
import time

from pedrank.cli import CLIError
from pedrank.cli._common import (
    MAX_BATCH,
    MAX_IMAGE_SIZE,
    MAX_SEED,
    check_device,
    device,
    number,
    out_dir,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from pedrank.models.extract import default_cache_dir

    p = sub.add_parser(
        "extract",
        help="extract zoo models' features on a dataset into MODEL.npz feature files",
        description="Extract penultimate-layer features of zoo models on a labelled dataset and "
        "write one feature file per model (with packaged source statistics when available).",
    )
    p.add_argument(
        "--dataset",
        required=True,
        help="digits, fashion-mnist, opencv-digits, lfw-subset, or an image folder "
        "(one sub-folder per class)",
    )
    p.add_argument(
        "--models", nargs="+", default=None, help="zoo models (default: installed vision)"
    )
    p.add_argument("--out-dir", type=out_dir, required=True, help="where MODEL.npz files go")
    p.add_argument("--max-samples", type=number(int, lo=2), default=None,
                   help="class-stratified subset")
    p.add_argument("--seed", type=number(int, lo=0, hi=MAX_SEED), default=0,
                   help="seed of the --max-samples subset")
    p.add_argument("--image-size", type=number(int, lo=8, hi=MAX_IMAGE_SIZE), default=64,
                   help="input side in px (default 64)")
    p.add_argument("--batch-size", type=number(int, lo=1, hi=MAX_BATCH), default=64)
    p.add_argument("--device", type=device, default=None, help="torch device (cpu, cuda)")
    p.add_argument("--cache-dir", type=out_dir, default=str(default_cache_dir()),
                   help="feature cache")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pedrank.cli._progress import bar_factory
    from pedrank.datasets import load_dataset
    from pedrank.models.extract import extract_zoo
    from pedrank.models.source_samples import load_source_stats
    from pedrank.models.zoo import MissingDependencyError, available_models, get_entry
    from pedrank.pipeline.feature_files import save_feature_file

    check_device(args.device)
    models = args.models or available_models("vision")
    if not models:
        raise CLIError("no zoo vision model is installed; pip install 'pedrank[zoo]'")
    try:
        ds = load_dataset(args.dataset, max_samples=args.max_samples, seed=args.seed)
    except (FileNotFoundError, ImportError) as exc:
        raise CLIError(str(exc)) from None
    for model in models:
        entry = get_entry(model)
        size = entry.input_size(args.image_size)
        t0 = time.perf_counter()
        try:
            fs = extract_zoo(
                model, ds, image_size=size, batch_size=args.batch_size, device=args.device,
                cache_dir=None if args.no_cache else args.cache_dir, progress=bar_factory(),
            )  # fmt: skip
        except MissingDependencyError as exc:
            raise CLIError(str(exc)) from None
        src = load_source_stats(model, size or entry.preprocessing.size)
        path = save_feature_file(args.out_dir / f"{model}.npz", fs.features, fs.labels, src,
                                 data_hash=ds.fingerprint)
        how = "cached" if fs.from_cache else f"{time.perf_counter() - t0:.1f} s"
        print(f"{model}: {fs.features.shape[0]} x {fs.features.shape[1]} ({how}) -> {path}")
    return 0
