"""Reads that skip the queryset machinery: the get-by-pk fast path of ``Model.get(pk=...)``,
one statement compiled once per model and dialect, one row decoded positionally."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..connection import connections, executor_for, not_initialised
from ..exceptions import DoesNotExist
from . import decode, ir
from .build import column_node
from .cache import GetPkKey
from .compiler import Compiler
from .context import QueryContext

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..models.model import Model

M = TypeVar("M", bound="Model")

# One key object per dialect: this runs on every ``Model.get(pk=...)``.
_get_pk_key = functools.cache(GetPkKey)


def get_pk_statement(model: type[Model], dialect: Dialect) -> tuple[str, Callable[[tuple[Any, ...]], Any]]:
    """``SELECT <all columns> WHERE pk = ?`` and its single-row decoder, compiled once."""
    meta = model._meta
    key = _get_pk_key(dialect.name)
    entry = meta.statements.get(key)
    if entry is None:
        ctx = QueryContext(model, dialect)
        select = ir.Select(ctx.table, [ir.SelectItem(column_node(ctx, f)) for f in meta.fields])
        select.where = ir.Lookup("exact", ctx.column(meta.pk), [ir.Param(None)])
        sql = Compiler(dialect).compile(select)[0]
        decode_row = decode.instance_decoder(
            model,
            [f.model_field_name for f in meta.fields],
            [decode.column_converter(f, dialect) for f in meta.fields],
            None,
        )[1]
        entry = (sql, decode_row)
        meta.statements.put(key, entry)
    return entry


async def get_by_pk(model: type[M], value: Any) -> M:
    """The hot path of ``Model.get(pk=...)``: one cached statement, one row decode."""
    meta = model._meta
    conn = meta.db
    if conn is None:
        raise not_initialised(model)
    if connections.router is not None:
        executor, dialect = executor_for(model)
        sql, decode_row = get_pk_statement(model, dialect)
        found = await executor.fetch_one(sql, [meta.pk.lookup_value(value)])
        if found is None:
            raise DoesNotExist(f"{model.__name__} with {meta.pk_attr}={value!r} does not exist")
        obj: M = decode_row(found)
        return obj
    sql, decode_row = get_pk_statement(model, conn.dialect)
    row = await conn.pool.fetch_one(sql, [meta.pk.lookup_value(value)])
    if row is None:
        raise DoesNotExist(f"{model.__name__} with {meta.pk_attr}={value!r} does not exist")
    result: M = decode_row(row)
    return result
