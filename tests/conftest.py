"""Shared fixtures: where the test databases come from.

PostgreSQL: ``YARA_PG_URL`` when set; else a server on 127.0.0.1:5432; else a
testcontainers PostgreSQL where Docker works. If none is reachable the PostgreSQL tests
fail (never skip) with a message saying how to provide one. Each test session works in
its own freshly created database and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from yara_orm import Pool, connect

from ._mysql_provision import find_mysql_admin_url
from ._pg_provision import find_postgres_admin_url


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with find_postgres_admin_url() as url:
        yield url


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"yara_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        pool = await connect(pg_admin_url, max_size=1)
        try:
            await pool.execute(sql)
        finally:
            await pool.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(pg_admin_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for this test session, dropped afterwards."""
    admin_url = find_mysql_admin_url()
    name = f"yara_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        pool = await connect(admin_url, max_size=1)
        try:
            await pool.execute(sql)
        finally:
            await pool.close()

    asyncio.run(admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file per test."""
    return f"sqlite:///{tmp_path / 'test.db'}"


BACKENDS = ("sqlite", "postgres", "mysql")
_URL_FIXTURES = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per built-in backend (the one parametrisation)."""
    return str(request.getfixturevalue(_URL_FIXTURES[request.param]))


@pytest.fixture
async def pg_pool(pg_url: str) -> AsyncIterator[Pool]:
    pool = await connect(pg_url, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def sqlite_pool(sqlite_url: str) -> AsyncIterator[Pool]:
    pool = await connect(sqlite_url)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    """A pool on each backend in turn (tests must clean up their own tables)."""
    p = await connect(db_url, max_size=4)
    try:
        yield p
    finally:
        await p.close()


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"YARA_PG_URL={'set' if os.environ.get('YARA_PG_URL') else 'unset'}, "
        f"YARA_MYSQL_URL={'set' if os.environ.get('YARA_MYSQL_URL') else 'unset'}"
    )
