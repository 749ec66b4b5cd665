"""Fixtures of the reliability tests: the ORM on each backend with fresh tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from yara_orm import Connection, YaraOrm, connections

from .._tables import drop_tables
from . import models


async def _drop(conn: Connection) -> None:
    await drop_tables(conn, [model._meta.table for model in reversed(models.ALL_MODELS)])


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[Connection]:
    await YaraOrm.init(db_url, modules={"models": [models]}, max_size=4)
    conn = connections.get("default")
    await _drop(conn)
    await YaraOrm.generate_schemas()
    try:
        yield conn
    finally:
        if YaraOrm.is_inited():
            await _drop(connections.get("default"))
        await YaraOrm.close()
