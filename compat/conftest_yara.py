"""Fixtures for yara-orm 1.19.1's test files, which the compat runner copies in at run time.

Written against yara-orm 1.19.1's public API only (its own conftest reaches into internals), so
the same fixtures run against the real package and against ours. A test module lists its models
in ``MODELS``; ``db`` gives each test a fresh schema with exactly those tables.

Environment (set by compat/run.py): COMPAT_BACKEND (sqlite or postgres), COMPAT_PG_URL.
"""

import contextlib
import os
import tempfile

import pytest
import pytest_asyncio

from yara_orm import YaraOrm, connections

BACKEND = os.environ.get("COMPAT_BACKEND", "sqlite")
PG_URL = os.environ.get("COMPAT_PG_URL", "")
# Some test files read the anchor's own variable for their PostgreSQL URL.
if PG_URL:
    os.environ.setdefault("ORM_TEST_DB", PG_URL)


@contextlib.asynccontextmanager
async def _session(models, *, backend=BACKEND, generate=True, **init_kwargs):
    path = None
    if backend == "postgres":
        await YaraOrm.init(PG_URL, **init_kwargs)
        await connections.get("default").execute("DROP SCHEMA public CASCADE")
        await connections.get("default").execute("CREATE SCHEMA public")
    else:
        fd, path = tempfile.mkstemp(suffix=".db", prefix="compat-")
        os.close(fd)
        os.remove(path)
        await YaraOrm.init(f"sqlite://{path}", **init_kwargs)
    try:
        if generate:
            if models is None:
                await YaraOrm.generate_schemas()
            else:
                await YaraOrm.generate_schemas(models=models)
        yield backend
    finally:
        await YaraOrm.close()
        if path:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)


@pytest_asyncio.fixture(params=[BACKEND])
async def db(request):
    models = getattr(request.module, "MODELS", None)
    if models is None:
        raise RuntimeError(f"{request.module.__name__} must define MODELS=[...] to use the 'db' fixture")
    async with _session(models, backend=request.param) as backend:
        yield backend


@pytest_asyncio.fixture
async def sqlite_db():
    if BACKEND != "sqlite":
        pytest.skip("SQLite-only fixture; runs in the sqlite pass")
    async with _session(None, backend="sqlite"):
        yield


@pytest_asyncio.fixture
async def sqlite_empty():
    if BACKEND != "sqlite":
        pytest.skip("SQLite-only fixture; runs in the sqlite pass")
    async with _session(None, backend="sqlite", generate=False):
        yield


@pytest_asyncio.fixture
async def orm():
    if BACKEND != "postgres":
        pytest.skip("PostgreSQL-only fixture; runs in the postgres pass")
    async with _session(None, backend="postgres", generate=False):
        yield
