"""Print pedrank's architecture: modules per layer, import cycles, layer breaches, the longest
functions with their cyclomatic complexity.

Usage::

    python3 scripts/architecture_report.py [SRC_DIR]     # default: src/ beside this script

The import graph is read from the source with :mod:`ast` (nothing is imported), so the
script also runs on an old checkout (``git worktree add /tmp/old ba774ec``). The same
functions back ``tests/test_architecture.py``, which asserts what this script reports.
Cyclomatic complexity comes from ``radon`` when it is installed (a dev tool, not a
dependency), else from a small ast count of branch points (same definition, less exact
about boolean operators).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "pedrank"

# Layer ranks, bottom first. A module may import modules of a strictly lower rank and of its
# own layer (inside that layer). models and datasets are peers: neither imports the other.
LAYERS: dict[str, int] = {
    "_fs": 0,
    "_util": 0,
    "_fingerprint": 0,
    "_progress": 0,
    "_logging": 0,
    "core": 1,
    "models": 2,
    "datasets": 2,
    "groundtruth": 3,
    "pipeline": 4,
    "reports": 5,
    "cli": 6,
}
# Third-party distributions core may import (torch only inside core/backends, lazily).
# array_api_compat is the array-API layer scipy and scikit-learn vendor themselves; core
# uses it for the one numpy/torch implementation of PED's dynamics and LogME.
CORE_THIRD_PARTY = {"numpy", "scipy", "sklearn", "threadpoolctl", "array_api_compat"}


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``source`` imports ``target`` (a module name)."""

    source: str
    target: str
    names: tuple[str, ...]  # names taken by ``from target import ...`` (empty for ``import``)
    lineno: int
    module_level: bool  # False: inside a function (a lazy import)
    type_checking: bool  # inside ``if TYPE_CHECKING:`` (never executed)


@dataclass
class Graph:
    """pedrank's modules and the imports between them, read from the source tree."""

    root: Path
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)

    def internal(self, target: str) -> bool:
        return target == PACKAGE or target.startswith(PACKAGE + ".")


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer a pedrank module belongs to (None for the top-level package itself)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return "cli" if parts[1] == "__main__" else parts[1]


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, graph: Graph, module: str, is_package: bool) -> None:
        self.graph, self.module, self.is_package = graph, module, is_package
        self.depth = 0  # function nesting
        self.type_checking = 0

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guard = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        self.type_checking += guard
        for child in node.body:
            self.visit(child)
        self.type_checking -= guard
        for child in node.orelse:
            self.visit(child)

    def _add(self, target: str, names: tuple[str, ...], node: ast.stmt) -> None:
        self.graph.imports.append(
            Import(self.module, target, names, node.lineno, self.depth == 0,
                   self.type_checking > 0)
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, (), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            pkg = self.module.split(".")
            if not self.is_package:
                pkg = pkg[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join([*pkg, base] if base else pkg)
        # ``from pkg import sub`` where sub is a module is an edge to the sub-module.
        plain = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in self.graph.modules:
                self._add(sub, (), node)
            else:
                plain.append(alias.name)
        if plain or not node.names:
            self._add(base, tuple(plain), node)


def build_graph(src: Path) -> Graph:
    """Parse every module under ``src/pedrank`` and collect its imports."""
    graph = Graph(src)
    paths = sorted((src / PACKAGE).rglob("*.py"))
    for path in paths:
        graph.modules[module_name(path, src)] = path
    for path in paths:
        name = module_name(path, src)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _ImportVisitor(graph, name, path.name == "__init__.py").visit(tree)
    return graph


def resolve(graph: Graph, target: str) -> str | None:
    """The pedrank module an import target names (the longest known prefix)."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in graph.modules:
            return name
        parts.pop()
    return None


def module_edges(graph: Graph, lazy: bool = False) -> dict[str, set[str]]:
    """Executed edges between pedrank modules: module-level ones, plus the imports inside
    functions when ``lazy`` (a cycle that a deferred import only hides)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in graph.imports:
        if imp.type_checking or not graph.internal(imp.target):
            continue
        if not (imp.module_level or lazy):
            continue
        target = resolve(graph, imp.target)
        if target and target != imp.source:
            edges[imp.source].add(target)
    return edges


def cycles(graph: Graph, lazy: bool = False) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted.

    The top-level package is left out: its lazy ``__getattr__`` exports name every layer.
    """
    edges = module_edges(graph, lazy)
    edges.pop(PACKAGE, None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph.modules):
        if v not in index:
            strongconnect(v)
    return sorted(found)


def layer_breaches(graph: Graph) -> list[str]:
    """Imports (module-level or lazy) from a layer into one above it, or across peers."""
    out = []
    for imp in graph.imports:
        if not graph.internal(imp.target) or imp.source == PACKAGE:
            continue  # the top-level package's lazy exports point at every layer on purpose
        target = resolve(graph, imp.target)
        src_layer, dst_layer = layer_of(imp.source), layer_of(target or "")
        if target is None or dst_layer is None or src_layer == dst_layer:
            continue
        rank_src, rank_dst = LAYERS.get(src_layer or "", 99), LAYERS.get(dst_layer, 99)
        if rank_dst >= rank_src:
            out.append(f"{imp.source}:{imp.lineno} ({src_layer}) imports {target} ({dst_layer})")
    return sorted(out)


def core_third_party(graph: Graph) -> list[str]:
    """Imports in core of anything but the stdlib, numpy, scipy, sklearn, threadpoolctl,
    array_api_compat
    (torch is allowed only inside core/backends, and only inside functions)."""
    out = []
    for imp in graph.imports:
        if layer_of(imp.source) != "core" or graph.internal(imp.target):
            continue
        top = imp.target.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__" or top in CORE_THIRD_PARTY:
            continue
        in_backends = imp.source.startswith(f"{PACKAGE}.core.backends")
        if top == "torch" and in_backends and (not imp.module_level or imp.type_checking):
            continue
        where = "module level" if imp.module_level else "function"
        out.append(f"{imp.source}:{imp.lineno} imports {imp.target} ({where})")
    return sorted(out)


def private_imports(graph: Graph) -> list[str]:
    """``from pedrank.x import _name`` across modules (a private name that is not a module)."""
    out = []
    for imp in graph.imports:
        if not graph.internal(imp.target):
            continue
        for name in imp.names:
            if name.startswith("_") and not name.startswith("__"):
                out.append(f"{imp.source}:{imp.lineno} imports {imp.target}.{name}")
    return sorted(out)


def modules_per_layer(graph: Graph) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for name in graph.modules:
        counts[layer_of(name) or "(package)"] += 1
    return dict(sorted(counts.items(), key=lambda kv: (LAYERS.get(kv[0], -1), kv[0])))


def _ast_complexity(node: ast.AST) -> int:
    branches = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.With,
                ast.IfExp, ast.comprehension, ast.Assert, ast.match_case)
    score = 1
    for child in ast.walk(node):
        if isinstance(child, branches):
            score += 1
        elif isinstance(child, ast.BoolOp):
            score += len(child.values) - 1
    return score


def longest_functions(graph: Graph, top: int = 10) -> list[tuple[int, int, str]]:
    """(lines, cyclomatic complexity, qualified name) of the ``top`` longest functions."""
    try:
        from radon.complexity import cc_visit
    except ImportError:  # radon is a dev tool; fall back to counting branch points
        cc_visit = None
    rows = []
    for name, path in graph.modules.items():
        text = path.read_text(encoding="utf-8")
        radon_cc = {}
        if cc_visit is not None:
            for block in cc_visit(text):
                for b in [block, *getattr(block, "methods", [])]:
                    radon_cc[b.lineno] = b.complexity
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                cc = radon_cc.get(node.lineno, _ast_complexity(node))
                rows.append((lines, cc, f"{name}.{node.name}"))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    src = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "src"
    graph = build_graph(src)
    print(f"pedrank architecture ({src})")
    print(f"\nmodules per layer ({len(graph.modules)} in all):")
    for layer, count in modules_per_layer(graph).items():
        print(f"  {layer:12s} {count:3d}")
    for lazy, title in ((False, "module-level"), (True, "counting imports inside functions")):
        found = cycles(graph, lazy)
        print(f"\nimport cycles ({title}): {len(found)}")
        for comp in found:
            print("  " + " <-> ".join(comp))
    for title, rows in (("layer breaches", layer_breaches(graph)),
                        ("core imports outside the numeric stack and the stdlib",
                         core_third_party(graph)),
                        ("cross-module private imports", private_imports(graph))):
        print(f"\n{title}: {len(rows)}")
        for row in rows:
            print("  " + row)
    tool = "radon" if _has_radon() else "ast count"
    print(f"\n10 longest functions (lines, cyclomatic complexity by {tool}):")
    for lines, cc, name in longest_functions(graph):
        print(f"  {lines:4d} lines  cc {cc:3d}  {name}")
    return 0


def _has_radon() -> bool:
    try:
        import radon  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
