"""Reading a live database's schema back, for drift detection (``check``) and tests.

An introspector per dialect name returns a :data:`Schema`: per table its columns (declared
type, NOT NULL, default), primary key, indexes (columns, unique), the names of the indexes
that carry a name Yara or the user gave (``index_names``: later migrations find them by it),
foreign keys and comment, in a normal form that compares equal across two databases built the
same way. A third backend registers its own with :func:`register_introspector`.

Another kind of schema object is one more key: each introspector's ``describe`` fills it in
:func:`_table`, and :data:`COMPARED` lists it for :func:`diff_schemas` (CHECK constraints are
one: ``checks``).

What the migrations *say* the schema is comes from the same introspection: the state's DDL is
run in a scratch space (a rolled-back schema on PostgreSQL, an in-memory database on SQLite, a
database dropped afterwards on MariaDB), so both sides are described by the server itself.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..connection import Connection
from ..exceptions import MigrationError
from ..pool import connect

if TYPE_CHECKING:
    from ..dialects.base import Dialect

Schema = dict[str, dict[str, Any]]

IGNORED_TABLES = frozenset({"yara_migrations", "yara_migrations_progress"})


class Introspector:
    async def tables(self, conn: Connection) -> list[str]:
        raise NotImplementedError

    async def describe(self, conn: Connection) -> Schema:
        raise NotImplementedError

    async def scratch(self, conn: Connection, statements: Iterable[str]) -> Schema:
        """The schema ``statements`` create, without touching ``conn``'s own tables."""
        raise NotImplementedError


# The table entries diff_schemas compares as a whole (columns and index names get messages of
# their own).
COMPARED = ("pk", "indexes", "foreign_keys", "checks", "comment")


def _table(
    columns: dict[str, Any],
    pk: list[str],
    indexes: Iterable[Any],
    fks: Iterable[Any],
    comment: Any,
    index_names: Iterable[tuple[str, tuple[str, ...]]] = (),
    checks: Iterable[str] = (),
) -> dict[str, Any]:
    return {
        "columns": columns,
        "pk": tuple(pk),
        "indexes": sorted(set(indexes)),
        "index_names": dict(sorted(index_names)),
        "foreign_keys": sorted(set(fks)),
        # CHECK expressions as the server prints them (the same DDL prints the same way);
        # a list, as two columns may carry the same check.
        "checks": sorted(" ".join(c.split()) for c in checks),
        "comment": comment or None,
    }


_CHECK = re.compile(r"\bCHECK\s*\(", re.IGNORECASE)


def sqlite_checks(create_sql: str) -> list[str]:
    """The CHECK expressions in an SQLite ``CREATE TABLE`` statement (SQLite keeps only the
    text: it rewrites it for renamed columns and tables, and appends added columns)."""
    out: list[str] = []
    i = 0
    text = create_sql
    while True:
        quote: str | None = None
        start = -1
        # Find the next CHECK keyword outside quoted names and string literals.
        j = i
        while j < len(text):
            ch = text[j]
            if quote is not None:
                if ch == quote:
                    quote = None
            elif ch in "'\"`[":
                quote = "]" if ch == "[" else ch
            else:
                m = _CHECK.match(text, j)
                if m is not None and (j == 0 or not (text[j - 1].isalnum() or text[j - 1] == "_")):
                    start = m.end()
                    break
            j += 1
        if start < 0:
            return out
        depth, k, quote = 1, start, None
        while k < len(text) and depth:
            ch = text[k]
            if quote is not None:
                if ch == quote:
                    quote = None
            elif ch in "'\"`[":
                quote = "]" if ch == "[" else ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            k += 1
        out.append(text[start : k - 1].strip())
        i = k


def _schema(
    tables: dict[str, Any],
    columns: dict[str, dict[str, Any]],
    pks: dict[str, list[str]],
    indexes: dict[str, list[Any]],
    fks: dict[str, list[Any]],
    index_names: dict[str, list[tuple[str, tuple[str, ...]]]],
    checks: dict[str, list[str]],
) -> Schema:
    """The schema of the server introspectors: per-table facts (keyed by table) assembled with
    ``_table``; ``tables`` maps each table to its comment."""
    return {
        t: _table(
            columns.get(t, {}),
            pks.get(t, []),
            indexes.get(t, []),
            fks.get(t, []),
            comment,
            index_names.get(t, []),
            checks.get(t, []),
        )
        for t, comment in tables.items()
        if t not in IGNORED_TABLES
    }


class SQLiteIntrospector(Introspector):
    async def tables(self, conn: Connection) -> list[str]:
        rows = await conn.pool.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [str(r[0]) for r in rows]

    async def describe(self, conn: Connection) -> Schema:
        q = conn.dialect.quote
        out: Schema = {}
        for table in await self.tables(conn):
            if table in IGNORED_TABLES:
                continue
            columns: dict[str, Any] = {}
            pk: list[tuple[int, str]] = []
            for _cid, name, typ, notnull, default, pk_pos in await conn.pool.fetch(
                f"PRAGMA table_info({q(table)})"
            ):
                columns[str(name)] = (str(typ).upper(), bool(notnull) or bool(pk_pos), default)
                if pk_pos:
                    pk.append((int(pk_pos), str(name)))
            indexes = []
            names = []
            for row in await conn.pool.fetch(f"PRAGMA index_list({q(table)})"):
                index_name, unique, origin = str(row[1]), bool(row[2]), str(row[3])
                if origin == "pk":
                    continue
                cols = tuple(str(r[2]) for r in await conn.pool.fetch(f"PRAGMA index_info({q(index_name)})"))
                indexes.append((cols, unique))
                if origin == "c":  # CREATE INDEX; a UNIQUE constraint's is sqlite_autoindex_*
                    names.append((index_name, cols))
            fks = [
                (str(r[3]), str(r[2]), str(r[4]), str(r[6]).upper())
                for r in await conn.pool.fetch(f"PRAGMA foreign_key_list({q(table)})")
            ]
            sql_row = await conn.pool.fetch_one(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [table]
            )
            create = sql_row[0] if sql_row is not None else None
            checks = sqlite_checks(str(create)) if create is not None else []
            out[table] = _table(columns, [n for _p, n in sorted(pk)], indexes, fks, None, names, checks)
        return out

    async def scratch(self, conn: Connection, statements: Iterable[str]) -> Schema:
        pool = await connect("sqlite://:memory:", max_size=1)
        try:
            scratch = Connection("scratch", pool, conn.dialect)
            for sql in statements:
                await pool.execute(sql)
            return await self.describe(scratch)
        finally:
            await pool.close()


_PG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

_PG_INDEXES = """
SELECT t.relname, ix.indisunique, ix.indisprimary,
       array_to_string(ARRAY(
           SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ','),
       i.relname, EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid)
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND t.relkind = 'r'
"""

_PG_FKS = """
SELECT cl.relname, a.attname, rc.relname, ra.attname, con.confdeltype::text
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1]
WHERE con.contype = 'f' AND n.nspname = current_schema()
"""

_PG_CHECKS = """
SELECT cl.relname, pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE con.contype = 'c' AND n.nspname = current_schema()
"""

_PG_TABLES = """
SELECT c.relname, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname
"""

_SERVER_KEY_NAME = re.compile(r"(?!uid_).*_key\d*")

_PG_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


class PostgresIntrospector(Introspector):
    async def tables(self, conn: Connection) -> list[str]:
        return [str(r[0]) for r in await conn.pool.fetch(_PG_TABLES)]

    async def describe(self, conn: Connection) -> Schema:
        tables = {str(r[0]): r[1] for r in await conn.pool.fetch(_PG_TABLES)}
        columns: dict[str, dict[str, Any]] = {t: {} for t in tables}
        for table, name, typ, notnull, default, comment in await conn.pool.fetch(_PG_COLUMNS):
            columns.setdefault(str(table), {})[str(name)] = (str(typ), bool(notnull), default, comment)
        pks: dict[str, list[str]] = {}
        indexes: dict[str, list[Any]] = {t: [] for t in tables}
        index_names: dict[str, list[tuple[str, tuple[str, ...]]]] = {t: [] for t in tables}
        for table, unique, primary, cols, index_name, constraint in await conn.pool.fetch(_PG_INDEXES):
            names = tuple(str(cols).split(",")) if cols else ()
            if primary:
                pks[str(table)] = list(names)
                continue
            indexes.setdefault(str(table), []).append((names, bool(unique)))
            # An unnamed UNIQUE gets the server's name (book_isbn_key, book_isbn_key1), which
            # renaming the column does not follow (a table rename does: the editor renames
            # them): only the names Yara (uid_...) or the user chose are compared.
            if not (constraint and _SERVER_KEY_NAME.fullmatch(str(index_name))):
                index_names.setdefault(str(table), []).append((str(index_name), names))
        fks: dict[str, list[Any]] = {t: [] for t in tables}
        for table, col, ref, ref_col, action in await conn.pool.fetch(_PG_FKS):
            fks.setdefault(str(table), []).append(
                (str(col), str(ref), str(ref_col), _PG_ON_DELETE.get(str(action), str(action)))
            )
        checks: dict[str, list[str]] = {t: [] for t in tables}
        for table, definition in await conn.pool.fetch(_PG_CHECKS):
            checks.setdefault(str(table), []).append(str(definition))
        return _schema(tables, columns, pks, indexes, fks, index_names, checks)

    async def scratch(self, conn: Connection, statements: Iterable[str]) -> Schema:
        name = f"yara_check_{uuid.uuid4().hex[:12]}"
        q = conn.dialect.quote
        schema: Schema = {}

        class _Rollback(Exception):
            pass

        try:
            # Built and read inside a transaction that is rolled back: nothing is left behind.
            async with conn.pool.transaction():
                await conn.pool.execute(f"CREATE SCHEMA {q(name)}")
                await conn.pool.execute(f"SET LOCAL search_path TO {q(name)}")
                for sql in statements:
                    await conn.pool.execute(sql)
                schema = await self.describe(conn)
                raise _Rollback
        except _Rollback:
            pass
        return schema


_MY_TABLES = """
SELECT table_name, table_comment FROM information_schema.tables
WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name
"""

_MY_COLUMNS = """
SELECT table_name, column_name, column_type, is_nullable, column_default, extra, collation_name,
       column_comment
FROM information_schema.columns WHERE table_schema = ?
ORDER BY table_name, ordinal_position
"""

_MY_INDEXES = """
SELECT table_name, index_name, non_unique, column_name, sub_part
FROM information_schema.statistics WHERE table_schema = ?
ORDER BY table_name, index_name, seq_in_index
"""

_MY_FKS = """
SELECT k.table_name, k.column_name, k.referenced_table_name, k.referenced_column_name,
       r.delete_rule, k.constraint_name
FROM information_schema.key_column_usage k
JOIN information_schema.referential_constraints r
  ON r.constraint_schema = k.constraint_schema AND r.constraint_name = k.constraint_name
 AND r.table_name = k.table_name
WHERE k.table_schema = ? AND k.referenced_table_name IS NOT NULL
"""

_MY_CHECKS = """
SELECT table_name, check_clause FROM information_schema.check_constraints
WHERE constraint_schema = ?
"""

_MY_AUTO_NAME = re.compile(r"(.+?)(_\d+)?")


class MySQLIntrospector(Introspector):
    """MariaDB/MySQL from ``information_schema``, for the session's current database."""

    # The database is a parameter, not DATABASE() in each query: a prepared statement keeps
    # the DATABASE() of when it was prepared, and check reads a scratch database on the same
    # connection (after USE, then back).
    async def _database(self, conn: Connection) -> list[Any]:
        row = await conn.pool.fetch_one("SELECT DATABASE()")
        if row is None or row[0] is None:
            raise MigrationError("the MySQL connection has no current database (put one in the URL)")
        return [str(row[0])]

    async def tables(self, conn: Connection) -> list[str]:
        return [str(r[0]) for r in await conn.pool.fetch(_MY_TABLES, await self._database(conn))]

    async def describe(self, conn: Connection) -> Schema:
        return await self._describe(conn, await self._database(conn))

    async def _describe(self, conn: Connection, db: list[Any]) -> Schema:
        tables = {str(r[0]): r[1] for r in await conn.pool.fetch(_MY_TABLES, db)}
        columns: dict[str, dict[str, Any]] = {t: {} for t in tables}
        for table, name, typ, nullable, default, extra, collation, comment in await conn.pool.fetch(
            _MY_COLUMNS, db
        ):
            columns.setdefault(str(table), {})[str(name)] = (
                str(typ),
                str(nullable) == "NO",
                None if default is None else str(default),
                str(extra) or None,
                collation,
                str(comment) or None,
            )
        fks: dict[str, list[Any]] = {t: [] for t in tables}
        fk_names: dict[str, set[str]] = {t: set() for t in tables}
        for table, col, ref, ref_col, action, fk_name in await conn.pool.fetch(_MY_FKS, db):
            fks.setdefault(str(table), []).append((str(col), str(ref), str(ref_col), str(action)))
            fk_names.setdefault(str(table), set()).add(str(fk_name))
        grouped: dict[tuple[str, str], tuple[bool, list[str]]] = {}
        for table, index_name, non_unique, col, sub_part in await conn.pool.fetch(_MY_INDEXES, db):
            key = (str(table), str(index_name))
            entry = grouped.setdefault(key, (not int(non_unique), []))
            entry[1].append(str(col) if sub_part is None else f"{col}({sub_part})")
        pks: dict[str, list[str]] = {}
        indexes: dict[str, list[Any]] = {t: [] for t in tables}
        index_names: dict[str, list[tuple[str, tuple[str, ...]]]] = {t: [] for t in tables}
        for (table, index_name), (unique, cols) in grouped.items():
            if index_name == "PRIMARY":
                pks[table] = cols
                continue
            names = tuple(cols)
            indexes.setdefault(table, []).append((names, unique))
            # An unnamed UNIQUE or a foreign key's implicit index is named after its first
            # column (isbn, isbn_2) or after the key: the server's choice, not compared.
            auto = _MY_AUTO_NAME.fullmatch(index_name)
            first = cols[0].partition("(")[0]
            if (auto is not None and auto.group(1) == first) or index_name in fk_names.get(table, set()):
                continue
            index_names.setdefault(table, []).append((index_name, tuple(c.partition("(")[0] for c in cols)))
        checks: dict[str, list[str]] = {t: [] for t in tables}
        for table, clause in await conn.pool.fetch(_MY_CHECKS, db):
            checks.setdefault(str(table), []).append(str(clause))
        return _schema(tables, columns, pks, indexes, fks, index_names, checks)

    async def scratch(self, conn: Connection, statements: Iterable[str]) -> Schema:
        (home,) = await self._database(conn)
        name = f"yara_check_{uuid.uuid4().hex[:12]}"
        q = conn.dialect.quote
        try:
            await conn.pool.execute(f"CREATE DATABASE {q(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        except Exception as exc:
            raise MigrationError(
                f"check builds what the migrations describe in a scratch database ({name}, dropped "
                f"after) and could not create it ({exc}); grant this user CREATE and DROP on "
                "yara\\_check\\_% databases, or run check with --no-db"
            ) from exc
        try:
            await conn.pool.execute(f"USE {q(name)}")
            try:
                for sql in statements:
                    # A prepared statement keeps the database it was prepared in: text the
                    # connection's statement cache has never seen runs here, not at home.
                    await conn.pool.execute(f"/* {name} */ {sql}")
                return await self._describe(conn, [name])
            finally:
                await conn.pool.execute(f"USE {q(home)}")
        finally:
            await conn.pool.execute(f"DROP DATABASE IF EXISTS {q(name)}")


_INTROSPECTORS: dict[str, type[Introspector]] = {
    "sqlite": SQLiteIntrospector,
    "postgres": PostgresIntrospector,
    "mysql": MySQLIntrospector,
}


def register_introspector(dialect_name: str, introspector: type[Introspector]) -> None:
    """Schema reading for a third-party dialect (``check``'s drift detection needs one)."""
    _INTROSPECTORS[dialect_name] = introspector


def introspector_for(dialect: Dialect) -> Introspector:
    try:
        return _INTROSPECTORS[dialect.name]()
    except KeyError:
        raise MigrationError(
            f"no schema introspection for {dialect.name!r}; register one with "
            "yara_orm.migrations.introspect.register_introspector"
        ) from None


async def introspect(conn: Connection) -> Schema:
    return await introspector_for(conn.dialect).describe(conn)


def diff_schemas(expected: Schema, actual: Schema) -> list[str]:
    """Human-readable differences (empty when the schemas match)."""
    out: list[str] = []
    for table in sorted(set(expected) - set(actual)):
        out.append(f"table {table!r} is missing from the database")
    for table in sorted(set(actual) - set(expected)):
        out.append(f"table {table!r} exists in the database but not in the migrations")
    for table in sorted(set(expected) & set(actual)):
        exp, act = expected[table], actual[table]
        for col in sorted(set(exp["columns"]) - set(act["columns"])):
            out.append(f"{table}.{col}: column missing from the database")
        for col in sorted(set(act["columns"]) - set(exp["columns"])):
            out.append(f"{table}.{col}: column in the database but not in the migrations")
        for col in sorted(set(exp["columns"]) & set(act["columns"])):
            if exp["columns"][col] != act["columns"][col]:
                out.append(
                    f"{table}.{col}: expected {exp['columns'][col]}, database has {act['columns'][col]}"
                )
        out += _index_name_diffs(table, exp["index_names"], act["index_names"])
        for key in COMPARED:
            if exp[key] != act[key]:
                out.append(f"{table}: {key.replace('_', ' ')} expected {exp[key]}, database has {act[key]}")
    return out


def _index_name_diffs(table: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name in sorted(set(expected) - set(actual)):
        out.append(f"{table}: index {name!r} on ({', '.join(expected[name])}) is missing from the database")
    for name in sorted(set(actual) - set(expected)):
        columns = ", ".join(actual[name])
        out.append(f"{table}: index {name!r} on ({columns}) is in the database but not in the migrations")
    for name in sorted(set(expected) & set(actual)):
        if expected[name] != actual[name]:
            out.append(
                f"{table}: index {name!r} expected on ({', '.join(expected[name])}), the database's is on "
                f"({', '.join(actual[name])})"
            )
    return out
