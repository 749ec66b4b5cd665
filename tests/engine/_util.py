"""Helpers shared by the engine tests."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from yara_orm import Pool


def ph(pool: Pool, n: int) -> str:
    """The backend's placeholder for parameter ``n`` (1-based; MySQL's ``?`` is positional)."""
    if pool.backend == "postgres":
        return f"${n}"
    return "?" if pool.backend == "mysql" else f"?{n}"


def phs(pool: Pool, count: int) -> str:
    """``$1, $2, ...``, ``?1, ?2, ...`` or ``?, ?, ...``."""
    return ", ".join(ph(pool, i) for i in range(1, count + 1))


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def with_query(url: str, **options: object) -> str:
    """``url`` with ``options`` added to its query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    query.extend((k, str(v)) for k, v in options.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


async def create_table(pool: Pool, columns: str, prefix: str = "t") -> str:
    """Create a table with a unique name; return the name. On MySQL, TEXT columns become
    VARCHAR(255) (a TEXT column cannot be a key there without a prefix length)."""
    name = unique_name(prefix)
    if pool.backend == "mysql":
        columns = re.sub(r"\bTEXT\b", "VARCHAR(255)", columns).replace("TIMESTAMPTZ", "DATETIME(6)")
    await pool.execute(f"CREATE TABLE {name} ({columns})")
    return name


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 2.0) -> bool:
    """Poll ``predicate`` until it holds or ``within`` seconds passed; return its last value."""
    deadline = time.monotonic() + within
    while True:
        if await predicate():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)


async def assert_pool_healthy(pool: Pool) -> None:
    """Every connection the pool can hold serves a query, and nothing is leaked or waiting."""
    max_size = pool.status()["max_size"]
    results = await asyncio.gather(*(pool.fetch("SELECT 1") for _ in range(max_size)))
    assert results == [[(1,)]] * max_size

    async def settled() -> bool:
        s = pool.status()
        return s["available"] == s["size"] and s["waiting"] == 0

    assert await wait_until(settled), f"connections still checked out: {pool.status()}"
    status = pool.status()
    assert 1 <= status["size"] <= status["max_size"] == max_size, status


def xfail_on_mysql(pool: Pool, request: pytest.FixtureRequest, reason: str) -> None:
    """A strict expected failure on MySQL/MariaDB, for a difference of the database's own."""
    if pool.backend == "mysql":
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
