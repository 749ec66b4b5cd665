"""Filter lookups (``name__icontains=...``): validating values and preparing their parameters.

``prepare_params`` is the single place that turns a filter value into bound values, so the
query-shape cache can rebind new values into a cached statement exactly as a fresh compile
would. The SQL of each lookup belongs to the dialect.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import _engine, fields
from ..exceptions import FieldError, ParamsError, UnSupportedError, ValidationError
from . import ir
from .functions import DATE_PARTS

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..fields.base import Field

COMPARISONS = ("exact", "not", "gt", "gte", "lt", "lte")
TEXT_LOOKUPS = ("iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith")
LOOKUPS = frozenset(
    (
        *COMPARISONS,
        "in",
        "not_in",
        "range",
        "isnull",
        "not_isnull",
        *TEXT_LOOKUPS,
        "regex",
        "iregex",
        "search",
        "contained_by",
        "has_key",
        "has_keys",
        "has_any_keys",
    )
)
# Tortoise's names for the regular-expression lookups (POSIX syntax, as ours take).
ALIASES = {"posix_regex": "regex", "iposix_regex": "iregex"}
LOOKUPS = LOOKUPS | ALIASES.keys()
TRANSFORMS = (*DATE_PARTS, "date")
JSON_LOOKUPS = frozenset(
    ("exact", "not", "isnull", "not_isnull", "contains", "contained_by", "has_key", "in", "not_in")
)
JSON_PATH_LOOKUPS = frozenset(
    ("exact", "not", "isnull", "not_isnull", "gt", "gte", "lt", "lte", "in", "not_in")
)
_DATE_TYPES = ("date", "datetime", "time")


def valid_lookups_for(field: Field[Any] | None) -> list[str]:
    if field is not None and field.type_key == "json":
        return sorted(JSON_LOOKUPS)
    names = sorted(LOOKUPS - {"contained_by", "has_key", "has_keys", "has_any_keys", *ALIASES})
    if field is not None and field.type_key in _DATE_TYPES:
        names += [f"{t} (transform)" for t in TRANSFORMS]
    return names


def transform_output(part: str) -> Field[Any]:
    return fields.DateField() if part == "date" else fields.IntField()


def _as_sequence(lookup: str, value: Any) -> list[Any]:
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        raise ParamsError(
            f"the {lookup!r} lookup needs a list, tuple or set of values, got {type(value).__name__}"
        )
    return list(value)


def _text(lookup: str, field: Field[Any] | None, value: Any) -> str:
    if isinstance(value, str):
        return value
    if field is not None and field.type_key in ("varchar", "text"):
        raise ValidationError(
            f"{field.qualified_name}: the {lookup!r} lookup needs a str, got {type(value).__name__}"
        )
    if field is not None and value is not None and not isinstance(value, bool | bytes):
        return str(field.db_value(field.coerce(value)))
    raise ValidationError(f"the {lookup!r} lookup needs a str, got {type(value).__name__}")


_ORDERING = frozenset(("gt", "gte", "lt", "lte"))
_INTEGER_KEYS = frozenset(("smallint", "int", "bigint"))


def fractional_against_integer(lookup: str, field: Field[Any] | None, value: Any) -> bool:
    """Whether ``value`` is a float with a fraction ordered against an integer column."""
    return (
        type(value) is float
        and lookup in _ORDERING
        and field is not None
        and field.type_key in _INTEGER_KEYS
        and not value.is_integer()
    )


def _convert(field: Field[Any] | None, value: Any) -> Any:
    if field is None:
        return value
    return field.lookup_value(value)


def prepare_params(dialect: Dialect, lookup: str, field: Field[Any] | None, value: Any) -> list[Any]:
    """The bound values of ``lookup`` on ``field`` for a plain (non-expression) ``value``."""
    if lookup in COMPARISONS:
        return [_convert(field, value)]
    if lookup in ("in", "not_in"):
        return [_convert(field, v) for v in _as_sequence(lookup, value)]
    if lookup == "range":
        items = _as_sequence(lookup, value)
        if len(items) != 2:
            raise ParamsError(f"the 'range' lookup needs exactly two values (low, high), got {len(items)}")
        return [_convert(field, items[0]), _convert(field, items[1])]
    if lookup in ("isnull", "not_isnull"):
        return []
    if lookup in TEXT_LOOKUPS:
        return [dialect.pattern_value(lookup, _text(lookup, field, value))]
    if lookup in ("regex", "iregex", "search"):
        if not isinstance(value, str):
            raise ValidationError(f"the {lookup!r} lookup needs a str, got {type(value).__name__}")
        return [value]
    raise FieldError(f"unknown lookup {lookup!r}")


def build(
    dialect: Dialect, lookup: str, lhs: ir.Node, field: Field[Any] | None, value: Any, rhs: ir.Node | None
) -> ir.Node:
    """The condition node for ``lhs <lookup> value`` (``rhs`` set when the value is an expression)."""
    if rhs is not None:
        if lookup in ("isnull", "not_isnull", "range", "search"):
            raise ParamsError(f"the {lookup!r} lookup does not take an expression")
        if lookup in ("in", "not_in") and not isinstance(rhs, ir.SubSelect):
            raise ParamsError(f"the {lookup!r} lookup takes a list of values or a queryset")
        return ir.Lookup(lookup, lhs, [rhs], field)
    if value is None and lookup in ("exact", "not"):
        return ir.Lookup("isnull", lhs, [], field, extra=lookup == "exact")
    if lookup in ("isnull", "not_isnull"):
        if not isinstance(value, bool | int) or value not in (0, 1):
            raise ValidationError(f"the {lookup!r} lookup needs True or False, got {value!r}")
        return ir.Lookup(lookup, lhs, [], field, extra=bool(value))
    if lookup in ("regex", "iregex") and not dialect.supports_regex:
        raise UnSupportedError(f"the {dialect.name} backend does not support the {lookup!r} lookup")
    if lookup == "search" and not dialect.supports_full_text:
        raise UnSupportedError(f"the {dialect.name} backend has no full-text 'search' lookup")
    params = prepare_params(dialect, lookup, field, value)
    return ir.Lookup(lookup, lhs, [ir.Param(p) for p in params], field)


def build_json(
    dialect: Dialect, lookup: str, lhs: ir.Node, field: Any, path: tuple[str, ...], value: Any
) -> ir.Node:
    """Lookups on a JSON column (``data__contains={...}``) or a key path in it
    (``data__owner__name="x"``, ``data__size__gt=3``)."""
    if not path:
        if lookup not in JSON_LOOKUPS:
            raise FieldError(
                f"unknown lookup {lookup!r} for JSON field {field.qualified_name}; "
                f"valid: {', '.join(sorted(JSON_LOOKUPS))}"
            )
        if lookup in ("isnull", "not_isnull") or (value is None and lookup in ("exact", "not")):
            return build(dialect, lookup, lhs, field, value, None)
        if lookup == "has_key":
            if not isinstance(value, str):
                raise ValidationError("the 'has_key' lookup needs a str key")
            return ir.Lookup("json_has_key", lhs, [ir.Param(value)], field)
        if lookup in ("contains", "contained_by"):
            if not dialect.supports_json_containment:
                raise UnSupportedError(
                    f"the {dialect.name} backend does not support JSON {lookup!r}; "
                    "filter on key paths instead"
                )
            return ir.Lookup(
                "json_" + lookup, lhs, [ir.Param(_engine.Json(field.encode(value), raw=True))], field
            )
        if lookup in ("in", "not_in"):
            values: list[ir.Node] = [ir.Param(field.to_db(v)) for v in _as_sequence(lookup, value)]
            return ir.Lookup(lookup, lhs, values, field)
        return ir.Lookup(lookup, lhs, [ir.Param(field.to_db(value))], field)
    if lookup in TEXT_LOOKUPS:
        # ``data__owner__name__icontains="ada"``: the value at the path, as text.
        if not isinstance(value, str):
            raise ValidationError(f"the {lookup!r} lookup on a JSON key path needs a str, got {value!r}")
        text_node = ir.Func("json_path", [lhs], None, extra=(path, True))
        return build(dialect, lookup, text_node, None, value, None)
    if lookup not in JSON_PATH_LOOKUPS:
        raise FieldError(
            f"unknown lookup {lookup!r} on a JSON key path; valid: "
            f"{', '.join(sorted((*JSON_PATH_LOOKUPS, *TEXT_LOOKUPS)))}"
        )
    typed = dialect.typed_expressions
    if lookup in ("isnull", "not_isnull") or value is None:
        text_node = ir.Func("json_path", [lhs], None, extra=(path, True))
        return build(dialect, lookup, text_node, None, value, None)
    if lookup in ("gt", "gte", "lt", "lte"):
        node: ir.Node = ir.Func("json_path", [lhs], None, extra=(path, True))
        if typed and isinstance(value, int | float) and not isinstance(value, bool):
            node = ir.Func("numeric", [node], None)
        return ir.Lookup(lookup, node, [ir.Param(value)], None)
    values = _as_sequence(lookup, value) if lookup in ("in", "not_in") else [value]
    if typed:
        # Compare as JSON documents: 1 = 1.0, "a" != 1, objects by content.
        json_node = ir.Func("json_path", [lhs], field, extra=(path, False))
        params: list[ir.Node] = [
            ir.Param(_engine.Json(field.encode(v), raw=True), field, cast=True) for v in values
        ]
        return ir.Lookup(lookup, json_node, params, field)
    # SQLite's JSON_EXTRACT returns SQL scalars for scalars and minified JSON text otherwise.
    sql_node = ir.Func("json_path", [lhs], None, extra=(path, False))
    sqlite_params: list[ir.Node] = []
    for v in values:
        if isinstance(v, dict | list):
            sqlite_params.append(ir.Raw("JSON(%s)", [field.encode(v)]))
        elif isinstance(v, bool):
            sqlite_params.append(ir.Param(int(v)))
        else:
            sqlite_params.append(ir.Param(v))
    return ir.Lookup(lookup, sql_node, sqlite_params, None)
