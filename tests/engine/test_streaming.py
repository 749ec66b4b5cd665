"""Streaming with pool.cursor: chunks bounded by chunk_size, the connection released once the
stream is exhausted or closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from yara_orm import Pool, connect
from yara_orm._engine import EngineCursor
from yara_orm.exceptions import PoolTimeoutError, ProgrammingError

from ._util import create_table, ph, wait_until

Row = tuple[Any, ...]


async def _numbers(pool: Pool, n: int) -> str:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, label TEXT")
    await pool.execute_many(
        f"INSERT INTO {table} (id, label) VALUES ({ph(pool, 1)}, {ph(pool, 2)})",
        [[i, f"n{i}"] for i in range(n)],
    )
    return table


async def _drain(cursor: EngineCursor) -> list[list[Row]]:
    chunks: list[list[Row]] = []
    while chunk := await cursor.fetch_chunk():
        chunks.append(chunk)
    return chunks


async def _released(pool: Pool) -> bool:
    async def check() -> bool:
        s = pool.status()
        return s["available"] == s["size"]

    return await wait_until(check, within=1.0)


@pytest.mark.parametrize(("rows", "chunk_size"), [(2500, 1000), (2000, 1000), (5, 1000), (0, 10), (7, 1)])
async def test_chunks_are_bounded_and_complete(db_url: str, rows: int, chunk_size: int) -> None:
    async with await connect(db_url, max_size=1) as pool:
        table = await _numbers(pool, rows)
        cursor = await pool.cursor(f"SELECT id, label FROM {table} ORDER BY id", chunk_size=chunk_size)
        assert cursor.columns == ["id", "label"]
        assert pool.status()["available"] == 0  # the stream holds the only connection
        chunks = await _drain(cursor)
        assert all(1 <= len(c) <= chunk_size for c in chunks)
        assert [len(c) for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
        assert [r for c in chunks for r in c] == [(i, f"n{i}") for i in range(rows)]
        assert all(type(r) is tuple for c in chunks for r in c)
        # Exhausted: the connection is back, and fetching again keeps returning nothing.
        assert await _released(pool), pool.status()
        assert await cursor.fetch_chunk() == []
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(rows,)]


async def test_cursor_with_parameters_and_rich_types(pool: Pool) -> None:
    stamp = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    table = await create_table(
        pool, "id INTEGER PRIMARY KEY, at TIMESTAMPTZ, amount DECIMAL(10,2), ok BOOLEAN", prefix="rich"
    )
    await pool.execute_many(
        f"INSERT INTO {table} VALUES ({', '.join(ph(pool, i) for i in range(1, 5))})",
        [[i, stamp, Decimal("1.50"), i % 2 == 0] for i in range(10)],
    )
    cursor = await pool.cursor(
        f"SELECT id, at, amount, ok FROM {table} WHERE id >= {ph(pool, 1)} ORDER BY id", [5], chunk_size=3
    )
    rows = [r for c in await _drain(cursor) for r in c]
    assert rows == [(i, stamp, Decimal("1.50"), i % 2 == 0) for i in range(5, 10)]


async def test_closing_a_cursor_early_releases_its_connection(db_url: str) -> None:
    async with await connect(db_url, max_size=1, acquire_timeout=5) as pool:
        table = await _numbers(pool, 100)
        cursor = await pool.cursor(f"SELECT id FROM {table} ORDER BY id", chunk_size=10)
        assert len(await cursor.fetch_chunk()) == 10
        assert pool.status()["available"] == 0
        await cursor.close()
        assert await _released(pool), pool.status()
        assert await cursor.fetch_chunk() == []
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(100,)]


async def test_an_open_cursor_holds_its_connection(db_url: str) -> None:
    async with await connect(db_url, max_size=1, acquire_timeout=0.2) as pool:
        table = await _numbers(pool, 50)
        cursor = await pool.cursor(f"SELECT id FROM {table}", chunk_size=10)
        await cursor.fetch_chunk()
        with pytest.raises(PoolTimeoutError):
            await pool.fetch("SELECT 1")
        rest = await _drain(cursor)
        assert sum(len(c) for c in rest) == 40
        assert await _released(pool)
        assert await pool.fetch("SELECT 1") == [(1,)]


async def test_concurrent_cursors(db_url: str) -> None:
    async with await connect(db_url, max_size=3) as pool:
        table = await _numbers(pool, 300)

        async def total(offset: int) -> int:
            cursor = await pool.cursor(
                f"SELECT id FROM {table} WHERE id >= {ph(pool, 1)}", [offset], chunk_size=7
            )
            return sum(r[0] for c in await _drain(cursor) for r in c)

        results = await asyncio.gather(*(total(o) for o in (0, 100, 200)))
        assert results == [sum(range(o, 300)) for o in (0, 100, 200)]
        assert await _released(pool)


async def test_bad_cursor_sql_raises_and_releases(db_url: str) -> None:
    async with await connect(db_url, max_size=1) as pool:
        with pytest.raises(ProgrammingError):
            await pool.cursor("SELECT * FROM no_such_table_for_cursor")
        assert await _released(pool)
        assert await pool.fetch("SELECT 1") == [(1,)]


async def test_reading_past_the_end_returns_empty(db_url: str) -> None:
    """After a short (final) chunk, asking for the next one returns [] rather than an error;
    repeated because a race between the stream's end and the next request is what can break."""
    async with await connect(db_url, max_size=1) as pool:
        table = await _numbers(pool, 5)
        failures: list[str] = []
        for _ in range(300):
            cursor = await pool.cursor(f"SELECT id FROM {table}", chunk_size=10)
            assert len(await cursor.fetch_chunk()) == 5
            try:
                assert await cursor.fetch_chunk() == []
            except Exception as exc:  # collected, to report how often it happens
                failures.append(f"{type(exc).__name__}: {exc}")
        assert not failures, f"{len(failures)}/300 reads past the end failed, e.g. {failures[0]}"
        assert await _released(pool)


async def test_an_error_midway_arrives_in_order_and_releases(pg_url: str) -> None:
    """Chunks are read one ahead: a failure in chunk 2 still comes after chunk 1, on the request
    for chunk 2, and the connection goes back to the pool."""
    from yara_orm.exceptions import DataError

    async with await connect(pg_url, max_size=1, acquire_timeout=5) as pool:
        # No ORDER BY: a sort would evaluate every row before returning the first.
        sql = "SELECT g, 1 / (g - 150) FROM generate_series(1, 300) g"
        cursor = await pool.cursor(sql, chunk_size=100)
        first = await cursor.fetch_chunk()
        assert [r[0] for r in first] == list(range(1, 101))
        with pytest.raises(DataError, match="division by zero"):
            await cursor.fetch_chunk()
        assert await _released(pool), pool.status()
        assert await pool.fetch_one("SELECT 1") == (1,)
