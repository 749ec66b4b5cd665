"""The network between the pool and PostgreSQL fails half-way (a fault-injecting proxy)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import DBConnectionError

from .proxy import FaultProxy

BIG = "SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g"


@pytest.fixture
async def proxied(pg_url: str) -> AsyncIterator[tuple[FaultProxy, Pool]]:
    parts = urlsplit(pg_url)
    proxy = await FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    url = urlunsplit(parts._replace(netloc=netloc))
    pool = await connect(url, max_size=3, connect_timeout=5)
    try:
        yield proxy, pool
    finally:
        await pool.close()
        await proxy.close()


async def test_cut_mid_result_is_a_connection_error_then_recovery(proxied: tuple[FaultProxy, Pool]) -> None:
    proxy, pool = proxied
    assert len(await pool.fetch(BIG)) == 50000
    for _ in range(3):
        proxy.cut_after = 100_000  # a part of the ~5 MB reply
        with pytest.raises(DBConnectionError):
            await asyncio.wait_for(pool.fetch(BIG), 10)
        # Never a partial result; the next query runs on a fresh connection.
        assert len(await asyncio.wait_for(pool.fetch(BIG), 10)) == 50000
    assert pool.status()["size"] <= 3


async def test_dropped_idle_connections_are_replaced(proxied: tuple[FaultProxy, Pool]) -> None:
    proxy, pool = proxied
    await asyncio.gather(*(pool.fetch("SELECT pg_sleep(0.01)") for _ in range(3)))
    for i in range(5):
        proxy.drop_all()
        await asyncio.sleep(0.05)  # the connections see their sockets close
        got = await asyncio.wait_for(asyncio.gather(*(pool.fetch_one(f"SELECT {i}") for _ in range(3))), 10)
        assert got == [(i,)] * 3


async def test_drop_during_a_statement_fails_it_cleanly(proxied: tuple[FaultProxy, Pool]) -> None:
    proxy, pool = proxied
    slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(2)"))
    await asyncio.sleep(0.3)
    proxy.drop_all()
    with pytest.raises(DBConnectionError):
        await asyncio.wait_for(slow, 5)
    assert await asyncio.wait_for(pool.fetch_one("SELECT 1"), 10) == (1,)


async def test_slow_network_timeout_then_the_pool_is_usable(proxied: tuple[FaultProxy, Pool]) -> None:
    proxy, pool = proxied
    proxy.delay = 0.2
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.fetch_one("SELECT 1"), 0.1)
    proxy.delay = 0.0
    assert await asyncio.wait_for(pool.fetch_one("SELECT 2"), 10) == (2,)
    assert pool.status()["size"] <= 3


async def test_cancel_during_begin_leaves_no_session_idle_in_transaction(
    proxied: tuple[FaultProxy, Pool], pg_url: str
) -> None:
    # The slow network makes the window wide: BEGIN reaches the server after the caller gave up
    # (and after the cancel request, which finds nothing to cancel). The abandoned connection
    # must not sit in the pool with its session idle in transaction until someone acquires it.
    proxy, pool = proxied
    admin = await connect(pg_url, max_size=1)
    try:
        assert await pool.fetch_one("SELECT 1") == (1,)
        proxy.delay = 0.2

        async def begin() -> None:
            async with pool.transaction() as tx:
                await tx.execute("SELECT 1")

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(begin(), 0.1)
        await asyncio.sleep(1.0)
        rows = await admin.fetch(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        )
        assert rows == [], "a session stayed idle in transaction after its caller cancelled"
        proxy.delay = 0.0
        assert await asyncio.wait_for(pool.fetch_one("SELECT 3"), 10) == (3,)
    finally:
        await admin.close()
