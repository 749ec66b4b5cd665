"""The schema editor: turns operations on historical models into DDL for one dialect.

Statements come from :mod:`yara_orm.schema` (the same code ``generate_schemas`` runs) and the
dialect's ALTER methods. With a connection the editor runs them; without one it only collects
them (``sqlmigrate``). Where the dialect cannot alter a column in place (SQLite) it rebuilds the
table: create the new shape under a temporary name, copy the rows, drop the old table, rename
the new one, recreate the indexes, check the foreign keys.
"""

from __future__ import annotations

import copy
import decimal
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from .. import schema
from ..exceptions import IntegrityError
from ..fields.base import NO_DEFAULT, Field
from ..fields.relational import RelationIdField

if TYPE_CHECKING:
    from ..connection import Connection
    from ..dialects.base import Dialect
    from ..models.model import Model
    from .progress import Tracker
    from .state import HistoricalApps


class SchemaEditor:
    """``tracker`` (MariaDB, where DDL commits as it runs): records each completed step, and
    skips those a failed run already did."""

    def __init__(
        self, dialect: Dialect, connection: Connection | None = None, tracker: Tracker | None = None
    ) -> None:
        self.dialect = dialect
        self.connection = connection
        self.tracker = tracker
        self.collected: list[str] = []

    @property
    def live(self) -> bool:
        return self.connection is not None

    async def execute(self, sql: str) -> None:
        self.collected.append(sql)
        if self.connection is None:
            return
        pool = self.connection.pool
        if self.tracker is None:
            await pool.execute(sql)
        else:
            await self.tracker.run(sql, lambda: pool.execute(sql))

    async def data_step(self, label: str, action: Callable[[], Awaitable[object]]) -> None:
        """A step that is not one statement (``RunPython``): with a tracker, one step, in a
        transaction of its own (its row changes are all or nothing; DDL in it commits anyway)."""
        if self.connection is None:
            return
        if self.tracker is None:
            await action()
            return
        pool = self.connection.pool

        async def atomically() -> None:
            async with pool.transaction():
                await action()

        await self.tracker.run(label, atomically)

    async def execute_all(self, statements: list[str]) -> None:
        for sql in statements:
            await self.execute(sql)

    def note(self, text: str) -> None:
        """A comment in ``sqlmigrate`` output (a step that is not SQL, such as RunPython)."""
        self.collected.append(f"-- {text}")

    # -- tables --------------------------------------------------------------------------------

    async def create_model(self, model: type[Model], apps: HistoricalApps) -> None:
        await self.execute_all(schema.table_statements(model, self.dialect, safe=False))
        for through in apps.through_models(_key(model)).values():
            await self.execute_all(schema.table_statements(through, self.dialect, safe=False))

    async def delete_model(self, model: type[Model], apps: HistoricalApps) -> None:
        for through in apps.through_models(_key(model)).values():
            await self.execute(self.dialect.drop_table_sql(through._meta.table))
        await self.execute(self.dialect.drop_table_sql(model._meta.table))

    async def rename_table(self, old: str, new: str) -> None:
        if old != new:
            await self.execute(self.dialect.rename_table_sql(old, new))
            await self.execute_all(self.dialect.renamed_table_names_sql(old, new))

    async def sync_names(
        self, before: type[Model], after: type[Model], renamed: dict[str, str] | None = None
    ) -> None:
        """After a table or column rename, give the indexes and unique constraints the names
        generate_schemas would give them now (later operations find them by those names).

        Each index of ``after`` is paired with the index of ``before`` on the same fields
        (``renamed`` maps a renamed field's old name to its new one); indexes left over pair
        up in order (the join table of a renamed model has new field names)."""
        d = self.dialect
        table = after._meta.table
        old_specs = [
            (_field_key(before, cols, renamed), cols, u, n) for cols, u, n in schema.index_specs(before)
        ]
        new_specs = [(_field_key(after, cols), cols, u, n) for cols, u, n in schema.index_specs(after)]
        for old_name, (cols, unique, new_name) in _pair(
            [((k, u), n) for k, _c, u, n in old_specs], [((k, u), (c, u, n)) for k, c, u, n in new_specs]
        ):
            if old_name != new_name:
                await self.execute_all(d.rename_index_sql(table, old_name, new_name, list(cols), unique))

        def groups(model: type[Model], mapping: dict[str, str] | None) -> list[tuple[object, str]]:
            out: list[tuple[object, str]] = []
            for group in model._meta.unique_together:
                cols = [schema.column_ref(model, n) for n in group]
                out.append(
                    (_field_key(model, cols, mapping), schema.unique_together_name(model._meta.table, cols))
                )
            return out

        for old_name, new_name in _pair(groups(before, renamed), groups(after, None)):
            if old_name != new_name:
                await self.execute_all(d.rename_constraint_sql(table, old_name, new_name))

    async def sync_through_tables(self, before: HistoricalApps, after: HistoricalApps) -> None:
        """Rename auto-created join tables (and their columns) whose names follow a renamed
        model or table."""
        for key in after.state.models:
            if key not in before.state.models:
                continue
            old_throughs = before.through_models(key)
            for name, new_through in after.through_models(key).items():
                old_through = old_throughs.get(name)
                if old_through is None:
                    continue
                old_table, new_table = old_through._meta.table, new_through._meta.table
                await self.rename_table(old_table, new_table)
                renamed_cols = False
                old_cols = [f.column for f in old_through._meta.fields]
                new_cols = [f.column for f in new_through._meta.fields]
                for old_col, new_col in zip(old_cols, new_cols, strict=False):
                    if old_col != new_col:
                        renamed_cols = True
                        await self.execute(self.dialect.rename_column_sql(new_table, old_col, new_col))
                if old_table != new_table or renamed_cols:
                    await self.sync_names(old_through, new_through)

    # -- columns -------------------------------------------------------------------------------

    def _simple_add(self, f: Field[Any]) -> bool:
        """Whether ALTER TABLE ADD COLUMN can add ``f`` on a backend without in-place ALTERs."""
        if isinstance(f, RelationIdField) or f.unique or f.pk:
            return False
        return f.null or f.db_default is not NO_DEFAULT

    async def add_field(
        self, before: type[Model], after: type[Model], name: str, apps: HistoricalApps
    ) -> None:
        """Add field ``name`` of ``after`` (``name`` is the declared name: a many-to-many adds
        its join table, a foreign key its ``_id`` column)."""
        through = apps.through_models(_key(after)).get(name)
        if through is not None:
            await self.execute_all(schema.table_statements(through, self.dialect, safe=False))
            return
        if name not in after._meta.fields_map and f"{name}_id" in after._meta.fields_map:
            name = f"{name}_id"
        if name not in after._meta.fields_map:
            return  # a many-to-many through an explicit model: nothing in the database
        f = after._meta.fields_map[name]
        d = self.dialect
        table = after._meta.table
        if not d.alter_column_in_place and not self._simple_add(f):
            fill = fill_value(d, f)
            await self.rebuild(before, after, {name: fill} if fill is not None else {})
            return
        fill = None if f.null or f.db_default is not NO_DEFAULT else fill_value(d, f)
        if fill is None and not f.null and f.db_default is NO_DEFAULT and d.implicit_not_null_fill:
            # MySQL would give existing rows 0 or '' without a word: add the column nullable,
            # then make it NOT NULL, which the server refuses while a row has no value.
            nullable = copy.copy(f)
            nullable.null = True
            await self.execute(d.add_column_sql(table, d.column_definition(nullable)))
            await self.execute_all(d.alter_column_sql(table, nullable, f))
            await self._add_field_extras(after, f)
            return
        definition = d.column_definition(f)
        if fill is not None:
            # Existing rows get the field's default once; new rows get it from the ORM.
            definition += f" DEFAULT {fill}"
        await self.execute(d.add_column_sql(table, definition))
        if fill is not None:
            await self.execute(d.column_default_sql(table, f.column, None))
        await self._add_field_extras(after, f)

    async def _add_field_extras(self, after: type[Model], f: Field[Any]) -> None:
        """What follows an added column: its foreign key, index and comment."""
        d = self.dialect
        table = after._meta.table
        constraint = getattr(f, "constraint_sql", None)
        fk = constraint(d) if constraint is not None else None
        if fk:
            await self.execute(f"ALTER TABLE {d.quote(table)} ADD {fk}")
        if f.index and not f.unique:
            await self.execute(
                schema.create_index_sql(
                    d, table, schema.index_name(table, [f.column]), [f.column], False, model=after
                )
            )
        if f.description:
            await self.execute_all(d.column_comment_sql(table, f.column, f.description))

    async def remove_field(
        self, before: type[Model], after: type[Model], name: str, apps: HistoricalApps
    ) -> None:
        through = apps.through_models(_key(before)).get(name)
        if through is not None:
            await self.execute(self.dialect.drop_table_sql(through._meta.table))
            return
        if name not in before._meta.fields_map and f"{name}_id" in before._meta.fields_map:
            name = f"{name}_id"
        if name not in before._meta.fields_map:
            return
        f = before._meta.fields_map[name]
        if not self.dialect.alter_column_in_place:
            await self.rebuild(before, after, {})
            return
        if getattr(f, "constraint_sql", None) is not None:
            first = self.dialect.drop_foreign_key_sql(before._meta.table, f.column)
            if first:
                await self.execute(first)
        await self.execute(self.dialect.drop_column_sql(before._meta.table, f.column))

    async def alter_field(self, before: type[Model], after: type[Model], name: str) -> None:
        if name not in after._meta.fields_map and f"{name}_id" in after._meta.fields_map:
            name = f"{name}_id"
        if name not in after._meta.fields_map:
            return
        old, new = before._meta.fields_map[name], after._meta.fields_map[name]
        d = self.dialect
        table = after._meta.table
        renamed = old.column != new.column
        if not d.alter_column_in_place:
            if _same_but_column(d, old, new):
                if renamed:
                    await self.execute(d.rename_column_sql(table, old.column, new.column))
                    await self.sync_names(before, after)
                return
            if not renamed and _same_but_column(d, old, new, ignore_index=True):
                # Only the index changed: no need to copy the table for that.
                index = schema.index_name(table, [new.column])
                if old.index and not old.unique:
                    await self.execute(d.drop_index_sql(table, index))
                if new.index and not new.unique:
                    await self.execute(
                        schema.create_index_sql(d, table, index, [new.column], False, model=after)
                    )
                return
            await self.rebuild(before, after, {})
            return
        if renamed:
            await self.execute(d.rename_column_sql(table, old.column, new.column))
            await self.sync_names(before, after)
        await self.execute_all(d.alter_column_sql(table, old, new))
        old_indexed = old.index and not old.unique
        new_indexed = new.index and not new.unique
        index = schema.index_name(table, [new.column])
        if old_indexed and not new_indexed:
            # Not in ``after``, so sync_names left it under its old name.
            await self.execute(d.drop_index_sql(table, schema.index_name(before._meta.table, [old.column])))
        elif new_indexed and not old_indexed:
            await self.execute(schema.create_index_sql(d, table, index, [new.column], False, model=after))
        if old.description != new.description:
            await self.execute_all(d.column_comment_sql(table, new.column, new.description or ""))

    async def rename_field(
        self, before: type[Model], after: type[Model], old_name: str, new_name: str
    ) -> None:
        old_f = before._meta.fields_map.get(old_name) or before._meta.fields_map.get(f"{old_name}_id")
        new_f = after._meta.fields_map.get(new_name) or after._meta.fields_map.get(f"{new_name}_id")
        if old_f is None or new_f is None or old_f.column == new_f.column:
            return
        table = after._meta.table
        d = self.dialect
        await self.execute(d.rename_column_sql(table, old_f.column, new_f.column))
        await self.sync_names(before, after, {old_f.model_field_name: new_f.model_field_name})

    # -- indexes and constraints ---------------------------------------------------------------

    async def add_index(
        self,
        model: type[Model],
        columns: list[str],
        name: str,
        unique: bool,
        concurrently: bool = False,
        kind: str | None = None,
    ) -> None:
        d = self.dialect
        q = d.quote
        if kind is None:
            prefix = d.index_prefix_sql(unique, concurrently and d.supports_concurrent_index)
            key = schema.index_columns_sql(d, columns, unique, model)
        elif (special := d.index_kind_prefix_sql(kind)) is not None:
            prefix = special
            key = ", ".join(q(c) for c in columns)  # FULLTEXT takes whole columns, no prefixes
        else:
            return  # an index kind this database has none of (see Index.kind)
        await self.execute(f"{prefix} {q(name)} ON {q(model._meta.table)} ({key})")

    async def remove_index(self, model: type[Model], name: str, concurrently: bool = False) -> None:
        d = self.dialect
        await self.execute(
            d.drop_index_sql(model._meta.table, name, concurrently and d.supports_concurrent_index)
        )

    async def add_unique(self, before: type[Model], after: type[Model], fields: tuple[str, ...]) -> None:
        d = self.dialect
        if not d.alter_column_in_place:
            await self.rebuild(before, after, {})
            return
        await self.execute(
            f"ALTER TABLE {d.quote(after._meta.table)} ADD {schema.unique_together_sql(after, d, fields)}"
        )

    async def remove_unique(self, before: type[Model], after: type[Model], fields: tuple[str, ...]) -> None:
        d = self.dialect
        if not d.alter_column_in_place:
            await self.rebuild(before, after, {})
            return
        cols = [schema.column_ref(before, n) for n in fields]
        await self.execute(
            d.drop_constraint_sql(before._meta.table, schema.unique_together_name(before._meta.table, cols))
        )

    async def table_comment(self, model: type[Model], comment: str | None) -> None:
        await self.execute_all(self.dialect.table_comment_sql(model._meta.table, comment or ""))

    # -- the table rebuild ---------------------------------------------------------------------

    async def rebuild(self, before: type[Model], after: type[Model], fills: dict[str, str]) -> None:
        """Rebuild ``before``'s table into ``after``'s shape, keeping the rows: columns are
        matched by field name; a new column takes ``fills[name]`` (SQL) or its default."""
        d = self.dialect
        q = d.quote
        table = after._meta.table
        temp = f"__yara_new_{table}"
        old_fields = before._meta.fields_map
        targets: list[str] = []
        sources: list[str] = []
        for name, f in after._meta.fields_map.items():
            old = old_fields.get(name)
            if old is not None:
                targets.append(q(f.column))
                sources.append(q(old.column))
            elif name in fills:
                targets.append(q(f.column))
                sources.append(fills[name])
        await self.execute(schema.create_table_sql(after, d, safe=False, table=temp))
        if targets:
            copy_sql = (
                f"INSERT INTO {q(temp)} ({', '.join(targets)}) "
                f"SELECT {', '.join(sources)} FROM {q(before._meta.table)}"
            )
            try:
                await self.execute(copy_sql)
            except IntegrityError as exc:
                raise IntegrityError(
                    f"copying the rows of {table!r} into its new shape failed ({exc}); the migration was "
                    "rolled back. A NOT NULL column needs a default (or null=True) when the table has rows"
                ) from exc
        await self.execute(d.drop_table_sql(before._meta.table))
        await self.execute(d.rename_table_sql(temp, table))
        await self.execute_all(schema.index_statements(after, d, safe=False))
        await self.check_foreign_keys(table)

    async def check_foreign_keys(self, table: str) -> None:
        sql = f"PRAGMA foreign_key_check({self.dialect.quote(table)})"
        self.collected.append(sql)
        if self.connection is None:
            return
        problems = await self.connection.pool.fetch(sql)
        if problems:
            first = problems[0]
            raise IntegrityError(
                f"rebuilding table {table!r} left {len(problems)} row(s) whose foreign key points nowhere "
                f"(first: rowid {first[1]} references {first[2]!r}); the migration was rolled back. "
                "Fix or delete those rows (a RunPython/RunSQL step before this operation), then migrate again"
            )


def fill_value(d: Dialect, f: Field[Any]) -> str | None:
    """SQL for the value existing rows get in a new column: its database default, else its
    literal Python default (a callable default has no single value: None)."""
    sql = d.db_default_sql(f)
    if sql is not None:
        return sql
    default = f.default
    if default is NO_DEFAULT or callable(default):
        return None
    try:
        value = f.to_db(default)
    except Exception:
        return None
    if not isinstance(value, str | int | float | decimal.Decimal):
        return None  # no portable literal (JSON, bytes...): the column needs a db_default
    probe = _with_default(f, value)
    return d.db_default_sql(probe)


def _with_default(f: Field[Any], value: Any) -> Field[Any]:
    probe = copy.copy(f)
    probe.db_default = value
    return probe


def _same_but_column(d: Dialect, old: Field[Any], new: Field[Any], ignore_index: bool = False) -> bool:
    """Whether two fields differ at most in column name and comment (a rename, no rebuild), and
    with ``ignore_index`` in whether they are indexed."""
    if d.column_type(old) != d.column_type(new):
        return False
    if (old.null, old.unique, old.pk) != (new.null, new.unique, new.pk):
        return False
    if old.index != new.index and not ignore_index:
        return False
    if d.db_default_sql(old) != d.db_default_sql(new):
        return False
    old_fk = getattr(old, "constraint_sql", None)
    new_fk = getattr(new, "constraint_sql", None)
    return (old_fk(d) if old_fk else None) == (new_fk(d) if new_fk else None)


def _field_key(
    model: type[Model], columns: Iterable[str], renamed: dict[str, str] | None = None
) -> tuple[str, ...]:
    """An index's columns as the field names they belong to (after ``renamed``)."""
    by_column = {f.column: name for name, f in model._meta.fields_map.items()}
    names = [by_column.get(c, c) for c in columns]
    return tuple((renamed or {}).get(n, n) for n in names)


def _pair(old: list[tuple[Any, Any]], new: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(old value, new value) for entries with the same key; the rest paired in order when as
    many are left on both sides."""
    pairs: list[tuple[Any, Any]] = []
    left_old, left_new = list(old), []
    for key, value in new:
        match = next((i for i, (k, _v) in enumerate(left_old) if k == key), None)
        if match is None:
            left_new.append(value)
        else:
            pairs.append((left_old.pop(match)[1], value))
    if len(left_old) == len(left_new):
        pairs += [(o[1], n) for o, n in zip(left_old, left_new, strict=True)]
    return pairs


def _key(model: type[Model]) -> tuple[str, str]:
    return (model._meta.app or "", model.__name__)
