"""Transactions: commit, rollback on exception, nested savepoints, misuse, isolation levels."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from collections.abc import Awaitable
from typing import Any

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import IntegrityError, ParamsError, TransactionManagementError

from ._util import assert_pool_healthy, create_table, ph


class Boom(Exception):
    pass


async def outside(awaitable: Awaitable[Any]) -> Any:
    """Await in a fresh task with an empty context: outside any transaction of the current task."""

    async def run() -> Any:
        return await awaitable

    return await asyncio.create_task(run(), context=contextvars.Context())


async def names(pool: Pool, table: str) -> list[str]:
    return [r[0] for r in await outside(pool.fetch(f"SELECT name FROM {table} ORDER BY name"))]


async def make(pool: Pool) -> str:
    return await create_table(pool, "name TEXT PRIMARY KEY")


def insert(pool: Pool, table: str) -> str:
    return f"INSERT INTO {table} (name) VALUES ({ph(pool, 1)})"


async def test_commit(pool: Pool) -> None:
    table = await make(pool)
    async with pool.transaction() as tx:
        assert pool.current_transaction() is tx and not tx.is_savepoint
        assert await tx.execute(insert(pool, table), ["a"]) == 1
        await pool.execute(insert(pool, table), ["b"])  # the pool's methods join the open transaction
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(2,)]
        # Other tasks do not see uncommitted rows.
        assert await names(pool, table) == []
    assert tx.is_finished and pool.current_transaction() is None
    assert await names(pool, table) == ["a", "b"]


async def test_rollback_on_exception(pool: Pool) -> None:
    table = await make(pool)
    with pytest.raises(Boom):
        async with pool.transaction() as tx:
            await tx.execute(insert(pool, table), ["a"])
            raise Boom
    assert await names(pool, table) == []
    await assert_pool_healthy(pool)


async def test_explicit_rollback(pool: Pool) -> None:
    table = await make(pool)
    async with pool.transaction() as tx:
        await tx.execute(insert(pool, table), ["a"])
        await tx.rollback()
    assert await names(pool, table) == []


async def test_nested_savepoint_rolls_back_only_the_inner_scope(pool: Pool) -> None:
    table = await make(pool)
    async with pool.transaction() as outer:
        await pool.execute(insert(pool, table), ["a"])
        with pytest.raises(Boom):
            async with pool.transaction() as inner:
                assert inner.is_savepoint and pool.current_transaction() is inner
                await pool.execute(insert(pool, table), ["b"])
                async with pool.transaction() as innermost:
                    await innermost.execute(insert(pool, table), ["c"])
                raise Boom
        assert pool.current_transaction() is outer
        async with pool.transaction():
            await pool.execute(insert(pool, table), ["d"])
        await pool.execute(insert(pool, table), ["e"])
        assert [r[0] for r in await pool.fetch(f"SELECT name FROM {table} ORDER BY name")] == ["a", "d", "e"]
    assert await names(pool, table) == ["a", "d", "e"]


async def test_released_savepoint_is_undone_by_outer_rollback(pool: Pool) -> None:
    table = await make(pool)
    with pytest.raises(Boom):
        async with pool.transaction():
            async with pool.transaction():
                await pool.execute(insert(pool, table), ["a"])
            raise Boom
    assert await names(pool, table) == []


async def test_savepoint_recovers_from_a_failed_statement(pool: Pool) -> None:
    """The usual pattern: a statement that may fail runs in a savepoint; the outer work commits."""
    table = await make(pool)
    async with pool.transaction():
        await pool.execute(insert(pool, table), ["a"])
        with pytest.raises(IntegrityError):
            async with pool.transaction():
                await pool.execute(insert(pool, table), ["a"])
        await pool.execute(insert(pool, table), ["b"])
    assert await names(pool, table) == ["a", "b"]


async def test_using_a_finished_transaction_raises(pool: Pool) -> None:
    table = await make(pool)
    async with pool.transaction() as tx:
        await tx.execute(insert(pool, table), ["a"])
    for call in (tx.execute(insert(pool, table), ["b"]), tx.fetch("SELECT 1"), tx.commit(), tx.rollback()):
        with pytest.raises(TransactionManagementError):
            await call
    # The same at the engine level.
    engine_tx = await pool.engine.begin()
    assert engine_tx.is_active
    await engine_tx.commit()
    assert not engine_tx.is_active
    with pytest.raises(TransactionManagementError):
        await engine_tx.execute("SELECT 1")
    with pytest.raises(TransactionManagementError):
        await engine_tx.commit()
    with pytest.raises(TransactionManagementError):
        await engine_tx.rollback()
    assert await names(pool, table) == ["a"]
    await assert_pool_healthy(pool)


async def test_committing_an_aborted_transaction_raises_and_rolls_back(pg_pool: Pool) -> None:
    """PostgreSQL aborts a transaction on any error: committing it must not look successful."""
    table = await make(pg_pool)
    with pytest.raises(TransactionManagementError, match="rolled back"):
        async with pg_pool.transaction():
            await pg_pool.execute(insert(pg_pool, table), ["a"])
            with pytest.raises(IntegrityError):
                await pg_pool.execute(insert(pg_pool, table), ["a"])
    assert await names(pg_pool, table) == []
    await assert_pool_healthy(pg_pool)


async def test_statements_after_an_error_are_refused_until_rollback(pg_pool: Pool) -> None:
    table = await make(pg_pool)
    tx = await pg_pool.engine.begin()
    await tx.execute(insert(pg_pool, table), ["a"])
    with pytest.raises(IntegrityError):
        await tx.execute(insert(pg_pool, table), ["a"])
    with pytest.raises(TransactionManagementError) as caught:
        await tx.fetch("SELECT 1")
    assert caught.value.sqlstate == "25P02"
    await tx.rollback()
    assert await names(pg_pool, table) == []


async def test_isolation_levels(pool: Pool) -> None:
    levels = pool.capabilities()["isolation_levels"]
    assert levels, "a backend must support at least one isolation level"
    for level in levels:
        async with pool.transaction(isolation=level) as tx:
            if pool.backend == "postgres":
                row = await tx.fetch_one("SHOW transaction_isolation")
                assert row == (level.replace("_", " "),)
            else:
                assert await tx.fetch("SELECT 1") == [(1,)]
    with pytest.raises(ParamsError, match="bogus"):
        async with pool.transaction(isolation="bogus"):
            pass
    async with pool.transaction():
        with pytest.raises(TransactionManagementError, match="outermost"):
            async with pool.transaction(isolation=levels[0]):
                pass


async def test_transactions_are_per_task(pg_pool: Pool) -> None:
    table = await make(pg_pool)
    started = asyncio.Event()

    async def worker(name: str, fail: bool) -> None:
        async with pg_pool.transaction():
            await pg_pool.execute(insert(pg_pool, table), [name])
            started.set()
            await asyncio.sleep(0.05)
            if fail:
                raise Boom

    results = await asyncio.gather(worker("ok", False), worker("bad", True), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], Boom)
    assert await names(pg_pool, table) == ["ok"]


async def test_execute_many_in_a_transaction(pool: Pool) -> None:
    table = await make(pool)
    with pytest.raises(Boom):
        async with pool.transaction() as tx:
            assert await tx.execute_many(insert(pool, table), [["a"], ["b"], ["c"]]) == 3
            assert await tx.fetch(f"SELECT count(*) FROM {table}") == [(3,)]
            raise Boom
    assert await names(pool, table) == []


async def test_dropped_transaction_is_rolled_back(db_url: str) -> None:
    """An engine transaction dropped without commit or rollback is rolled back before its
    connection is used again (one connection, so the next statement reuses it)."""
    async with await connect(db_url, max_size=1) as pool:
        table = await make(pool)
        tx = await pool.engine.begin()
        await tx.execute(insert(pool, table), ["lost"])
        del tx
        gc.collect()
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
        await pool.execute(insert(pool, table), ["kept"])
        assert await names(pool, table) == ["kept"]
        await assert_pool_healthy(pool)
