"""MySQL and MariaDB: backtick quoting, ``?`` placeholders, InnoDB tables in utf8mb4.

Text columns use the binary collation ``utf8mb4_bin`` (the table default), so ``exact``,
``contains`` and ordering compare code points as on PostgreSQL and SQLite; the ``i`` lookups
compare ``LOWER()`` of both sides, whatever the column's collation. The engine sets every
session to a strict ``sql_mode`` with ``NO_BACKSLASH_ESCAPES`` (so ``ESCAPE '\\'`` means one
backslash) and ``time_zone = '+00:00'`` (DATETIME holds UTC wall times).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import UnSupportedError
from ..query import ir
from .base import Dialect, json_path

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..query.compiler import Compiler

_EXTRACT = {
    "year": "YEAR({})",
    "quarter": "QUARTER({})",
    "month": "MONTH({})",
    "week": "WEEK({}, 3)",  # ISO 8601 weeks, as PostgreSQL's EXTRACT(WEEK)
    "day": "DAYOFMONTH({})",
    "hour": "HOUR({})",
    "minute": "MINUTE({})",
    "second": "SECOND({})",
    "microsecond": "MICROSECOND({})",
    "iso_week_day": "(WEEKDAY({}) + 1)",  # Monday 1 ... Sunday 7
    "week_day": "(DAYOFWEEK({}) - 1)",  # Sunday 0 ... Saturday 6
    "day_of_year": "DAYOFYEAR({})",
}

# CAST targets: MySQL casts to a handful of type names only.
_CASTS = {
    "smallint": "SIGNED",
    "int": "SIGNED",
    "bigint": "SIGNED",
    "bool": "SIGNED",
    "float": "DOUBLE",
    "varchar": "CHAR",
    "text": "CHAR",
    "uuid": "CHAR",
    "json": "CHAR",
    "binary": "BINARY",
    "date": "DATE",
    "time": "TIME(6)",
    "interval": "SIGNED",
    "datetime": "DATETIME(6)",
}


def _is_integer(node: ir.Node) -> bool:
    if isinstance(node, ir.Param):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    field = node.output_field
    return field is not None and field.type_key in ("smallint", "int", "bigint")


class MySQLDialect(Dialect):
    name = "mysql"
    supports_regex = True
    supports_full_text = True
    supports_json_containment = True
    supports_for_update = True
    supports_aggregate_filter = False
    # Expression results come back as MySQL types them (SUM of ints is DECIMAL, booleans are
    # integers): the expression's output field converts them.
    typed_expressions = False
    default_max_bind_params = 65535
    # Under the smallest default max_allowed_packet of current servers (MariaDB 16 MiB, MySQL
    # 64 MiB), with room for the statement text.
    max_statement_bytes = 8 * 1024 * 1024
    # DDL commits implicitly: a migration cannot roll it back.
    transactional_ddl = False
    implicit_not_null_fill = True

    type_names: ClassVar[dict[str, str]] = {
        "smallint": "SMALLINT",
        "int": "INT",
        "bigint": "BIGINT",
        "float": "DOUBLE",
        "decimal": "DECIMAL({max_digits},{decimal_places})",
        "varchar": "VARCHAR({max_length})",
        # MEDIUMTEXT (16 MiB): LONGTEXT with a binary collation is how MariaDB spells JSON,
        # which the engine decodes as a document.
        "text": "MEDIUMTEXT",
        "binary": "LONGBLOB",
        "bool": "BOOL",
        "date": "DATE",
        "time": "TIME(6)",
        "datetime": "DATETIME(6)",
        # Integer microseconds (the engine binds a timedelta so): TIME spans only +-838:59:59.
        "interval": "BIGINT",
        # 36 ASCII characters in a binary collation: the engine reads them back as UUIDs.
        "uuid": "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin",
        # MySQL's JSON type; on MariaDB an alias of LONGTEXT utf8mb4_bin with a JSON_VALID check.
        "json": "JSON",
    }

    def quote(self, name: str) -> str:
        quoted = self._quoted.get(name)
        if quoted is None:
            quoted = "`" + name.replace("`", "``") + "`"
            self._quoted[name] = quoted
        return quoted

    def placeholder(self, index: int) -> str:
        return "?"

    def cast_type(self, field: Field[Any]) -> str:
        if field.type_key == "decimal":
            return self.column_type(field)
        return _CASTS.get(field.type_key, "CHAR")

    def param_cast_sql(self, placeholder: str, field: Field[Any] | None, value: Any) -> str:
        # A bare DATE or TIME parameter in a select list comes back as DATETIME.
        key = field.type_key if field is not None else None
        if key == "date" or (
            key is None and isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        ):
            return f"CAST({placeholder} AS DATE)"
        if key == "time" or (key is None and isinstance(value, dt.time)):
            return f"CAST({placeholder} AS TIME(6))"
        return placeholder

    def binop_sql(self, c: Compiler, n: ir.BinOp) -> str:
        # ``/`` of two integers is exact division in MySQL; DIV truncates as PostgreSQL's does.
        if n.op == "/" and _is_integer(n.left) and _is_integer(n.right):
            return f"({c.expr(n.left)} DIV {c.expr(n.right)})"
        return super().binop_sql(c, n)

    def limit_offset_sql(self, limit: int | None, offset: int | None) -> str:
        if limit is None and offset:
            # OFFSET needs a LIMIT in MySQL: the largest one it accepts.
            return f" LIMIT 18446744073709551615 OFFSET {int(offset)}"
        return super().limit_offset_sql(limit, offset)

    def for_update_sql(self, fu: ir.ForUpdate) -> str:
        if fu.of:
            raise UnSupportedError("MariaDB has no FOR UPDATE OF: it locks the rows of every table read")
        sql = " FOR UPDATE"
        if fu.nowait:
            sql += " NOWAIT"
        elif fu.skip_locked:
            sql += " SKIP LOCKED"
        return sql

    def default_values_sql(self) -> str:
        return "() VALUES ()"

    def insert_head_sql(self, table: str, on_conflict: ir.OnConflict | None) -> str:
        if on_conflict is not None and not on_conflict.update_columns:
            return f"INSERT IGNORE INTO {table}"
        return f"INSERT INTO {table}"

    def on_conflict_sql(self, oc: ir.OnConflict) -> str:
        # MySQL applies the clause to a conflict on any unique key; the target is implied.
        if not oc.update_columns:
            return ""  # INSERT IGNORE (insert_head_sql)
        q = self.quote
        sets = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in oc.update_columns)
        return f" ON DUPLICATE KEY UPDATE {sets}"

    # -- expressions --------------------------------------------------------------------------------

    def fn_length(self, c: Compiler, n: ir.Func) -> str:
        return f"CHAR_LENGTH({c.expr(n.args[0])})"

    def fn_concat(self, c: Compiler, n: ir.Func) -> str:
        # || is OR in MySQL.
        return "CONCAT(" + ", ".join(f"COALESCE({c.expr(a)}, '')" for a in n.args) + ")"

    def fn_random(self, c: Compiler, n: ir.Func) -> str:
        return "RAND()"

    def fn_now(self, c: Compiler, n: ir.Func) -> str:
        return "UTC_TIMESTAMP(6)"

    def fn_numeric(self, c: Compiler, n: ir.Func) -> str:
        return f"CAST({c.expr(n.args[0])} AS DECIMAL(65, 30))"

    def fn_json_text(self, c: Compiler, n: ir.Func) -> str:
        return f"CAST({c.expr(n.args[0])} AS CHAR)"

    def fn_json_path(self, c: Compiler, n: ir.Func) -> str:
        path, as_text = n.extra
        sql = f"JSON_EXTRACT({c.expr(n.args[0])}, {c.add_param(json_path(tuple(path)))})"
        return f"JSON_UNQUOTE({sql})" if as_text else sql

    def extract_sql(self, part: str, sql: str, field: Field[Any] | None) -> str:
        if part == "date":
            return f"DATE({sql})"
        try:
            return _EXTRACT[part].format(sql)
        except KeyError:
            raise UnSupportedError(f"unknown date part {part!r}") from None

    def trunc_sql(self, kind: str, sql: str, field: Field[Any] | None) -> str:
        day = f"DATE({sql})"
        starts = {
            "year": f"MAKEDATE(YEAR({sql}), 1)",
            "quarter": f"(MAKEDATE(YEAR({sql}), 1) + INTERVAL (QUARTER({sql}) - 1) QUARTER)",
            "month": f"({day} - INTERVAL (DAYOFMONTH({sql}) - 1) DAY)",
            "week": f"({day} - INTERVAL WEEKDAY({sql}) DAY)",
            "day": day,
        }
        if field is not None and field.type_key == "date":
            if kind not in starts:
                raise UnSupportedError(f"cannot truncate a date to {kind!r}")
            return starts[kind]
        formats = {"hour": "%Y-%m-%d %H:00:00", "minute": "%Y-%m-%d %H:%i:00", "second": "%Y-%m-%d %H:%i:%s"}
        if kind in formats:
            return f"CAST(DATE_FORMAT({sql}, '{formats[kind]}') AS DATETIME(6))"
        if kind in starts:
            return f"CAST({starts[kind]} AS DATETIME(6))"
        raise UnSupportedError(f"unknown truncation {kind!r}")

    # -- lookups ------------------------------------------------------------------------------------

    def _json_null_test(self, lhs: str, n: ir.Lookup) -> str | None:
        """``isnull`` on a JSON path: a missing key and a JSON null both count (as on
        PostgreSQL); JSON_EXTRACT gives SQL NULL for the first and JSON null for the second."""
        if isinstance(n.lhs, ir.Func) and n.lhs.name == "json_path":
            return f"JSON_TYPE(COALESCE({lhs}, 'null')) = 'NULL'"
        return None

    def lookup_isnull(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        test = self._json_null_test(lhs, n)
        if test is None:
            return super().lookup_isnull(c, lhs, n)
        return test if n.extra else f"NOT ({test})"

    def lookup_not_isnull(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        test = self._json_null_test(lhs, n)
        if test is None:
            return super().lookup_not_isnull(c, lhs, n)
        return f"NOT ({test})" if n.extra else test

    def lookup_not(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"NOT ({lhs} <=> {self._rhs(c, n)})"

    def text_sql(self, lhs: str, n: ir.Lookup) -> str:
        field = n.lhs.output_field
        if field is not None and field.type_key not in ("varchar", "text"):
            return f"CAST({lhs} AS CHAR)"
        return lhs

    def pattern_expr(self, lookup: str, rhs: str) -> str:
        esc = f"REPLACE(REPLACE(REPLACE({rhs}, '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
        if lookup.endswith("contains"):
            return f"CONCAT('%', {esc}, '%')"
        if lookup.endswith("startswith"):
            return f"CONCAT({esc}, '%')"
        if lookup.endswith("endswith"):
            return f"CONCAT('%', {esc})"
        return esc

    def lookup_contains(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        # BINARY: case-sensitive whatever the column's collation.
        rhs = n.rhs[0]
        pattern = c.expr(rhs) if isinstance(rhs, ir.Param) else self.pattern_expr(n.name, c.expr(rhs))
        return f"CAST({self.text_sql(lhs, n)} AS BINARY) LIKE CAST({pattern} AS BINARY) ESCAPE '\\'"

    lookup_startswith = lookup_contains
    lookup_endswith = lookup_contains

    def lookup_iexact(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        rhs = n.rhs[0]
        pattern = c.expr(rhs) if isinstance(rhs, ir.Param) else self.pattern_expr(n.name, c.expr(rhs))
        return f"LOWER({self.text_sql(lhs, n)}) LIKE LOWER({pattern}) ESCAPE '\\'"

    lookup_icontains = lookup_iexact
    lookup_istartswith = lookup_iexact
    lookup_iendswith = lookup_iexact

    def lookup_regex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{self.text_sql(lhs, n)} REGEXP CONCAT('(?-i)', {self._rhs(c, n)})"

    def lookup_iregex(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"{self.text_sql(lhs, n)} REGEXP CONCAT('(?i)', {self._rhs(c, n)})"

    def lookup_search(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        # Needs a FULLTEXT index on the column (Index type FULLTEXT); the server says so otherwise.
        return f"MATCH ({lhs}) AGAINST ({self._rhs(c, n)} IN NATURAL LANGUAGE MODE)"

    def lookup_json_contains(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"JSON_CONTAINS({lhs}, {self._rhs(c, n)})"

    def lookup_json_contained_by(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        return f"JSON_CONTAINS({self._rhs(c, n)}, {lhs})"

    def lookup_json_has_key(self, c: Compiler, lhs: str, n: ir.Lookup) -> str:
        rhs = n.rhs[0]
        assert isinstance(rhs, ir.Param)
        return f"JSON_CONTAINS_PATH({lhs}, 'one', {c.add_param(json_path((str(rhs.value),)))})"

    # -- DDL ----------------------------------------------------------------------------------------

    def table_options_sql(self) -> str:
        return " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

    def generated_pk_definition(self, field: Field[Any]) -> str:
        return f"{self.quote(field.column)} {self.column_type(field)} NOT NULL AUTO_INCREMENT PRIMARY KEY"

    def add_constraint_sql(self, table: str, name: str, constraint: str, safe: bool) -> str:
        if safe and constraint.startswith("FOREIGN KEY "):
            # MariaDB: generate_schemas(safe=True) runs again on an existing schema.
            constraint = "FOREIGN KEY IF NOT EXISTS " + constraint[len("FOREIGN KEY ") :]
        return super().add_constraint_sql(table, name, constraint, safe)

    def table_comment_sql(self, table: str, comment: str) -> list[str]:
        return [f"ALTER TABLE {self.quote(table)} COMMENT = {self.literal(comment)}"]

    def index_kind_prefix_sql(self, kind: str) -> str | None:
        # MATCH ... AGAINST (the search lookup) needs a FULLTEXT index over its columns.
        return "CREATE FULLTEXT INDEX" if kind == "fulltext" else None

    def drop_index_sql(self, table: str, name: str, concurrently: bool = False) -> str:
        return f"DROP INDEX {self.quote(name)} ON {self.quote(table)}"

    def drop_constraint_sql(self, table: str, name: str) -> str:
        return f"ALTER TABLE {self.quote(table)} DROP CONSTRAINT {self.quote(name)}"

    def advisory_lock_sql(self, key: int) -> str | None:
        # A year: MariaDB takes a negative timeout as "do not wait" (NULL), unlike MySQL.
        return f"SELECT GET_LOCK('yara_orm_{int(key)}', 31536000)"

    def advisory_lock_acquired(self, value: Any) -> bool:
        return value is not None and int(value) == 1

    def advisory_unlock_sql(self, key: int) -> str | None:
        return f"SELECT RELEASE_LOCK('yara_orm_{int(key)}')"

    def session_id_sql(self) -> str | None:
        return "SELECT CONNECTION_ID()"

    # -- schema changes (migrations) ------------------------------------------------------------

    def column_definition(self, field: Field[Any]) -> str:
        # A column's comment is part of its definition here (no COMMENT ON COLUMN).
        sql = super().column_definition(field)
        if field.description:
            sql += f" COMMENT {self.literal(field.description)}"
        return sql

    def index_column_sql(self, column: str, type_key: str | None, unique: bool) -> str:
        # A plain index on a TEXT/BLOB column needs a key length: the first 255 characters (1020
        # bytes in utf8mb4, under InnoDB's 3072). A UNIQUE one stays whole: MariaDB enforces
        # it with a hash of the full value.
        if type_key in ("text", "binary", "json") and not unique:
            return f"{self.quote(column)}(255)"
        return self.quote(column)

    def rename_index_sql(self, table: str, old: str, new: str, columns: list[str], unique: bool) -> list[str]:
        return [f"ALTER TABLE {self.quote(table)} RENAME INDEX {self.quote(old)} TO {self.quote(new)}"]

    def rename_constraint_sql(self, table: str, old: str, new: str) -> list[str]:
        # A UNIQUE constraint is its index here.
        return [f"ALTER TABLE {self.quote(table)} RENAME INDEX {self.quote(old)} TO {self.quote(new)}"]

    def _modify_definition(self, field: Field[Any]) -> str:
        """The column's whole definition for ``MODIFY COLUMN`` (which replaces type, NULL,
        default and comment at once), without the keys that live on their own: UNIQUE and
        PRIMARY KEY stay as they are."""
        parts = [self.quote(field.column), self.column_type(field)]
        if field.pk or not field.null:
            parts.append("NOT NULL")
        if field.pk and field.generated:
            parts.append("AUTO_INCREMENT")
        default = self.db_default_sql(field)
        if default:
            parts.append(f"DEFAULT {default}")
        check = self.column_check_sql(field)
        if check:
            parts.append(check)
        if field.description:
            parts.append(f"COMMENT {self.literal(field.description)}")
        return " ".join(parts)

    def _drop_by_column(self, table: str, column: str, kind: str) -> str:
        """Drop the foreign key (``kind`` "f") or single-column UNIQUE (``"u"``) on ``column``:
        declared inline, they carry names the server chose (``book_ibfk_1``, ``isbn_2``), found
        by column. A foreign key's implicit index goes too (generate_schemas of a column
        without the key has none); a compound statement, so ``sqlmigrate`` shows it whole."""
        t, c = self.literal(table), self.literal(column)
        qt = self.quote(table).replace("'", "''")
        if kind == "f":
            find = (
                "SELECT constraint_name INTO n FROM information_schema.key_column_usage "
                f"WHERE table_schema = DATABASE() AND table_name = {t} AND column_name = {c} "
                "AND referenced_table_name IS NOT NULL LIMIT 1"
            )
            drop = (
                f"EXECUTE IMMEDIATE CONCAT('ALTER TABLE {qt} DROP FOREIGN KEY `', n, '`'); "
                "SET n = (SELECT index_name FROM information_schema.statistics WHERE table_schema = "
                f"DATABASE() AND table_name = {t} AND index_name IN (n, {c}) LIMIT 1); "
                f"IF n IS NOT NULL THEN EXECUTE IMMEDIATE CONCAT('ALTER TABLE {qt} DROP INDEX `', n, '`'); "
                "END IF;"
            )
        else:
            find = (
                "SELECT s.index_name INTO n FROM information_schema.statistics s "
                f"WHERE s.table_schema = DATABASE() AND s.table_name = {t} AND s.column_name = {c} "
                "AND s.non_unique = 0 AND s.index_name <> 'PRIMARY' AND NOT EXISTS (SELECT 1 FROM "
                "information_schema.statistics o WHERE o.table_schema = s.table_schema AND "
                "o.table_name = s.table_name AND o.index_name = s.index_name AND o.seq_in_index > 1) "
                "AND s.index_name NOT LIKE 'uid\\_%' LIMIT 1"
            )
            drop = f"EXECUTE IMMEDIATE CONCAT('ALTER TABLE {qt} DROP INDEX `', n, '`');"
        return (
            f"BEGIN NOT ATOMIC DECLARE n VARCHAR(64) DEFAULT NULL; {find}; "
            f"IF n IS NOT NULL THEN {drop} END IF; END"
        )

    def drop_foreign_key_sql(self, table: str, column: str) -> str | None:
        return self._drop_by_column(table, column, "f")

    def alter_column_sql(self, table: str, old: Field[Any], new: Field[Any]) -> list[str]:
        q = self.quote
        out: list[str] = []
        old_fk = getattr(old, "constraint_sql", None)
        new_fk = getattr(new, "constraint_sql", None)
        old_fk_sql = old_fk(self) if old_fk is not None else None
        new_fk_sql = new_fk(self) if new_fk is not None else None
        if old_fk_sql and old_fk_sql != new_fk_sql:
            out.append(self._drop_by_column(table, new.column, "f"))
        if old.unique and not new.unique and not old.pk:
            out.append(self._drop_by_column(table, new.column, "u"))
        if self._modify_definition(old) != self._modify_definition(new):
            out.append(f"ALTER TABLE {q(table)} MODIFY COLUMN {self._modify_definition(new)}")
        if new.unique and not old.unique and not new.pk:
            out.append(f"ALTER TABLE {q(table)} ADD UNIQUE ({q(new.column)})")
        if new_fk_sql and old_fk_sql != new_fk_sql:
            out.append(f"ALTER TABLE {q(table)} ADD {new_fk_sql}")
        return out
