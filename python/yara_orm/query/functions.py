"""Scalar SQL functions: ``Lower``, ``Upper``, ``Length``, ``Trim``, ``Concat``, ``Coalesce``,
``Cast``, ``Extract``, ``Trunc``, ``Abs``, ``Round``, ``Now``.

The first argument names a field (or is an expression); later plain arguments are values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .. import fields
from ..exceptions import ParamsError
from . import ir
from .expressions import Expression, F, Value, field_or_expression, to_expression

if TYPE_CHECKING:
    from ..fields.base import Field
    from .context import QueryContext

__all__ = [
    "Abs",
    "Cast",
    "Coalesce",
    "Concat",
    "CustomFunction",
    "Extract",
    "Function",
    "Length",
    "Lower",
    "Now",
    "Random",
    "Round",
    "SqlFunction",
    "Trim",
    "Trunc",
    "Upper",
]

DATE_PARTS = (
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "hour",
    "minute",
    "second",
    "microsecond",
    "iso_week_day",
    "week_day",
    "day_of_year",
)
TRUNC_KINDS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second")


# ``resolve`` of yara-orm 1.19's ``Function.render(resolve)``: a field name -> its column's SQL.
ColumnResolver = Callable[[str], str]


# A function name spliced into SQL: an identifier, optionally schema-qualified.
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


class SqlFunction(Expression):
    """A database function called by its SQL name, for functions Yara ORM has no class for:
    ``SqlFunction("JSON_SET", F("data"), "$.a", 2)``. Arguments are expressions or values (a
    string here is a value, not a field name); ``output_field`` says how to decode the result."""

    __slots__ = ("args", "name", "output_field")

    def __init__(self, name: str, *args: Any, output_field: Field[Any] | None = None) -> None:
        if not isinstance(name, str) or not _SQL_NAME.fullmatch(name):
            raise ParamsError(f"SqlFunction() needs a function name (an identifier), got {name!r}")
        self.name = name
        self.args: tuple[Expression, ...] = tuple(to_expression(a) for a in args)
        self.output_field = output_field

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ir.Func("call", [a.resolve(ctx) for a in self.args], self.output_field, extra=self.name)


class CustomFunction:
    """A named database function with a fixed argument list, to use as a :class:`Function`
    subclass's ``database_func``: ``CustomFunction("DATE_FORMAT", ["value", "format"])``."""

    __slots__ = ("arg_names", "name")

    def __init__(self, name: str, arg_names: list[str] | tuple[str, ...] = ()) -> None:
        if not isinstance(name, str) or not _SQL_NAME.fullmatch(name):
            raise ParamsError(f"CustomFunction() needs a function name (an identifier), got {name!r}")
        self.name = name
        self.arg_names = tuple(arg_names)

    def __call__(self, *args: Any) -> SqlFunction:
        if len(args) != len(self.arg_names):
            raise ParamsError(
                f"{self.name}() takes {len(self.arg_names)} arguments ({', '.join(self.arg_names)}), "
                f"got {len(args)}"
            )
        return SqlFunction(self.name, *args)


class Function(Expression):
    """A function over fields/expressions; subclasses set ``function`` (the dialect's name for
    it) and say what type the result has, or set ``database_func`` to a callable building the
    SQL call from the arguments (a :class:`CustomFunction`, or a :class:`SqlFunction` subclass).

    yara-orm 1.19's custom functions override :meth:`render` (``resolve`` maps a field name to
    its column's SQL) instead: such a subclass is compiled through it, as trusted SQL."""

    __slots__ = ("args",)
    function: ClassVar[str] = ""
    database_func: ClassVar[Any] = None

    def __init__(self, *args: Any) -> None:
        first, rest = (args[0], args[1:]) if args else (None, ())
        self.args: tuple[Expression, ...] = (
            (field_or_expression(first), *(to_expression(a) for a in rest)) if args else ()
        )

    def output(self, args: list[ir.Node]) -> Field[Any] | None:
        return args[0].output_field if args else None

    def resolve(self, ctx: QueryContext) -> ir.Node:
        if type(self).render is not Function.render:
            return self._resolve_rendered(ctx)
        build = type(self).database_func
        if build is not None:
            call = build(*self.args)
            if not isinstance(call, Expression):
                raise ParamsError(f"{type(self).__name__}.database_func must build an expression")
            return call.resolve(ctx)
        args = [a.resolve(ctx) for a in self.args]
        return ir.Func(self.function, args, self.output(args))

    def _resolve_rendered(self, ctx: QueryContext) -> ir.Node:
        q = ctx.dialect.quote

        def column_sql(name: str) -> str:
            node = ctx.resolve_ref(name)
            if not isinstance(node, ir.Column):
                raise ParamsError(f"{type(self).__name__}.render: {name!r} is not a column")
            return f"{q(node.alias)}.{q(node.column)}" if node.alias else q(node.column)

        sql = self.render(column_sql)
        # The text is trusted SQL without parameters: a literal ``%s`` in it stays as written.
        return ir.Raw(sql.replace("%", "%%") if "%s" in sql else sql)

    # -- yara-orm 1.19's rendering protocol ---------------------------------------------------

    def render(self, resolve: ColumnResolver) -> str:
        """This function as SQL, columns named through ``resolve``; a value operand cannot be
        written without a parameter (see :meth:`render_params`)."""
        sql, _ = self.render_params(resolve, None, None, 1)
        return sql

    def render_params(
        self, resolve: ColumnResolver, dialect: Any, params: list[Any] | None, idx: int
    ) -> tuple[str, int]:
        """This function as SQL with its values bound: each appended to ``params`` and written as
        ``dialect.placeholder(idx)``; returns the SQL and the next parameter index."""
        if type(self).render is not Function.render:
            return self.render(resolve), idx
        parts = []
        for arg in self.args:
            sql, idx = _render_operand(arg, resolve, dialect, params, idx)
            parts.append(sql)
        if self.function == "concat" and hasattr(dialect, "concat_sql"):
            return dialect.concat_sql(parts), idx
        return f"{self.function.upper()}({', '.join(parts)})", idx


def _render_operand(
    arg: Expression, resolve: ColumnResolver, dialect: Any, params: list[Any] | None, idx: int
) -> tuple[str, int]:
    if isinstance(arg, Function):
        return arg.render_params(resolve, dialect, params, idx)
    if isinstance(arg, F):
        return resolve(arg.name), idx
    if isinstance(arg, Value):
        if params is None or dialect is None:
            raise ParamsError("a function with a value operand renders through render_params()")
        params.append(arg.value)
        return dialect.placeholder(idx), idx + 1
    raise ParamsError(f"cannot render {type(arg).__name__} operands outside a query")


class _TextFunction(Function):
    __slots__ = ()

    def output(self, args: list[ir.Node]) -> Field[Any] | None:
        return fields.TextField()


class Lower(_TextFunction):
    __slots__ = ()
    function = "lower"


class Upper(_TextFunction):
    __slots__ = ()
    function = "upper"


class Trim(_TextFunction):
    __slots__ = ()
    function = "trim"


class Length(Function):
    __slots__ = ()
    function = "length"

    def output(self, args: list[ir.Node]) -> Field[Any] | None:
        return fields.IntField()


class Concat(_TextFunction):
    """Concatenate text; NULL parts count as empty strings."""

    __slots__ = ()
    function = "concat"


class Coalesce(Function):
    """The first non-NULL of the field and the fallback values."""

    __slots__ = ()
    function = "coalesce"

    def __init__(self, field: Any, *defaults: Any) -> None:
        if not defaults:
            raise ParamsError("Coalesce() needs a field and at least one fallback")
        super().__init__(field, *defaults)

    def resolve(self, ctx: QueryContext) -> ir.Node:
        first = self.args[0].resolve(ctx)
        field = first.output_field
        rest: list[ir.Node] = []
        for arg in self.args[1:]:
            if isinstance(arg, Value) and field is not None and arg.output_field is None:
                rest.append(Value(arg.value, field).resolve(ctx))
            else:
                rest.append(arg.resolve(ctx))
        return ir.Func(self.function, [first, *rest], field or (rest[0].output_field if rest else None))


class Abs(Function):
    __slots__ = ()
    function = "abs"


class Round(Function):
    """Round to ``places`` decimal places (a float result, or a Decimal for decimal fields)."""

    __slots__ = ("places",)
    function = "round"

    def __init__(self, field: Any, places: int = 0) -> None:
        if not isinstance(places, int) or isinstance(places, bool):
            raise ParamsError("Round() places must be an int")
        super().__init__(field)
        self.places = places

    def resolve(self, ctx: QueryContext) -> ir.Node:
        arg = self.args[0].resolve(ctx)
        src = arg.output_field
        out: Field[Any] = (
            fields.DecimalField(max_digits=getattr(src, "max_digits", 30), decimal_places=max(self.places, 0))
            if src is not None and src.type_key == "decimal"
            else fields.FloatField()
        )
        args = [arg]
        if self.places:
            args.append(ir.Literal(str(int(self.places))))
        return ir.Func(self.function, args, out)


class Now(Expression):
    """The current timestamp of the database server."""

    __slots__ = ()

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ir.Func("now", [], fields.DatetimeField())

    def to_sql(self, dialect: Any) -> str:
        """As a column default (``DatetimeField(default=Now())``)."""
        return "CURRENT_TIMESTAMP"


class Random(Expression):
    """A random number per row (``RANDOM()``): ``annotate(r=Random()).order_by("r")``."""

    __slots__ = ()

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ir.Func("random", [], fields.FloatField())


class Cast(Expression):
    """``CAST(expr AS <type of output_field>)``, e.g. ``Cast("price", fields.IntField())``."""

    __slots__ = ("expr", "output_field")

    def __init__(self, expr: Any, output_field: Field[Any]) -> None:
        if not isinstance(output_field, fields.Field):
            raise ParamsError("Cast() needs a field instance as output_field, e.g. fields.IntField()")
        self.expr = field_or_expression(expr)
        self.output_field = output_field

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ir.Cast(self.expr.resolve(ctx), self.output_field)


class Extract(Expression):
    """A part of a date/time (``year``, ``quarter``, ``month``, ``week``, ``day``, ``hour``,
    ``minute``, ``second``, ``microsecond``, ``iso_week_day``, ``week_day``, ``day_of_year``);
    instants are read in UTC."""

    __slots__ = ("expr", "part")

    def __init__(self, expr: Any, part: str) -> None:
        if part not in DATE_PARTS:
            raise ParamsError(f"Extract part must be one of {', '.join(DATE_PARTS)}; got {part!r}")
        self.expr = field_or_expression(expr)
        self.part = part

    def resolve(self, ctx: QueryContext) -> ir.Node:
        return ir.Func("extract", [self.expr.resolve(ctx)], fields.IntField(), extra=self.part)


class Trunc(Expression):
    """A date/time truncated to ``year``, ``quarter``, ``month``, ``week`` (Monday), ``day``,
    ``hour``, ``minute`` or ``second``."""

    __slots__ = ("expr", "kind")

    def __init__(self, expr: Any, kind: str) -> None:
        if kind not in TRUNC_KINDS:
            raise ParamsError(f"Trunc kind must be one of {', '.join(TRUNC_KINDS)}; got {kind!r}")
        self.expr = field_or_expression(expr)
        self.kind = kind

    def resolve(self, ctx: QueryContext) -> ir.Node:
        arg = self.expr.resolve(ctx)
        return ir.Func("trunc", [arg], arg.output_field or fields.DatetimeField(), extra=self.kind)
