"""Cancellation storms in and out of nested transactions, checked in the database afterwards:
nothing a cancelled transaction wrote is committed, no session stays idle in transaction, and
the connection count stays bounded (defects 1, 4 and 11), on every backend."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yara_orm import Pool, connect

from .._mysql_provision import find_mysql_admin_url

TASKS = 300
POOL = 5


async def storm(pool: Pool, slow_sql: str, ph: str) -> tuple[set[str], set[str]]:
    """Run TASKS tasks, each cancelled at a random point (or not); return the tags that surely
    committed and those whose commit may or may not have happened (cancelled during COMMIT)."""
    committed: set[str] = set()
    maybe: set[str] = set()
    rng = random.Random(12)

    async def task(i: int) -> None:
        tag = f"t{i}"
        mode = i % 3
        if mode == 0:  # outside a transaction: a statement cut off half-way
            await pool.execute(slow_sql)
            return
        async with pool.transaction() as tx:
            await tx.execute(f"INSERT INTO rel_storm (tag) VALUES ({ph})", [tag])
            if mode == 2:  # nested: a savepoint around the slow part
                async with pool.transaction() as sp:
                    await sp.execute(f"INSERT INTO rel_storm (tag) VALUES ({ph})", [tag + "-sp"])
                    await sp.execute(slow_sql)
            else:
                await tx.execute(slow_sql)
            maybe.update((tag, tag + "-sp"))
        committed.update((tag, tag + "-sp") if mode == 2 else (tag,))

    async def run(i: int) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task(i), rng.uniform(0.0, 0.06))

    for start in range(0, TASKS, 30):
        await asyncio.gather(*(run(i) for i in range(start, min(start + 30, TASKS))))
    return committed, maybe - committed


async def check_table(pool: Pool, committed: set[str], maybe: set[str]) -> None:
    tags = {row[0] for row in await pool.fetch("SELECT tag FROM rel_storm")}
    assert committed <= tags, "a transaction that returned normally lost its rows"
    assert tags <= committed | maybe, (
        f"rows of cancelled transactions were committed: {sorted(tags - committed - maybe)[:5]}"
    )
    big = await pool.fetch_one("SELECT count(*) FROM rel_big")
    assert big == (0,), "a cancelled statement outside a transaction committed rows"


async def test_postgres_cancellation_storm(pg_url: str) -> None:
    app = f"yara_storm_{uuid.uuid4().hex[:8]}"
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}application_name={app}"
    pool = await connect(url, max_size=POOL)
    admin = await connect(pg_url, max_size=1)
    try:
        await pool.execute("DROP TABLE IF EXISTS rel_storm, rel_big")
        await pool.execute("CREATE TABLE rel_storm (tag TEXT NOT NULL)")
        await pool.execute("CREATE TABLE rel_big (v INTEGER)")
        slow = "INSERT INTO rel_big SELECT g FROM generate_series(1, 3000000) g"
        seen_sessions = 0
        watching = True

        async def watch() -> None:
            nonlocal seen_sessions
            while watching:
                row = await admin.fetch_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [app]
                )
                seen_sessions = max(seen_sessions, int(row[0]) if row else 0)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        committed, maybe = await storm(pool, slow, "$1")
        watching = False
        await watcher
        await check_table(pool, committed, maybe)
        # Every session is back to idle soon: none left idle in transaction (or still running).
        states: list[tuple[object, ...]] = []
        for _ in range(100):
            states = await admin.fetch(
                "SELECT state FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'", [app]
            )
            if not states:
                break
            await asyncio.sleep(0.02)
        assert states == [], f"sessions not idle 2 s after the storm: {states}"
        # Connections bounded: the pool's own plus the ones being discarded at the moment.
        assert seen_sessions <= 2 * POOL
        status = pool.status()
        assert status["size"] <= POOL and status["available"] == status["size"]
    finally:
        await pool.execute("DROP TABLE IF EXISTS rel_storm, rel_big")
        await pool.close()
        await admin.close()


async def test_sqlite_cancellation_storm(tmp_path: Path) -> None:
    pool = await connect(f"sqlite:///{tmp_path / 'storm.db'}", max_size=POOL)
    try:
        await pool.execute("CREATE TABLE rel_storm (tag TEXT NOT NULL)")
        await pool.execute("CREATE TABLE rel_big (v INTEGER)")
        slow = (
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000000) "
            "INSERT INTO rel_big SELECT n FROM g"
        )
        committed, maybe = await storm(pool, slow, "?")
        await check_table(pool, committed, maybe)
        # Interrupted statements hand their connections back within moments.
        status = pool.status()
        for _ in range(50):
            status = pool.status()
            if status["available"] == status["size"]:
                break
            await asyncio.sleep(0.02)
        assert status["available"] == status["size"]
    finally:
        await pool.close()


async def test_mysql_cancellation_storm() -> None:
    """MariaDB stops an abandoned statement with KILL QUERY from a second connection and discards
    the connection it ran on: afterwards no session of the pool is still running, none holds an
    open transaction, and only the pool's own connections are left."""
    admin_url = find_mysql_admin_url()
    name = f"yara_storm_{uuid.uuid4().hex[:8]}"
    admin = await connect(admin_url, max_size=1)
    await admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    pool = await connect(urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}")), max_size=POOL)

    async def sessions(where: str = "") -> list[tuple[object, ...]]:
        return await admin.fetch(
            "SELECT p.ID, p.COMMAND, p.STATE, t.trx_id FROM information_schema.PROCESSLIST p "
            "LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID "
            f"WHERE p.DB = ? {where}",
            [name],
        )

    try:
        await pool.execute("CREATE TABLE rel_storm (tag VARCHAR(20) NOT NULL)")
        await pool.execute("CREATE TABLE rel_big (v INTEGER)")
        # MariaDB caps recursive CTEs at depth 1000: a sleeping row keeps the INSERT running.
        slow = "INSERT INTO rel_big (v) SELECT SLEEP(10)"
        committed, maybe = await storm(pool, slow, "?")
        await check_table(pool, committed, maybe)
        # Killed statements end and discarded connections close within moments.
        busy: list[tuple[object, ...]] = []
        for _ in range(100):
            busy = await sessions("AND (p.COMMAND <> 'Sleep' OR t.trx_id IS NOT NULL)")
            if not busy:
                break
            await asyncio.sleep(0.02)
        assert busy == [], f"sessions still running or in a transaction 2 s after the storm: {busy}"
        left: list[tuple[object, ...]] = []
        for _ in range(100):
            left = await sessions()
            if len(left) <= POOL:
                break
            await asyncio.sleep(0.02)
        assert len(left) <= POOL, f"{len(left)} sessions left for a pool of {POOL}"
        status = pool.status()
        assert status["size"] <= POOL and status["available"] == status["size"]
    finally:
        await pool.close()
        await admin.execute(f"DROP DATABASE IF EXISTS `{name}`")
        await admin.close()
