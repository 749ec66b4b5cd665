"""Fixtures for the Tortoise ORM test files the compat runner copies in at run time.

Tortoise's own root conftest is not shipped in its sdist, so this one provides the fixtures
its tests ask for (``db``, ``db_truncate``, ``db_isolated``, ``db_simple``) using only the
public Tortoise API. The runner applies the same import rewrite to this file as to the test
files, so the identical fixtures run against Tortoise itself and against Yara ORM.

Environment (set by compat/run.py): COMPAT_BACKEND (sqlite or postgres), COMPAT_PG_URL.
"""

import contextlib
import os
import tempfile

import pytest_asyncio
from tortoise import Tortoise, connections

BACKEND = os.environ.get("COMPAT_BACKEND", "sqlite")
PG_URL = os.environ.get("COMPAT_PG_URL", "")
LABEL = "models"


def _config(url):
    return {
        "connections": {LABEL: url},
        "apps": {LABEL: {"models": ["tests.testmodels"], "default_connection": LABEL}},
    }


async def _tables():
    conn = connections.get(LABEL)
    if BACKEND == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        )
    else:
        rows = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    return [row["name"] for row in rows]


async def _empty_all_tables():
    conn = connections.get(LABEL)
    tables = await _tables()
    if not tables:
        return
    if BACKEND == "postgres":
        quoted = ", ".join(f'"{t}"' for t in tables)
        await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        # Several passes: a row referenced by a foreign key can only go once its referrers have.
        for _ in range(len(tables)):
            left = []
            for table in tables:
                try:
                    await conn.execute_script(f'DELETE FROM "{table}"')
                except Exception:
                    left.append(table)
            if not left:
                break
            tables = left
        with contextlib.suppress(Exception):
            await conn.execute_script("DELETE FROM sqlite_sequence")


@contextlib.asynccontextmanager
async def _session():
    path = None
    if BACKEND == "postgres":
        url = PG_URL
    else:
        fd, path = tempfile.mkstemp(suffix=".db", prefix="compat-")
        os.close(fd)
        os.remove(path)
        url = f"sqlite://{path}"
    await Tortoise.init(config=_config(url))
    if BACKEND == "postgres":
        await connections.get(LABEL).execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await Tortoise.generate_schemas()
    try:
        yield
    finally:
        await Tortoise.close_connections()
        if path:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db_module():
    async with _session():
        yield


@pytest_asyncio.fixture(loop_scope="session")
async def db(db_module):
    yield
    await _empty_all_tables()


db_truncate = db


@pytest_asyncio.fixture(loop_scope="session")
async def db_simple(db_module):
    yield


@pytest_asyncio.fixture(loop_scope="session")
async def db_isolated():
    async with _session():
        yield
