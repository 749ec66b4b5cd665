"""Aggregates: ``Count``, ``Sum``, ``Avg``, ``Min``, ``Max`` with ``distinct=`` and
``_filter=`` (a ``Q`` applied as ``FILTER (WHERE ...)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from .. import fields
from ..exceptions import ParamsError
from . import ir
from .expressions import Expression, Q, field_or_expression

if TYPE_CHECKING:
    from ..fields.base import Field
    from .context import QueryContext

__all__ = ["Aggregate", "Avg", "Count", "Max", "Min", "Sum"]


class Aggregate(Expression):
    __slots__ = ("distinct", "expr", "filter")
    function: ClassVar[str] = ""

    def __init__(self, field: Any = "*", distinct: bool = False, _filter: Q | None = None) -> None:
        if _filter is not None and not isinstance(_filter, Q):
            raise ParamsError(f"{type(self).__name__}(_filter=...) must be a Q object")
        self.expr: Expression | None = None if field == "*" else field_or_expression(field)
        self.distinct = distinct
        self.filter = _filter

    def output(self, arg: ir.Node | None) -> Field[Any] | None:
        return arg.output_field if arg is not None else None

    def resolve(self, ctx: QueryContext) -> ir.Node:
        arg = self.expr.resolve(ctx) if self.expr is not None else None
        if arg is not None and arg.contains_aggregate:
            raise ParamsError(f"{type(self).__name__}() cannot contain another aggregate")
        cond = self._resolve_filter(ctx) if self.filter is not None else None
        return ir.Aggregate(self.function, arg, self.distinct, cond, self.output(arg))

    def _resolve_filter(self, ctx: QueryContext) -> ir.Node:
        # The condition is about the rows being aggregated: ``Count("events",
        # _filter=Q(events__name="x"))`` tests the joined event rows themselves, so paths through
        # a reverse key or many-to-many reuse the aggregate's joins instead of a subquery.
        assert self.filter is not None
        saved = ctx.many_as_subquery
        ctx.many_as_subquery = False
        try:
            return ctx.resolve_q(self.filter)
        finally:
            ctx.many_as_subquery = saved


class Count(Aggregate):
    __slots__ = ()
    function = "count"

    def output(self, arg: ir.Node | None) -> Field[Any] | None:
        return fields.BigIntField()


class Sum(Aggregate):
    __slots__ = ()
    function = "sum"

    def __init__(self, field: Any, distinct: bool = False, _filter: Q | None = None) -> None:
        super().__init__(field, distinct, _filter)

    def output(self, arg: ir.Node | None) -> Field[Any] | None:
        src = arg.output_field if arg is not None else None
        if src is None or src.type_key in ("smallint", "int", "bigint", "bool"):
            return fields.BigIntField() if src is not None else None
        if src.type_key == "decimal":
            return fields.DecimalField(max_digits=60, decimal_places=getattr(src, "decimal_places", 0))
        return src  # type: ignore[no-any-return]


class Avg(Aggregate):
    """The mean, as a float."""

    __slots__ = ()
    function = "avg"

    def __init__(self, field: Any, distinct: bool = False, _filter: Q | None = None) -> None:
        super().__init__(field, distinct, _filter)

    def output(self, arg: ir.Node | None) -> Field[Any] | None:
        return fields.FloatField()


class Min(Aggregate):
    __slots__ = ()
    function = "min"

    def __init__(self, field: Any, distinct: bool = False, _filter: Q | None = None) -> None:
        super().__init__(field, distinct, _filter)


class Max(Aggregate):
    __slots__ = ()
    function = "max"

    def __init__(self, field: Any, distinct: bool = False, _filter: Q | None = None) -> None:
        super().__init__(field, distinct, _filter)
