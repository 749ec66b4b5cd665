"""Joining divergent branches of one app (``makemigrations --merge``).

A merge migration only depends on the leaves, so the branches' migrations run in whichever
order the graph gives. That is safe when the branches change different things; when two
branches change the same field (or one deletes or renames a model the other changes), the
result would depend on that order, so the merge is refused, naming what both change.
"""

from __future__ import annotations

from ..exceptions import MigrationError
from .graph import Key, MigrationGraph
from .operations import (
    AddField,
    AlterField,
    CreateModel,
    DeleteModel,
    Operation,
    RemoveField,
    RenameField,
    RenameModel,
)

# What an operation touches: (model, field), or (model, None) for the whole model.
Target = tuple[str, str | None]


def _targets(op: Operation) -> list[Target]:
    if isinstance(op, AddField | RemoveField | AlterField):
        return [(op.model_name, op.name)]
    if isinstance(op, RenameField):
        return [(op.model_name, op.old_name), (op.model_name, op.new_name)]
    if isinstance(op, RenameModel):
        return [(op.old_name, None), (op.new_name, None)]
    if isinstance(op, DeleteModel | CreateModel):
        return [(op.name, None)]
    return []


def _clash(a: Target, b: Target) -> bool:
    return a[0] == b[0] and (a[1] is None or b[1] is None or a[1] == b[1])


def _what(t: Target) -> str:
    return f"model {t[0]}" if t[1] is None else f"field {t[0]}.{t[1]}"


def check_mergeable(graph: MigrationGraph, app: str, leaves: list[Key]) -> None:
    """Refuse (MigrationError) when two of ``leaves``' branches change the same thing."""
    lines: dict[Key, set[Key]] = {leaf: graph.ancestors(leaf) for leaf in leaves}
    shared = set.intersection(*lines.values())
    touched: dict[Key, list[tuple[Target, str, str]]] = {}
    for leaf, line in lines.items():
        for key in graph.order(line - shared):
            if key[0] != app:
                continue
            m = graph.nodes[key]
            for op in m.operations:
                for target in _targets(op):
                    touched.setdefault(leaf, []).append((target, m.name, op.describe()))
    order = list(touched)
    for i, left in enumerate(order):
        for right in order[i + 1 :]:
            for target_a, name_a, op_a in touched[left]:
                for target_b, name_b, op_b in touched[right]:
                    if _clash(target_a, target_b):
                        what = _what(target_a if target_a[1] is not None else target_b)
                        raise MigrationError(
                            f"{app}: both branches change {what}: {name_a} ({op_a}) and {name_b} "
                            f"({op_b}); a merge would apply both in an arbitrary order. Keep one: "
                            f"remove the other's operation (from a migration no database applied "
                            f"yet), or revert and delete that migration; then run `makemigrations "
                            f"--merge {app}` again, and `makemigrations` for what the models still "
                            "differ by"
                        )
