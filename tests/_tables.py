"""Test tables on any backend: dropping them, and an ORM session with them fresh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from yara_orm import Connection, YaraOrm, connections


async def drop_tables(conn: Connection, tables: list[str]) -> None:
    """Drop ``tables`` (dependents first) in the connection's own quoting."""
    q = conn.dialect.quote
    if conn.backend == "mysql":
        # Tables referencing each other: the checks are off for this one script (one session).
        if tables:
            names = ", ".join(q(t) for t in tables)
            await conn.execute(
                f"SET FOREIGN_KEY_CHECKS = 0; DROP TABLE IF EXISTS {names}; SET FOREIGN_KEY_CHECKS = 1"
            )
        return
    cascade = " CASCADE" if conn.backend == "postgres" else ""
    for table in tables:
        await conn.execute(f"DROP TABLE IF EXISTS {q(table)}{cascade}")


@asynccontextmanager
async def fresh_orm(url: str, module: ModuleType, max_size: int) -> AsyncIterator[Connection]:
    """YaraOrm on ``url`` with ``module``'s models (``module.ALL_MODELS``, dependents last) in
    empty tables, dropped again afterwards."""
    all_models: list[Any] = module.ALL_MODELS
    tables = [m._meta.table for m in reversed(all_models)]
    await YaraOrm.init(url, modules={"models": [module]}, max_size=max_size)
    await drop_tables(connections.get("default"), tables)
    await YaraOrm.generate_schemas()
    try:
        yield connections.get("default")
    finally:
        if YaraOrm.is_inited():
            await drop_tables(connections.get("default"), tables)
        await YaraOrm.close()
