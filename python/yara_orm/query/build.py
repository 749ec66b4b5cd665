"""Turn a queryset's state into IR statements, and cache whole query shapes.

A shape is everything about a queryset except its filter values. When the same shape comes
again, the cached SQL and decode plan are reused and only the values are re-bound, through the
same parameter builders a fresh compile would have used.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import fields
from ..exceptions import ConfigurationError, FieldError, ParamsError, UnSupportedError
from . import decode, ir, joins
from .cache import ShapeKey
from .compiler import Compiler
from .context import QueryContext
from .expressions import Expression, OrderBy, Q, Value
from .prefetch import add_select_related

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..fields.base import Field
    from ..models.model import Model
    from .queryset import QuerySet

ResultMode = decode.ResultMode


class SelectKind(enum.StrEnum):
    """What ``compile_select`` builds from a queryset."""

    ROWS = "select"
    COUNT = "count"
    EXISTS = "exists"


class SelectPlan:
    """A built SELECT: the IR, the context it was resolved in, and how to decode rows."""

    __slots__ = ("base_count", "converters", "ctx", "loaded", "names", "related", "select")

    def __init__(
        self,
        select: ir.Select,
        ctx: QueryContext,
        names: list[str],
        converters: list[decode.Converter | None],
        loaded: frozenset[str] | None,
    ) -> None:
        self.select = select
        self.ctx = ctx
        self.names = names
        self.converters = converters
        self.loaded = loaded
        self.related: list[decode.RelatedColumns] = []
        self.base_count = len(names)


class RelatedRestriction:
    """``only("contact__properties")`` / ``defer(...)`` on one select_related path: the
    related instance loads only (or all but) these fields, plus what linking needs."""

    __slots__ = ("defer", "only")

    def __init__(self) -> None:
        self.only: set[str] | None = None
        self.defer: set[str] = set()


def split_paths(
    model: type[Model], only: tuple[str, ...] | None, defer: tuple[str, ...]
) -> tuple[tuple[str, ...] | None, tuple[str, ...], dict[tuple[str, ...], RelatedRestriction]]:
    """Separate ``rel__field`` names of only()/defer() (through forward relations) from the base
    model's own; returns the base only/defer names and a restriction per relation path."""
    restrictions: dict[tuple[str, ...], RelatedRestriction] = {}
    base_only: list[str] | None = None if only is None else []
    base_defer: list[str] = []
    for names, deferring in ((only or (), False), (defer, True)):
        for name in names:
            path = related_field_path(model, name)
            if path is None:
                (base_defer if deferring else base_only).append(name)  # type: ignore[union-attr]
                continue
            rel_path, leaf = path
            entry = restrictions.setdefault(rel_path, RelatedRestriction())
            if deferring:
                entry.defer.add(leaf)
            else:
                entry.only = {*(entry.only or ()), leaf}
    return (None if base_only is None else tuple(base_only)), tuple(base_defer), restrictions


def related_field_path(model: type[Model], name: str) -> tuple[tuple[str, ...], str] | None:
    """``("contact", "country"), "code"`` for ``"contact__country__code"`` (a field reached
    through forward/one-to-one relations), None for a name without ``__``; FieldError when the
    path does not lead to a field that way."""
    if "__" not in name:
        return None
    *rels, leaf = name.split("__")
    current = model
    for rel_name in rels:
        rel = current._meta.relations.get(rel_name)
        if rel is None or rel.kind not in ("fk", "reverse_o2o"):
            raise FieldError(
                f"only()/defer() path {name!r}: {rel_name!r} is not a foreign key or one-to-one "
                f"relation of {current.__name__}"
            )
        current = rel.target
    if leaf not in current._meta.fields_map and leaf != "pk":
        raise FieldError(
            f"only()/defer() path {name!r}: {current.__name__} has no field {leaf!r}; "
            f"valid choices: {', '.join(current._meta.fields_map)}"
        )
    return tuple(rels), leaf


def selected_fields(
    qs: QuerySet[Any], restrictions: dict[tuple[str, ...], RelatedRestriction] | None = None
) -> list[Field[Any]]:
    meta = qs.model._meta
    only, defer = qs._only, qs._defer
    if restrictions is not None:
        only, defer, _ = split_paths(qs.model, only, defer)
    if only is None and not defer:
        return meta.fields  # type: ignore[no-any-return]
    if only is not None and qs._annotations:
        # Annotations are always selected; naming one in only() says so (Tortoise code does).
        only = tuple(name for name in only if name not in qs._annotations)
    for name in (*(only or ()), *defer):
        if name not in meta.fields_map and name != "pk":
            raise FieldError(
                f"unknown field {name!r} in only()/defer() on {qs.model.__name__}; "
                f"valid choices: {', '.join(meta.fields_map)}"
            )
    wanted = set(only) if only is not None else set(meta.fields_map)
    wanted -= set(defer)
    wanted.add(meta.pk_attr)
    # The key columns of the relations a related path goes through (the descriptor compares the
    # cached object with them).
    for rel_path in restrictions or ():
        rel = meta.relations[rel_path[0]]
        if rel.kind == "fk" and rel.field is not None and rel.field.id_field is not None:
            wanted.add(rel.field.id_field.model_field_name)
    return [f for f in meta.fields if f.model_field_name in wanted]


def column_node(ctx: QueryContext, field: Field[Any], alias: str | None = None) -> ir.Node:
    col = ctx.column(field) if alias is None else ir.Column(alias, field.column, field)
    if field.type_key == "json" and getattr(field, "custom_decoder", False):
        # A custom decoder gets the document's text, not the engine's parsed value.
        return ir.Func("json_text", [col], None)
    return col


def build_select(
    qs: QuerySet[Any], dialect: Dialect, parent: QueryContext | None = None, collect: bool = False
) -> SelectPlan:
    model = qs.model
    meta = model._meta
    ctx = QueryContext(model, dialect, parent)
    for name, expr in qs._annotations.items():
        if name in meta.fields_map or name == "pk":
            raise FieldError(f"annotation {name!r} collides with a field of {model.__name__}; rename it")
        ctx.annotations[name] = expr.resolve(ctx)
    if collect and not qs._annotations:
        ctx.builders = []

    where: list[ir.Node] = []
    having: list[ir.Node] = []
    for cond in qs._where:
        node = ctx.resolve_condition(cond)
        (having if node.contains_aggregate else where).append(node)

    items: list[ir.SelectItem] = []
    names: list[str] = []
    converters: list[decode.Converter | None] = []
    loaded: frozenset[str] | None = None
    selected_annotations: set[str] = set()
    restrictions: dict[tuple[str, ...], RelatedRestriction] = {}
    select_related = qs._select_related
    if qs._mode is ResultMode.INSTANCES and any("__" in n for n in (*(qs._only or ()), *qs._defer)):
        _only, _defer, restrictions = split_paths(model, qs._only, qs._defer)
        # A related path selects its relation (and every relation on the way).
        select_related = tuple(dict.fromkeys((*select_related, *("__".join(p) for p in restrictions))))
    if qs._mode is ResultMode.INSTANCES:
        fields = selected_fields(qs, restrictions or None)
        if len(fields) != len(meta.fields):
            loaded = frozenset(f.model_field_name for f in fields)
        for field in fields:
            items.append(ir.SelectItem(column_node(ctx, field)))
            names.append(field.model_field_name)
            converters.append(decode.column_converter(field, dialect))
        for name, node in ctx.annotations.items():
            items.append(ir.SelectItem(node, name))
            names.append(name)
            converters.append(decode.converter_for(node, dialect))
            selected_annotations.add(name)
    else:
        assert qs._fields is not None
        for out_name, source in qs._fields:
            if source not in ctx.annotations and (source in meta.relations or "__" in source):
                many = joins.ends_on_many(qs.model, source.split("__"))
                if many is not None:
                    raise ParamsError(
                        f'Selecting relation "{many}" is not possible, select concrete field on related model'
                    )
            node = ctx.resolve_ref(source)
            out_field = node.output_field
            if isinstance(node, ir.Column) and out_field is not None:
                items.append(ir.SelectItem(column_node(ctx, out_field, node.alias)))
                converters.append(decode.column_converter(out_field, dialect))
            else:
                items.append(ir.SelectItem(node, source))
                converters.append(decode.converter_for(node, dialect))
                selected_annotations.add(source)
            names.append(out_name)

    related: list[decode.RelatedColumns] = []
    base_count = len(items)
    if select_related and qs._mode is ResultMode.INSTANCES:
        related = add_select_related(ctx, select_related, items, names, converters, restrictions)
    select = ir.Select(ctx.table, items)
    select.joins = ctx.joins
    if where:
        select.where = where[0] if len(where) == 1 else ir.Junction("AND", where)
    if having:
        select.having = having[0] if len(having) == 1 else ir.Junction("AND", having)
    if qs._group_by:
        select.group_by = [ctx.resolve_ref(name) for name in qs._group_by]
    elif having or any(item.expr.contains_aggregate for item in items):
        select.group_by = [
            item.expr
            for item in items
            if not item.expr.contains_aggregate and not isinstance(item.expr, ir.Param | ir.Literal)
        ]
    order = qs._order_by
    if not order and qs._default_ordering and not select.group_by and not select.having:
        try:
            select.order_by = [_order_item(ctx, item, selected_annotations) for item in meta.ordering]
        except FieldError as exc:
            # The model's definition is wrong, not this query.
            raise ConfigurationError(f"{model.__name__}.Meta.ordering: {exc}") from None
    else:
        select.order_by = [_order_item(ctx, item, selected_annotations) for item in order]
    select.limit = qs._limit
    select.offset = qs._offset
    select.distinct = qs._distinct
    if qs._for_update is not None:
        for name, node in ctx.annotations.items():
            # Grouped rows and window results are no table rows to lock; raw SQL may be either.
            if node.contains_aggregate or isinstance(node, ir.Raw):
                raise UnSupportedError(
                    f"select_for_update() cannot lock rows annotated with {name!r} (an aggregate "
                    "or raw SQL, which may group or window the rows); annotate without locking"
                )
        if dialect.supports_for_update:
            select.for_update = qs._for_update
    plan = SelectPlan(select, ctx, names, converters, loaded)
    plan.related = related
    plan.base_count = base_count
    return plan


def _order_item(ctx: QueryContext, item: str | OrderBy, selected: set[str]) -> ir.OrderBy:
    if isinstance(item, OrderBy):
        return ir.OrderBy(item.expr.resolve(ctx), item.descending)
    if item == "?":  # random order, as in Django and Tortoise
        return ir.OrderBy(ir.Func("random", [], None), False)
    descending = item.startswith("-")
    name = item[1:] if descending or item.startswith("+") else item
    if name in selected:
        return ir.OrderBy(ir.Literal(ctx.dialect.quote(name)), descending)
    many = joins.ends_on_many(ctx.model, name.split("__")) if name not in ctx.annotations else None
    if many is not None:
        # One row has many related rows: there is no single value to order it by.
        raise FieldError(
            f"cannot order by {item!r}: {many!r} is a reverse or many-to-many relation of "
            f"{ctx.model.__name__}; order by one of its fields ({many}__<field>)"
        )
    try:
        return ir.OrderBy(ctx.resolve_ref(name), descending)
    except FieldError as exc:
        raise FieldError(f"cannot order by {item!r}: {exc}") from None


def decode_plan(qs: QuerySet[Any], plan: SelectPlan, generated: bool) -> decode.DecodePlan:
    """The decode plan of a built SELECT (``generated``: worth generating Python code for)."""
    return decode.DecodePlan(
        qs._mode,
        qs.model,
        plan.names,
        plan.converters,
        plan.loaded,
        plan.related,
        plan.base_count,
        generated,
    )


def _leaf_values(qs: QuerySet[Any]) -> list[tuple[str, Any]]:
    leaves: list[tuple[str, Any]] = []
    for cond in qs._where:
        assert isinstance(cond, Q)
        cond.leaves(leaves)
    return leaves


def _bind(builders: Sequence[Callable[[Any], list[Any]]], leaves: list[tuple[str, Any]]) -> list[Any]:
    params: list[Any] = []
    for builder, (_key, value) in zip(builders, leaves, strict=True):
        params.extend(builder(value))
    return params


def compile_select(
    qs: QuerySet[Any], dialect: Dialect, kind: SelectKind = SelectKind.ROWS
) -> tuple[str, list[Any], decode.DecodePlan | None]:
    """SQL, parameters and decode plan for ``qs`` (``kind``: rows, count or exists; the
    latter two read one scalar and have no plan)."""
    meta = qs.model._meta
    shape = qs._shape_key()
    key = ShapeKey(dialect.name, kind, shape) if shape is not None else None
    if key is not None:
        cached = meta.statements.get(key)
        if cached is not None:
            sql, builders, cached_plan = cached
            return sql, _bind(builders, _leaf_values(qs)), cached_plan
    plan = build_select(qs, dialect, collect=key is not None)
    rows: decode.DecodePlan | None = None
    if kind is SelectKind.COUNT:
        stmt = count_statement(plan)
    elif kind is SelectKind.EXISTS:
        stmt = plan.select
        stmt.columns = [ir.SelectItem(ir.Literal("1"))]
        stmt.order_by = []
        if stmt.limit is None or stmt.limit > 1:
            stmt.limit = 1
    else:
        stmt = plan.select
        rows = decode_plan(qs, plan, generated=key is not None)
    sql, params = Compiler(dialect).compile(stmt)
    builders = plan.ctx.builders
    if key is not None and builders is not None:
        leaves = _leaf_values(qs)
        # Cache only when re-binding reproduces exactly what this compile bound.
        if len(builders) == len(leaves) and _same(_bind(builders, leaves), params):
            meta.statements.put(key, (sql, tuple(builders), rows))
    return sql, params, rows


def _same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        x is y or (type(x) is type(y) and x == y) for x, y in zip(a, b, strict=True)
    )


def count_statement(plan: SelectPlan) -> ir.Select:
    inner = plan.select
    count = ir.Aggregate("count", None, output_field=fields.BigIntField())
    inner.order_by = []
    if inner.limit is not None or inner.offset or inner.distinct or inner.group_by or inner.having:
        outer = ir.Select(ir.TableRef("_count", "_count"), [ir.SelectItem(count)])
        outer.from_subquery = inner
        return outer
    inner.columns = [ir.SelectItem(count)]
    return inner


def build_aggregate(
    qs: QuerySet[Any], dialect: Dialect, aggregates: dict[str, Expression]
) -> tuple[str, list[Any], list[str], list[decode.Converter | None]]:
    if qs._limit is not None or qs._offset:
        raise ParamsError("aggregate() cannot be used on a sliced queryset (limit/offset)")
    plan = build_select(qs, dialect)
    ctx = plan.ctx
    select = plan.select
    items = []
    converters: list[decode.Converter | None] = []
    for name, expr in aggregates.items():
        if not isinstance(expr, Expression):
            raise ParamsError(f"aggregate({name}=...) needs an aggregate expression such as Count('id')")
        node = expr.resolve(ctx)
        if not node.contains_aggregate:
            raise ParamsError(f"aggregate({name}=...) is not an aggregate expression")
        items.append(ir.SelectItem(node, name))
        converters.append(decode.converter_for(node, dialect))
    if select.group_by or select.having or select.distinct:
        raise ParamsError("aggregate() over a grouped or distinct queryset is not supported; use annotate()")
    select.columns = items
    select.order_by = []
    sql, params = Compiler(dialect).compile(select)
    return sql, params, list(aggregates), converters


def where_for_write(qs: QuerySet[Any], dialect: Dialect, action: str) -> tuple[QueryContext, ir.Node | None]:
    if qs._limit is not None or qs._offset:
        raise ParamsError(
            f"{action}() cannot be used on a sliced queryset (limit/offset); filter by pk instead"
        )
    if qs._fields is not None and qs._mode is not ResultMode.INSTANCES:
        raise ParamsError(f"{action}() cannot be used after values()/values_list()")
    ctx = QueryContext(qs.model, dialect)
    where = _write_where(qs, ctx, action)
    if ctx.joins:
        # UPDATE/DELETE cannot join portably: filter by primary key through a subquery that can.
        outer = QueryContext(qs.model, dialect)
        inner = QueryContext(qs.model, dialect, parent=outer)
        sub = ir.Select(inner.table, [ir.SelectItem(inner.column(inner.meta.pk))])
        sub.where = _write_where(qs, inner, action)
        sub.joins = inner.joins
        return outer, ir.Lookup("in", outer.column(outer.meta.pk), [ir.SubSelect(sub)])
    return ctx, where


def _write_where(qs: QuerySet[Any], ctx: QueryContext, action: str) -> ir.Node | None:
    for name, expr in qs._annotations.items():
        ctx.annotations[name] = expr.resolve(ctx)
    nodes = [ctx.resolve_condition(cond) for cond in qs._where]
    if any(n.contains_aggregate for n in nodes):
        raise ParamsError(f"{action}() cannot filter on aggregates")
    return None if not nodes else nodes[0] if len(nodes) == 1 else ir.Junction("AND", nodes)


def build_update(qs: QuerySet[Any], dialect: Dialect, values: dict[str, Any]) -> tuple[str, list[Any]]:
    if not values:
        raise ParamsError("update() needs at least one field=value")
    ctx, where = where_for_write(qs, dialect, "update")
    meta = qs.model._meta
    assignments: list[tuple[str, ir.Node]] = []
    for name, value in values.items():
        field = meta.lookup_field(name)
        rel = meta.relations.get(name) if field is None else None
        if rel is not None and rel.kind == "fk" and rel.field is not None:
            # ``update(author=instance)``: the key column takes the instance's key.
            field = rel.field.id_field
        if field is None:
            raise FieldError(
                f"unknown field {name!r} in update() on {qs.model.__name__}; "
                f"valid choices: {', '.join(meta.fields_map)}"
            )
        if field.pk:
            raise ParamsError("update() cannot change the primary key")
        if isinstance(value, Value):
            node: ir.Node = ir.Param(field.to_db(value.value), field)
        elif isinstance(value, Expression):
            node = value.resolve(ctx)
            if node.contains_aggregate:
                raise ParamsError("update() values cannot contain aggregates")
        else:
            node = ir.Param(field.to_db(value), field)
        assignments.append((field.column, node))
    stmt = ir.Update(ctx.table, assignments, where)
    return Compiler(dialect).compile(stmt)


def build_delete(qs: QuerySet[Any], dialect: Dialect) -> tuple[str, list[Any]]:
    ctx, where = where_for_write(qs, dialect, "delete")
    return Compiler(dialect).compile(ir.Delete(ctx.table, where))
