"""Migration operations: what a migration file lists in ``operations``.

Each operation changes the in-memory state (``state_forwards``) and the database
(``forwards``/``backwards``, given the states before and after it). Operations name models by
class name within the migration's app (``"Book"``) and relations by ``"app.Model"``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .. import schema
from ..exceptions import IrreversibleError, MigrationError
from ..fields.relational import RelationField
from ..models.meta import Index
from .state import (
    FieldDecl,
    ModelState,
    ProjectState,
    construct,
    deconstruct,
    fresh,
    reference_name,
    stored_name,
)

if TYPE_CHECKING:
    from .editor import SchemaEditor
    from .state import HistoricalApps

__all__ = [
    "AddConstraint",
    "AddField",
    "AddIndex",
    "AlterField",
    "AlterModelComment",
    "AlterModelTable",
    "CreateModel",
    "DeleteModel",
    "Operation",
    "RemoveConstraint",
    "RemoveField",
    "RemoveIndex",
    "RenameField",
    "RenameModel",
    "RunPython",
    "RunSQL",
    "Unique",
]


class Operation:
    """Base class. ``atomic = False`` means the operation cannot run inside a transaction."""

    reversible: ClassVar[bool] = True
    atomic: bool = True
    # Whether the operation changes the schema (RunSQL/RunPython do not change the state).
    schema_change: ClassVar[bool] = True

    def state_forwards(self, app: str, state: ProjectState) -> None:
        raise NotImplementedError

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        raise NotImplementedError

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


def _render(state: ProjectState, editor: SchemaEditor) -> HistoricalApps:
    return state.render(editor.connection)


def _replace_decl(decl: FieldDecl, name: str, **changes: Any) -> FieldDecl:
    constructor, kwargs = deconstruct(decl, name)
    kwargs.update(changes)
    return construct(constructor, kwargs)


class _AddOrRemove(Operation):
    """An operation that adds something (``adds = True``) or removes it. Adding and removing are
    each other's backward step, so both directions come down to the subclass's ``_add`` (given
    the state without the thing and the state with it) and ``_remove``."""

    adds: ClassVar[bool]

    async def _add(self, app: str, editor: SchemaEditor, without: ProjectState, with_: ProjectState) -> None:
        raise NotImplementedError

    async def _remove(
        self, app: str, editor: SchemaEditor, with_: ProjectState, without: ProjectState
    ) -> None:
        raise NotImplementedError

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._step(app, editor, before, after, adding=self.adds)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._step(app, editor, after, before, adding=not self.adds)

    async def _step(
        self, app: str, editor: SchemaEditor, src: ProjectState, dst: ProjectState, adding: bool
    ) -> None:
        if adding:
            await self._add(app, editor, without=src, with_=dst)
        else:
            await self._remove(app, editor, with_=src, without=dst)


# -- models ------------------------------------------------------------------------------------


class _ModelOperation(_AddOrRemove):
    """Creating or deleting a whole model (its table, and the join tables it declares)."""

    name: str

    async def _add(self, app: str, editor: SchemaEditor, without: ProjectState, with_: ProjectState) -> None:
        apps = _render(with_, editor)
        await editor.create_model(apps.get_model(app, self.name), apps)

    async def _remove(
        self, app: str, editor: SchemaEditor, with_: ProjectState, without: ProjectState
    ) -> None:
        apps = _render(with_, editor)
        await editor.delete_model(apps.get_model(app, self.name), apps)


class CreateModel(_ModelOperation):
    adds = True

    def __init__(
        self,
        name: str,
        fields: Sequence[tuple[str, FieldDecl]],
        table: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.fields = list(fields)
        self.table = table or name.lower()
        self.options = dict(options or {})
        unknown = set(self.options) - {"unique_together", "indexes", "table_description"}
        if unknown:
            raise MigrationError(f"CreateModel({name!r}): unknown option(s) {sorted(unknown)}")

    def model_state(self, app: str) -> ModelState:
        indexes = tuple(i if isinstance(i, Index) else Index(*i) for i in self.options.get("indexes", ()))
        return ModelState(
            app,
            self.name,
            self.table,
            {n: fresh(d, n) for n, d in self.fields},
            tuple(tuple(g) for g in self.options.get("unique_together", ())),
            indexes,
            self.options.get("table_description"),
        )

    def state_forwards(self, app: str, state: ProjectState) -> None:
        state.add(self.model_state(app))

    def describe(self) -> str:
        return f"Create model {self.name}"


class DeleteModel(_ModelOperation):
    adds = False

    def __init__(self, name: str) -> None:
        self.name = name

    def state_forwards(self, app: str, state: ProjectState) -> None:
        state.remove(app, self.name)

    def describe(self) -> str:
        return f"Delete model {self.name}"


def _retarget(state: ProjectState, old_label: str, new_label: str) -> None:
    """Point every relation declared against ``old_label`` at ``new_label``."""
    for ms in state:
        for fname, decl in list(ms.fields.items()):
            if isinstance(decl, RelationField):
                ref = reference_name(decl)
                full = ref if "." in ref else f"{ms.app}.{ref}"
                changes: dict[str, Any] = {}
                if full == old_label:
                    changes["model_name"] = new_label
                through = getattr(decl, "through", None)
                if through == old_label:
                    changes["through"] = new_label
                if changes:
                    ms.fields[fname] = _replace_decl(decl, fname, **changes)


class RenameModel(Operation):
    """Rename a model class; its table follows when ``table`` is given (the autodetector gives
    it when the table name came from the class name)."""

    def __init__(
        self, old_name: str, new_name: str, table: str | None = None, old_table: str | None = None
    ) -> None:
        self.old_name = old_name
        self.new_name = new_name
        self.table = table
        self.old_table = old_table

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.remove(app, self.old_name)
        if self.old_table is None:
            self.old_table = ms.table
        ms.name = self.new_name
        if self.table:
            ms.table = self.table
        state.add(ms)
        _retarget(state, f"{app}.{self.old_name}", f"{app}.{self.new_name}")

    async def _move(
        self,
        editor: SchemaEditor,
        src: HistoricalApps,
        dst: HistoricalApps,
        src_name: str,
        dst_name: str,
        app: str,
    ) -> None:
        old_model, new_model = src.get_model(app, src_name), dst.get_model(app, dst_name)
        await editor.rename_table(old_model._meta.table, new_model._meta.table)
        await editor.sync_names(old_model, new_model)
        await editor.sync_through_tables(_renamed(src, app, src_name, dst_name), dst)

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._move(
            editor, _render(before, editor), _render(after, editor), self.old_name, self.new_name, app
        )

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._move(
            editor, _render(after, editor), _render(before, editor), self.new_name, self.old_name, app
        )

    def describe(self) -> str:
        return f"Rename model {self.old_name} to {self.new_name}"


class _RenamedView:
    """Before-state apps seen under the new model key (to pair join tables across a rename)."""

    def __init__(self, apps: HistoricalApps, app: str, old: str, new: str) -> None:
        self.apps = apps
        self.map = {(app, new): (app, old)}
        self.state = ProjectState()
        for key, ms in apps.state.models.items():
            view = ms.clone()
            if key == (app, old):
                view.name = new
            self.state.models[view.key] = view

    def through_models(self, key: tuple[str, str]) -> Any:
        return self.apps.through_models(self.map.get(key, key))


def _renamed(apps: HistoricalApps, app: str, old: str, new: str) -> Any:
    return _RenamedView(apps, app, old, new)


class AlterModelTable(Operation):
    def __init__(self, name: str, table: str) -> None:
        self.name = name
        self.table = table

    def state_forwards(self, app: str, state: ProjectState) -> None:
        state.get(app, self.name).table = self.table

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        old, new = _render(before, editor), _render(after, editor)
        await editor.rename_table(old.get_model(app, self.name)._meta.table, self.table)
        await editor.sync_names(old.get_model(app, self.name), new.get_model(app, self.name))
        await editor.sync_through_tables(old, new)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        old, new = _render(before, editor), _render(after, editor)
        await editor.rename_table(self.table, old.get_model(app, self.name)._meta.table)
        await editor.sync_names(new.get_model(app, self.name), old.get_model(app, self.name))
        await editor.sync_through_tables(new, old)

    def describe(self) -> str:
        return f"Rename table of {self.name} to {self.table}"


class AlterModelComment(Operation):
    """Change a table's comment (``Meta.table_description`` or the docstring)."""

    def __init__(self, name: str, description: str | None) -> None:
        self.name = name
        self.description = description

    def state_forwards(self, app: str, state: ProjectState) -> None:
        state.get(app, self.name).description = self.description

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await editor.table_comment(_render(after, editor).get_model(app, self.name), self.description)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await editor.table_comment(
            _render(before, editor).get_model(app, self.name), before.get(app, self.name).description
        )

    def describe(self) -> str:
        return f"Change the table comment of {self.name}"


# -- fields ------------------------------------------------------------------------------------


class _FieldOperation(_AddOrRemove):
    """An operation on one field of one model."""

    model_name: str
    name: str

    async def _add(self, app: str, editor: SchemaEditor, without: ProjectState, with_: ProjectState) -> None:
        old, new = _render(without, editor), _render(with_, editor)
        await editor.add_field(
            old.get_model(app, self.model_name), new.get_model(app, self.model_name), self.name, new
        )

    async def _remove(
        self, app: str, editor: SchemaEditor, with_: ProjectState, without: ProjectState
    ) -> None:
        old, new = _render(with_, editor), _render(without, editor)
        await editor.remove_field(
            old.get_model(app, self.model_name), new.get_model(app, self.model_name), self.name, old
        )

    async def _alter(self, app: str, editor: SchemaEditor, src: ProjectState, dst: ProjectState) -> None:
        old, new = _render(src, editor), _render(dst, editor)
        await editor.alter_field(
            old.get_model(app, self.model_name), new.get_model(app, self.model_name), self.name
        )


class AddField(_FieldOperation):
    adds = True

    def __init__(self, model_name: str, name: str, field: FieldDecl) -> None:
        self.model_name = model_name
        self.name = name
        self.field = field

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        if self.name in ms.fields:
            raise MigrationError(f"{ms.label} already has a field {self.name!r}")
        ms.fields[self.name] = fresh(self.field, self.name)

    def describe(self) -> str:
        return f"Add field {self.name} to {self.model_name}"


class RemoveField(_FieldOperation):
    adds = False

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        if self.name not in ms.fields:
            raise MigrationError(f"{ms.label} has no field {self.name!r} to remove")
        del ms.fields[self.name]

    def describe(self) -> str:
        return f"Remove field {self.name} from {self.model_name}"


class AlterField(_FieldOperation):
    def __init__(self, model_name: str, name: str, field: FieldDecl) -> None:
        self.model_name = model_name
        self.name = name
        self.field = field

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        if self.name not in ms.fields:
            raise MigrationError(f"{ms.label} has no field {self.name!r} to alter")
        ms.fields[self.name] = fresh(self.field, self.name)

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._alter(app, editor, before, after)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._alter(app, editor, after, before)

    def describe(self) -> str:
        return f"Alter field {self.name} on {self.model_name}"


def _rename_in_groups(groups: Sequence[Sequence[str]], old: str, new: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(new if n == old else n for n in g) for g in groups)


class RenameField(Operation):
    def __init__(self, model_name: str, old_name: str, new_name: str) -> None:
        self.model_name = model_name
        self.old_name = old_name
        self.new_name = new_name

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        if self.old_name not in ms.fields:
            raise MigrationError(f"{ms.label} has no field {self.old_name!r} to rename")
        if self.new_name in ms.fields:
            raise MigrationError(f"{ms.label} already has a field {self.new_name!r}")
        decl = ms.fields[self.old_name]
        ms.fields = {(self.new_name if n == self.old_name else n): d for n, d in ms.fields.items()}
        old_stored, new_stored = stored_name(decl, self.old_name), stored_name(decl, self.new_name)
        ms.unique_together = _rename_in_groups(ms.unique_together, old_stored, new_stored)
        ms.indexes = tuple(
            Index(
                *(new_stored if n == old_stored else n for n in i.fields),
                name=i.name,
                unique=i.unique,
                kind=i.kind,
            )
            for i in ms.indexes
        )

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        old, new = _render(before, editor), _render(after, editor)
        await editor.rename_field(
            old.get_model(app, self.model_name),
            new.get_model(app, self.model_name),
            self.old_name,
            self.new_name,
        )
        await editor.sync_through_tables(old, new)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        old, new = _render(before, editor), _render(after, editor)
        await editor.rename_field(
            new.get_model(app, self.model_name),
            old.get_model(app, self.model_name),
            self.new_name,
            self.old_name,
        )
        await editor.sync_through_tables(new, old)

    def describe(self) -> str:
        return f"Rename field {self.old_name} on {self.model_name} to {self.new_name}"


# -- indexes and constraints -------------------------------------------------------------------


def _index_columns(model: Any, index: Index) -> tuple[list[str], str]:
    cols = [schema.column_ref(model, n) for n in index.fields]
    return cols, index.name or schema.index_name(model._meta.table, cols, index.unique)


class _IndexOperation(_AddOrRemove):
    """Adding or removing one index. ``concurrently=True`` (PostgreSQL) builds or drops it without
    blocking writes; that cannot run in a transaction, so its migration runs outside one (keep it
    alone there)."""

    def __init__(self, model_name: str, index: Index, concurrently: bool = False) -> None:
        self.model_name = model_name
        self.index = index
        self.concurrently = concurrently
        self.atomic = not concurrently

    async def _add(self, app: str, editor: SchemaEditor, without: ProjectState, with_: ProjectState) -> None:
        model = _render(with_, editor).get_model(app, self.model_name)
        cols, name = _index_columns(model, self.index)
        await editor.add_index(model, cols, name, self.index.unique, self.concurrently, self.index.kind)

    async def _remove(
        self, app: str, editor: SchemaEditor, with_: ProjectState, without: ProjectState
    ) -> None:
        model = _render(with_, editor).get_model(app, self.model_name)
        _cols, name = _index_columns(model, self.index)
        await editor.remove_index(model, name, self.concurrently)


class AddIndex(_IndexOperation):
    """Add an index (``concurrently=True`` on PostgreSQL builds it without blocking writes)."""

    adds = True

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        ms.indexes = (*ms.indexes, self.index)

    def describe(self) -> str:
        return f"Add index on {self.model_name}({', '.join(self.index.fields)})"


def _same_index(a: Index, b: Index) -> bool:
    return (a.fields, a.name, a.unique) == (b.fields, b.name, b.unique)


class RemoveIndex(_IndexOperation):
    adds = False

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        kept = tuple(i for i in ms.indexes if not _same_index(i, self.index))
        if len(kept) == len(ms.indexes):
            raise MigrationError(f"{ms.label} has no index on ({', '.join(self.index.fields)}) to remove")
        ms.indexes = kept

    def describe(self) -> str:
        return f"Remove index on {self.model_name}({', '.join(self.index.fields)})"


class Unique:
    """A multi-column unique constraint (``Meta.unique_together``)."""

    def __init__(self, *fields: str) -> None:
        if not fields:
            raise MigrationError("Unique() needs at least one field name")
        self.fields = tuple(fields)

    def __repr__(self) -> str:
        return f"Unique({', '.join(repr(f) for f in self.fields)})"


class _UniqueOperation(_AddOrRemove):
    """An operation on one unique constraint (several columns together) of one model."""

    model_name: str
    constraint: Unique

    async def _add(self, app: str, editor: SchemaEditor, without: ProjectState, with_: ProjectState) -> None:
        old, new = _render(without, editor), _render(with_, editor)
        await editor.add_unique(
            old.get_model(app, self.model_name), new.get_model(app, self.model_name), self.constraint.fields
        )

    async def _remove(
        self, app: str, editor: SchemaEditor, with_: ProjectState, without: ProjectState
    ) -> None:
        old, new = _render(with_, editor), _render(without, editor)
        await editor.remove_unique(
            old.get_model(app, self.model_name), new.get_model(app, self.model_name), self.constraint.fields
        )


class AddConstraint(_UniqueOperation):
    adds = True

    def __init__(self, model_name: str, constraint: Unique) -> None:
        self.model_name = model_name
        self.constraint = constraint

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        ms.unique_together = (*ms.unique_together, self.constraint.fields)

    def describe(self) -> str:
        return f"Add unique constraint on {self.model_name}({', '.join(self.constraint.fields)})"


class RemoveConstraint(_UniqueOperation):
    adds = False

    def __init__(self, model_name: str, constraint: Unique) -> None:
        self.model_name = model_name
        self.constraint = constraint

    def state_forwards(self, app: str, state: ProjectState) -> None:
        ms = state.get(app, self.model_name)
        kept = tuple(g for g in ms.unique_together if tuple(g) != self.constraint.fields)
        if len(kept) == len(ms.unique_together):
            raise MigrationError(f"{ms.label} has no unique constraint on {self.constraint.fields}")
        ms.unique_together = kept

    def describe(self) -> str:
        return f"Remove unique constraint on {self.model_name}({', '.join(self.constraint.fields)})"


# -- data --------------------------------------------------------------------------------------


SQL = str | Sequence[str]


def _statements(sql: SQL | None) -> list[str]:
    if sql is None:
        return []
    return [sql] if isinstance(sql, str) else list(sql)


class RunSQL(Operation):
    """Raw SQL forward and (optionally) backward. Without ``backward`` the migration cannot be
    reverted; pass ``backward=[]`` for "nothing to undo"."""

    schema_change = False

    def __init__(self, forward: SQL, backward: SQL | None = None, atomic: bool = True) -> None:
        self.forward = _statements(forward)
        self.backward = None if backward is None else _statements(backward)
        self.atomic = atomic

    @property
    def reversible(self) -> bool:  # type: ignore[override]
        return self.backward is not None

    def state_forwards(self, app: str, state: ProjectState) -> None:
        return None

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await editor.execute_all(self.forward)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        if self.backward is None:
            raise IrreversibleError("RunSQL has no backward SQL: this migration cannot be reverted")
        await editor.execute_all(self.backward)

    def describe(self) -> str:
        return "Raw SQL"


DataFunction = Callable[[Any, Any], Awaitable[None] | None]


class RunPython(Operation):
    """A data migration: ``forward(apps, connection)`` (sync or async) gets the historical models
    of this point (``apps.get_model("shop.Book")``), bound to the migration's connection and
    transaction."""

    schema_change = False

    def __init__(
        self, forward: DataFunction, backward: DataFunction | None = None, atomic: bool = True
    ) -> None:
        self.forward = forward
        self.backward = backward
        self.atomic = atomic

    @property
    def reversible(self) -> bool:  # type: ignore[override]
        return self.backward is not None

    @staticmethod
    def noop(apps: Any, connection: Any) -> None:
        """A backward (or forward) step that does nothing."""
        return None

    def state_forwards(self, app: str, state: ProjectState) -> None:
        return None

    async def _call(self, func: DataFunction, editor: SchemaEditor, state: ProjectState) -> None:
        label = f"RunPython {getattr(func, '__qualname__', func)!r}"
        editor.note(label)

        async def call() -> None:
            result = func(_render(state, editor), editor.connection)
            if inspect.isawaitable(result):
                await result

        await editor.data_step(label, call)

    async def forwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        await self._call(self.forward, editor, after)

    async def backwards(
        self, app: str, editor: SchemaEditor, before: ProjectState, after: ProjectState
    ) -> None:
        if self.backward is None:
            raise IrreversibleError("RunPython has no backward function: this migration cannot be reverted")
        await self._call(self.backward, editor, before)

    def describe(self) -> str:
        return f"Python {getattr(self.forward, '__qualname__', self.forward)}"
