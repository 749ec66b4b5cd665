"""``copy_in``: PostgreSQL's binary COPY for bulk loads. Values round-trip exactly; a value COPY
cannot carry is refused before anything is sent; a failure midway stores nothing and leaves the
connection usable; backends without it say so."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from yara_orm import Pool
from yara_orm.exceptions import DataError, IntegrityError, ParamsError, ProgrammingError

from ._util import create_table

COLUMNS = (
    "id INTEGER PRIMARY KEY, big BIGINT, small SMALLINT, name TEXT, code VARCHAR(8), "
    "price NUMERIC(12, 3), ratio DOUBLE PRECISION, ok BOOLEAN, at TIMESTAMPTZ, day DATE, "
    "span INTERVAL, key UUID, doc JSONB, raw BYTEA"
)
NAMES = [
    "id",
    "big",
    "small",
    "name",
    "code",
    "price",
    "ratio",
    "ok",
    "at",
    "day",
    "span",
    "key",
    "doc",
    "raw",
]


def statements(table: str, names: list[str] = NAMES) -> tuple[str, str]:
    cols = ", ".join(names)
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    return (
        f"COPY {table} ({cols}) FROM STDIN (FORMAT binary)",
        f"INSERT INTO {table} ({cols}) VALUES ({marks})",
    )


def row(i: int) -> tuple[object, ...]:
    return (
        i,
        2**62 + i,
        -(2**15) + i % 100,
        f"name {i} ü 🎉",
        f"c{i % 1000}",
        decimal.Decimal(f"{i}.125"),
        i / 3,
        i % 2 == 0,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i, microseconds=7),
        dt.date(2000, 1, 1) + dt.timedelta(days=i),
        dt.timedelta(days=i, microseconds=3),
        uuid.UUID(int=i),
        {"i": i, "tags": ["a", None]},
        bytes([i % 256, 0, 255]),
    )


NULLS = (0, *([None] * (len(NAMES) - 1)))


async def test_rows_of_every_common_type_round_trip(pg_pool: Pool) -> None:
    table = await create_table(pg_pool, COLUMNS, "copy")
    rows = [NULLS, *(row(i) for i in range(1, 3001))]
    columns = [list(c) for c in zip(*rows, strict=True)]
    copy_sql, types_from = statements(table)
    assert await pg_pool.copy_in(copy_sql, types_from, columns) == len(rows)
    stored = await pg_pool.fetch(f"SELECT {', '.join(NAMES)} FROM {table} ORDER BY id")
    assert stored == rows


async def test_a_value_copy_cannot_carry_is_refused_before_sending(pg_pool: Pool) -> None:
    table = await create_table(pg_pool, "id INTEGER PRIMARY KEY, key UUID", "copy")
    copy_sql, types_from = statements(table, ["id", "key"])
    # A str into a uuid column binds as text elsewhere; binary COPY cannot carry it.
    with pytest.raises(ParamsError, match=r"COPY column 2 \(uuid\) cannot take a text value"):
        await pg_pool.copy_in(copy_sql, types_from, [[1, 2], [uuid.UUID(int=1), str(uuid.UUID(int=2))]])
    with pytest.raises(ParamsError, match="equally long"):
        await pg_pool.copy_in(copy_sql, types_from, [[1, 2], [uuid.UUID(int=1)]])
    with pytest.raises(ProgrammingError, match="2 column"):
        await pg_pool.copy_in(copy_sql, types_from, [[1]])
    assert await pg_pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]


async def test_a_failure_midway_stores_nothing_and_the_connection_survives(pg_pool: Pool) -> None:
    table = await create_table(pg_pool, "id INTEGER PRIMARY KEY, v TEXT", "copy")
    copy_sql, types_from = statements(table, ["id", "v"])
    n = 40_000  # several chunks go out before the bad value is reached
    ids = list(range(n))
    with pytest.raises(DataError, match="out of range for type int4"):
        await pg_pool.copy_in(copy_sql, types_from, [[*ids, 2**40], ["x" * 20] * (n + 1)])
    # A duplicate key: the server refuses the whole COPY.
    with pytest.raises(IntegrityError) as info:
        await pg_pool.copy_in(copy_sql, types_from, [[*ids, 5], ["y"] * (n + 1)])
    assert info.value.sqlstate == "23505"
    assert await pg_pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    assert await pg_pool.copy_in(copy_sql, types_from, [[1, 2], ["a", "b"]]) == 2
    status = pg_pool.status()
    assert status["available"] == status["size"]


async def test_copy_inside_a_transaction_commits_or_rolls_back_with_it(pg_pool: Pool) -> None:
    table = await create_table(pg_pool, "id INTEGER PRIMARY KEY, v TEXT", "copy")
    copy_sql, types_from = statements(table, ["id", "v"])
    async with pg_pool.transaction() as tx:
        assert await tx.copy_in(copy_sql, types_from, [[1, 2], ["a", "b"]]) == 2
        assert await tx.fetch(f"SELECT count(*) FROM {table}") == [(2,)]
        await tx.rollback()
    assert await pg_pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    async with pg_pool.transaction() as tx:
        await tx.copy_in(copy_sql, types_from, [[3], ["c"]])
    assert await pg_pool.fetch(f"SELECT id, v FROM {table}") == [(3, "c")]


async def test_backends_without_copy_say_so(sqlite_pool: Pool, pg_pool: Pool) -> None:
    assert pg_pool.capabilities()["copy_in"] is True
    assert sqlite_pool.capabilities()["copy_in"] is False
    with pytest.raises(ProgrammingError, match="does not declare `copy_in`"):
        await sqlite_pool.copy_in("COPY t (a) FROM STDIN", "INSERT INTO t (a) VALUES (?1)", [[1]])
