"""Writes: single-row INSERT/UPDATE/DELETE (statements compiled once per model and column set),
bulk_create/bulk_update, and race-safe get_or_create/update_or_create."""

from __future__ import annotations

import enum
import operator
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..connection import executor_for
from ..exceptions import FieldError, IncompleteInstanceError, IntegrityError, OperationalError, ParamsError
from ..fields.base import NO_DEFAULT, AsyncDefault
from ..fields.data import IntField
from ..pool import Pool
from ..timezone import now
from . import ir
from .cache import CopyKey, DeleteKey, InsertKey, UpdateKey, ValuesKey
from .compiler import Compiler
from .context import QueryContext
from .expressions import Expression

if TYPE_CHECKING:
    from ..backends import Features
    from ..dialects.base import Dialect
    from ..fields.base import Field
    from ..models.model import Model

M = TypeVar("M", bound="Model")

# Locked reads of update_or_create: the first, and one after each of two conflicting creations.
_UPDATE_OR_CREATE_ATTEMPTS = 3


def _compile(dialect: Dialect, stmt: ir.Statement) -> str:
    return Compiler(dialect).compile(stmt)[0]


def _stamp(obj: Model, creating: bool, written: Iterable[str] | None = None) -> None:
    """Set the auto_now (and empty auto_now_add) fields of a row being written; with
    ``written``, only those of the fields named there (``save(update_fields=...)`` leaves the
    others as they are, in the row and on the instance)."""
    meta = obj._meta
    if not meta.auto_now_add_fields:
        return
    d = obj.__dict__
    stamp = now()
    names = None if written is None else set(written)
    for field in meta.auto_now_add_fields:
        if names is not None and field.model_field_name not in names:
            continue
        # An auto_now_add field still empty when its row is written (created, or force-updated
        # from a fresh instance) gets the time too: the column is NOT NULL.
        if getattr(field, "auto_now", False) or d.get(field.model_field_name, 0) is None:
            d[field.model_field_name] = field.auto_value(stamp)  # type: ignore[attr-defined]


def _validate(obj: Model, fields: Iterable[Field[Any]]) -> None:
    d = obj.__dict__
    for field in fields:
        if field.validators:
            field.validate(d.get(field.model_field_name))


# -- single rows ----------------------------------------------------------------------------------


def insert_statement(
    model: type[Model],
    dialect: Dialect,
    fields: tuple[Field[Any], ...],
    returning: tuple[Field[Any], ...] = (),
    conflict: ir.OnConflict | None = None,
) -> str:
    """The one-row INSERT of ``fields`` (``DEFAULT VALUES`` when there are none), compiled once
    per field set, RETURNING list and conflict clause, and cached on the model: ``create()``,
    bulk_create's COPY type probe and its row-by-row path all use it."""
    meta = model._meta
    clause = None if conflict is None else (conflict.target, conflict.update_columns)
    key = InsertKey(dialect.name, fields, returning, clause)
    sql: str | None = meta.statements.get(key)
    if sql is None:
        stmt = ir.Insert(
            meta.table,
            [f.column for f in fields],
            [[ir.Param(None) for _ in fields]],
            returning=[f.column for f in returning],
            on_conflict=conflict,
        )
        stmt.default_values = not fields
        sql = meta.statements.put(key, _compile(dialect, stmt))
    return sql


async def resolve_async_defaults(objs: Sequence[Model]) -> None:
    """Await the ``async def`` defaults the instances still hold (before they are inserted)."""
    for obj in objs:
        d = obj.__dict__
        for field in obj._meta.async_default_fields:
            value = d.get(field.model_field_name)
            if isinstance(value, AsyncDefault):
                d[field.model_field_name] = field.to_python(await value.factory())


async def insert_instance(obj: Model, using_db: Any = None, *, ignore_conflict: bool = False) -> bool:
    """INSERT one instance; fill in generated values. With ``ignore_conflict`` a unique
    conflict inserts nothing and returns False."""
    model = type(obj)
    meta = model._meta
    executor, dialect = executor_for(model, using_db, write=True)
    _stamp(obj, creating=True)
    if meta.async_default_fields:
        await resolve_async_defaults([obj])
    d = obj.__dict__
    fields: list[Field[Any]] = []
    returning: list[Field[Any]] = []
    values: list[Any] = []
    for field in meta.fields:
        value = d.get(field.model_field_name)
        if value is None and (field.generated or field.db_default is not NO_DEFAULT):
            returning.append(field)
            continue
        values.append(field.to_db(value))
        fields.append(field)
    _validate(obj, meta.validated_fields)
    if ignore_conflict and meta.pk not in returning:
        returning.insert(0, meta.pk)
    conflict = ir.OnConflict() if ignore_conflict else None
    if returning and not executor.features.returning:
        return await _insert_without_returning(obj, executor, dialect, fields, values, returning, conflict)
    sql = insert_statement(model, dialect, tuple(fields), tuple(returning), conflict)
    if returning:
        row = await executor.fetch_one(sql, values)
        if row is None:
            return False
        for field, value in zip(returning, row, strict=True):
            conv = field.from_db
            d[field.model_field_name] = conv(value) if conv is not None else value
    else:
        await executor.execute(sql, values)
    d["_saved_in_db"] = True
    return True


async def _insert_without_returning(
    obj: Model,
    executor: Any,
    dialect: Dialect,
    fields: list[Field[Any]],
    values: list[Any],
    returning: list[Field[Any]],
    conflict: ir.OnConflict | None,
) -> bool:
    """``insert_instance`` on a server without ``INSERT ... RETURNING`` (MySQL): the generated
    key from LAST_INSERT_ID, then any other database-made value read back by that key."""
    model = type(obj)
    meta = model._meta
    pk = meta.pk
    d = obj.__dict__
    sql = insert_statement(model, dialect, tuple(fields), (), conflict)
    if executor.features.execute_insert:
        affected, key = await executor.execute_insert(sql, values)
    else:
        affected, key = await executor.execute(sql, values), None
    if not affected:
        return False  # INSERT IGNORE met a conflict
    if d.get(pk.model_field_name) is None:
        if key is None:
            raise OperationalError(
                f"{model.__name__}: the database reported no generated key for the new row (a "
                "server without INSERT ... RETURNING gives only AUTO_INCREMENT keys)"
            )
        d[pk.model_field_name] = pk.from_db(key) if pk.from_db is not None else key
    rest = [f for f in returning if f is not pk]
    if rest:
        q = dialect.quote
        select = (
            f"SELECT {', '.join(q(f.column) for f in rest)} FROM {q(meta.table)} "
            f"WHERE {q(pk.column)} = {dialect.placeholder(1)}"
        )
        row = await executor.fetch_one(select, [pk.to_db(d[pk.model_field_name])])
        if row is None:
            raise OperationalError(f"{model.__name__}: the row just inserted could not be read back")
        for field, value in zip(rest, row, strict=True):
            conv = field.from_db
            d[field.model_field_name] = conv(value) if conv is not None else value
    d["_saved_in_db"] = True
    return True


async def update_instance(
    obj: Model, update_fields: Iterable[str] | None = None, using_db: Any = None
) -> int:
    model = type(obj)
    meta = model._meta
    executor, dialect = executor_for(model, using_db, write=True)
    d = obj.__dict__
    loaded: frozenset[str] | None = d.get("_loaded")
    if update_fields is None:
        _stamp(obj, creating=False)
        fields = [f for f in meta.fields if not f.pk and (loaded is None or f.model_field_name in loaded)]
    else:
        names = list(update_fields)
        fields = []
        for name in names:
            field = meta.lookup_field(name)
            rel = meta.relations.get(name)
            if field is None and rel is not None and rel.kind == "fk" and rel.field is not None:
                field = rel.field.id_field  # ``update_fields=["author"]``: its key column
            if field is None:
                raise FieldError(
                    f"unknown field {name!r} in update_fields; valid: {', '.join(meta.fields_map)}"
                )
            if loaded is not None and field.model_field_name not in loaded:
                # Writing it would store whatever the instance does not hold (NULL).
                raise IncompleteInstanceError(
                    f"{model.__name__}: field {name!r} is not available (the instance was loaded "
                    "with only()/defer() without it)"
                )
            if not field.pk and field not in fields:
                fields.append(field)
        if not fields and names:
            # Only the primary key named: the caller meant to write a new key, which an UPDATE
            # by that key cannot do (Tortoise's rule). Named beside other fields it is skipped,
            # as yara-orm 1.19 does.
            raise OperationalError(f"Can't update pk field, use `{model.__name__}.create` instead.")
        _stamp(obj, creating=False, written=[f.model_field_name for f in fields])
    if not fields:
        return 1
    pk_value = d.get(meta.pk_attr)
    if pk_value is None:
        raise ParamsError(f"cannot update a {model.__name__} without a primary key value")
    if any(isinstance(d.get(f.model_field_name), Expression) for f in fields):
        return await _update_with_expressions(obj, fields, pk_value, executor, dialect)
    values = [f.to_db(d.get(f.model_field_name)) for f in fields]
    _validate(obj, [f for f in fields if f.validators])
    values.append(meta.pk.to_db(pk_value))
    key = UpdateKey(dialect.name, tuple(fields))
    sql = meta.statements.get(key)
    if sql is None:
        ctx = QueryContext(model, dialect)
        stmt = ir.Update(
            ctx.table,
            [(f.column, ir.Param(None)) for f in fields],
            ir.Lookup("exact", ctx.column(meta.pk), [ir.Param(None)]),
        )
        sql = meta.statements.put(key, _compile(dialect, stmt))
    return await executor.execute(sql, values)


async def _update_with_expressions(
    obj: Model, fields: list[Field[Any]], pk_value: Any, executor: Any, dialect: Dialect
) -> int:
    """``obj.n = F("n") + 1; await obj.save()``: the database computes those columns (a
    statement of its own, not cached: the expressions vary)."""
    model = type(obj)
    meta = model._meta
    d = obj.__dict__
    ctx = QueryContext(model, dialect)
    assignments: list[tuple[str, ir.Node]] = []
    plain: list[Field[Any]] = []
    for f in fields:
        value = d.get(f.model_field_name)
        if isinstance(value, Expression):
            node = value.resolve(ctx)
            if node.contains_aggregate:
                raise ParamsError(
                    f"{model.__name__}.{f.model_field_name}: a saved value cannot be an aggregate"
                )
        else:
            node = ir.Param(f.to_db(value), f)
            plain.append(f)
        assignments.append((f.column, node))
    _validate(obj, [f for f in plain if f.validators])
    where = ir.Lookup("exact", ctx.column(meta.pk), [ir.Param(meta.pk.to_db(pk_value), meta.pk)])
    sql, params = Compiler(dialect).compile(ir.Update(ctx.table, assignments, where))
    result: int = await executor.execute(sql, params)
    return result


async def delete_instance(obj: Model, using_db: Any = None) -> int:
    model = type(obj)
    meta = model._meta
    pk_value = obj.__dict__.get(meta.pk_attr)
    if pk_value is None:
        raise OperationalError(
            f"cannot delete a {model.__name__} that has no primary key value (never saved?)"
        )
    executor, dialect = executor_for(model, using_db, write=True)
    key = DeleteKey(dialect.name)
    sql = meta.statements.get(key)
    if sql is None:
        ctx = QueryContext(model, dialect)
        sql = meta.statements.put(
            key,
            _compile(
                dialect, ir.Delete(ctx.table, ir.Lookup("exact", ctx.column(meta.pk), [ir.Param(None)]))
            ),
        )
    return await executor.execute(sql, [meta.pk.to_db(pk_value)])


# -- bulk -----------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def bulk_create(
    model: type[M],
    objects: Iterable[M],
    batch_size: int | None = None,
    ignore_conflicts: bool = False,
    update_fields: Iterable[str] | None = None,
    on_conflict: Iterable[str] | None = None,
    using_db: Any = None,
) -> list[M]:
    """Insert many instances: one multi-row statement (or one UNNEST on PostgreSQL) per batch,
    batches sized to the backend's bind-parameter limit."""
    objs = list(objects)
    for obj in objs:
        if type(obj) is not model:
            raise ParamsError(f"bulk_create() on {model.__name__} got a {type(obj).__name__}")
    if not objs:
        return objs
    if model._meta.async_default_fields:
        await resolve_async_defaults(objs)
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ParamsError("batch_size must be a positive int")
    meta = model._meta
    executor, dialect = executor_for(model, using_db, write=True)
    conflict = _on_conflict(model, ignore_conflicts, update_fields, on_conflict)
    for obj in objs:
        _stamp(obj, creating=True)
        if meta.validated_fields:
            _validate(obj, meta.validated_fields)
    pk = meta.pk
    with_pk = [o for o in objs if o.__dict__.get(pk.model_field_name) is not None]
    without_pk = [o for o in objs if o.__dict__.get(pk.model_field_name) is None] if pk.generated else []
    if not pk.generated:
        with_pk = objs
    groups = [(g, include_pk) for g, include_pk in ((with_pk, True), (without_pk, False)) if g]
    if isinstance(executor, Pool) and _several_statements(model, dialect, groups, batch_size):
        # All or nothing: a failure in a later batch must not leave the earlier ones committed.
        # Inside the task's open transaction this is a savepoint, so only this call is undone.
        async with executor.transaction():
            for group, include_pk in groups:
                await _insert_group(model, executor, dialect, group, include_pk, conflict, batch_size)
    else:
        for group, include_pk in groups:
            await _insert_group(model, executor, dialect, group, include_pk, conflict, batch_size)
    return objs


def _several_statements(
    model: type[Model], dialect: Dialect, groups: list[tuple[list[Any], bool]], batch_size: int | None
) -> bool:
    """Whether inserting ``groups`` may take more than one statement (one statement is atomic
    by itself, and a transaction around it would cost two round trips for nothing)."""
    if len(groups) != 1:
        return len(groups) > 1
    n = len(groups[0][0])
    if batch_size is not None and batch_size < n:
        return True
    fields = model._meta.fields
    if not any(not f.generated for f in fields):
        return n > 1  # DEFAULT VALUES: one statement per row
    if dialect.supports_unnest and all(f.array_safe for f in fields):
        return False  # one UNNEST (or COPY) per batch, whatever the row count
    return n * len(fields) > dialect.max_bind_params


def _on_conflict(
    model: type[Model], ignore: bool, update_fields: Iterable[str] | None, target: Iterable[str] | None
) -> ir.OnConflict | None:
    meta = model._meta
    if update_fields is None:
        return ir.OnConflict() if ignore else None
    if ignore:
        raise ParamsError("use either ignore_conflicts or update_fields, not both")
    # Without a conflict target the primary key is one (a row with an explicit pk that exists
    # is updated), as in yara-orm 1.19 and Tortoise.
    names = list(target or ()) or [meta.pk_attr]

    def column(name: str) -> str:
        field = meta.lookup_field(name)
        rel = meta.relations.get(name)
        if field is None and rel is not None and rel.kind == "fk" and rel.field is not None:
            field = rel.field.id_field  # ``update_fields=["author"]`` means its key column
        if field is None:
            raise FieldError(f"unknown field {name!r}; valid: {', '.join(meta.fields_map)}")
        return field.column

    return ir.OnConflict([column(n) for n in names], [column(n) for n in update_fields])


# From this many rows (in one bulk_create) a plain insert uses COPY rather than UNNEST on PostgreSQL.
# COPY costs one round trip more but encodes and loads faster. Measured on loopback (ms, COPY vs
# UNNEST, 11-column rows): 10 rows 0.45/0.47, 100 rows 0.88/0.98, 3000 rows 13.4/15.2. Below
# 100 rows the gain is within noise, and on a distant server the extra round trip would lose.
COPY_MIN_ROWS = 100


def _copy_statements(model: type[Model], dialect: Dialect, fields: tuple[Field[Any], ...]) -> tuple[str, str]:
    """The COPY of ``fields`` into ``model``'s table (compiled once, cached), and the one-row
    INSERT of the same columns, whose parameter types tell the engine how to encode each one."""
    meta = model._meta
    key = CopyKey(dialect.name, fields)
    copy_sql: str | None = meta.statements.get(key)
    if copy_sql is None:
        copy_sql = meta.statements.put(
            key, _compile(dialect, ir.Copy(meta.table, [f.column for f in fields]))
        )
    return copy_sql, insert_statement(model, dialect, fields)


def _field_columns(objs: list[Any], names: list[str]) -> list[Sequence[Any]]:
    """The instances' values, one sequence per field name (a field missing from an instance's
    ``__dict__`` reads as None). One C-level getter call per instance and one transpose, not a
    Python-level lookup per cell."""
    if not names:
        return []
    getter = operator.itemgetter(*names)
    try:
        rows = [getter(o.__dict__) for o in objs]
    except KeyError:
        rows = [tuple(o.__dict__.get(n) for n in names) for o in objs]
    if len(names) == 1:
        return [rows]
    return list(zip(*rows, strict=True)) if rows else [() for _ in names]


# Types whose values ``to_db`` returns unchanged once ``coerce`` accepted them, so a column of
# exactly these (checked at C speed) needs no per-value call beyond the bounds checked below.
_PLAIN_TYPES = frozenset({int, float, bool, str, uuid.UUID})


def _already_clean(field: Field[Any], raw: Sequence[Any]) -> bool:
    """Whether every value of a column is what ``field.to_db`` would bind unchanged, so bulk
    paths may skip the per-value call. Values set through ``Model.__init__`` were coerced, but
    an attribute assigned afterwards (``obj.count = "abc"``) was not: bulk_create must refuse or
    coerce it exactly as save() does, so anything but the exact plain type within the field's
    bounds goes through ``to_db``."""
    kind = field.python_type
    if kind not in _PLAIN_TYPES:
        return False
    types = set(map(type, raw))
    values = raw
    if type(None) in types:
        if not field.null:
            return False  # to_db raises the not-nullable ValidationError
        types.discard(type(None))
        values = [v for v in raw if v is not None]
    if types - {kind}:
        return False
    if not values:
        return True
    if isinstance(field, IntField):
        return bool(field.min_value <= min(values) and max(values) <= field.max_value)
    max_length = getattr(field, "max_length", None)
    if isinstance(max_length, int):
        return max(map(len, values)) <= max_length
    return True


class BulkStrategy(enum.Enum):
    """How ``bulk_create`` sends one group of rows (chosen by :func:`bulk_strategy`)."""

    COPY = "copy"  # the backend's bulk load (PostgreSQL binary COPY)
    UNNEST = "unnest"  # one INSERT ... SELECT FROM UNNEST(arrays), one parameter per column
    PREPARED_ROWS = "prepared_rows"  # one prepared one-row INSERT stepped per row (execute_many)
    VALUES = "values"  # multi-row VALUES in batches under the bind-parameter and size limits
    # No RETURNING, keys from LAST_INSERT_ID (MySQL): multi-row VALUES where the server promises
    # consecutive keys for one statement, else one INSERT per row.
    VALUES_INSERT_ID = "values_insert_id"
    ROWS_INSERT_ID = "rows_insert_id"
    DEFAULT_VALUES = "default_values"  # no columns to send: one INSERT ... DEFAULT VALUES a row


def bulk_strategy(
    features: Features,
    dialect: Dialect,
    fields: Sequence[Field[Any]],
    rows: int,
    returning: bool,
    conflict: ir.OnConflict | None,
) -> BulkStrategy:
    """The fastest way this connection can insert ``rows`` rows of ``fields``. What the backend
    can do comes from its ``features``; the dialect says only what its SQL can express."""
    if not fields:
        return BulkStrategy.DEFAULT_VALUES
    if returning and not features.returning:
        return BulkStrategy.VALUES_INSERT_ID if features.insert_id_step else BulkStrategy.ROWS_INSERT_ID
    if (
        features.copy_in
        and rows >= COPY_MIN_ROWS
        and not returning
        and conflict is None
        and all(f.copy_safe for f in fields)
    ):
        return BulkStrategy.COPY
    if features.arrays and dialect.supports_unnest and all(f.array_safe for f in fields):
        return BulkStrategy.UNNEST
    if dialect.prepared_bulk_insert and not returning:
        return BulkStrategy.PREPARED_ROWS
    return BulkStrategy.VALUES


def _saved(objs: Sequence[Any]) -> None:
    for obj in objs:
        obj.__dict__["_saved_in_db"] = True


def _set_pks(pk: Field[Any], objs: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    if len(rows) == len(objs):
        conv = pk.from_db
        for obj, row in zip(objs, rows, strict=True):
            obj.__dict__[pk.model_field_name] = conv(row[0]) if conv else row[0]


async def _insert_group(
    model: type[Model],
    executor: Any,
    dialect: Dialect,
    objs: list[Any],
    include_pk: bool,
    conflict: ir.OnConflict | None,
    batch_size: int | None,
) -> None:
    meta = model._meta
    pk = meta.pk
    fields = [
        f
        for f in meta.fields
        if (include_pk or not f.pk)
        and not (
            f.db_default is not NO_DEFAULT and all(o.__dict__.get(f.model_field_name) is None for o in objs)
        )
    ]
    columns: list[Sequence[Any]] = []
    for field, raw in zip(fields, _field_columns(objs, [f.model_field_name for f in fields]), strict=True):
        if field.identity_db and _already_clean(field, raw):
            columns.append(raw)
        else:
            to_db = field.to_db
            columns.append([to_db(v) for v in raw])
    returning = (pk,) if (not include_pk and conflict is None) else ()
    features = executor.features
    if returning and not features.returning and not features.execute_insert:
        returning = ()  # the backend cannot tell the generated keys: the instances keep pk None
    group = _Group(model, executor, dialect, objs, tuple(fields), columns, returning, conflict)
    strategy = bulk_strategy(executor.features, dialect, fields, len(objs), bool(returning), conflict)
    await _STRATEGIES[strategy](group, batch_size)


class _Group:
    """One bulk_create group: the instances, their columns converted for the database, and
    what the statement returns."""

    __slots__ = ("columns", "conflict", "dialect", "executor", "fields", "model", "objs", "returning")

    def __init__(
        self,
        model: type[Model],
        executor: Any,
        dialect: Dialect,
        objs: list[Any],
        fields: tuple[Field[Any], ...],
        columns: list[Sequence[Any]],
        returning: tuple[Field[Any], ...],
        conflict: ir.OnConflict | None,
    ) -> None:
        self.model = model
        self.executor = executor
        self.dialect = dialect
        self.objs = objs
        self.fields = fields
        self.columns = columns
        self.returning = returning
        self.conflict = conflict

    def slices(self, size: int) -> Iterable[tuple[int, int]]:
        for start in range(0, len(self.objs), size):
            yield start, min(start + size, len(self.objs))


async def _insert_copy(g: _Group, batch_size: int | None) -> None:
    """Bulk load: no RETURNING or ON CONFLICT, no bind-parameter limit (batch_size applies)."""
    copy_sql, types_from = _copy_statements(g.model, g.dialect, g.fields)
    for start, stop in g.slices(batch_size or len(g.objs)):
        await g.executor.copy_in(copy_sql, types_from, [col[start:stop] for col in g.columns])
        _saved(g.objs[start:stop])


async def _insert_unnest(g: _Group, batch_size: int | None) -> None:
    meta = g.model._meta
    for start, stop in g.slices(batch_size or len(g.objs)):
        stmt = ir.Insert(
            meta.table, [f.column for f in g.fields], [], [f.column for f in g.returning], g.conflict
        )
        stmt.unnest = [(ir.Param(col[start:stop]), f) for col, f in zip(g.columns, g.fields, strict=True)]
        sql, params = Compiler(g.dialect).compile(stmt)
        await _run_batch(g, sql, params, start, stop)


async def _insert_prepared_rows(g: _Group, batch_size: int | None) -> None:
    """One prepared one-row INSERT stepped per row in one transaction: where a statement costs
    no round trip (SQLite) this beats multi-row VALUES (5000 rows: ~11 against ~18 ms)."""
    sql = insert_statement(g.model, g.dialect, g.fields, (), g.conflict)
    for start, stop in g.slices(batch_size or len(g.objs)):
        await g.executor.execute_many(sql, list(zip(*(col[start:stop] for col in g.columns), strict=True)))
        _saved(g.objs[start:stop])


def _cell_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value) * 4  # utf8mb4: up to four bytes a character
    if isinstance(value, bytes | bytearray):
        return len(value)
    return 16


def _byte_slices(g: _Group, size: int, limit: int) -> Iterable[tuple[int, int]]:
    """Batches of at most ``size`` rows whose parameters stay under ``limit`` bytes."""
    start = 0
    total = len(g.objs)
    while start < total:
        stop = start
        budget = 0
        while stop < total and stop - start < size:
            row = sum(_cell_bytes(col[stop]) for col in g.columns)
            if stop > start and budget + row > limit:
                break
            budget += row
            stop += 1
        yield start, stop
        start = stop


async def _insert_values(g: _Group, batch_size: int | None, insert_id: bool = False) -> None:
    """Multi-row VALUES; with ``insert_id`` no RETURNING: the keys follow the first one the
    server reports (LAST_INSERT_ID) by its ``insert_id_step``."""
    meta = g.model._meta
    returning = [f.column for f in g.returning] if not insert_id else []
    col_names = [f.column for f in g.fields]
    size = max(1, g.dialect.max_bind_params // max(len(g.fields), 1))
    if batch_size:
        size = min(size, batch_size)
    limit = g.dialect.max_statement_bytes
    batches = g.slices(size) if limit is None else _byte_slices(g, size, limit)
    for start, stop in batches:
        count = stop - start
        # Statements with a conflict clause are not cached (the clause is not part of the key).
        key = ValuesKey(g.dialect.name, tuple(col_names), count, bool(returning))
        sql = meta.statements.get(key) if g.conflict is None else None
        if sql is None:
            stmt = ir.Insert(meta.table, col_names, [], returning, g.conflict)
            stmt.rows = [[ir.Param(None) for _ in g.fields] for _ in range(count)]
            sql = _compile(g.dialect, stmt)
            if g.conflict is None:
                meta.statements.put(key, sql)
        params = [col[i] for i in range(start, stop) for col in g.columns]
        if insert_id:
            await _run_insert_id(g, sql, params, start, stop)
        else:
            await _run_batch(g, sql, params, start, stop)


async def _insert_values_insert_id(g: _Group, batch_size: int | None) -> None:
    await _insert_values(g, batch_size, insert_id=True)


async def _insert_rows_insert_id(g: _Group, batch_size: int | None) -> None:
    """One INSERT per row, each key from LAST_INSERT_ID: for a server that does not promise
    consecutive keys within one multi-row INSERT (innodb_autoinc_lock_mode = 2)."""
    sql = insert_statement(g.model, g.dialect, g.fields, (), g.conflict)
    for i in range(len(g.objs)):
        await _run_insert_id(g, sql, [col[i] for col in g.columns], i, i + 1)


async def _run_insert_id(g: _Group, sql: str, params: list[Any], start: int, stop: int) -> None:
    affected, first = await g.executor.execute_insert(sql, params)
    objs = g.objs[start:stop]
    if first is None or affected != len(objs):
        raise OperationalError(
            f"{g.model.__name__}: the database reported {affected} row(s) and first key {first!r} for "
            f"an INSERT of {len(objs)}; the generated keys cannot be assigned"
        )
    step = g.executor.features.insert_id_step or 1
    _set_pks(g.returning[0], objs, [(first + i * step,) for i in range(len(objs))])
    _saved(objs)


async def _insert_default_values(g: _Group, batch_size: int | None) -> None:
    meta = g.model._meta
    insert_id = bool(g.returning) and not g.executor.features.returning
    stmt = ir.Insert(meta.table, [], [], [f.column for f in g.returning] if not insert_id else [], g.conflict)
    stmt.default_values = True
    sql, params = Compiler(g.dialect).compile(stmt)
    if insert_id:
        for i in range(len(g.objs)):
            await _run_insert_id(g, sql, list(params), i, i + 1)
        return
    for obj in g.objs:
        row = await g.executor.fetch_one(sql, params)
        if row is not None and g.returning:
            obj.__dict__[g.returning[0].model_field_name] = row[0]
        obj.__dict__["_saved_in_db"] = True


async def _run_batch(g: _Group, sql: str, params: list[Any], start: int, stop: int) -> None:
    if g.returning:
        _set_pks(g.returning[0], g.objs[start:stop], await g.executor.fetch(sql, params))
    else:
        await g.executor.execute(sql, params)
    _saved(g.objs[start:stop])


_STRATEGIES = {
    BulkStrategy.COPY: _insert_copy,
    BulkStrategy.UNNEST: _insert_unnest,
    BulkStrategy.PREPARED_ROWS: _insert_prepared_rows,
    BulkStrategy.VALUES: _insert_values,
    BulkStrategy.VALUES_INSERT_ID: _insert_values_insert_id,
    BulkStrategy.ROWS_INSERT_ID: _insert_rows_insert_id,
    BulkStrategy.DEFAULT_VALUES: _insert_default_values,
}


async def bulk_update(
    model: type[M],
    objects: Iterable[M],
    fields: Iterable[str],
    batch_size: int | None = None,
    using_db: Any = None,
) -> int:
    """Update ``fields`` of many instances with one ``CASE`` statement per batch; returns the
    number of rows updated."""
    objs = list(objects)
    names = list(fields)
    if not names:
        raise ParamsError("bulk_update() needs the names of the fields to update")
    if not objs:
        return 0
    meta = model._meta
    targets = []
    for name in names:
        field = meta.lookup_field(name)
        if field is None:
            raise FieldError(f"unknown field {name!r} in bulk_update(); valid: {', '.join(meta.fields_map)}")
        if field.pk:
            raise ParamsError("bulk_update() cannot change primary keys")
        targets.append(field)
    # auto_now columns are bumped by every bulk_update, listed or not (yara-orm 1.19's rule).
    bumped = [f for f in meta.auto_now_fields if getattr(f, "auto_now", False) and f not in targets]
    targets += bumped
    stamp = now() if bumped else None
    executor, dialect = executor_for(model, using_db, write=True)
    pk = meta.pk
    rows = []
    for obj in objs:
        d = obj.__dict__
        for field in bumped:
            d[field.model_field_name] = stamp
        pk_value = d.get(pk.model_field_name)
        if pk_value is None:
            raise ParamsError("bulk_update() needs saved instances (with a primary key)")
        _validate(obj, targets)
        rows.append((pk.to_db(pk_value), [f.to_db(d.get(f.model_field_name)) for f in targets]))
    per_row = 2 * len(targets) + 1
    size = max(1, dialect.max_bind_params // per_row)
    if batch_size:
        size = min(size, batch_size)
    total = 0
    for batch in _chunks(rows, size):
        ctx = QueryContext(model, dialect)
        pk_col = ctx.column(pk)
        assignments: list[tuple[str, ir.Node]] = []
        for i, field in enumerate(targets):
            whens: list[tuple[ir.Node, ir.Node]] = [
                (ir.Lookup("exact", pk_col, [ir.Param(pk_value)]), ir.Param(values[i], field, cast=True))
                for pk_value, values in batch
            ]
            assignments.append((field.column, ir.Case(whens, ctx.column(field), field)))
        where = ir.Lookup("in", pk_col, [ir.Param(pk_value) for pk_value, _ in batch])
        sql, params = Compiler(dialect).compile(ir.Update(ctx.table, assignments, where))
        total += await executor.execute(sql, params)
    return total


# -- get_or_create / update_or_create -----------------------------------------------------------------


def _create_kwargs(kwargs: dict[str, Any], defaults: dict[str, Any] | None) -> dict[str, Any]:
    values = {k: v for k, v in kwargs.items() if "__" not in k}
    if defaults:
        # A created row that does not match the lookup it was created for is a bug in the call.
        for key in defaults.keys() & values.keys():
            if (default_value := defaults[key]) != (query_value := values[key]):
                raise ParamsError(f"Conflict value with {key=}: {default_value=} vs {query_value=}")
        values.update(defaults)
    return values


async def get_or_create(
    model: type[M], defaults: dict[str, Any] | None, using_db: Any, kwargs: dict[str, Any]
) -> tuple[M, bool]:
    """Read the row, else create it through ``model._create_or_get`` (race-safe: a concurrent
    creation is read back, so callers never see the IntegrityError)."""
    if not kwargs:
        raise ParamsError("get_or_create() needs lookup keyword arguments")
    qs = _lookup_queryset(model, using_db, kwargs)
    found = await qs.get_or_none()
    if found is not None:
        return found, False
    result: tuple[M, bool] = await model._create_or_get(using_db, defaults or {}, **kwargs)
    return result


async def create_or_get(
    model: type[M], using_db: Any, defaults: dict[str, Any], kwargs: dict[str, Any]
) -> tuple[M, bool]:
    """INSERT the row (ON CONFLICT DO NOTHING); on a conflict read the row that won. The step
    ``get_or_create``/``update_or_create`` take when the row was missing (``Model._create_or_get``,
    the hook Tortoise code overrides)."""
    obj = model(**_create_kwargs(kwargs, defaults))
    if await insert_instance(obj, using_db, ignore_conflict=True):
        return obj, True
    found: M | None = await _lookup_queryset(model, using_db, kwargs).get_or_none()
    if found is not None:
        return found, False
    raise IntegrityError(
        f"{model.__name__}: the new row conflicts with an existing one on a unique constraint that "
        "the lookup arguments do not cover (or the conflicting row was deleted meanwhile)"
    )


async def update_or_create(
    model: type[M], defaults: dict[str, Any] | None, using_db: Any, kwargs: dict[str, Any]
) -> tuple[M, bool]:
    """Race-safe: lock the row if it exists (SELECT ... FOR UPDATE, in a transaction) and update
    it, else create it; after a concurrent creation, lock and update the winner's row. Gives up
    with ``OperationalError`` when rows keep vanishing between the attempts."""
    if not kwargs:
        raise ParamsError("update_or_create() needs lookup keyword arguments")
    defaults = defaults or {}
    executor, _dialect = executor_for(model, using_db, write=True)
    qs = _lookup_queryset(model, using_db, kwargs).select_for_update()
    for attempt in range(_UPDATE_OR_CREATE_ATTEMPTS):
        if isinstance(executor, Pool):
            async with executor.transaction():
                found = await _lock_and_update(qs, defaults, using_db)
        else:
            found = await _lock_and_update(qs, defaults, using_db)
        if found is not None:
            return found, False
        if attempt == _UPDATE_OR_CREATE_ATTEMPTS - 1:
            break
        obj, created = await model._create_or_get(using_db, defaults, **kwargs)
        if created:
            return obj, True
    raise OperationalError(
        f"{model.__name__}.update_or_create() could not recover from concurrent deletions of the row"
    )


def _lookup_queryset(model: type[M], using_db: Any, kwargs: dict[str, Any]) -> Any:
    qs = model._meta.manager.get_queryset().filter(**kwargs)  # type: ignore[union-attr]
    return qs.using_db(using_db) if using_db is not None else qs


async def _lock_and_update(qs: Any, defaults: dict[str, Any], using_db: Any) -> Any:
    found = await qs.get_or_none()
    if found is not None and defaults:
        # ``defaults`` built from an instance (``dict(obj)``) repeat its key: not an update of it.
        pk_names = ("pk", found._meta.pk_attr)
        names = [k for k in defaults if not (k in pk_names and defaults[k] == found.pk)]
        found.update_from_dict({k: defaults[k] for k in names})
        await update_instance(found, names, using_db)
    return found
