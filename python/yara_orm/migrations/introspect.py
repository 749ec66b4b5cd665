"""Reading a live database's schema back, for drift detection (``check``) and tests.

An introspector per dialect name returns a :data:`Schema`: per table its columns (declared
type, NOT NULL, default), primary key, indexes (columns, unique), the names of the indexes
that carry a name Yara or the user gave (``index_names``: later migrations find them by it),
foreign keys and comment, in a normal form that compares equal across two databases built the
same way. A third backend registers its own with :func:`register_introspector`.

Another kind of schema object (CHECK constraints, say) is one more key: each introspector's
``describe`` fills it in :func:`_table`, and :data:`COMPARED` lists it for :func:`diff_schemas`.

What the migrations *say* the schema is comes from the same introspection: the state's DDL is
run in a scratch space (a rolled-back schema on PostgreSQL, an in-memory database on SQLite),
so both sides are described by the server itself.
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

IGNORED_TABLES = frozenset({"yara_migrations"})


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
COMPARED = ("pk", "indexes", "foreign_keys", "comment")


def _table(
    columns: dict[str, Any],
    pk: list[str],
    indexes: Iterable[Any],
    fks: Iterable[Any],
    comment: Any,
    index_names: Iterable[tuple[str, tuple[str, ...]]] = (),
) -> dict[str, Any]:
    return {
        "columns": columns,
        "pk": tuple(pk),
        "indexes": sorted(set(indexes)),
        "index_names": dict(sorted(index_names)),
        "foreign_keys": sorted(set(fks)),
        "comment": comment or None,
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
            out[table] = _table(columns, [n for _p, n in sorted(pk)], indexes, fks, None, names)
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
            # renaming the table or column does not follow: only the names Yara (uid_...) or
            # the user chose are compared.
            if not (constraint and _SERVER_KEY_NAME.fullmatch(str(index_name))):
                index_names.setdefault(str(table), []).append((str(index_name), names))
        fks: dict[str, list[Any]] = {t: [] for t in tables}
        for table, col, ref, ref_col, action in await conn.pool.fetch(_PG_FKS):
            fks.setdefault(str(table), []).append(
                (str(col), str(ref), str(ref_col), _PG_ON_DELETE.get(str(action), str(action)))
            )
        return {
            t: _table(
                columns.get(t, {}),
                pks.get(t, []),
                indexes.get(t, []),
                fks.get(t, []),
                comment,
                index_names.get(t, []),
            )
            for t, comment in tables.items()
            if t not in IGNORED_TABLES
        }

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


_INTROSPECTORS: dict[str, type[Introspector]] = {
    "sqlite": SQLiteIntrospector,
    "postgres": PostgresIntrospector,
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
