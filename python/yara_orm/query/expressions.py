"""User-facing expressions: ``Q``, ``F`` (with arithmetic), ``Value``, ``Case``/``When``,
``Subquery``/``OuterRef``, ``Exists`` and ``RawSQL``.

An expression is a description; ``resolve(ctx)`` turns it into IR nodes against a query's
model, so the same expression can be reused in many querysets.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Hashable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from .. import fields
from ..exceptions import FieldError, ParamsError
from . import ir

if TYPE_CHECKING:
    from ..fields.base import Field
    from .context import QueryContext


def infer_field(value: Any) -> Field[Any] | None:
    """A field describing a bare Python value (for casts and decoding)."""
    if isinstance(value, bool):
        return fields.BooleanField()
    if isinstance(value, int):
        return fields.BigIntField()
    if isinstance(value, float):
        return fields.FloatField()
    if isinstance(value, str):
        return fields.TextField()
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return fields.DecimalField(
            max_digits=max(len(value.as_tuple().digits), places, 1) + 20, decimal_places=places
        )
    if isinstance(value, dt.datetime):
        return fields.DatetimeField()
    if isinstance(value, dt.date):
        return fields.DateField()
    if isinstance(value, dt.time):
        return fields.TimeField()
    if isinstance(value, dt.timedelta):
        return fields.TimeDeltaField()
    if isinstance(value, uuid.UUID):
        return fields.UUIDField()
    if isinstance(value, bytes):
        return fields.BinaryField()
    if isinstance(value, dict | list):
        return fields.JSONField()
    return None


class Expression:
    """Base of every expression. Arithmetic builds :class:`CombinedExpression`."""

    __slots__ = ()

    def resolve(self, ctx: QueryContext) -> ir.Node:
        raise NotImplementedError

    def shape(self) -> Hashable | None:
        """A hashable description without values, or None when the expression cannot be part of
        a cached query shape."""
        return None

    def _combine(self, connector: Connector, other: Any, reverse: bool = False) -> CombinedExpression:
        other_expr = other if isinstance(other, Expression) else Value(other)
        if reverse:
            return CombinedExpression(other_expr, connector, self)
        return CombinedExpression(self, connector, other_expr)

    def __add__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.add, other)

    def __radd__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.add, other, True)

    def __sub__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.sub, other)

    def __rsub__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.sub, other, True)

    def __mul__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.mul, other)

    def __rmul__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.mul, other, True)

    def __truediv__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.div, other)

    def __rtruediv__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.div, other, True)

    def __mod__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.mod, other)

    def __rmod__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.mod, other, True)

    def __pow__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.pow, other)

    def __rpow__(self, other: Any) -> CombinedExpression:
        return self._combine(Connector.pow, other, True)

    def __neg__(self) -> CombinedExpression:
        # ``x * -1`` (Tortoise's shape): keeps the operand's type, where ``0 - x`` would take
        # the literal's.
        return CombinedExpression(self, Connector.mul, Value(-1))

    def asc(self) -> OrderBy:
        return OrderBy(self, descending=False)

    def desc(self) -> OrderBy:
        return OrderBy(self, descending=True)


def to_expression(value: Any) -> Expression:
    return value if isinstance(value, Expression) else Value(value)


def field_or_expression(value: Any) -> Expression:
    """Function arguments: a string names a field, anything else is an expression or a value."""
    if isinstance(value, str):
        return F(value)
    return to_expression(value)


class F(Expression):
    """A reference to a field (or an annotation) of the query's model."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ParamsError("F() needs a field name")
        self.name = name

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ctx.resolve_ref(self.name)

    def shape(self) -> Hashable:
        return ("F", self.name)

    def __repr__(self) -> str:
        return f"F({self.name!r})"


class OuterRef(F):
    """In a ``Subquery``/``Exists``, a field of the enclosing query."""

    __slots__ = ()

    def resolve(self, ctx: QueryContext) -> ir.Node:
        if ctx.parent is None:
            raise FieldError(f"OuterRef({self.name!r}) can only be used inside a Subquery or Exists")
        return ctx.parent.resolve_ref(self.name)

    def shape(self) -> None:
        return None


class Value(Expression):
    """A constant, always bound as a parameter."""

    __slots__ = ("output_field", "value")

    def __init__(self, value: Any, output_field: Field[Any] | None = None) -> None:
        self.value = value
        self.output_field = output_field

    def resolve(self, ctx: QueryContext) -> ir.Node:
        field = self.output_field or infer_field(self.value)
        value = self.value
        if field is not None and value is not None:
            value = field.to_db(value)
        return ir.Param(value, field, cast=True)

    def __repr__(self) -> str:
        return f"Value({self.value!r})"


class Connector(Enum):
    """The arithmetic of :class:`CombinedExpression` (``F("a") + 1`` is ``Connector.add``);
    ``value`` is Tortoise's name for it, ``sql`` the operator the IR carries."""

    add = "add"
    sub = "sub"
    mul = "mul"
    div = "truediv"
    pow = "pow"
    mod = "mod"

    @property
    def sql(self) -> str:
        return _CONNECTOR_SQL[self]


_CONNECTOR_SQL = {
    Connector.add: "+",
    Connector.sub: "-",
    Connector.mul: "*",
    Connector.div: "/",
    Connector.pow: "^",
    Connector.mod: "%",
}
_SQL_CONNECTOR = {sql: connector for connector, sql in _CONNECTOR_SQL.items()}


class CombinedExpression(Expression):
    """``left <connector> right``; ``connector`` is a :class:`Connector` (an operator string
    such as ``"+"`` is accepted too)."""

    __slots__ = ("connector", "left", "right")

    def __init__(self, left: Expression, connector: Connector | str, right: Any) -> None:
        if not isinstance(connector, Connector):
            found = _SQL_CONNECTOR.get(connector)
            if found is None:
                try:
                    found = Connector(connector)
                except ValueError:
                    raise ParamsError(f"unknown arithmetic operator {connector!r}") from None
            connector = found
        self.left = left
        self.connector = connector
        self.right = to_expression(right)

    def resolve(self, ctx: QueryContext) -> ir.Node:
        # Values are cast to their own type: PostgreSQL would otherwise take the other
        # operand's type (an int column times 0.5 would bind 0.5 as an integer).
        left = self.left.resolve(ctx)
        right = self.right.resolve(ctx)
        op = self.connector.sql
        field = left.output_field if not isinstance(left, ir.Param) else right.output_field
        kinds = {f.type_key for f in (left.output_field, right.output_field) if f is not None}
        if "float" in kinds:
            field = next(f for f in (left.output_field, right.output_field) if f and f.type_key == "float")
        elif "decimal" in kinds and not kinds & {"datetime", "date", "time", "interval"}:
            field = next(f for f in (left.output_field, right.output_field) if f and f.type_key == "decimal")
        elif op == "^" and field is not None and field.type_key in ("smallint", "int", "bigint"):
            # POWER() of integers is a double on PostgreSQL and SQLite.
            field = fields.FloatField()
        elif op == "/" and field is not None and field.type_key in ("smallint", "int", "bigint"):
            # SQL's integer division, decoded as an integer whatever the column's range.
            field = fields.BigIntField()
        return ir.BinOp(op, left, right, field)

    def shape(self) -> Hashable | None:
        return None


class OrderBy:
    """``expr.asc()`` / ``expr.desc()`` for ``order_by``."""

    __slots__ = ("descending", "expr")

    def __init__(self, expr: Expression, descending: bool = False) -> None:
        self.expr = expr
        self.descending = descending


class Q:
    """A filter condition: keyword lookups combined with ``&``, ``|`` and ``~``."""

    __slots__ = ("children", "connector", "negated")
    AND = "AND"
    OR = "OR"

    def __init__(self, *args: Q, join_type: str = "AND", **kwargs: Any) -> None:
        if join_type not in ("AND", "OR"):
            raise ParamsError("join_type must be 'AND' or 'OR'")
        for arg in args:
            if not isinstance(arg, Q):
                raise ParamsError(f"Q() positional arguments must be Q objects, got {type(arg).__name__}")
        self.children: list[Q | tuple[str, Any]] = [*args, *kwargs.items()]
        self.connector = join_type
        self.negated = False

    @classmethod
    def _make(cls, children: list[Q | tuple[str, Any]], connector: str, negated: bool) -> Q:
        q = cls.__new__(cls)
        q.children = children
        q.connector = connector
        q.negated = negated
        return q

    def __and__(self, other: Q) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        return Q._make([self, other], "AND", False)

    def __or__(self, other: Q) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        return Q._make([self, other], "OR", False)

    def __invert__(self) -> Q:
        return Q._make(list(self.children), self.connector, not self.negated)

    def shape(self) -> Hashable | None:
        parts: list[Hashable] = []
        for child in self.children:
            if isinstance(child, Q):
                sub = child.shape()
                if sub is None:
                    return None
                parts.append(sub)
            else:
                key, value = child
                value_shape = leaf_shape(key, value)
                if value_shape is None:
                    return None
                parts.append((key, value_shape))
        return (self.connector, self.negated, tuple(parts))

    def leaves(self, out: list[tuple[str, Any]]) -> None:
        """Append the (key, value) leaves in the order the compiler binds them."""
        for child in self.children:
            if isinstance(child, Q):
                child.leaves(out)
            else:
                out.append(child)

    def __repr__(self) -> str:
        inner = f" {self.connector} ".join(repr(c) for c in self.children)
        return f"{'~' if self.negated else ''}Q({inner})"


_SHAPE_SAFE_SEQ = (list, tuple, set, frozenset)


def leaf_shape(key: str, value: Any) -> Hashable | None:
    """The part of a filter leaf that changes its SQL (not the value itself)."""
    if isinstance(value, Expression) or hasattr(value, "_as_subquery"):
        return None
    last = key.rpartition("__")[2]
    if last in ("isnull", "not_isnull"):
        return ("b", bool(value))
    if last in ("in", "not_in"):
        return ("n", len(value)) if isinstance(value, _SHAPE_SAFE_SEQ) else None
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return None
    return "v"


class When(Expression):
    """``WHEN <condition> THEN <then>`` inside :class:`Case`."""

    __slots__ = ("condition", "then")

    def __init__(self, *args: Q, then: Any, **kwargs: Any) -> None:
        if not args and not kwargs:
            raise ParamsError("When() needs a condition")
        self.condition = Q(*args, **kwargs)
        self.then = then


class Case(Expression):
    """``CASE WHEN ... THEN ... ELSE default END``. Plain values in ``then``/``default`` are
    values; use ``F("name")`` to return a field."""

    __slots__ = ("default", "output_field", "whens")

    def __init__(self, *whens: When, default: Any = None, output_field: Field[Any] | None = None) -> None:
        if not whens or not all(isinstance(w, When) for w in whens):
            raise ParamsError("Case() needs one or more When() arguments")
        self.whens = whens
        self.default = default
        self.output_field = output_field

    def resolve(self, ctx: QueryContext) -> ir.Node:
        pairs: list[tuple[ir.Node, ir.Node]] = []
        field = self.output_field
        for when in self.whens:
            result = self._result(ctx, when.then, field)
            field = field or result.output_field
            pairs.append((ctx.resolve_q(when.condition), result))
        default = self._result(ctx, self.default, field)
        field = field or default.output_field
        return ir.Case(pairs, default, field)

    @staticmethod
    def _result(ctx: QueryContext, value: Any, field: Field[Any] | None) -> ir.Node:
        if isinstance(value, Expression):
            return value.resolve(ctx)
        if value is None:
            return ir.Literal("NULL")
        return Value(value, field).resolve(ctx)


class Subquery(Expression):
    """A scalar subquery from a queryset selecting one column (``.values("x")`` or
    ``.values_list("x", flat=True)``), usually correlated through :class:`OuterRef`."""

    __slots__ = ("queryset",)

    def __init__(self, queryset: Any) -> None:
        if not hasattr(queryset, "_as_subquery"):
            raise ParamsError("Subquery() needs a queryset")
        self.queryset = queryset

    def resolve(self, ctx: QueryContext) -> ir.Node:
        select = self.queryset._as_subquery(ctx)
        field = select.columns[0].expr.output_field if select.columns else None
        return ir.SubSelect(select, field)


class Exists(Expression):
    """``EXISTS (subquery)``: usable in ``filter()`` and ``annotate()``."""

    __slots__ = ("negated", "queryset")

    def __init__(self, queryset: Any) -> None:
        if not hasattr(queryset, "_as_subquery"):
            raise ParamsError("Exists() needs a queryset")
        self.queryset = queryset
        self.negated = False

    def resolve(self, ctx: QueryContext) -> ir.Node:
        select = self.queryset._as_subquery(ctx, exists=True)
        # As an annotation it decodes as a boolean (SQLite returns 0/1).
        node: ir.Node = ir.Exists(select, fields.BooleanField())
        if self.negated:
            node = ir.Not(node)
        return node

    def __invert__(self) -> Exists:
        other = Exists(self.queryset)
        other.negated = not self.negated
        return other


class RawSQL(Expression):
    """Trusted SQL text; ``%s`` markers bind ``params`` (never interpolated).
    Set ``contains_aggregate=True`` when it aggregates, so it groups correctly."""

    __slots__ = ("contains_aggregate", "output_field", "params", "sql")

    def __init__(
        self,
        sql: str,
        params: Sequence[Any] = (),
        output_field: Field[Any] | None = None,
        contains_aggregate: bool = False,
    ) -> None:
        self.sql = sql
        self.params = tuple(params)
        self.output_field = output_field
        self.contains_aggregate = contains_aggregate

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ir.Raw(self.sql, self.params, self.output_field, self.contains_aggregate)
