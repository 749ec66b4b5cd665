"""A backend that wraps the engine's own SQLite or PostgreSQL backend and logs every statement:
the worked example of wrapping a built-in backend (``conformance/README.md``).

    PYTHONPATH=conformance/examples/tracing_backend \
        python -m yara_orm.conformance tracing+sqlite:///scratch.db --backend tracing_backend:BACKEND

(``tracing_backend:BACKEND_POSTGRES`` with ``tracing+postgres://...`` for PostgreSQL.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from yara_orm.backends import BackendSpec, DelegatingPool, DelegatingTransaction, connect_builtin
from yara_orm.dialects import PostgresDialect, SQLiteDialect

log = logging.getLogger("tracing_backend")
Params = Sequence[Any] | None


class TracingTransaction(DelegatingTransaction):
    async def execute(self, sql: str, params: Params = None) -> int:
        log.debug("tx execute %s", sql)
        return await super().execute(sql, params)

    async def fetch(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        log.debug("tx fetch %s", sql)
        return await super().fetch(sql, params)


class TracingPool(DelegatingPool):
    transaction_class = TracingTransaction
    # Reads through fetch_instances / fetch_chunk_instances and COPY are not traced, so they are
    # forwarded as they are: list them, and the kit certifies them through this wrapper too.
    optional = frozenset({"fetch_instances", "copy_in", "fetch_chunk_instances"})

    async def execute(self, sql: str, params: Params = None) -> int:
        log.debug("execute %s", sql)
        return await super().execute(sql, params)

    async def fetch(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        log.debug("fetch %s", sql)
        return await super().fetch(sql, params)


class TracingSQLiteDialect(SQLiteDialect):
    name = "tracing_sqlite"


class TracingPostgresDialect(PostgresDialect):
    name = "tracing_postgres"


def _connect(name: str) -> Any:
    async def connect(url: str, options: dict[str, Any]) -> TracingPool:
        # "tracing+sqlite:///x.db" -> the engine's "sqlite:///x.db"
        inner = await connect_builtin(url.split("+", 1)[1], **options)
        return TracingPool(inner, backend=name)

    return connect


# One spec per wrapped database: the name is the dialect's registry key and the pool's backend.
BACKEND = BackendSpec(name="tracing_sqlite", connect=_connect("tracing_sqlite"), dialect=TracingSQLiteDialect)
BACKEND_POSTGRES = BackendSpec(
    name="tracing_postgres", connect=_connect("tracing_postgres"), dialect=TracingPostgresDialect
)
