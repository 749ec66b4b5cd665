"""The server ends connections under the pool: what callers see (defect 7 and its neighbours)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import DBConnectionError


def with_app(url: str, app: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={app}"


async def terminate(admin: Pool, app: str, state: str | None = None) -> int:
    where = "application_name = $1" + (" AND state = $2" if state else "")
    params = [app, state] if state else [app]
    rows = await admin.fetch(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}", params)
    return len(rows)


@pytest.fixture
async def admin(pg_url: str) -> Pool:
    pool = await connect(pg_url, max_size=2)
    yield pool
    await pool.close()


async def test_idle_connections_terminated_by_the_server_are_replaced(pg_url: str, admin: Pool) -> None:
    app = f"yara_rel_{uuid.uuid4().hex[:8]}"
    for round_ in range(8):
        pool = await connect(with_app(pg_url, app), max_size=4, min_size=4)
        try:
            await asyncio.gather(*(pool.fetch("SELECT pg_sleep(0.005)") for _ in range(4)))
            assert await terminate(admin, app) == 4
            # Statements the connections never prepared, and a transaction: nothing had reached the
            # server, so each goes out on a fresh connection instead of failing.
            got = await asyncio.gather(*(pool.fetch_one(f"SELECT {round_} + {i}") for i in range(4)))
            assert got == [(round_ + i,) for i in range(4)]
            async with pool.transaction() as tx:
                assert await tx.fetch_one("SELECT 1 AS one") == (1,)
        finally:
            await pool.close()


async def test_a_busy_connection_terminated_mid_statement_fails_cleanly(pg_url: str, admin: Pool) -> None:
    app = f"yara_rel_{uuid.uuid4().hex[:8]}"
    pool = await connect(with_app(pg_url, app), max_size=2)
    try:
        slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(5)"))
        for _ in range(100):
            if await terminate(admin, app, "active"):
                break
            await asyncio.sleep(0.02)
        # It may have reached the server: never retried, a DBConnectionError.
        with pytest.raises(DBConnectionError):
            await asyncio.wait_for(slow, 5)
        assert await pool.fetch_one("SELECT 2") == (2,)
    finally:
        await pool.close()
