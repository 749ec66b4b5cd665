"""Check that ``python/yara_orm`` is a one-way stack of layers (run by ``make lint``).

Fails (exit 1, naming each offence) on:
  * a module-level import from a lower layer into a higher one (an *upward* import),
  * a cycle among module-level imports (importing ``a.b.c`` also runs ``a/__init__`` and
    ``a/b/__init__``, so those count as edges too),
  * a function-local import that is not on the allowlist below.

Imports under ``if TYPE_CHECKING:`` are annotations only and are not checked.

    python scripts/check_layers.py [--report]
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "python" / "yara_orm"
PACKAGE = "yara_orm"

# Lowest first. A module belongs to the layer of its longest matching prefix (an entry starting
# with "=" matches only that module) and may import, at module level, only modules of its own
# layer or of a lower one.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # What everything may use: errors, the compiled engine, time zones, the model registry.
    (
        "foundation",
        (
            "yara_orm.exceptions",
            "yara_orm._engine",
            "yara_orm.timezone",
            "yara_orm.runtime",
            "yara_orm.registry",
            "yara_orm.signals",
            # Leaves: raw-SQL row records and the field validators.
            "yara_orm.records",
            "yara_orm.validators",
            # The query package's __init__ is empty: its IR modules sit below the rest of it.
            "=yara_orm.query",
        ),
    ),
    # Field types and the relation metadata they produce (``meta.relations``).
    ("fields", ("yara_orm.fields", "yara_orm.relations")),
    # The IR, the expressions that resolve into it, the compiler and the dialects it asks.
    (
        "ir",
        (
            "yara_orm.query.ir",
            "yara_orm.query.expressions",
            "yara_orm.query.functions",
            "yara_orm.query.aggregates",
            "yara_orm.query.lookups",
            "yara_orm.query.compiler",
            "yara_orm.dialects",
        ),
    ),
    # What runs SQL: the engine pools, external backends, named connections, transactions.
    (
        "executors",
        (
            "yara_orm.backends",
            "yara_orm.pool",
            "yara_orm.connection",
            "yara_orm.transactions",
            "yara_orm.instrument",
        ),
    ),
    # Querysets: resolution, statement building, decoding, reads and writes.
    ("query", ("yara_orm.query",)),
    # The Model class, its metaclass, managers, relation descriptors and class wiring.
    ("models", ("yara_orm.models",)),
    # Entry points: YaraOrm.init, schema generation, the public facades, the conformance kit.
    (
        "orm",
        (
            "yara_orm.orm",
            "yara_orm.schema",
            "yara_orm.expressions",
            "yara_orm.functions",
            "yara_orm.conformance",
            # Schema migrations and the `yara` command: on top, next to YaraOrm.init and schema.
            "yara_orm.migrations",
            "yara_orm.cli",
            "yara_orm.contrib",
            "yara_orm",
        ),
    ),
]

# Function-local imports that are there on purpose: (file relative to python/yara_orm, module).
ALLOWED_LOCAL: dict[tuple[str, str], str] = {
    # PEP 562 module __getattr__: the manager type aliases (fields.ReverseRelation...) need the
    # model layer, which imports the fields.
    ("fields/relational.py", "yara_orm.models"): "lazy type alias of a higher layer",
    # A pytest plugin loaded by every pytest run of a project that installs yara-orm: it imports
    # hypothesis and the kit only once --yara-url asks for the conformance suite.
    ("conformance/plugin.py", "hypothesis"): "pytest plugin, loaded only when enabled",
    ("conformance/plugin.py", "yara_orm.conformance.kit"): "pytest plugin, loaded only when enabled",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix.startswith("="):
                if module == prefix[1:]:
                    return index
                continue
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    if best is None:
        raise SystemExit(f"check_layers: {module} is in no layer; add it to LAYERS")
    return best


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Absolute names of the modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    out = [target]
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        rel = Path(*candidate.split("."))
        if (PACKAGE_DIR.parent / rel).with_suffix(".py").exists() or (PACKAGE_DIR.parent / rel).is_dir():
            out.append(candidate)
    return out


class Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.top: list[tuple[int, str]] = []
        self.local: list[tuple[int, str]] = []
        self._depth = 0

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _resolve(self.module, self.is_package, node):
            (self.local if self._depth else self.top).append((node.lineno, target))

    visit_Import = _import
    visit_ImportFrom = _import


def scan() -> tuple[dict[str, list[tuple[int, str]]], list[tuple[str, int, str]], dict[str, Path]]:
    graph: dict[str, list[tuple[int, str]]] = {}
    local: list[tuple[str, int, str]] = []
    paths: dict[str, Path] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        module = module_name(path)
        paths[module] = path
        visitor = Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(), str(path)))
        edges: list[tuple[int, str]] = []
        for lineno, target in visitor.top:
            if target != PACKAGE and not target.startswith(PACKAGE + "."):
                continue
            parts = target.split(".")
            # Importing a.b.c runs the __init__ of every package on the way, except those already
            # running: the root (the public facade every import goes through first) and the
            # packages that contain this module.
            for i in range(2, len(parts) + 1):
                name = ".".join(parts[:i])
                if name != module and not module.startswith(name + "."):
                    edges.append((lineno, name))
        graph[module] = list(dict.fromkeys(edges))
        local.extend((module, lineno, target) for lineno, target in visitor.local)
    return graph, local, paths


def _cycles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for _lineno, nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return found


def check() -> list[str]:
    graph, local, paths = scan()
    problems: list[str] = []
    for module, edges in graph.items():
        mine = layer_of(module)
        for lineno, target in edges:
            if target in graph and layer_of(target) > mine:
                problems.append(
                    f"{paths[module].relative_to(ROOT)}:{lineno}: upward import of {target} "
                    f"(layer {LAYERS[layer_of(target)][0]}) from layer {LAYERS[mine][0]}"
                )
    for cycle in _cycles(graph):
        problems.append("import cycle: " + " -> ".join(cycle))
    for module, lineno, target in local:
        rel = paths[module].relative_to(PACKAGE_DIR).as_posix()
        allowed = any(
            path == rel and (target == name or target.startswith(name + ".")) for path, name in ALLOWED_LOCAL
        )
        if not allowed:
            problems.append(
                f"{paths[module].relative_to(ROOT)}:{lineno}: function-local import of {target} "
                "(import at module level; a cycle is a layering bug, see scripts/check_layers.py)"
            )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="also print the layer of every module")
    args = parser.parse_args()
    if args.report:
        graph, _local, _paths = scan()
        for module in sorted(graph, key=lambda m: (layer_of(m), m)):
            print(f"{LAYERS[layer_of(module)][0]:<11} {module}")
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(f"check_layers: {len(problems)} problem(s)")
        return 1
    print("check_layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
