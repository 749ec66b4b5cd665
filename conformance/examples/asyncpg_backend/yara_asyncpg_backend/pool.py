"""The pool, transaction and cursor of the asyncpg backend (the ``yara_orm.backends`` protocol)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]

from yara_orm import _engine, exceptions

Row = tuple[Any, ...]
Params = Sequence[Any] | None
T = TypeVar("T")

SCHEME_PREFIX = "asyncpg+"

CAPABILITIES: dict[str, Any] = {
    "backend": "asyncpg",
    "max_bind_params": 32767,
    "returning": True,
    "savepoints": True,
    "isolation_levels": ["read_uncommitted", "read_committed", "repeatable_read", "serializable"],
    "timestamp_precision_us": 1,
    "date_range": (1, 9999),
    "float_nan": True,
    "float_infinity": True,
    "float_signed_zero": True,
    "text_allows_nul": False,
    "empty_string_is_null": False,
    "json": True,
    "arrays": True,
    "interval": True,
    "numeric_max_digits": 1000,
    "numeric_special": True,
    "big_integers": True,
    "for_update": True,
    "skip_locked": True,
    "statement_timeout": True,
    "streaming": True,
    "placeholder": "dollar",
}


# -- values and errors --------------------------------------------------------------------------


def _param(value: Any) -> Any:
    """The engine's parameter conventions, for asyncpg: Json markers and dicts become JSON text."""
    if isinstance(value, _engine.Json):
        return value.value if value.raw else json.dumps(value.value)
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return [_param(v) for v in value]
    return value


def _params(params: Params) -> list[Any]:
    return [_param(v) for v in params or ()]


_ERROR_CLASSES: list[tuple[str, type[exceptions.OperationalError]]] = [
    ("40001", exceptions.SerializationError),
    ("40P01", exceptions.DeadlockError),
    ("57014", exceptions.QueryTimeoutError),
    ("23", exceptions.IntegrityError),
    ("22", exceptions.DataError),
    ("42", exceptions.ProgrammingError),
    ("08", exceptions.DBConnectionError),
    ("25", exceptions.TransactionManagementError),
]


def translate(exc: Exception) -> Exception:
    """An asyncpg error as the library's exception, with the server's structured fields."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(exc.sqlstate or "")
        cls = next(
            (c for prefix, c in _ERROR_CLASSES if state.startswith(prefix)), exceptions.OperationalError
        )
        return cls(
            str(exc),
            sqlstate=state or None,
            constraint=getattr(exc, "constraint_name", None),
            table=getattr(exc, "table_name", None),
            column=getattr(exc, "column_name", None),
            detail=getattr(exc, "detail", None),
        )
    if isinstance(exc, asyncpg.exceptions.DataError | ValueError | OverflowError):
        return exceptions.DataError(str(exc))
    if isinstance(exc, asyncpg.InterfaceError):
        return exceptions.ProgrammingError(str(exc))
    if isinstance(exc, OSError | ConnectionError):
        return exceptions.DBConnectionError(str(exc))
    return exc


async def _guard(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except Exception as exc:
        raised = translate(exc)
        if raised is exc:
            raise
        raise raised from exc


def _rowcount(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=str, decoder=json.loads, schema="pg_catalog", format="text")
    # asyncpg's own UUID type is not uuid.UUID: hand back the standard one, like the engine.
    await conn.set_type_codec("uuid", encoder=str, decoder=uuid.UUID, schema="pg_catalog", format="text")


# -- statements on one connection ---------------------------------------------------------------


class _Statements:
    """The statement methods, on a connection given by ``_conn()``."""

    _conn: Callable[[], Any]

    async def execute(self, sql: str, params: Params = None) -> int:
        async with self._conn() as conn:
            return _rowcount(await _guard(conn.execute(sql, *_params(params))))

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        async with self._conn() as conn:
            total = 0
            async with conn.transaction():
                stmt = await _guard(conn.prepare(sql))
                for params in params_seq:
                    await _guard(stmt.fetch(*_params(params)))
                    total += _rowcount(stmt.get_statusmsg() or "")
            return total

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        async with self._conn() as conn:
            return [tuple(r) for r in await _guard(conn.fetch(sql, *_params(params)))]

    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]:
        async with self._conn() as conn:
            stmt = await _guard(conn.prepare(sql))
            records = await _guard(stmt.fetch(*_params(params)))
            return [a.name for a in stmt.get_attributes()], [tuple(r) for r in records]

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        async with self._conn() as conn:
            record = await _guard(conn.fetchrow(sql, *_params(params)))
            return None if record is None else tuple(record)


class AsyncpgTransaction(_Statements):
    """One open transaction on one pooled connection."""

    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection, tx: Any) -> None:
        self._pool = pool
        self._connection = conn
        self._tx = tx
        self._active = True

    @asynccontextmanager
    async def _use(self) -> AsyncIterator[asyncpg.Connection]:
        if not self._active:
            raise exceptions.TransactionManagementError("this transaction is no longer active")
        yield self._connection

    _conn = _use

    @property
    def is_active(self) -> bool:
        return self._active

    async def savepoint(self, name: str) -> None:
        await self.execute(f'SAVEPOINT "{name}"')

    async def rollback_to(self, name: str) -> None:
        await self.execute(f'ROLLBACK TO SAVEPOINT "{name}"')

    async def release(self, name: str) -> None:
        await self.execute(f'RELEASE SAVEPOINT "{name}"')

    async def _finish(self, commit: bool) -> None:
        if not self._active:
            raise exceptions.TransactionManagementError("this transaction is no longer active")
        self._active = False
        try:
            await _guard(self._tx.commit() if commit else self._tx.rollback())
        finally:
            await self._pool.release(self._connection)

    async def commit(self) -> None:
        await self._finish(True)

    async def rollback(self) -> None:
        await self._finish(False)


class AsyncpgCursor:
    """A server-side cursor inside its own read transaction, holding one connection until closed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        conn: asyncpg.Connection,
        tx: Any,
        cursor: Any,
        columns: list[str],
        chunk: int,
    ) -> None:
        self._pool, self._conn, self._tx, self._cursor = pool, conn, tx, cursor
        self.columns = columns
        self._chunk = chunk
        self._open = True

    async def fetch_chunk(self) -> list[Row]:
        if not self._open:
            return []
        rows = [tuple(r) for r in await _guard(self._cursor.fetch(self._chunk))]
        if len(rows) < self._chunk:
            await self.close()
        return rows

    async def close(self) -> None:
        if self._open:
            self._open = False
            try:
                await self._tx.rollback()
            finally:
                await self._pool.release(self._conn)


class AsyncpgPool(_Statements):
    """The pool ``yara_orm.connect("asyncpg+postgres://...")`` wraps."""

    backend = "asyncpg"

    def __init__(self, pool: asyncpg.Pool, max_size: int) -> None:
        self._pool = pool
        self._max_size = max_size
        self._closed = False

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[asyncpg.Connection]:
        if self._closed:
            raise exceptions.DBConnectionError("the pool is closed")
        async with self._pool.acquire() as conn:
            yield conn

    _conn = _acquire

    def capabilities(self) -> dict[str, Any]:
        return dict(CAPABILITIES)

    def status(self) -> dict[str, int]:
        size = self._pool.get_size()
        return {
            "size": size,
            "available": self._pool.get_idle_size(),
            "max_size": self._max_size,
            "waiting": 0,
        }

    async def begin(self, isolation: str | None = None) -> AsyncpgTransaction:
        conn = await self._pool.acquire()
        tx = conn.transaction(isolation=isolation)
        try:
            await _guard(tx.start())
        except BaseException:
            await self._pool.release(conn)
            raise
        return AsyncpgTransaction(self._pool, conn, tx)

    async def cursor(self, sql: str, params: Params = None, chunk_size: int = 1000) -> AsyncpgCursor:
        conn = await self._pool.acquire()
        tx = conn.transaction(readonly=True)
        try:
            await tx.start()
            stmt = await _guard(conn.prepare(sql))
            cur = await _guard(stmt.cursor(*_params(params)))
        except BaseException:
            await tx.rollback()
            await self._pool.release(conn)
            raise
        return AsyncpgCursor(self._pool, conn, tx, cur, [a.name for a in stmt.get_attributes()], chunk_size)

    async def server_version(self) -> str:
        async with self._acquire() as conn:
            return str(await conn.fetchval("SHOW server_version"))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._pool.close()

    @property
    def is_closed(self) -> bool:
        return self._closed


async def connect(url: str, options: dict[str, Any]) -> AsyncpgPool:
    """``BackendSpec.connect``: ``asyncpg+postgres://...`` -> an :class:`AsyncpgPool`."""
    dsn = url[len(SCHEME_PREFIX) :] if url.lower().startswith(SCHEME_PREFIX) else url
    max_size = int(options.get("max_size", 10))
    min_size = min(int(options.get("min_size", 1)), max_size)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection)
    except Exception as exc:
        raised = translate(exc)
        if isinstance(raised, exceptions.OperationalError) and not isinstance(
            raised, exceptions.DBConnectionError
        ):
            raise exceptions.DBConnectionError(str(exc)) from exc
        raise raised from exc
    return AsyncpgPool(pool, max_size)
