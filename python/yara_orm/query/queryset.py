"""``QuerySet[M]``: a lazy, chainable description of a query over one model.

Chaining copies the (small, flat) state; nothing runs until the queryset is awaited, iterated
or a terminal method is called. ``await qs`` gives a list of instances, ``async for`` streams
them through the engine's cursor with bounded memory.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Generator, Hashable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

from ..connection import executor_for
from ..exceptions import FieldError, ParamsError, ParamsTypeError
from ..pool import Pool
from . import build, ir, writes
from .decode import ResultMode
from .expressions import Exists, Expression, OrderBy, Q
from .prefetch import prefetch
from .single import QuerySetSingle, SingleMode, ValuesSingle

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..models.model import Model
    from .context import QueryContext

M = TypeVar("M", bound="Model")
T = TypeVar("T")

# The single-result classes live in query/single.py; importable from here as before.
__all__ = ["DEFAULT_CHUNK_SIZE", "QuerySet", "QuerySetSingle", "SingleMode", "ValuesQuery", "ValuesSingle"]

DEFAULT_CHUNK_SIZE = 1000


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class QuerySet(Generic[M]):
    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._db: Any = None
        self._where: tuple[Q | Expression, ...] = ()
        self._order_by: tuple[str | OrderBy, ...] = ()
        self._limit: int | None = None
        self._offset: int | None = None
        self._distinct = False
        self._annotations: dict[str, Expression] = {}
        self._group_by: tuple[str, ...] = ()
        self._fields: tuple[tuple[str, str], ...] | None = None
        self._mode = ResultMode.INSTANCES
        self._only: tuple[str, ...] | None = None
        self._defer: tuple[str, ...] = ()
        self._for_update: ir.ForUpdate | None = None
        self._default_ordering = True
        self._select_related: tuple[str, ...] = ()
        self._prefetch: tuple[Any, ...] = ()

    def _clone(self) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    # -- chaining ---------------------------------------------------------------------------------

    def _add_condition(self, args: tuple[Q | Expression, ...], kwargs: dict[str, Any], negate: bool) -> Self:
        conds: list[Q | Expression] = []
        for arg in args:
            if not isinstance(arg, Q | Expression):
                raise ParamsError(
                    f"filter() positional arguments must be Q or Exists objects, got {type(arg).__name__}"
                )
            conds.append(~arg if negate and isinstance(arg, Q) else arg)
        if kwargs:
            q = Q(**kwargs)
            conds.append(~q if negate else q)
        if negate and any(not isinstance(c, Q) for c in conds):
            conds = [~c if isinstance(c, Exists) else c for c in conds]
        clone = self._clone()
        clone._where = (*self._where, *conds)
        return clone

    def filter(self, *args: Q | Expression, **kwargs: Any) -> Self:
        """Rows matching every condition (keyword lookups and ``Q`` objects)."""
        return self._add_condition(args, kwargs, False)

    def exclude(self, *args: Q | Expression, **kwargs: Any) -> Self:
        """Rows not matching the conditions."""
        return self._add_condition(args, kwargs, True)

    def all(self) -> Self:
        return self._clone()

    def order_by(self, *orderings: str | OrderBy) -> Self:
        """Sort by fields or annotations (``"-name"`` descends) or ``F("x").desc()``."""
        for item in orderings:
            if not isinstance(item, str | OrderBy):
                raise ParamsError("order_by() takes field names or expression.asc()/.desc()")
        clone = self._clone()
        clone._order_by = tuple(orderings)
        clone._default_ordering = False
        return clone

    def limit(self, limit: int) -> Self:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ParamsError(f"limit must be a non-negative int, got {limit!r}")
        clone = self._clone()
        clone._limit = limit
        return clone

    def offset(self, offset: int) -> Self:
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ParamsError(f"offset must be a non-negative int, got {offset!r}")
        clone = self._clone()
        clone._offset = offset
        return clone

    @overload
    def __getitem__(self, key: slice) -> Self: ...
    @overload
    def __getitem__(self, key: int) -> QuerySetSingle[M]: ...
    def __getitem__(self, key: slice | int) -> Self | QuerySetSingle[M]:
        if isinstance(key, int) and not isinstance(key, bool):
            if key < 0:
                raise ParamsError("negative indexing is not supported")
            return QuerySetSingle(self.offset((self._offset or 0) + key).limit(1), SingleMode.FIRST_OF_SLICE)
        if not isinstance(key, slice):
            raise ParamsTypeError(f"querysets take [start:stop] slices and [index], not {type(key).__name__}")
        if key.step not in (None, 1):
            raise ParamsError("querysets support [start:stop] slices and [index] (no step)")
        start = key.start or 0
        if start < 0 or (key.stop is not None and key.stop < 0):
            raise ParamsError("negative slice bounds are not supported")
        clone = self._clone()
        base = self._offset or 0
        clone._offset = base + start if base + start else None
        if key.stop is not None:
            length = max(key.stop - start, 0)
            clone._limit = min(length, self._limit - start) if self._limit is not None else length
        elif self._limit is not None:
            clone._limit = max(self._limit - start, 0)
        return clone

    def distinct(self) -> Self:
        clone = self._clone()
        clone._distinct = True
        return clone

    def annotate(self, **annotations: Any) -> Self:
        """Add computed values (expressions, functions, aggregates) as attributes/columns."""
        for name, expr in annotations.items():
            if not isinstance(expr, Expression):
                raise ParamsError(f"annotate({name}=...) needs an expression, got {type(expr).__name__}")
            if name in self.model._meta.fields_map or name == "pk":
                raise FieldError(
                    f"annotation {name!r} collides with a field of {self.model.__name__}; rename it"
                )
            if not name.isascii() and _unencodable(name):
                raise FieldError(f"annotation name {name!r} contains a lone surrogate (no UTF-8 form)")
        clone = self._clone()
        clone._annotations = {**self._annotations, **annotations}
        return clone

    def group_by(self, *fields: str) -> Self:
        """GROUP BY these fields/annotations (use with ``values()`` and aggregates)."""
        clone = self._clone()
        clone._group_by = tuple(fields)
        return clone

    def only(self, *fields: str) -> Self:
        """Load only these fields (plus the pk); saving such an instance writes only them."""
        if not fields:
            raise ParamsError("only() needs at least one field name")
        for name in fields:
            build.related_field_path(self.model, name)  # a bad ``rel__field`` path fails here
        clone = self._clone()
        clone._only = tuple(fields)
        clone._defer = ()
        return clone

    def defer(self, *fields: str) -> Self:
        """Load every field except these."""
        if self.model._meta.pk_attr in fields or "pk" in fields:
            raise FieldError("the primary key cannot be deferred")
        for name in fields:
            build.related_field_path(self.model, name)
        clone = self._clone()
        clone._defer = (*self._defer, *fields)
        return clone

    def select_for_update(
        self, nowait: bool = False, skip_locked: bool = False, of: Iterable[str] = ()
    ) -> Self:
        """Lock the selected rows until the transaction ends (PostgreSQL; SQLite locks the
        whole database for writes, so this is a no-op there)."""
        clone = self._clone()
        clone._for_update = ir.ForUpdate(nowait, skip_locked, tuple(of))
        return clone

    def select_related(self, *relations: str) -> Self:
        """Fetch these foreign-key / one-to-one relations (``"author__country"`` nests) in the same
        query through LEFT JOINs."""
        clone = self._clone()
        clone._select_related = (*self._select_related, *relations)
        return clone

    def prefetch_related(self, *lookups: Any) -> Self:
        """Fetch these relations (names, nested paths or ``Prefetch`` objects) with one extra query
        per relation level after the main query."""
        clone = self._clone()
        clone._prefetch = (*self._prefetch, *lookups)
        return clone

    def using_db(self, db: Any) -> Self:
        """Run on another connection (name, Connection, Pool or Transaction)."""
        clone = self._clone()
        clone._db = db
        return clone

    # -- values -----------------------------------------------------------------------------------

    def _values_fields(self, fields: tuple[str, ...], aliases: dict[str, str]) -> tuple[tuple[str, str], ...]:
        if not fields and not aliases:
            # A grouped query has one row per group: its keys and annotations, not whole rows.
            base = list(self._group_by) if self._group_by else list(self.model._meta.fields_map)
            names = [*base, *self._annotations]
            return tuple((n, n) for n in names)
        return (*((f, f) for f in fields), *aliases.items())

    def _as_values(self, fields: tuple[tuple[str, str], ...], mode: ResultMode) -> ValuesQuery[Any]:
        if self._only is not None or self._defer:
            # values() names its own columns: which of the two lists would win is a guess.
            raise ParamsError(
                "values()/values_list() cannot follow only()/defer(); name the columns in values()"
            )
        values: ValuesQuery[Any] = object.__new__(ValuesQuery)
        values.__dict__.update(self.__dict__)
        values._fields = fields
        values._mode = mode
        return values

    def values(self, *fields: str, **aliases: str) -> ValuesQuery[dict[str, Any]]:
        """Rows as dicts (all fields, or these fields/annotations; ``alias="field"`` renames)."""
        return self._as_values(self._values_fields(fields, aliases), ResultMode.DICTS)

    @overload
    def values_list(self, *fields: str, flat: Literal[False] = False) -> ValuesQuery[tuple[Any, ...]]: ...
    @overload
    def values_list(self, *fields: str, flat: Literal[True]) -> ValuesQuery[Any]: ...
    def values_list(self, *fields: str, flat: bool = False) -> ValuesQuery[Any]:
        """Rows as tuples; with ``flat=True`` and one field, a list of values."""
        if flat and len(fields) != 1:
            raise ParamsError("values_list(flat=True) needs exactly one field")
        mode = ResultMode.FLAT if flat else ResultMode.TUPLES
        return self._as_values(self._values_fields(fields, {}), mode)

    # -- compiling --------------------------------------------------------------------------------

    def _shape_key(self) -> Hashable | None:
        if self._annotations:
            return None
        wheres = []
        for cond in self._where:
            if not isinstance(cond, Q):
                return None
            shape = cond.shape()
            if shape is None:
                return None
            wheres.append(shape)
        for item in self._order_by:
            if not isinstance(item, str):
                return None
        fu = self._for_update
        return (
            self._mode,
            self._fields,
            self._only,
            self._defer,
            self._order_by,
            self._default_ordering,
            self._limit,
            self._offset,
            self._distinct,
            self._group_by,
            None if fu is None else (fu.nowait, fu.skip_locked, fu.of),
            tuple(wheres),
            self._select_related,
        )

    def _executor(self) -> tuple[Any, Dialect]:
        return executor_for(self.model, self._db)

    def _as_subquery(self, parent: QueryContext, exists: bool = False) -> ir.Select:
        plan = build.build_select(self, parent.dialect, parent=parent)
        select = plan.select
        if exists:
            select.columns = [ir.SelectItem(ir.Literal("1"))]
            select.order_by = []
        elif self._mode == ResultMode.INSTANCES:
            # ``id__in=Model.filter(...)``: compare against the primary key, or against the one
            # field ``only("col")`` names (yara-orm 1.19's single-column subquery).
            meta = self.model._meta
            named = [n for n in self._only or () if n not in ("pk", meta.pk_attr)]
            field = meta.fields_map.get(named[0]) if len(named) == 1 else None
            select.columns = [ir.SelectItem(plan.ctx.column(field or meta.pk))]
        elif len(select.columns) != 1:
            raise ParamsError("a subquery must select exactly one column (use values_list('x', flat=True))")
        return select

    def sql(self) -> str:
        """The SQL this queryset runs (parameters as placeholders)."""
        dialect = self._executor()[1]
        return build.compile_select(self, dialect)[0]

    def sql_with_params(self) -> tuple[str, list[Any]]:
        dialect = self._executor()[1]
        sql, params, _ = build.compile_select(self, dialect)
        return sql, params

    def get_parameterized_sql(self) -> tuple[str, list[Any]]:
        """yara-orm 1.19's name for :meth:`sql_with_params`. A grouped queryset gives its grouped
        projection (the group keys and annotations, what ``values()`` returns), the one shape
        such a query can run as on every backend, so callers can wrap it in
        ``SELECT COUNT(*) FROM (...)``."""
        if self._group_by and self._mode == ResultMode.INSTANCES:
            return self.values().sql_with_params()
        return self.sql_with_params()

    # -- running ----------------------------------------------------------------------------------

    async def _fetch(self) -> list[Any]:
        executor, dialect = self._executor()
        sql, params, plan = build.compile_select(self, dialect)
        assert plan is not None
        # The hot path: the engine builds the instances from the rows directly where it can.
        result = await plan.fetch(executor, sql, params)
        if self._prefetch and self._mode == ResultMode.INSTANCES and result:
            await prefetch(result, self._prefetch, self._db)
        return result

    def __await__(self) -> Generator[Any, None, list[M]]:
        return self._fetch().__await__()

    def __aiter__(self) -> AsyncIterator[M]:
        return self.iterator()

    def iterator(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[M]:
        """Stream the results ``chunk_size`` rows at a time through a server-side cursor, so
        memory stays bounded however many rows match."""
        # The generator itself, not a generator re-yielding it: one resumption per row, not two.
        return _stream(self, chunk_size)

    async def count(self) -> int:
        executor, dialect = self._executor()
        sql, params, _ = build.compile_select(self, dialect, build.SelectKind.COUNT)
        row = await executor.fetch_one(sql, params)
        return int(row[0]) if row else 0

    async def exists(self) -> bool:
        executor, dialect = self._executor()
        sql, params, _ = build.compile_select(self, dialect, build.SelectKind.EXISTS)
        return await executor.fetch_one(sql, params) is not None

    async def aggregate(self, **aggregates: Expression) -> dict[str, Any]:
        """Aggregate over the filtered rows: ``{"name": value}``."""
        if not aggregates:
            raise ParamsError("aggregate() needs at least one name=Aggregate(...)")
        executor, dialect = self._executor()
        sql, params, names, converters = build.build_aggregate(self, dialect, aggregates)
        row = await executor.fetch_one(sql, params)
        values = list(row) if row is not None else [None] * len(names)
        return {
            name: (conv(v) if conv is not None else v)
            for name, conv, v in zip(names, converters, values, strict=True)
        }

    async def update(self, **values: Any) -> int:
        """Set fields on every matching row; returns the number of rows changed. Values are
        type-checked, but field validators and signals do not run (no instances are built)."""
        executor, dialect = executor_for(self.model, self._db, write=True)
        sql, params = build.build_update(self, dialect, values)
        result: int = await executor.execute(sql, params)
        return result

    async def delete(self) -> int:
        """Delete every matching row; returns the number of rows deleted."""
        executor, dialect = executor_for(self.model, self._db, write=True)
        sql, params = build.build_delete(self, dialect)
        result: int = await executor.execute(sql, params)
        return result

    async def explain(self) -> str:
        """The database's plan for this query, as text."""
        executor, dialect = self._executor()
        sql, params, _ = build.compile_select(self, dialect)
        rows = await executor.fetch(dialect.explain_sql(sql), params)
        return "\n".join(" | ".join(str(c) for c in row) if len(row) > 1 else str(row[0]) for row in rows)

    # -- single results ---------------------------------------------------------------------------

    def _ordered(self) -> Self:
        if self._order_by or (self._default_ordering and self.model._meta.ordering):
            return self
        clone = self._clone()
        clone._order_by = (self.model._meta.pk_attr,)
        return clone

    def _reversed(self) -> Self:
        order = (
            self._order_by
            or (self.model._meta.ordering if self._default_ordering else ())
            or (self.model._meta.pk_attr,)
        )
        flipped: list[str | OrderBy] = []
        for item in order:
            if isinstance(item, OrderBy):
                flipped.append(OrderBy(item.expr, not item.descending))
            else:
                flipped.append(item[1:] if item.startswith("-") else "-" + item.lstrip("+"))
        clone = self._clone()
        clone._order_by = tuple(flipped)
        return clone

    def first(self) -> QuerySetSingle[M | None]:
        """The first row (by the ordering, else by pk), or None."""
        return QuerySetSingle(self._ordered().limit(1), SingleMode.FIRST)

    def last(self) -> QuerySetSingle[M | None]:
        """The last row (reversed ordering, else highest pk), or None."""
        return QuerySetSingle(self._reversed().limit(1), SingleMode.FIRST)

    def earliest(self, *fields: str) -> QuerySetSingle[M | None]:
        return QuerySetSingle(
            self.order_by(*fields).limit(1) if fields else self._ordered().limit(1), SingleMode.FIRST
        )

    def latest(self, *fields: str) -> QuerySetSingle[M | None]:
        qs = self.order_by(*fields) if fields else self._ordered()
        return QuerySetSingle(qs._reversed().limit(1), SingleMode.FIRST)

    def get(self, *args: Q | Expression, **kwargs: Any) -> QuerySetSingle[M]:
        """Exactly one row: DoesNotExist / MultipleObjectsReturned otherwise."""
        qs = self.filter(*args, **kwargs) if args or kwargs else self
        return QuerySetSingle(qs, SingleMode.GET)

    def get_or_none(self, *args: Q | Expression, **kwargs: Any) -> QuerySetSingle[M | None]:
        qs = self.filter(*args, **kwargs) if args or kwargs else self
        return QuerySetSingle(qs, SingleMode.GET_OR_NONE)

    async def get_or_create(
        self, defaults: dict[str, Any] | None = None, using_db: Any = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Like ``Model.get_or_create``; the queryset's own equality filters (``author.books``'
        foreign key, ``filter(kind="x")``) are part of the lookup and of a created row, and
        ``kwargs`` win over them."""
        # A value ``defaults`` gives wins over one the filters imply (yara-orm 1.19).
        implied = {
            k: v for k, v in equality_filters(self.model, self._where).items() if k not in (defaults or {})
        }
        lookup = {**implied, **kwargs}
        return await writes.get_or_create(self.model, defaults, using_db or self._db, lookup)

    async def update_or_create(
        self, defaults: dict[str, Any] | None = None, using_db: Any = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Like ``Model.update_or_create``, with the queryset's equality filters in the lookup."""
        lookup = {**equality_filters(self.model, self._where), **kwargs}
        return await writes.update_or_create(self.model, defaults, using_db or self._db, lookup)

    def _filter_create_kwargs(self) -> dict[str, Any]:
        """The field values a row created from this queryset's filters gets (yara-orm 1.19's
        name; what ``get_or_create`` adds to its lookup)."""
        return equality_filters(self.model, self._where)

    def __repr__(self) -> str:
        return f"<QuerySet {self.model.__name__}>"


def equality_filters(model: Any, where: tuple[Q | Expression, ...]) -> dict[str, Any]:
    """The ``field=value`` conditions every row of a queryset satisfies (plain keyword filters
    ANDed at the top level; lookups such as ``__gt`` and OR/NOT groups say nothing definite),
    by field or relation name (``pk`` as the primary key's name; annotations are left out)."""
    out: dict[str, Any] = {}
    meta = model._meta

    def walk(q: Q) -> None:
        if q.negated or (q.connector != Q.AND and len(q.children) > 1):
            return
        for child in q.children:
            if isinstance(child, Q):
                walk(child)
            elif "__" not in child[0] and not isinstance(child[1], Expression):
                name = meta.pk_attr if child[0] == "pk" else child[0]
                if name in meta.fields_map or name in meta.relations:
                    out[name] = child[1]

    for cond in where:
        if isinstance(cond, Q):
            walk(cond)
    return out


class ValuesQuery(QuerySet[Any], Generic[T]):
    """``values()`` / ``values_list()``: a queryset whose rows are dicts, tuples or values;
    awaiting gives ``list[T]``. Every QuerySet method chains on it."""

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self._fetch().__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return self.iterator()

    def iterator(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[T]:
        return _stream(self, chunk_size)

    def first(self) -> ValuesSingle[T | None]:  # type: ignore[override]
        return ValuesSingle(self._ordered().limit(1), SingleMode.FIRST)

    def get(self, *args: Q | Expression, **kwargs: Any) -> ValuesSingle[T]:  # type: ignore[override]
        return ValuesSingle(self.filter(*args, **kwargs), SingleMode.GET)

    def get_or_none(self, *args: Q | Expression, **kwargs: Any) -> ValuesSingle[T | None]:  # type: ignore[override]
        return ValuesSingle(self.filter(*args, **kwargs), SingleMode.GET_OR_NONE)

    def __repr__(self) -> str:
        return f"<ValuesQuery {self.model.__name__}>"


async def _stream(qs: QuerySet[Any], chunk_size: int) -> AsyncIterator[Any]:
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ParamsError(f"chunk_size must be a positive int, got {chunk_size!r}")
    executor, dialect = qs._executor()
    if isinstance(executor, Pool) and executor.current_transaction() is None:
        sql, params, plan = build.compile_select(qs, dialect)
        assert plan is not None
        cursor = await executor.cursor(sql, params, chunk_size)
        try:
            while True:
                # The engine builds each chunk's instances itself where it can (as in _fetch).
                items, fetched = await plan.fetch_chunk(cursor, executor.features)
                if qs._prefetch and qs._mode == ResultMode.INSTANCES and items:
                    # One prefetch query per relation per chunk keeps memory bounded.
                    await prefetch(items, qs._prefetch, qs._db)
                for item in items:
                    yield item
                # A short chunk is the last one: asking again would cost a round trip.
                if fetched < chunk_size:
                    break
        finally:
            await cursor.close()
        return
    # Inside a transaction the cursor would run on another connection and miss its writes:
    # page through the transaction's own connection instead, in a stable order.
    ordered = qs._ordered()
    if not qs._order_by:
        ordered = ordered._clone()
        ordered._order_by = (
            *(qs.model._meta.ordering if qs._default_ordering else ()),
            qs.model._meta.pk_attr,
        )
    start = qs._offset or 0
    remaining = qs._limit
    while remaining is None or remaining > 0:
        size = chunk_size if remaining is None else min(chunk_size, remaining)
        page = ordered._clone()
        page._offset = start or None
        page._limit = size
        rows = await page._fetch()
        for item in rows:
            yield item
        if len(rows) < size:
            break
        start += size
        if remaining is not None:
            remaining -= size


# -- the QuerySet API on the objects that stand for a queryset ---------------------------------------

# The public QuerySet methods: what Model, the managers and values querysets all offer.
QUERYSET_API: tuple[str, ...] = tuple(
    name for name, value in vars(QuerySet).items() if not name.startswith("_") and callable(value)
)
# What else a stand-in forwards: awaiting, ``async for``, slicing, use as a subquery.
_PROTOCOL = ("__await__", "__aiter__", "__getitem__", "_as_subquery")


def _routed(name: str) -> Any:
    method = getattr(QuerySet, name)

    @functools.wraps(method)
    def route(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.get_queryset(), name)(*args, **kwargs)

    return route


def _class_routed(name: str) -> Any:
    method = getattr(QuerySet, name)

    @functools.wraps(method)
    def route(owner: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(owner._default_qs(), name)(*args, **kwargs)

    return route


def route_to_queryset(cls: type[T]) -> type[T]:
    """Class decorator for the QuerySet subclasses that stand for a queryset built on demand
    (managers): each QuerySet method that ``cls``'s own body does not define runs on
    ``self.get_queryset()``. A method added to QuerySet reaches them, signature and docstring
    included, without being forwarded by hand."""
    own = vars(cls)
    for name in (*QUERYSET_API, *_PROTOCOL):
        if name not in own:
            setattr(cls, name, _routed(name))
    return cls


def class_routes(cls: type[T], skip: frozenset[str] = frozenset()) -> frozenset[str]:
    """Add each public QuerySet method that ``cls`` lacks as a classmethod running on
    ``cls._default_qs()`` (``Model.order_by(...)``); returns the names added."""
    added = []
    for name in QUERYSET_API:
        if name in skip or name in vars(cls):
            continue
        setattr(cls, name, classmethod(_class_routed(name)))
        added.append(name)
    return frozenset(added)
