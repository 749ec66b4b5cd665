"""Fixtures for the ORM tests: an initialised ORM on each backend with fresh tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from yara_orm import Connection, YaraOrm, connections
from yara_orm.dialects import PostgresDialect, SQLiteDialect

from .._tables import drop_tables, fresh_orm
from . import models


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[Connection]:
    """YaraOrm initialised on each backend in turn, with empty tables for the test models."""
    async with fresh_orm(db_url, models, max_size=8) as conn:
        yield conn


@pytest.fixture
async def pg_orm(pg_url: str) -> AsyncIterator[Connection]:
    """YaraOrm on PostgreSQL only (PostgreSQL-specific behaviour and real concurrency)."""
    async with fresh_orm(pg_url, models, max_size=10) as conn:
        yield conn


@pytest.fixture(params=["postgres", "sqlite"])
def offline(request: pytest.FixtureRequest) -> str:
    """Bind the test models to a dialect without a database, for SQL-shape tests."""
    dialect = PostgresDialect() if request.param == "postgres" else SQLiteDialect()
    conn = Connection("offline", None, dialect)  # type: ignore[arg-type]
    for model in models.ALL_MODELS:
        model._meta.bind(conn, "offline")
    yield request.param
    for model in models.ALL_MODELS:
        model._meta.bind(None, None)


async def _drop_all(conn: Connection, models_module: object) -> None:
    from yara_orm import schema

    chosen = [m for m in YaraOrm.models() if m.__module__ == getattr(models_module, "__name__", "")]
    await drop_tables(conn, [m._meta.table for m in reversed(schema.dependency_order(chosen))])


@pytest.fixture
async def rel_orm(db_url: str) -> AsyncIterator[Connection]:
    """YaraOrm on each backend with fresh tables for the relation test models."""
    from . import rel_models

    await YaraOrm.init(db_url, modules={"models": [rel_models]}, max_size=8)
    conn = connections.get("default")
    await _drop_all(conn, rel_models)
    await YaraOrm.generate_schemas()
    try:
        yield conn
    finally:
        if YaraOrm.is_inited():
            await _drop_all(connections.get("default"), rel_models)
        await YaraOrm.close()


@pytest.fixture
async def rel_pg(pg_url: str) -> AsyncIterator[Connection]:
    """The relation test models on PostgreSQL only (locking and concurrency tests)."""
    from . import rel_models

    await YaraOrm.init(pg_url, modules={"models": [rel_models]}, max_size=10)
    conn = connections.get("default")
    await _drop_all(conn, rel_models)
    await YaraOrm.generate_schemas()
    try:
        yield conn
    finally:
        if YaraOrm.is_inited():
            await _drop_all(connections.get("default"), rel_models)
        await YaraOrm.close()
