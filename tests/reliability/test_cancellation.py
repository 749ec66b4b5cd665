"""A cancelled task stops its statement and leaves nothing behind (defects 1 and 4)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from yara_orm import Connection, Pool, connect, in_transaction
from yara_orm.exceptions import OperationalError

from .models import Num

# A recursive CTE long enough to run for many seconds if nothing stops it.
SLOW_INSERT = (
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50000000) "
    "INSERT INTO rel_big (v) SELECT n FROM g"
)
SLOW_SELECT = (
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50000000) SELECT sum(n) FROM g"
)
PG_SLOW_INSERT = "INSERT INTO rel_big (v) SELECT g FROM generate_series(1, 50000000) g"
# MariaDB caps recursive CTEs at depth 1000: a sleeping row keeps the INSERT running instead.
MYSQL_SLOW_INSERT = "INSERT INTO rel_big (v) SELECT SLEEP(10)"


@pytest.fixture
async def sq(tmp_path: Path) -> Pool:
    pool = await connect(f"sqlite:///{tmp_path / 'cancel.db'}", max_size=2)
    await pool.execute("CREATE TABLE rel_big (v INTEGER)")
    yield pool
    await pool.close()


async def count(pool: Pool) -> int:
    row = await pool.fetch_one("SELECT count(*) FROM rel_big")
    assert row is not None
    return int(row[0])


async def test_sqlite_cancelled_insert_select_leaves_no_rows(sq: Pool) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sq.execute(SLOW_INSERT), 0.3)
    start = time.monotonic()
    assert await count(sq) == 0
    assert time.monotonic() - start < 0.5, "the next query waited for the cancelled statement"
    # The write lock is free again: a write succeeds at once.
    await asyncio.wait_for(sq.execute("INSERT INTO rel_big (v) VALUES (1)"), 1.0)
    assert await count(sq) == 1


async def test_sqlite_cancelled_select_frees_its_connection(sq: Pool) -> None:
    for _ in range(3):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sq.fetch(SLOW_SELECT), 0.2)
        start = time.monotonic()
        assert await sq.fetch_one("SELECT 1") == (1,)
        assert time.monotonic() - start < 0.5
    assert sq.status()["size"] <= 2


async def test_sqlite_cancelled_statement_in_a_transaction_rolls_back(sq: Pool) -> None:
    await sq.execute("INSERT INTO rel_big (v) VALUES (-1)")

    async def work() -> None:
        async with sq.transaction() as tx:
            await tx.execute("DELETE FROM rel_big")
            await tx.execute(SLOW_INSERT)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(work(), 0.3)
    start = time.monotonic()
    assert await count(sq) == 1
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
async def test_cancel_inside_a_savepoint_is_a_cancellation(
    backend: str, sq: Pool, pg_url: str, mysql_url: str
) -> None:
    if backend != "sqlite":
        pool = await connect(pg_url if backend == "postgres" else mysql_url, max_size=2)
        await pool.execute("DROP TABLE IF EXISTS rel_big")
        await pool.execute("CREATE TABLE rel_big (v INTEGER)")
        slow = PG_SLOW_INSERT if backend == "postgres" else MYSQL_SLOW_INSERT
    else:
        pool, slow = sq, SLOW_INSERT
    try:
        outer_rolled_back = asyncio.Event()

        async def work() -> None:
            async with pool.transaction() as outer:
                await outer.execute("INSERT INTO rel_big (v) VALUES (1)")
                try:
                    async with pool.transaction() as inner:
                        await inner.execute("INSERT INTO rel_big (v) VALUES (2)")
                        await inner.execute(slow)
                except asyncio.CancelledError:
                    await outer.rollback()
                    outer_rolled_back.set()
                    raise

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(work(), 0.3)
        assert outer_rolled_back.is_set()
        assert await count(pool) == 0
        # A plain cancel (no wait_for) surfaces as CancelledError too.
        task = asyncio.create_task(work())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await count(pool) == 0
    finally:
        if backend != "sqlite":
            await pool.execute("DROP TABLE IF EXISTS rel_big")
            await pool.close()


async def test_orm_cancel_inside_a_nested_in_transaction(orm: Connection) -> None:
    slow = {"postgres": PG_SLOW_INSERT, "mysql": MYSQL_SLOW_INSERT}.get(orm.backend, SLOW_INSERT)
    await orm.execute("DROP TABLE IF EXISTS rel_big")
    await orm.execute("CREATE TABLE rel_big (v INTEGER)")

    async def work() -> None:
        async with in_transaction():
            await Num.create(i32=1)
            async with in_transaction() as inner:
                await Num.create(i32=2)
                await inner.execute(slow)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(work(), 0.3)
    assert await Num.all().count() == 0
    row = await orm.pool.fetch_one("SELECT count(*) FROM rel_big")
    assert row == (0,)
    await orm.execute("DROP TABLE rel_big")


async def test_sqlite_cancelled_streaming_read_stops_and_frees_its_connection(tmp_path: Path) -> None:
    # One connection: the query after the cancel needs the one the stream held.
    pool = await connect(f"sqlite:///{tmp_path / 'stream.db'}", max_size=1)
    try:
        # Seconds of work before the first row, so the cancel finds the chunk being read.
        cursor = await pool.cursor(SLOW_SELECT.replace("SELECT sum(n) FROM g", "SELECT n FROM g WHERE n < 0"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(cursor.fetch_chunk(), 0.3)
        start = time.monotonic()
        assert await asyncio.wait_for(pool.fetch_one("SELECT 1"), 5) == (1,)
        assert time.monotonic() - start < 0.5, "the next query waited for the cancelled stream"
        # The stream has lost rows: it says so rather than going on with a hole.
        with pytest.raises(OperationalError, match="cancelled fetch"):
            await cursor.fetch_chunk()
        await cursor.close()
    finally:
        await pool.close()
