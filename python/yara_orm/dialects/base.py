"""What a database's SQL looks like: the :class:`Dialect` base class.

A dialect owns identifier quoting, placeholders, column type names, each lookup's SQL, the
functions, casts, RETURNING, upserts, LIMIT/OFFSET and locking clauses, and DDL. Capability
flags say what the backend can do so the query layer refuses clearly instead of failing in SQL.
Subclasses override what differs; the base speaks the common SQL both built-ins share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import UnSupportedError
from ..fields.base import NO_DEFAULT
from ..query import ir

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..query.compiler import Compiler


def escape_like(value: str) -> str:
    """Escape LIKE's wildcards (and the escape character itself) for ``ESCAPE '\\'``."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_path(keys: tuple[str, ...]) -> str:
    """A JSON path literal (``$."key"[0]``) in the SQL/JSON path syntax that SQLite's and MySQL's
    JSON functions share; keys are quoted so any text is one member name."""
    parts = ["$"]
    for key in keys:
        if key.isdigit():
            parts.append(f"[{key}]")
        else:
            parts.append('."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "".join(parts)


class Dialect:
    name: ClassVar[str] = "base"
    # Capability flags: the query layer checks these and raises UnSupportedError.
    supports_regex: ClassVar[bool] = False
    supports_full_text: ClassVar[bool] = False
    supports_json_containment: ClassVar[bool] = False
    supports_for_update: ClassVar[bool] = False
    # ``AGG(x) FILTER (WHERE ...)``; without it the compiler writes ``AGG(CASE WHEN ... END)``.
    supports_aggregate_filter: ClassVar[bool] = True
    # CREATE TABLE may reference a table that does not exist yet (SQLite checks keys lazily).
    inline_forward_references: ClassVar[bool] = False
    supports_unnest: ClassVar[bool] = False
    # Bulk inserts that need no RETURNING run one prepared one-row INSERT per row in a single
    # transaction (``execute_many``) rather than multi-row VALUES: right where a statement costs
    # no network round trip.
    prepared_bulk_insert: ClassVar[bool] = False
    # Whether an expression's value comes back typed (PostgreSQL) or as a storage class that
    # needs the expression's output field to convert it (SQLite).
    typed_expressions: ClassVar[bool] = True
    # Whether a column's type bounds what it can hold as the field's does. Where it does not
    # (SQLite), reading a column checks each integer and decimal against its field's range, so
    # a value stored outside the ORM raises DataError instead of loading as a model value.
    column_types_bound_values: ClassVar[bool] = True
    default_max_bind_params: ClassVar[int] = 32766
    # The most parameter bytes one multi-row INSERT may carry (None: no limit but the
    # bind-parameter count). MySQL refuses a packet over max_allowed_packet.
    max_statement_bytes: ClassVar[int | None] = None

    type_names: ClassVar[dict[str, str]] = {}

    def __init__(self, capabilities: dict[str, Any] | None = None) -> None:
        caps = capabilities or {}
        self.capabilities = caps
        self.max_bind_params = int(caps.get("max_bind_params") or self.default_max_bind_params)
        self._quoted: dict[str, str] = {}

    # -- names and placeholders ------------------------------------------------------------------

    def quote(self, name: str) -> str:
        quoted = self._quoted.get(name)
        if quoted is None:
            quoted = '"' + name.replace('"', '""') + '"'
            self._quoted[name] = quoted
        return quoted

    def placeholder(self, index: int) -> str:
        raise NotImplementedError

    def literal(self, value: str) -> str:
        """A string literal for DDL (comments, defaults), where parameters are not allowed."""
        if "\x00" in value:
            raise ValueError("NUL characters cannot appear in SQL literals")
        return "'" + value.replace("'", "''") + "'"

    # -- types --------------------------------------------------------------------------------------

    def column_type(self, field: Field[Any]) -> str:
        """The declared type of a column for ``field``."""
        key = field.type_key
        try:
            template = self.type_names[key]
        except KeyError:
            raise UnSupportedError(f"{self.name} has no column type for {type(field).__name__}") from None
        return template.format(
            max_length=getattr(field, "max_length", 0),
            max_digits=getattr(field, "max_digits", 0),
            decimal_places=getattr(field, "decimal_places", 0),
        )

    def cast_type(self, field: Field[Any]) -> str:
        return self.column_type(field)

    def cast_sql(self, sql: str, field: Field[Any]) -> str:
        return f"CAST({sql} AS {self.cast_type(field)})"

    def param_cast_sql(self, placeholder: str, field: Field[Any] | None, value: Any) -> str:
        """A parameter whose type the server cannot infer (select list, CASE results)."""
        return placeholder

    # -- clauses ------------------------------------------------------------------------------------

    def limit_offset_sql(self, limit: int | None, offset: int | None) -> str:
        sql = ""
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        return sql

    def order_sql(self, expr: str, descending: bool) -> str:
        return f"{expr} DESC" if descending else f"{expr} ASC"

    def for_update_sql(self, fu: ir.ForUpdate) -> str:
        return ""

    def default_values_sql(self) -> str:
        return "DEFAULT VALUES"

    def insert_head_sql(self, table: str, on_conflict: ir.OnConflict | None) -> str:
        """``INSERT INTO table`` (MySQL: ``INSERT IGNORE INTO`` for a do-nothing conflict)."""
        return f"INSERT INTO {table}"

    def table_options_sql(self) -> str:
        """What follows CREATE TABLE's column list (MySQL: engine, character set, collation)."""
        return ""

    def on_conflict_sql(self, oc: ir.OnConflict) -> str:
        q = self.quote
        target = f" ({', '.join(q(c) for c in oc.target)})" if oc.target else ""
        if not oc.update_columns:
            return f" ON CONFLICT{target} DO NOTHING"
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in oc.update_columns)
        return f" ON CONFLICT{target} DO UPDATE SET {sets}"

    def unnest_sql(self, c: Compiler, arrays: list[tuple[ir.Param, Field[Any]]]) -> str:
        raise UnSupportedError(f"{self.name} has no UNNEST")

    def copy_sql(self, c: Compiler, s: ir.Copy) -> str:
        raise UnSupportedError(f"{self.name} has no bulk load (COPY)")

    def explain_sql(self, sql: str) -> str:
        return "EXPLAIN " + sql

    # -- expressions --------------------------------------------------------------------------------

    def binop_sql(self, c: Compiler, n: ir.BinOp) -> str:
        if n.op == "^":
            # No portable power operator (``^`` is XOR in MySQL, absent in SQLite).
            return f"POWER({c.expr(n.left)}, {c.expr(n.right)})"
        return f"({c.expr(n.left)} {n.op} {c.expr(n.right)})"

    def aggregate_sql(self, name: str, arg: str, node: ir.Aggregate) -> str:
        return f"{name.upper()}({arg})"

    def func_sql(self, c: Compiler, n: ir.Func) -> str:
        handler = getattr(self, "fn_" + n.name, None)
        if handler is None:
            raise UnSupportedError(f"{self.name} does not support the function {n.name}")
        result: str = handler(c, n)
        return result

    def fn_lower(self, c: Compiler, n: ir.Func) -> str:
        return f"LOWER({c.expr(n.args[0])})"

    def fn_upper(self, c: Compiler, n: ir.Func) -> str:
        return f"UPPER({c.expr(n.args[0])})"

    def fn_length(self, c: Compiler, n: ir.Func) -> str:
        return f"LENGTH({c.expr(n.args[0])})"

    def fn_trim(self, c: Compiler, n: ir.Func) -> str:
        return f"TRIM({c.expr(n.args[0])})"

    def fn_abs(self, c: Compiler, n: ir.Func) -> str:
        return f"ABS({c.expr(n.args[0])})"

    def fn_round(self, c: Compiler, n: ir.Func) -> str:
        return f"ROUND({', '.join(c.expr(a) for a in n.args)})"

    def fn_coalesce(self, c: Compiler, n: ir.Func) -> str:
        return f"COALESCE({', '.join(c.expr(a) for a in n.args)})"

    def fn_concat(self, c: Compiler, n: ir.Func) -> str:
        return "(" + " || ".join(f"COALESCE({c.expr(a)}, '')" for a in n.args) + ")"

    def fn_random(self, c: Compiler, n: ir.Func) -> str:
        return "RANDOM()"

    def fn_call(self, c: Compiler, n: ir.Func) -> str:
        """A database function called by its own name (``SqlFunction``); the name was checked
        to be an identifier when the expression was built."""
        return f"{n.extra}({', '.join(c.expr(a) for a in n.args)})"

    def fn_now(self, c: Compiler, n: ir.Func) -> str:
        return "CURRENT_TIMESTAMP"

    def fn_extract(self, c: Compiler, n: ir.Func) -> str:
        return self.extract_sql(str(n.extra), c.expr(n.args[0]), n.args[0].output_field)

    def fn_trunc(self, c: Compiler, n: ir.Func) -> str:
        return self.trunc_sql(str(n.extra), c.expr(n.args[0]), n.args[0].output_field)

    def fn_json_path(self, c: Compiler, n: ir.Func) -> str:
        raise UnSupportedError(f"{self.name} has no JSON paths")

    def fn_numeric(self, c: Compiler, n: ir.Func) -> str:
        return f"CAST({c.expr(n.args[0])} AS NUMERIC)"

    def fn_json_text(self, c: Compiler, n: ir.Func) -> str:
        """A JSON column read as its text (for custom decoders)."""
        return f"CAST({c.expr(n.args[0])} AS TEXT)"

    def extract_sql(self, part: str, sql: str, field: Field[Any] | None) -> str:
        raise NotImplementedError

    def trunc_sql(self, kind: str, sql: str, field: Field[Any] | None) -> str:
        raise NotImplementedError

    # -- lookups ------------------------------------------------------------------------------------

    def lookup_sql(self, c: Compiler, n: ir.Lookup) -> str:
        handler = getattr(self, "lookup_" + n.name, None)
        if handler is None:
            raise UnSupportedError(f"{self.name} does not support the lookup {n.name!r}")
        result: str = handler(c, c.expr(n.lhs), n)
        return result

    def _rhs(self, c: Compiler, n: ir.Lookup) -> str:
        return c.expr(n.rhs[0])

    def lookup_exact(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} = {self._rhs(c, n)}"

    def lookup_gt(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} > {self._rhs(c, n)}"

    def lookup_gte(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} >= {self._rhs(c, n)}"

    def lookup_lt(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} < {self._rhs(c, n)}"

    def lookup_lte(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} <= {self._rhs(c, n)}"

    def lookup_in(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        if not n.rhs:
            return "1 = 0"
        if len(n.rhs) == 1 and isinstance(n.rhs[0], ir.SubSelect):
            return f"{lhs} IN {c.expr(n.rhs[0])}"
        return f"{lhs} IN ({', '.join(c.expr(r) for r in n.rhs)})"

    def lookup_not_in(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        # Like ``not`` (IS DISTINCT FROM), a NULL is "not in" any list (Tortoise's semantics);
        # plain NOT IN would drop those rows as unknown.
        if not n.rhs:
            return "1 = 1"
        if len(n.rhs) == 1 and isinstance(n.rhs[0], ir.SubSelect):
            return f"({lhs} NOT IN {c.expr(n.rhs[0])} OR {lhs} IS NULL)"
        return f"({lhs} NOT IN ({', '.join(c.expr(r) for r in n.rhs)}) OR {lhs} IS NULL)"

    def lookup_range(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} BETWEEN {c.expr(n.rhs[0])} AND {c.expr(n.rhs[1])}"

    def lookup_isnull(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} IS NULL" if n.extra else f"{lhs} IS NOT NULL"

    def lookup_not_isnull(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{lhs} IS NOT NULL" if n.extra else f"{lhs} IS NULL"

    def text_sql(self, lhs: str, n: ir.Lookup) -> str:
        """The left side of a text lookup: non-text columns are cast to text first."""
        field = n.lhs.output_field
        if field is not None and field.type_key not in ("varchar", "text"):
            return f"CAST({lhs} AS TEXT)"
        return lhs

    def pattern_value(self, lookup: str, value: str) -> str:
        """The bound pattern for a text lookup on a plain value."""
        escaped = escape_like(value)
        if lookup.endswith("contains"):
            return f"%{escaped}%"
        if lookup.endswith("startswith"):
            return f"{escaped}%"
        if lookup.endswith("endswith"):
            return f"%{escaped}"
        return escaped  # iexact

    def pattern_expr(self, lookup: str, rhs: str) -> str:
        """The pattern for a text lookup whose right side is an expression (escaped in SQL)."""
        esc = f"REPLACE(REPLACE(REPLACE({rhs}, '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
        if lookup.endswith("contains"):
            return f"('%' || {esc} || '%')"
        if lookup.endswith("startswith"):
            return f"({esc} || '%')"
        if lookup.endswith("endswith"):
            return f"('%' || {esc})"
        return esc

    def like_sql(self, c: Compiler, lhs: str, n: ir.Lookup, operator: str) -> str:
        rhs = n.rhs[0]
        pattern = c.expr(rhs) if isinstance(rhs, ir.Param) else self.pattern_expr(n.name, c.expr(rhs))
        return f"{self.text_sql(lhs, n)} {operator} {pattern} ESCAPE '\\'"

    def lookup_regex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        raise UnSupportedError(f"{self.name} does not support regex lookups")

    lookup_iregex = lookup_regex

    def lookup_search(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        raise UnSupportedError(f"{self.name} has no full-text search lookup")

    def lookup_json_contains(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        raise UnSupportedError(f"{self.name} does not support JSON containment lookups")

    lookup_json_contained_by = lookup_json_contains

    def lookup_json_has_key(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        raise UnSupportedError(f"{self.name} does not support JSON key lookups")

    # -- DDL ----------------------------------------------------------------------------------------

    def column_definition(self, field: Field[Any]) -> str:
        """``"col" TYPE [NOT NULL] [UNIQUE] [DEFAULT ...]`` for CREATE TABLE."""
        parts = [self.quote(field.column), self.column_type(field)]
        if field.pk:
            parts.append("NOT NULL PRIMARY KEY")
        else:
            if not field.null:
                parts.append("NOT NULL")
            if field.unique:
                parts.append("UNIQUE")
        default = self.db_default_sql(field)
        if default:
            parts.append(f"DEFAULT {default}")
        check = self.column_check_sql(field)
        if check:
            parts.append(check)
        return " ".join(parts)

    def column_check_sql(self, field: Field[Any]) -> str | None:
        """A ``CHECK (...)`` making the database refuse values the field cannot hold, where the
        column type alone does not (None: the type is enough, as on PostgreSQL)."""
        return None

    def generated_pk_definition(self, field: Field[Any]) -> str:
        raise NotImplementedError

    def add_constraint_sql(self, table: str, name: str, constraint: str, safe: bool) -> str:
        return f"ALTER TABLE {self.quote(table)} ADD CONSTRAINT {self.quote(name)} {constraint}"

    def foreign_key_sql(self, column: str, table: str, ref_column: str, on_delete: str) -> str:
        """The table constraint of a foreign key (``on_delete``: CASCADE, SET NULL...)."""
        q = self.quote
        return f"FOREIGN KEY ({q(column)}) REFERENCES {q(table)} ({q(ref_column)}) ON DELETE {on_delete}"

    def db_default_sql(self, field: Field[Any]) -> str | None:
        value = field.db_default
        if value is NO_DEFAULT:
            return None
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return self.bool_literal(value)
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, ir.Raw):
            return value.sql
        to_sql = getattr(value, "to_sql", None)
        if callable(to_sql):  # yara_orm.db_defaults
            return str(to_sql(self))
        return self.literal(str(getattr(value, "value", value)))

    def bool_literal(self, value: bool) -> str:
        return "TRUE" if value else "FALSE"

    def table_comment_sql(self, table: str, comment: str) -> list[str]:
        return []

    def column_comment_sql(self, table: str, column: str, comment: str) -> list[str]:
        return []

    # -- schema changes (migrations) ------------------------------------------------------------
    # DDL runs inside a transaction and rolls back with it (PostgreSQL, SQLite; not MySQL).
    transactional_ddl: ClassVar[bool] = True
    # ALTER TABLE can change a column's type, nullability, default and constraints in place; a
    # backend without it (SQLite) gets the table-rebuild procedure instead.
    alter_column_in_place: ClassVar[bool] = True
    # ADD COLUMN ... NOT NULL without a default fills existing rows with the type's zero
    # (MySQL) instead of failing.
    implicit_not_null_fill: ClassVar[bool] = False
    # CREATE INDEX CONCURRENTLY (outside a transaction, no write lock on the table).
    supports_concurrent_index: ClassVar[bool] = False

    def add_column_sql(self, table: str, column_definition: str) -> str:
        return f"ALTER TABLE {self.quote(table)} ADD COLUMN {column_definition}"

    def drop_column_sql(self, table: str, column: str) -> str:
        return f"ALTER TABLE {self.quote(table)} DROP COLUMN {self.quote(column)}"

    def drop_foreign_key_sql(self, table: str, column: str) -> str | None:
        """What must go before dropping a column with a foreign key (None: DROP COLUMN takes
        the key with it; MySQL refuses to drop the key's index)."""
        return None

    def rename_column_sql(self, table: str, old: str, new: str) -> str:
        return f"ALTER TABLE {self.quote(table)} RENAME COLUMN {self.quote(old)} TO {self.quote(new)}"

    def rename_table_sql(self, old: str, new: str) -> str:
        return f"ALTER TABLE {self.quote(old)} RENAME TO {self.quote(new)}"

    def renamed_table_names_sql(self, old: str, new: str) -> list[str]:
        """After renaming table ``old`` to ``new``: give the names the server derived from the
        table's name (constraints, sequences) the ones it would derive now."""
        return []

    def drop_table_sql(self, table: str) -> str:
        return f"DROP TABLE {self.quote(table)}"

    def drop_index_sql(self, table: str, name: str, concurrently: bool = False) -> str:
        return f"DROP INDEX {self.quote(name)}"

    def rename_index_sql(self, table: str, old: str, new: str, columns: list[str], unique: bool) -> list[str]:
        """Give index ``old`` the name ``new`` (the base drops and recreates it)."""
        q = self.quote
        cols = ", ".join(q(c) for c in columns)
        return [
            self.drop_index_sql(table, old),
            f"{self.index_prefix_sql(unique, False)} {q(new)} ON {q(table)} ({cols})",
        ]

    def rename_constraint_sql(self, table: str, old: str, new: str) -> list[str]:
        q = self.quote
        return [f"ALTER TABLE {q(table)} RENAME CONSTRAINT {q(old)} TO {q(new)}"]

    def index_column_sql(self, column: str, type_key: str | None, unique: bool) -> str:
        """One column of an index's key (``type_key``: its field's type, when known)."""
        return self.quote(column)

    def index_prefix_sql(self, unique: bool, concurrently: bool) -> str:
        """``CREATE [UNIQUE] INDEX [CONCURRENTLY]``."""
        return f"CREATE {'UNIQUE ' if unique else ''}INDEX"

    def index_kind_prefix_sql(self, kind: str) -> str | None:
        """``CREATE <kind> INDEX`` for an index kind (``"fulltext"``, see ``Index.kind``), or
        None where the database has no such index: none is created (PostgreSQL's ``search``
        needs none; SQLite has no ``search``)."""
        return None

    def drop_constraint_sql(self, table: str, name: str) -> str:
        return f"ALTER TABLE {self.quote(table)} DROP CONSTRAINT {self.quote(name)}"

    def column_default_sql(self, table: str, column: str, default_sql: str | None) -> str:
        """Set (or with None, drop) a column's database default."""
        action = "DROP DEFAULT" if default_sql is None else f"SET DEFAULT {default_sql}"
        return f"ALTER TABLE {self.quote(table)} ALTER COLUMN {self.quote(column)} {action}"

    def alter_column_sql(self, table: str, old: Field[Any], new: Field[Any]) -> list[str]:
        """In-place ALTERs turning column ``old`` into ``new`` (same name): type, NULL, default,
        single-column UNIQUE and foreign key. Only called where ``alter_column_in_place``."""
        raise UnSupportedError(f"{self.name} cannot alter a column in place")

    def advisory_lock_sql(self, key: int) -> str | None:
        """A statement that blocks until this session holds the lock ``key`` (None: the backend
        has no such lock; migrate then relies on its transactions alone)."""
        return None

    def advisory_lock_acquired(self, value: Any) -> bool:
        """Whether the lock statement's one value means the lock is held (PostgreSQL's
        returns nothing: it blocks until it is)."""
        return True

    def advisory_unlock_sql(self, key: int) -> str | None:
        return None

    def session_id_sql(self) -> str | None:
        """A query whose one value identifies the server session (to notice a replaced
        connection, which would have lost a session lock)."""
        return None
