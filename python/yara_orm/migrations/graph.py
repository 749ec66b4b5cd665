"""Migration files on disk and the graph their dependencies form.

A migration is a Python file ``migrations/<app>/NNNN_name.py`` with module-level
``dependencies`` (a list of ``(app, name)``) and ``operations``. Each app has its own chain;
a dependency may point into another app (a foreign key to its models).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import MigrationError
from .operations import Operation
from .state import ProjectState

Key = tuple[str, str]

_FILE = re.compile(r"^(\d{4})_\w+\.py$")


@dataclass
class Migration:
    app: str
    name: str
    dependencies: list[Key] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    path: Path | None = None
    checksum: str = ""
    # False: run outside a transaction (forced when an operation cannot run inside one).
    atomic: bool = True
    # A squashed migration stands for these (see MigrationGraph._resolve).
    replaces: list[Key] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.app, self.name)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def number(self) -> int:
        head = self.name.split("_", 1)[0]
        return int(head) if head.isdigit() else 0

    @property
    def runs_in_transaction(self) -> bool:
        return self.atomic and all(op.atomic for op in self.operations)


def checksum(data: bytes) -> str:
    """The recorded fingerprint of a migration file: of its syntax tree, so reformatting it or
    editing comments is not an edit, while changing what it does is."""
    try:
        normal = ast.dump(ast.parse(data), annotate_fields=False).encode()
    except SyntaxError:
        normal = data.replace(b"\r\n", b"\n")
    return hashlib.sha256(normal).hexdigest()


def load_file(app: str, path: Path) -> Migration:
    data = path.read_bytes()
    module_name = f"_yara_migration_{app}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"cannot load migration file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"migration {path} failed to import: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(module_name, None)
    operations = getattr(module, "operations", None)
    deps = getattr(module, "dependencies", [])
    if not isinstance(operations, list | tuple) or not all(isinstance(o, Operation) for o in operations):
        raise MigrationError(f"{path}: `operations` must be a list of yara_orm.migrations operations")
    parsed = _keys(path, "dependency", deps)
    return Migration(
        app=app,
        name=path.stem,
        dependencies=parsed,
        operations=list(operations),
        path=path,
        checksum=checksum(data),
        atomic=bool(getattr(module, "atomic", True)),
        replaces=_keys(path, "replaces entry", getattr(module, "replaces", [])),
    )


def _keys(path: Path, what: str, values: Any) -> list[Key]:
    out: list[Key] = []
    for value in values:
        if not (
            isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(p, str) for p in value)
        ):
            raise MigrationError(f"{path}: each {what} must be an (app, migration_name) pair, got {value!r}")
        out.append((value[0], value[1]))
    return out


def load_app(app: str, directory: Path) -> list[Migration]:
    if not directory.is_dir():
        return []
    return [load_file(app, p) for p in sorted(directory.iterdir()) if _FILE.match(p.name)]


class MigrationGraph:
    """Nodes are migrations; edges their dependencies. ``validate`` refuses a missing
    dependency, a cycle, and an app with two leaves (divergent branches)."""

    def __init__(self, migrations: Iterable[Migration], applied: set[Key] | None = None) -> None:
        everything: dict[Key, Migration] = {}
        for m in migrations:
            if m.key in everything:
                raise MigrationError(f"two migrations named {m.label}")
            everything[m.key] = m
        self.all = everything
        # Squashed migrations whose replaced ones all ran: recorded as applied by migrate.
        self.implied: set[Key] = set()
        self.nodes = self._resolve(everything, applied)

    def with_applied(self, applied: set[Key]) -> MigrationGraph:
        """The graph as it applies to a database where ``applied`` ran."""
        return MigrationGraph(self.all.values(), applied)

    def _resolve(self, everything: dict[Key, Migration], applied: set[Key] | None) -> dict[Key, Migration]:
        """Choose between each squashed migration and the ones it replaces: the squashed one,
        unless only some of those ran on this database (then they finish the job first)."""
        done = applied or set()
        nodes = dict(everything)
        remap: dict[Key, list[Key]] = {}
        for key, m in everything.items():
            if not m.replaces:
                continue
            ran = [r for r in m.replaces if r in done]
            if ran and len(ran) < len(m.replaces) and key not in done:
                del nodes[key]
                remap[key] = list(m.replaces)
                continue
            if ran and len(ran) == len(m.replaces):
                self.implied.add(key)
            for r in m.replaces:
                nodes.pop(r, None)
                remap[r] = [key]
        if not remap:
            return nodes
        out: dict[Key, Migration] = {}
        for key, m in nodes.items():
            deps: list[Key] = []
            for d in m.dependencies:
                for target in remap.get(d, [d]):
                    if target != key and target not in deps:
                        deps.append(target)
            if deps == m.dependencies:
                out[key] = m
            else:
                out[key] = Migration(
                    m.app, m.name, deps, m.operations, m.path, m.checksum, m.atomic, m.replaces
                )
        return out

    def children(self, key: Key) -> list[Key]:
        return [k for k, m in self.nodes.items() if key in m.dependencies]

    def validate(self, check_leaves: bool = True) -> None:
        for m in self.nodes.values():
            for dep in m.dependencies:
                if dep not in self.nodes:
                    raise MigrationError(
                        f"migration {m.label} depends on {dep[0]}.{dep[1]}, which does not exist. "
                        f"Restore that migration file, or fix the dependencies list in {m.path or m.label}"
                    )
        self.order()  # raises on a cycle
        if check_leaves:
            for app in self.apps():
                leaves = self.leaves(app)
                if len(leaves) > 1:
                    names = ", ".join(k[1] for k in leaves)
                    raise MigrationError(
                        f"app {app!r} has divergent migrations ({names}): two branches were made from the "
                        f"same parent. Run `yara migrations makemigrations --merge {app}` to join them"
                    )

    def apps(self) -> list[str]:
        return sorted({k[0] for k in self.nodes})

    def leaves(self, app: str) -> list[Key]:
        in_app = [k for k in self.nodes if k[0] == app]
        parents = {d for k in in_app for d in self.nodes[k].dependencies if d[0] == app}
        return sorted(k for k in in_app if k not in parents)

    def leaf(self, app: str) -> Key | None:
        leaves = self.leaves(app)
        return leaves[0] if len(leaves) == 1 else None

    def order(self, keys: Iterable[Key] | None = None) -> list[Key]:
        """Topological order (dependencies first; ties by app and name) of ``keys`` (all)."""
        wanted = set(self.nodes if keys is None else keys)
        done: set[Key] = set()
        out: list[Key] = []
        for start in sorted(wanted):
            if start in done:
                continue
            # Iterative DFS: a long chain must not hit the recursion limit.
            stack: list[tuple[Key, list[Key]]] = [(start, sorted(self.nodes[start].dependencies))]
            path = {start}
            while stack:
                node, deps = stack[-1]
                if deps:
                    dep = deps.pop(0)
                    if dep in done or dep not in self.nodes:
                        continue
                    if dep in path:
                        cycle = " -> ".join(f"{k[0]}.{k[1]}" for k, _ in stack) + f" -> {dep[0]}.{dep[1]}"
                        raise MigrationError(
                            f"the migrations' dependencies form a cycle: {cycle}. Remove one of these "
                            "dependencies (a migration can only depend on earlier ones)"
                        )
                    path.add(dep)
                    stack.append((dep, sorted(self.nodes[dep].dependencies)))
                else:
                    stack.pop()
                    path.discard(node)
                    if node not in done:
                        done.add(node)
                        if node in wanted:
                            out.append(node)
        return out

    def ancestors(self, key: Key) -> set[Key]:
        """``key`` and everything it depends on, transitively."""
        seen: set[Key] = set()
        todo = [key]
        while todo:
            k = todo.pop()
            if k in seen or k not in self.nodes:
                continue
            seen.add(k)
            todo += self.nodes[k].dependencies
        return seen

    def descendants(self, key: Key) -> set[Key]:
        """``key`` and everything that depends on it, transitively."""
        seen: set[Key] = set()
        todo = [key]
        while todo:
            k = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            todo += self.children(k)
        return seen

    def state(self, keys: Iterable[Key] | None = None) -> ProjectState:
        """The state after applying ``keys`` (all) in dependency order."""
        state = ProjectState()
        for key in self.order(keys):
            m = self.nodes[key]
            for op in m.operations:
                try:
                    op.state_forwards(m.app, state)
                except MigrationError as exc:
                    raise MigrationError(f"in migration {m.label}: {exc}") from exc
        return state

    def state_before(self, key: Key) -> ProjectState:
        return self.state(self.ancestors(key) - {key})


def describe_ops(m: Migration) -> list[str]:
    return [op.describe() for op in m.operations]


def as_key(value: Any) -> Key:
    return (str(value[0]), str(value[1]))
