"""SQLite: ``?n`` placeholders, declared type names the engine decodes by, GLOB for
case-sensitive text lookups (LIKE is ASCII case-insensitive there), strftime for dates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import UnSupportedError
from ..query import ir
from .base import Dialect, json_path

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..query.compiler import Compiler

_STRFTIME = {
    "year": "%Y",
    "month": "%m",
    "day": "%d",
    "hour": "%H",
    "minute": "%M",
    "second": "%S",
    "week": "%V",
    "iso_week_day": "%u",
    "week_day": "%w",
    "day_of_year": "%j",
}

_TRUNC_FORMATS = {
    "year": ("%Y-01-01", " 00:00:00"),
    "quarter": ("%Y-%m-01", " 00:00:00"),
    "month": ("%Y-%m-01", " 00:00:00"),
    "week": ("%Y-%m-%d", " 00:00:00"),
    "day": ("%Y-%m-%d", " 00:00:00"),
    "hour": ("%Y-%m-%d", " %H:00:00"),
    "minute": ("%Y-%m-%d", " %H:%M:00"),
    "second": ("%Y-%m-%d", " %H:%M:%S"),
}

# CAST targets by field type: SQLite casts to an affinity, and the result is decoded by the
# expression's output field.
_CASTS = {
    "smallint": "INTEGER",
    "int": "INTEGER",
    "bigint": "INTEGER",
    "bool": "INTEGER",
    "interval": "INTEGER",
    "float": "REAL",
    "decimal": "NUMERIC",
    "binary": "BLOB",
}


def glob_escape(value: str) -> str:
    """Make ``*``, ``?`` and ``[`` match themselves in a GLOB pattern."""
    return value.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")


class SQLiteDialect(Dialect):
    inline_forward_references = True
    name = "sqlite"
    typed_expressions = False
    column_types_bound_values = False
    default_max_bind_params = 32766
    prepared_bulk_insert = True

    type_names: ClassVar[dict[str, str]] = {
        "smallint": "SMALLINT",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "float": "REAL",
        "decimal": "DECIMAL({max_digits},{decimal_places})",
        "varchar": "VARCHAR({max_length})",
        "text": "TEXT",
        "binary": "BLOB",
        "bool": "BOOLEAN",
        "date": "DATE",
        "time": "TIME",
        "datetime": "TIMESTAMPTZ",
        "interval": "INTERVAL",
        "uuid": "UUID",
        # TEXT affinity (the second word): a plain JSON column has NUMERIC affinity, which would
        # store a top-level number document as a REAL and lose digits.
        "json": "JSON TEXT",
    }

    def __init__(self, capabilities: dict[str, Any] | None = None) -> None:
        super().__init__(capabilities)
        self.supports_regex = bool(self.capabilities.get("regex", False))  # type: ignore[misc]

    def placeholder(self, index: int) -> str:
        return f"?{index}"

    def cast_type(self, field: Field[Any]) -> str:
        return _CASTS.get(field.type_key, "TEXT")

    def limit_offset_sql(self, limit: int | None, offset: int | None) -> str:
        if limit is None:
            return f" LIMIT -1 OFFSET {int(offset or 0)}"
        return super().limit_offset_sql(limit, offset)

    def bool_literal(self, value: bool) -> str:
        return "1" if value else "0"

    # -- expressions --------------------------------------------------------------------------------

    def fn_now(self, c: Compiler, n: ir.Func) -> str:
        return "STRFTIME('%Y-%m-%d %H:%M:%f', 'now')"

    def fn_json_path(self, c: Compiler, n: ir.Func) -> str:
        path, _as_text = n.extra
        return f"JSON_EXTRACT({c.expr(n.args[0])}, {c.add_param(json_path(tuple(path)))})"

    def extract_sql(self, part: str, sql: str, field: Field[Any] | None) -> str:
        if part == "date":
            return f"DATE({sql})"
        if part == "quarter":
            return f"((CAST(STRFTIME('%m', {sql}) AS INTEGER) + 2) / 3)"
        if part == "microsecond":
            # Stored text carries six fractional digits when the value has microseconds.
            return (
                f"(CASE WHEN INSTR({sql}, '.') > 0 "
                f"THEN CAST(SUBSTR({sql}, INSTR({sql}, '.') + 1, 6) AS INTEGER) ELSE 0 END)"
            )
        try:
            fmt = _STRFTIME[part]
        except KeyError:
            raise UnSupportedError(f"unknown date part {part!r}") from None
        return f"CAST(STRFTIME('{fmt}', {sql}) AS INTEGER)"

    def trunc_sql(self, kind: str, sql: str, field: Field[Any] | None) -> str:
        try:
            date_fmt, time_fmt = _TRUNC_FORMATS[kind]
        except KeyError:
            raise UnSupportedError(f"unknown truncation {kind!r}") from None
        fmt = date_fmt if field is not None and field.type_key == "date" else date_fmt + time_fmt
        modifiers = ""
        if kind == "week":
            modifiers = f", '-' || ((CAST(STRFTIME('%w', {sql}) AS INTEGER) + 6) % 7) || ' days'"
        elif kind == "quarter":
            modifiers = f", '-' || ((CAST(STRFTIME('%m', {sql}) AS INTEGER) - 1) % 3) || ' months'"
        return f"STRFTIME('{fmt}', {sql}{modifiers})"

    # -- lookups ------------------------------------------------------------------------------------

    def lookup_not(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} IS NOT {self._rhs(c, n)}"

    def lookup_iexact(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return self.like_sql(c, lhs, n, "LIKE")

    lookup_icontains = lookup_iexact
    lookup_istartswith = lookup_iexact
    lookup_iendswith = lookup_iexact

    def pattern_value(self, lookup: str, value: str) -> str:
        if lookup in ("contains", "startswith", "endswith"):
            escaped = glob_escape(value)
            if lookup == "contains":
                return f"*{escaped}*"
            if lookup == "startswith":
                return f"{escaped}*"
            return f"*{escaped}"
        return super().pattern_value(lookup, value)

    def _glob(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        rhs = n.rhs[0]
        text = self.text_sql(lhs, n)
        if isinstance(rhs, ir.Param):
            return f"{text} GLOB {c.expr(rhs)}"
        other = c.expr(rhs)
        if n.name == "contains":
            return f"INSTR({text}, {other}) > 0"
        if n.name == "startswith":
            return f"SUBSTR({text}, 1, LENGTH({other})) = {other}"
        return f"(LENGTH({other}) = 0 OR SUBSTR({text}, -LENGTH({other})) = {other})"

    lookup_contains = _glob
    lookup_startswith = _glob
    lookup_endswith = _glob

    def lookup_regex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        if not self.supports_regex:
            raise UnSupportedError(
                "SQLite has no REGEXP function in this build; regex lookups need PostgreSQL"
            )
        return f"{self.text_sql(lhs, n)} REGEXP {self._rhs(c, n)}"

    def lookup_iregex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        if not self.supports_regex:
            raise UnSupportedError(
                "SQLite has no REGEXP function in this build; regex lookups need PostgreSQL"
            )
        return f"{self.text_sql(lhs, n)} REGEXP ('(?i)' || {self._rhs(c, n)})"

    def lookup_json_has_key(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        rhs = n.rhs[0]
        assert isinstance(rhs, ir.Param)
        return f"JSON_TYPE({lhs}, {c.add_param(json_path((str(rhs.value),)))}) IS NOT NULL"

    # -- DDL ----------------------------------------------------------------------------------------

    def column_check_sql(self, field: Field[Any]) -> str | None:
        """SQLite stores any integer up to 64 bits in an INTEGER column, turns an overflowing
        result into a REAL, and keeps any number in a NUMERIC one, so database-side arithmetic
        (``update(n=F("n") + 2**40)``) would store what PostgreSQL's int4/int2/int8/numeric(p, s)
        refuse. These checks refuse it the same way (an IntegrityError)."""
        col = self.quote(field.column)
        kind = field.type_key
        if kind in ("smallint", "int", "bigint"):
            is_integer = f"typeof({col}) IN ('integer', 'null')"
            if kind == "bigint":
                return f"CHECK ({is_integer})"
            lo, hi = getattr(field, "min_value", None), getattr(field, "max_value", None)
            if isinstance(lo, int) and isinstance(hi, int):
                return f"CHECK ({is_integer} AND {col} BETWEEN {lo} AND {hi})"
            return f"CHECK ({is_integer})"
        if kind == "decimal":
            digits, places = getattr(field, "max_digits", None), getattr(field, "decimal_places", None)
            if isinstance(digits, int) and isinstance(places, int):
                return f"CHECK (abs(CAST({col} AS REAL)) < 1e{digits - places})"
        return None

    def generated_pk_definition(self, field: Field[Any]) -> str:
        # Only a column declared exactly INTEGER PRIMARY KEY aliases the rowid.
        return f"{self.quote(field.column)} INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"

    # -- schema changes (migrations) ------------------------------------------------------------

    # SQLite's ALTER TABLE only renames and adds columns: other changes rebuild the table.
    alter_column_in_place = False

    def rename_constraint_sql(self, table: str, old: str, new: str) -> list[str]:
        # Table constraints are unnamed inside SQLite (its autoindexes): nothing to rename.
        return []
