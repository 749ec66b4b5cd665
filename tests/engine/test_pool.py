"""The pool: exhaustion and acquire timeout, statement timeout, broken connections replaced,
closing, and SQLite not blocking the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import (
    DBConnectionError,
    OperationalError,
    PoolTimeoutError,
    QueryTimeoutError,
    TransactionManagementError,
)

from ._util import assert_pool_healthy, create_table, ph, with_query


@asynccontextmanager
async def held_connection(pool: Pool) -> AsyncIterator[None]:
    """Hold one connection in an open transaction in another task until the block exits."""
    entered = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.transaction() as tx:
            await tx.fetch("SELECT 1")
            entered.set()
            await release.wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    try:
        yield
    finally:
        release.set()
        await task


async def test_acquire_timeout_when_exhausted(db_url: str) -> None:
    async with await connect(db_url, max_size=1, acquire_timeout=0.2) as pool:
        async with held_connection(pool):
            assert pool.status()["available"] == 0
            started = time.monotonic()
            with pytest.raises(PoolTimeoutError, match="acquire timeout") as caught:
                await pool.fetch("SELECT 1")
            elapsed = time.monotonic() - started
            assert 0.15 <= elapsed < 2.0, elapsed
            assert isinstance(caught.value, DBConnectionError)
            # Opening a transaction waits for a connection just the same.
            with pytest.raises(PoolTimeoutError):
                async with pool.transaction():
                    pass
        # Released: the pool serves again.
        assert await pool.fetch("SELECT 1") == [(1,)]
        await assert_pool_healthy(pool)


async def test_waiters_are_served_when_a_connection_frees(db_url: str) -> None:
    async with await connect(db_url, max_size=1, acquire_timeout=5) as pool:
        async with held_connection(pool):
            waiters = [asyncio.create_task(pool.fetch(f"SELECT {i}")) for i in range(3)]
            await asyncio.sleep(0.1)
            assert not any(w.done() for w in waiters)
            assert pool.status()["waiting"] == 3
        assert await asyncio.gather(*waiters) == [[(0,)], [(1,)], [(2,)]]
        assert pool.status()["waiting"] == 0
        await assert_pool_healthy(pool)


async def test_pool_never_exceeds_max_size(db_url: str) -> None:
    async with await connect(db_url, max_size=3) as pool:
        sql = "SELECT pg_sleep(0.05)" if pool.backend == "postgres" else "SELECT 1"
        assert await asyncio.gather(*(pool.execute(sql) for _ in range(30))) == [1] * 30
        status = pool.status()
        assert status["max_size"] == 3 and 1 <= status["size"] <= 3, status
        await assert_pool_healthy(pool)


async def test_statement_timeout(pg_url: str) -> None:
    async with await connect(pg_url, max_size=1, statement_timeout=0.2) as pool:
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError) as caught:
            await pool.fetch("SELECT pg_sleep(2)")
        assert time.monotonic() - started < 1.5
        assert caught.value.sqlstate == "57014"
        assert isinstance(caught.value, OperationalError)
        # The connection is fine: the server cancelled only the statement.
        assert await pool.fetch("SELECT 1") == [(1,)]
        # Inside a transaction the timeout aborts it; leaving the block rolls back.
        table = await create_table(pool, "id INTEGER")
        with pytest.raises(QueryTimeoutError):
            async with pool.transaction():
                await pool.execute(f"INSERT INTO {table} VALUES (1)")
                await pool.fetch("SELECT pg_sleep(2)")
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
        await assert_pool_healthy(pool)


async def test_statement_timeout_from_the_url(pg_url: str) -> None:
    async with await connect(with_query(pg_url, statement_timeout=0.2)) as pool:
        with pytest.raises(QueryTimeoutError):
            await pool.fetch("SELECT pg_sleep(2)")
        assert await pool.fetch_one("SHOW statement_timeout") == ("200ms",)


async def _terminate_backends(admin_url: str, dbname: str) -> int:
    async with await connect(admin_url, max_size=1) as admin:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            [dbname],
        )
    return sum(1 for (ok,) in rows if ok)


async def _backend_pids(pool: Pool, n: int) -> set[int]:
    """The server pids of ``n`` connections, each busy at the same moment."""
    rows = await asyncio.gather(
        *(pool.fetch("SELECT pg_backend_pid() FROM pg_sleep(0.05)") for _ in range(n))
    )
    return {r[0][0] for r in rows}


async def test_terminated_backends_are_replaced(pg_url: str, pg_admin_url: str) -> None:
    async with await connect(pg_url, max_size=3) as pool:
        (dbname,) = await pool.fetch_one("SELECT current_database()") or ("",)
        before = await _backend_pids(pool, 3)
        assert len(before) == 3 and pool.status()["size"] == 3
        killed = await _terminate_backends(pg_admin_url, dbname)
        assert killed >= 3
        await asyncio.sleep(0.3)
        # Every connection the pool hands out now works; none of the killed ones is reused.
        after = await _backend_pids(pool, 3)
        assert len(after) == 3 and not (after & before), (before, after)
        for _ in range(5):
            assert await pool.fetch("SELECT 1") == [(1,)]
        await assert_pool_healthy(pool)


async def test_backend_terminated_inside_a_transaction(pg_url: str, pg_admin_url: str) -> None:
    async with await connect(pg_url, max_size=2) as pool:
        table = await create_table(pool, "id INTEGER")
        (dbname,) = await pool.fetch_one("SELECT current_database()") or ("",)
        with pytest.raises(DBConnectionError):
            async with pool.transaction() as tx:
                await tx.execute(f"INSERT INTO {table} VALUES (1)")
                assert await _terminate_backends(pg_admin_url, dbname) >= 1
                await asyncio.sleep(0.2)
                await tx.execute(f"INSERT INTO {table} VALUES (2)")
        assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
        await assert_pool_healthy(pool)


async def test_wrong_port_is_a_connection_error() -> None:
    started = time.monotonic()
    with pytest.raises(DBConnectionError) as caught:
        await connect("postgres://someone:pw_secret_123@127.0.0.1:1/nodb", connect_timeout=3)
    assert time.monotonic() - started < 5
    assert "pw_secret_123" not in str(caught.value)


async def test_unknown_database_is_a_connection_error(pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/yara_no_such_database_xyz"
    with pytest.raises(DBConnectionError) as caught:
        await connect(url)
    assert caught.value.sqlstate == "3D000"


async def test_sqlite_unopenable_path_is_a_connection_error(tmp_path: Path) -> None:
    with pytest.raises(DBConnectionError, match="no_such_dir"):
        await connect(f"sqlite:///{tmp_path}/no_such_dir/sub/x.db")


async def test_closed_pool_refuses_work(db_url: str) -> None:
    pool = await connect(db_url)
    assert not pool.is_closed
    async with pool:
        assert await pool.fetch("SELECT 1") == [(1,)]
    assert pool.is_closed
    with pytest.raises(TransactionManagementError, match="closed"):
        await pool.fetch("SELECT 1")
    with pytest.raises(TransactionManagementError, match="closed"):
        async with pool.transaction():
            pass
    await pool.close()  # closing twice is harmless


async def test_capabilities_and_status(pool: Pool) -> None:
    caps = pool.capabilities()
    assert caps["backend"] == pool.backend
    assert caps["placeholder"] == {"postgres": "dollar", "mysql": "qmark"}.get(pool.backend, "question")
    assert caps["savepoints"] is True and caps["streaming"] is True
    assert caps["arrays"] is (pool.backend == "postgres")
    assert set(pool.status()) == {"size", "available", "max_size", "waiting"}
    assert pool.status()["max_size"] == 4
    version = await pool.server_version()
    assert version and version[0].isdigit()


async def test_sqlite_statements_do_not_block_the_event_loop(sqlite_pool: Pool) -> None:
    slow = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)"
        " SELECT count(*) FROM c"
    )
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    assert await sqlite_pool.fetch(slow) == [(1500000,)]
    elapsed = time.monotonic() - started
    done = True
    await task
    # The loop kept running while SQLite worked (about one tick per 5 ms; a blocked loop ticks once).
    assert elapsed > 0.05 and ticks >= max(5, elapsed / 0.005 / 10), (elapsed, ticks)


async def test_sqlite_memory_database_is_one_shared_connection() -> None:
    async with await connect("sqlite://:memory:", max_size=5) as pool:
        assert pool.status()["max_size"] == 1
        await pool.execute("CREATE TABLE m (v INTEGER)")
        await asyncio.gather(*(pool.execute(f"INSERT INTO m VALUES ({ph(pool, 1)})", [i]) for i in range(10)))
        assert await pool.fetch("SELECT count(*) FROM m") == [(10,)]
