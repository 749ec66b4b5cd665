"""Warnings about operations that lock a busy table or break the code still running.

Rules (PostgreSQL unless noted), each with the safe alternative:

* ``add-not-null``: AddField of a NOT NULL column with no default fails on a table with rows
  (every backend).
* ``index-lock``: AddIndex (or a field's ``index=True``) on an existing table blocks writes while
  it builds.
* ``rewrite``: AlterField changing the column type rewrites the table under an exclusive lock.
* ``set-not-null``: AlterField to NOT NULL scans the table under an exclusive lock.
* ``unique-lock``: UNIQUE added to an existing table (AlterField, AddField, AddConstraint)
  builds an index under an exclusive lock.
* ``drop-in-use``: RemoveField/DeleteModel of something the models still use (every backend).
* ``rename``: RenameField/RenameModel breaks instances running the previous release.
* ``irreversible``: RunSQL/RunPython without a backward step.
* ``recreate``: RemoveField then AddField of the same field (a changed many-to-many): its rows
  are lost (every backend).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..dialects.base import Dialect
from ..fields.base import NO_DEFAULT, Field
from . import operations as ops
from .graph import Migration, MigrationGraph
from .state import ProjectState

# The safe alternative, by rule.
SUGGESTIONS = {
    "add-not-null": (
        "add it with null=True (or a default), backfill with RunPython, then AlterField to null=False"
    ),
    "index-lock": (
        "use AddIndex(..., concurrently=True) in a migration of its own (it runs outside a transaction)"
    ),
    "rewrite": "add a new column, backfill it in batches, switch the code over, then drop the old column",
    "set-not-null": (
        "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it (RunSQL), then set NOT NULL"
    ),
    "unique-lock": (
        "create a unique index concurrently first (AddIndex(Index(..., unique=True), concurrently=True))"
    ),
    "drop-in-use": (
        "remove it from the models and deploy that first; drop it from the database in a later release"
    ),
    "rename": (
        "add the new column, write both for a release, backfill, then remove the old one "
        "(or accept a short outage while all instances restart)"
    ),
    "irreversible": "pass backward=... (backward=[] or RunPython.noop when there is nothing to undo)",
    "recreate": (
        "add the new field under another name, copy the rows over with RunPython, switch the code, "
        "then remove the old field (or accept losing the rows)"
    ),
}


@dataclass(frozen=True)
class LintWarning:
    migration: str
    rule: str
    message: str
    suggestion: str

    def __str__(self) -> str:
        return f"{self.migration}: [{self.rule}] {self.message}\n    -> {self.suggestion}"


def lint_migration(
    graph: MigrationGraph, m: Migration, dialect: Dialect, models: ProjectState | None = None
) -> list[LintWarning]:
    out: list[LintWarning] = []
    state = graph.state_before(m.key)
    existing = {ms.key for ms in state}
    postgres_like = dialect.alter_column_in_place

    def warn(rule: str, message: str) -> None:
        out.append(LintWarning(m.label, rule, message, SUGGESTIONS[rule]))

    for op in m.operations:
        before = state.clone()
        op.state_forwards(m.app, state)
        if isinstance(op, ops.AddField):
            model = state.render().get_model(m.app, op.model_name)
            f = model._meta.fields_map.get(op.name) or model._meta.fields_map.get(f"{op.name}_id")
            no_default = f is not None and f.default is NO_DEFAULT and f.db_default is NO_DEFAULT
            if (m.app, op.model_name) in existing and f is not None and not f.null and no_default:
                warn(
                    "add-not-null",
                    f"{op.describe()}: a NOT NULL column without a default fails on a table with rows",
                )
            if (m.app, op.model_name) in existing and f is not None and postgres_like:
                _index_rules(warn, op, None, f)
        elif isinstance(op, ops.AddIndex) and postgres_like and not op.concurrently:
            if (m.app, op.model_name) in existing:
                warn(
                    "index-lock",
                    f"{op.describe()}: CREATE INDEX blocks writes to the table while it builds",
                )
        elif isinstance(op, ops.AlterField) and postgres_like and (m.app, op.model_name) in existing:
            old_model = before.render().get_model(m.app, op.model_name)
            new_model = state.render().get_model(m.app, op.model_name)
            key = op.name if op.name in new_model._meta.fields_map else f"{op.name}_id"
            old_f, new_f = old_model._meta.fields_map.get(key), new_model._meta.fields_map.get(key)
            if old_f is None or new_f is None:
                continue
            old_type, new_type = dialect.column_type(old_f), dialect.column_type(new_f)
            if old_type != new_type and not _cheap_type_change(old_type, new_type):
                warn(
                    "rewrite",
                    f"{op.describe()}: {old_type} -> {new_type} rewrites the table under an exclusive lock",
                )
            if old_f.null and not new_f.null:
                warn(
                    "set-not-null",
                    f"{op.describe()}: SET NOT NULL scans the table under an exclusive lock",
                )
            _index_rules(warn, op, old_f, new_f)
        elif isinstance(op, ops.AddConstraint) and postgres_like:
            if (m.app, op.model_name) in existing:
                warn(
                    "unique-lock",
                    f"{op.describe()}: adding UNIQUE builds its index under an exclusive lock",
                )
        elif isinstance(op, ops.RemoveField) and _readded(m, op):
            warn(
                "recreate",
                f"{op.describe()} and adding it again: the column or join table is dropped and created "
                "anew, so its rows are lost",
            )
        elif isinstance(op, ops.RemoveField) and models is not None:
            live = models.models.get((m.app, op.model_name))
            if live is not None and op.name in live.fields:
                warn(
                    "drop-in-use",
                    f"{op.describe()}: the models still declare {op.model_name}.{op.name}",
                )
        elif isinstance(op, ops.DeleteModel) and models is not None:
            if (m.app, op.name) in models.models:
                warn(
                    "drop-in-use",
                    f"{op.describe()}: the models still declare {op.name}",
                )
        elif isinstance(op, ops.RenameField | ops.RenameModel):
            warn(
                "rename",
                f"{op.describe()}: instances still running the previous release use the old name",
            )
        elif isinstance(op, ops.RunSQL | ops.RunPython) and not op.reversible:
            warn(
                "irreversible",
                f"{op.describe()}: has no backward step, so this migration cannot be reverted",
            )
    return out


def _readded(m: Migration, removed: ops.RemoveField) -> bool:
    """Whether ``m`` adds the field it removes back (a changed many-to-many is replaced so)."""
    after = m.operations[m.operations.index(removed) + 1 :]
    return any(
        isinstance(op, ops.AddField) and (op.model_name, op.name) == (removed.model_name, removed.name)
        for op in after
    )


def _index_rules(
    warn: Callable[[str, str], None],
    op: ops.AddField | ops.AlterField,
    old: Field[Any] | None,
    new: Field[Any],
) -> None:
    """An index or UNIQUE that a field adds to an existing table is built while writes wait."""
    if new.unique and not new.pk and not (old is not None and old.unique):
        warn("unique-lock", f"{op.describe()}: adding UNIQUE builds its index under an exclusive lock")
    elif new.index and not new.unique and not (old is not None and old.index):
        warn(
            "index-lock",
            f"{op.describe()}: index=True runs CREATE INDEX, which blocks writes to the table while it "
            f"builds (declare it as Meta.indexes = (Index({new.model_field_name!r}),) instead, the same "
            "index, so that AddIndex can build it concurrently)",
        )


def _cheap_type_change(old: str, new: str) -> bool:
    """Changes PostgreSQL makes without rewriting: widening a VARCHAR, VARCHAR to TEXT."""
    if old.startswith("VARCHAR(") and new == "TEXT":
        return True
    if old.startswith("VARCHAR(") and new.startswith("VARCHAR("):
        return int(new[8:-1]) >= int(old[8:-1])
    return False
