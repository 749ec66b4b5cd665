"""PostgreSQL: ``$n`` placeholders, native types, ILIKE, regex, full text, JSONB, UNNEST."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import UnSupportedError
from ..query import ir
from .base import Dialect

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..query.compiler import Compiler

_EXTRACT_PARTS = {
    "year": "YEAR",
    "quarter": "QUARTER",
    "month": "MONTH",
    "week": "WEEK",
    "day": "DAY",
    "hour": "HOUR",
    "minute": "MINUTE",
    "second": "SECOND",
    "microsecond": "MICROSECONDS",
    "iso_week_day": "ISODOW",
    "week_day": "DOW",
    "day_of_year": "DOY",
}

# The cast a bare parameter gets when PostgreSQL cannot infer its type, by Python type.
_PY_CASTS: list[tuple[type, str]] = [
    (bool, "BOOLEAN"),
    (int, "BIGINT"),
    (float, "DOUBLE PRECISION"),
    (decimal.Decimal, "NUMERIC"),
    (str, "TEXT"),
    (bytes, "BYTEA"),
    (uuid.UUID, "UUID"),
    (dt.datetime, "TIMESTAMPTZ"),
    (dt.date, "DATE"),
    (dt.time, "TIME"),
    (dt.timedelta, "INTERVAL"),
]


class PostgresDialect(Dialect):
    name = "postgres"
    supports_regex = True
    supports_full_text = True
    supports_json_containment = True
    supports_for_update = True
    supports_unnest = True
    typed_expressions = True
    default_max_bind_params = 65535

    type_names: ClassVar[dict[str, str]] = {
        "smallint": "SMALLINT",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "float": "DOUBLE PRECISION",
        "decimal": "NUMERIC({max_digits},{decimal_places})",
        "varchar": "VARCHAR({max_length})",
        "text": "TEXT",
        "binary": "BYTEA",
        "bool": "BOOLEAN",
        "date": "DATE",
        "time": "TIME",
        "datetime": "TIMESTAMPTZ",
        "interval": "INTERVAL",
        "uuid": "UUID",
        "json": "JSONB",
    }

    def placeholder(self, index: int) -> str:
        return f"${index}"

    def param_cast_sql(self, placeholder: str, field: Field[Any] | None, value: Any) -> str:
        if field is not None:
            return f"{placeholder}::{self.cast_type(field)}"
        return f"{placeholder}::{self.python_cast(value) or 'TEXT'}"

    def python_cast(self, value: Any) -> str | None:
        for typ, name in _PY_CASTS:
            if isinstance(value, typ):
                return name
        if isinstance(value, dict):
            return "JSONB"
        return None

    def for_update_sql(self, fu: ir.ForUpdate) -> str:
        sql = " FOR UPDATE"
        if fu.of:
            sql += " OF " + ", ".join(self.quote(t) for t in fu.of)
        if fu.nowait:
            sql += " NOWAIT"
        elif fu.skip_locked:
            sql += " SKIP LOCKED"
        return sql

    def unnest_sql(self, c: Compiler, arrays: list[tuple[ir.Param, Field[Any]]]) -> str:
        args = ", ".join(f"{c.add_param(p.value)}::{self.cast_type(f)}[]" for p, f in arrays)
        return f"SELECT * FROM UNNEST({args})"

    def copy_sql(self, c: Compiler, s: ir.Copy) -> str:
        cols = ", ".join(self.quote(col) for col in s.columns)
        return f"COPY {self.quote(s.table)} ({cols}) FROM STDIN (FORMAT binary)"

    # -- expressions --------------------------------------------------------------------------------

    def aggregate_sql(self, name: str, arg: str, node: ir.Aggregate) -> str:
        return f"{name.upper()}({arg})"

    def fn_length(self, c: Compiler, n: ir.Func) -> str:
        return f"CHAR_LENGTH({c.expr(n.args[0])})"

    def fn_round(self, c: Compiler, n: ir.Func) -> str:
        # ROUND(x, n) exists only for NUMERIC on PostgreSQL.
        if len(n.args) > 1:
            return f"ROUND(CAST({c.expr(n.args[0])} AS NUMERIC), {c.expr(n.args[1])})"
        return f"ROUND({c.expr(n.args[0])})"

    def fn_concat(self, c: Compiler, n: ir.Func) -> str:
        return "CONCAT(" + ", ".join(f"CAST({c.expr(a)} AS TEXT)" for a in n.args) + ")"

    def fn_json_path(self, c: Compiler, n: ir.Func) -> str:
        path, as_text = n.extra
        keys = ", ".join(c.add_param(str(k)) + "::TEXT" for k in path)
        func = "JSONB_EXTRACT_PATH_TEXT" if as_text else "JSONB_EXTRACT_PATH"
        return f"{func}({c.expr(n.args[0])}, {keys})"

    def _utc(self, sql: str, field: Field[Any] | None) -> str:
        # Date parts of an instant are taken in UTC, whatever the session's TimeZone says.
        if field is None or field.type_key == "datetime":
            return f"({sql} AT TIME ZONE 'UTC')"
        return sql

    def extract_sql(self, part: str, sql: str, field: Field[Any] | None) -> str:
        src = self._utc(sql, field)
        if part == "date":
            return f"CAST({src} AS DATE)"
        try:
            unit = _EXTRACT_PARTS[part]
        except KeyError:
            raise UnSupportedError(f"unknown date part {part!r}") from None
        if part == "microsecond":
            return f"(CAST(EXTRACT(MICROSECONDS FROM {src}) AS INTEGER) % 1000000)"
        if part == "second":
            return f"CAST(FLOOR(EXTRACT(SECOND FROM {src})) AS INTEGER)"
        return f"CAST(EXTRACT({unit} FROM {src}) AS INTEGER)"

    def trunc_sql(self, kind: str, sql: str, field: Field[Any] | None) -> str:
        if kind not in ("year", "quarter", "month", "week", "day", "hour", "minute", "second"):
            raise UnSupportedError(f"unknown truncation {kind!r}")
        if field is not None and field.type_key == "datetime":
            return f"DATE_TRUNC('{kind}', {sql}, 'UTC')"
        if field is not None and field.type_key == "date":
            return f"CAST(DATE_TRUNC('{kind}', {sql}) AS DATE)"
        return f"DATE_TRUNC('{kind}', {sql})"

    # -- lookups ------------------------------------------------------------------------------------

    def lookup_not(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} IS DISTINCT FROM {self._rhs(c, n)}"

    def lookup_iexact(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return self.like_sql(c, lhs, n, "ILIKE")

    def lookup_contains(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return self.like_sql(c, lhs, n, "LIKE")

    lookup_startswith = lookup_contains
    lookup_endswith = lookup_contains

    def lookup_icontains(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return self.like_sql(c, lhs, n, "ILIKE")

    lookup_istartswith = lookup_icontains
    lookup_iendswith = lookup_icontains

    def lookup_regex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{self.text_sql(lhs, n)} ~ {self._rhs(c, n)}"

    def lookup_iregex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{self.text_sql(lhs, n)} ~* {self._rhs(c, n)}"

    def lookup_search(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"TO_TSVECTOR({self.text_sql(lhs, n)}) @@ PLAINTO_TSQUERY({self._rhs(c, n)})"

    def lookup_json_contains(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} @> {self._rhs(c, n)}::JSONB"

    def lookup_json_contained_by(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} <@ {self._rhs(c, n)}::JSONB"

    def lookup_json_has_key(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} ? {self._rhs(c, n)}::TEXT"

    # -- DDL ----------------------------------------------------------------------------------------

    def generated_pk_definition(self, field: Field[Any]) -> str:
        column = f"{self.quote(field.column)} {self.column_type(field)}"
        return f"{column} NOT NULL GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def add_constraint_sql(self, table: str, name: str, constraint: str, safe: bool) -> str:
        sql = super().add_constraint_sql(table, name, constraint, safe)
        if not safe:
            return sql
        # generate_schemas(safe=True) runs again on an existing schema: tolerate the constraint.
        return f"DO $$ BEGIN {sql}; EXCEPTION WHEN duplicate_object THEN NULL; END $$"

    def table_comment_sql(self, table: str, comment: str) -> list[str]:
        return [f"COMMENT ON TABLE {self.quote(table)} IS {self.literal(comment)}"]

    def column_comment_sql(self, table: str, column: str, comment: str) -> list[str]:
        return [f"COMMENT ON COLUMN {self.quote(table)}.{self.quote(column)} IS {self.literal(comment)}"]

    # -- schema changes (migrations) ------------------------------------------------------------

    supports_concurrent_index = True

    def index_prefix_sql(self, unique: bool, concurrently: bool) -> str:
        return f"CREATE {'UNIQUE ' if unique else ''}INDEX{' CONCURRENTLY' if concurrently else ''}"

    def drop_index_sql(self, table: str, name: str, concurrently: bool = False) -> str:
        return f"DROP INDEX{' CONCURRENTLY' if concurrently else ''} {self.quote(name)}"

    def rename_index_sql(self, table: str, old: str, new: str, columns: list[str], unique: bool) -> list[str]:
        return [f"ALTER INDEX {self.quote(old)} RENAME TO {self.quote(new)}"]

    def renamed_table_names_sql(self, old: str, new: str) -> list[str]:
        # Inline keys got server names from the table's (book_pkey, book_isbn_key,
        # book_author_id_fkey), as did its identity sequence (book_id_seq); renaming the table
        # leaves them, and a later table of the old name would get book_pkey1.
        rel = self.literal(self.quote(new))
        o, n = self.literal(old), self.literal(new)
        rest = f"substr(r.name, length({o}) + 1)"
        return [
            "DO $$ DECLARE r record; BEGIN "
            f"FOR r IN SELECT conname AS name FROM pg_constraint WHERE conrelid = {rel}::regclass "
            f"AND left(conname, length({o}) + 1) = {o} || '_' "
            "AND conname ~ '_(pkey|key|fkey|check)[0-9]*$' LOOP "
            f"EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', {n}, r.name, {n} || {rest}); "
            "END LOOP; "
            "FOR r IN SELECT s.relname AS name FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
            f"WHERE s.relkind = 'S' AND d.refobjid = {rel}::regclass "
            f"AND left(s.relname, length({o}) + 1) = {o} || '_' LOOP "
            f"EXECUTE format('ALTER SEQUENCE %I RENAME TO %I', r.name, {n} || {rest}); "
            "END LOOP; END $$"
        ]

    def _drop_column_constraints(self, table: str, column: str, kind: str) -> str:
        # Constraints declared inline in CREATE TABLE get server-chosen names: find them by column.
        rel = self.literal(self.quote(table))
        col = self.literal(column)
        return (
            "DO $$ DECLARE r record; BEGIN FOR r IN SELECT c.conname FROM pg_constraint c "
            f"WHERE c.conrelid = {rel}::regclass AND c.contype = '{kind}' AND c.conkey = ARRAY["
            f"(SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = {rel}::regclass AND a.attname = {col})]"
            f"::smallint[] LOOP EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', {self.literal(table)}, "
            "r.conname); END LOOP; END $$"
        )

    def alter_column_sql(self, table: str, old: Field[Any], new: Field[Any]) -> list[str]:
        q = self.quote
        prefix = f"ALTER TABLE {q(table)} ALTER COLUMN {q(new.column)}"
        out: list[str] = []
        old_fk = getattr(old, "constraint_sql", None)
        new_fk = getattr(new, "constraint_sql", None)
        old_fk_sql = old_fk(self) if old_fk is not None else None
        new_fk_sql = new_fk(self) if new_fk is not None else None
        if old_fk_sql and old_fk_sql != new_fk_sql:
            out.append(self._drop_column_constraints(table, new.column, "f"))
        if old.unique and not new.unique and not old.pk:
            out.append(self._drop_column_constraints(table, new.column, "u"))
        new_type = self.column_type(new)
        if self.column_type(old) != new_type:
            out.append(f"{prefix} TYPE {new_type} USING {q(new.column)}::{new_type}")
        if old.null != new.null and not new.pk:
            out.append(f"{prefix} {'DROP' if new.null else 'SET'} NOT NULL")
        old_default, new_default = self.db_default_sql(old), self.db_default_sql(new)
        if old_default != new_default:
            out.append(self.column_default_sql(table, new.column, new_default))
        if new.unique and not old.unique and not new.pk:
            out.append(f"ALTER TABLE {q(table)} ADD UNIQUE ({q(new.column)})")
        if new_fk_sql and old_fk_sql != new_fk_sql:
            out.append(f"ALTER TABLE {q(table)} ADD {new_fk_sql}")
        return out

    def advisory_lock_sql(self, key: int) -> str | None:
        return f"SELECT pg_advisory_lock({int(key)})"

    def advisory_unlock_sql(self, key: int) -> str | None:
        return f"SELECT pg_advisory_unlock({int(key)})"

    def session_id_sql(self) -> str | None:
        return "SELECT pg_backend_pid()"
