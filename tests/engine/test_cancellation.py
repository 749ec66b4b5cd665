"""An await cancelled mid-query (asyncio.timeout, wait_for, task.cancel()) leaves nothing broken:
the pool gets the connection back clean (any transaction rolled back) or drops it."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import TransactionManagementError

from ._util import assert_pool_healthy, create_table, ph, wait_until


def slow_sql(pool: Pool, marker: str = "") -> str:
    """A statement that runs for seconds (PostgreSQL) or a few hundred ms (SQLite, where a
    running statement is not interrupted: it finishes in the background, so keep it short)."""
    if pool.backend == "postgres":
        return f"SELECT 1 FROM pg_sleep(5) /* {marker} */"
    if pool.backend == "mysql":
        return f"SELECT SLEEP(5) /* {marker} */"
    return (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000)"
        f" SELECT count(*) FROM c /* {marker} */"
    )


def patience(pool: Pool) -> float:
    """How long to let the slow statement run before cancelling it."""
    return 0.2 if pool.backend in ("postgres", "mysql") else 0.03


async def _server_still_running(pool: Pool, marker: str) -> bool:
    if pool.backend == "mysql":
        rows = await pool.fetch(
            "SELECT count(*) FROM information_schema.PROCESSLIST"
            " WHERE COMMAND IN ('Query', 'Execute') AND INFO LIKE ? AND ID <> CONNECTION_ID()",
            [f"%{marker}%"],
        )
        return bool(rows[0][0] > 0)
    rows = await pool.fetch(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        [f"%{marker}%"],
    )
    return bool(rows[0][0] > 0)


async def _assert_server_side_cancelled(pool: Pool, marker: str) -> None:
    if pool.backend not in ("postgres", "mysql"):
        return

    async def gone() -> bool:
        return not await _server_still_running(pool, marker)

    assert await wait_until(gone, within=3.0), "the cancelled statement is still running on the server"


async def test_timeout_outside_a_transaction(db_url: str) -> None:
    async with await connect(db_url, max_size=2) as pool:
        marker = uuid.uuid4().hex
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(patience(pool)):
                await pool.fetch(slow_sql(pool, marker))
        if pool.backend in ("postgres", "mysql"):
            assert time.monotonic() - started < 1.0
        await _assert_server_side_cancelled(pool, marker)
        await assert_pool_healthy(pool)


async def test_wait_for_outside_a_transaction(db_url: str) -> None:
    async with await connect(db_url, max_size=1) as pool:
        for _ in range(3):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pool.execute(slow_sql(pool)), timeout=patience(pool))
            # The one connection is usable right after each cancellation.
            assert await pool.fetch_one(f"SELECT {ph(pool, 1)}", [7]) is not None
        await assert_pool_healthy(pool)


async def test_timeout_inside_a_transaction_rolls_it_back(db_url: str) -> None:
    async with await connect(db_url, max_size=2) as pool:
        table = await create_table(pool, "v TEXT")
        marker = uuid.uuid4().hex
        with pytest.raises(TimeoutError):
            async with pool.transaction():
                await pool.execute(f"INSERT INTO {table} VALUES ({ph(pool, 1)})", ["cancelled"])
                async with asyncio.timeout(patience(pool)):
                    await pool.fetch(slow_sql(pool, marker))
        assert pool.current_transaction() is None
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
        await _assert_server_side_cancelled(pool, marker)
        await assert_pool_healthy(pool)
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]


async def test_task_cancel_inside_a_transaction(db_url: str) -> None:
    async with await connect(db_url, max_size=2) as pool:
        table = await create_table(pool, "v TEXT")
        inserted = asyncio.Event()

        async def work() -> None:
            async with pool.transaction():
                await pool.execute(f"INSERT INTO {table} VALUES ({ph(pool, 1)})", ["cancelled"])
                inserted.set()
                await pool.fetch(slow_sql(pool))

        task = asyncio.create_task(work())
        await inserted.wait()
        await asyncio.sleep(patience(pool))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
        await assert_pool_healthy(pool)


async def test_cancelled_statement_poisons_only_its_transaction(pg_pool: Pool) -> None:
    """Catching the timeout inside the transaction: the transaction can no longer be used or
    committed (its state is unknown), and nothing it wrote becomes visible."""
    table = await create_table(pg_pool, "v TEXT")
    with pytest.raises(TransactionManagementError):
        async with pg_pool.transaction() as tx:
            await tx.execute(f"INSERT INTO {table} VALUES ($1)", ["cancelled"])
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(tx.fetch(slow_sql(pg_pool)), timeout=0.1)
            with pytest.raises(TransactionManagementError, match="cancelled"):
                await tx.execute(f"INSERT INTO {table} VALUES ($1)", ["after"])
            # Leaving the block normally tries to commit, which must fail loudly.
    assert await pg_pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    await assert_pool_healthy(pg_pool)


async def test_cancel_while_waiting_for_a_connection(db_url: str) -> None:
    async with await connect(db_url, max_size=1, acquire_timeout=10) as pool:
        release = asyncio.Event()
        entered = asyncio.Event()

        async def hold() -> None:
            async with pool.transaction():
                entered.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await entered.wait()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.fetch("SELECT 1"), timeout=0.1)

        async def no_waiters() -> bool:
            return pool.status()["waiting"] == 0

        assert await wait_until(no_waiters)
        release.set()
        await holder
        await assert_pool_healthy(pool)


async def test_many_concurrent_cancellations(db_url: str) -> None:
    """A storm of cancellations at random moments, in and out of transactions."""
    rng = random.Random(1234)
    async with await connect(db_url, max_size=4, acquire_timeout=10) as pool:
        table = await create_table(pool, "v INTEGER")

        async def one(i: int) -> None:
            if i % 2:
                async with pool.transaction():
                    await pool.execute(f"INSERT INTO {table} VALUES ({ph(pool, 1)})", [i])
                    await pool.fetch(slow_sql(pool))
            else:
                await pool.fetch(slow_sql(pool))

        tasks = [asyncio.create_task(one(i)) for i in range(16 if pool.backend == "postgres" else 8)]
        await asyncio.sleep(patience(pool))
        for task in tasks:
            await asyncio.sleep(rng.random() * 0.02)
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results), results
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
        await assert_pool_healthy(pool)
