"""The raw-SQL API: ``await yara_orm.connect(url)`` and the pool it returns.

A :class:`Pool` runs SQL with bound parameters and returns positional rows (tuples).
``pool.transaction()`` opens a transaction owned by the current asyncio task: while it is
open, the pool's methods called from that task run inside it, and a nested
``pool.transaction()`` becomes a savepoint. Other tasks never see it.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, cast

from . import _engine
from .backends import BUILTIN_SCHEMES, Features, connect_external, engine_features
from .exceptions import TransactionManagementError
from .records import Record, to_records

Row = tuple[Any, ...]
Params = Sequence[Any] | None

__all__ = ["Executor", "Pool", "Transaction", "connect"]


async def connect(url: str, **options: Any) -> Pool:
    """Open a connection pool. The URL scheme picks the backend (``postgres://``,
    ``postgresql://``, ``sqlite:///path``, ``sqlite://:memory:``); options may also be
    given in the URL query. See :func:`yara_orm._engine.connect` for the option names.

    Other schemes go to a backend registered outside the engine (see :mod:`yara_orm.backends`)."""
    scheme, sep, _ = url.partition("://")
    if sep and scheme.lower() not in BUILTIN_SCHEMES:
        # A third-party backend implements the engine pool's protocol (checked on connect).
        external, features = await connect_external(url, options)
        return Pool(cast(_engine.EnginePool, external), features)
    engine_pool = await _engine.connect(url, options)
    return Pool(engine_pool)


class Executor:
    """What runs SQL: the statement methods shared by pools and transactions (``executor``
    everywhere in the ORM). Each delegates to the engine object of :meth:`_engine_executor`."""

    _engine_side: _engine.EnginePool | _engine.EngineTransaction
    _features: Features

    @property
    def features(self) -> Features:
        """What the backend can do (capabilities and optional protocol parts), built once when
        the pool was opened: see :class:`yara_orm.backends.Features`."""
        return self._features

    def _engine_executor(self) -> _engine.EnginePool | _engine.EngineTransaction:
        return self._engine_side

    async def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; return the number of rows it affected."""
        return await self._engine_executor().execute(sql, params)

    async def execute_insert(self, sql: str, params: Params = None) -> tuple[int, int | None]:
        """Run one INSERT; ``(rows affected, the first AUTO_INCREMENT key it generated or None)``.
        Offered where the backend declares ``last_insert_id`` (MySQL/MariaDB): how keys are
        learnt without ``INSERT ... RETURNING`` (see ``features.insert_id_step``)."""
        return await self._engine_executor().execute_insert(sql, params)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        """Run one statement once per parameter set (pipelined on PostgreSQL); return the
        total number of rows affected."""
        return await self._engine_executor().execute_many(sql, params_seq)

    async def copy_in(self, copy_sql: str, types_from: str, columns: Sequence[Sequence[Any]]) -> int:
        """Bulk-load rows, column by column, where the backend declares ``copy_in`` (PostgreSQL
        binary COPY; see ``_engine.EnginePool.copy_in``); the number of rows stored."""
        return await self._engine_executor().copy_in(copy_sql, types_from, columns)

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        """Run a query; return its rows as tuples in SELECT-list order."""
        return await self._engine_executor().fetch(sql, params)

    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]:
        """Run a query; return ``(column_names, rows)``."""
        return await self._engine_executor().fetch_with_columns(sql, params)

    async def fetch_instances(self, sql: str, params: Params, spec: _engine.InstanceSpec) -> list[Any]:
        """Run a query and build one instance per row as ``spec`` (the ORM's decode plan) says."""
        return await self._engine_executor().fetch_instances(sql, params, spec)

    async def fetch_dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Run a query; return each row as a dict keyed by column name."""
        columns, rows = await self._engine_executor().fetch_with_columns(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        """Run a query; return its first row, or ``None`` when it returned none."""
        return await self._engine_executor().fetch_one(sql, params)

    # -- the raw-SQL spelling of yara-orm 1.19 and Tortoise (``async with in_transaction() as
    # conn: await conn.fetch_all(...)``); the ORM itself uses the positional methods above.

    async def fetch_all(self, sql: str, params: Params = None) -> list[Record]:
        """Run a query; return its rows as records (``row[0]``, ``row["col"]``, ``dict(row)``)."""
        columns, rows = await self.fetch_with_columns(sql, params)
        return to_records(columns, rows)

    async def execute_query(self, sql: str, values: Params = None) -> tuple[int, list[Record]]:
        """Tortoise's form: ``(number of rows, rows as records)``; for a statement that returns
        no rows (UPDATE/DELETE/INSERT without RETURNING) the number of rows it affected."""
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head in ("INSERT", "UPDATE", "DELETE") and "RETURNING" not in sql.upper():
            return await self.execute(sql, values), []
        rows = await self.fetch_all(sql, values)
        return len(rows), rows

    async def execute_query_dict(self, sql: str, values: Params = None) -> list[dict[str, Any]]:
        return await self.fetch_dicts(sql, values)


class Pool(Executor):
    """A pool of connections to one database."""

    def __init__(self, engine_pool: _engine.EnginePool, features: Features | None = None) -> None:
        self._engine_side = engine_pool
        self._features = features if features is not None else engine_features(engine_pool.capabilities())
        self._engine = engine_pool
        # The transaction the current task has open on this pool, if any.
        self._current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
            f"yara_orm_tx_{id(self)}", default=None
        )

    @property
    def backend(self) -> str:
        """``"postgres"`` or ``"sqlite"``."""
        return self._engine.backend

    @property
    def engine(self) -> _engine.EnginePool:
        """The compiled pool underneath, for callers on the hot path."""
        return self._engine

    def capabilities(self) -> dict[str, Any]:
        """What the backend supports (see the conformance kit)."""
        return dict(self._engine.capabilities())

    def status(self) -> dict[str, int]:
        """Pool counters: ``size``, ``available``, ``max_size``, ``waiting``."""
        return dict(cast(Mapping[str, int], self._engine.status()))

    @property
    def is_closed(self) -> bool:
        return self._engine.is_closed

    def current_transaction(self) -> Transaction | None:
        """The transaction the current task has open on this pool, if any."""
        return self._current.get()

    def _engine_executor(self) -> _engine.EnginePool | _engine.EngineTransaction:
        current = self._current.get()
        if current is not None:
            return current._engine_executor()
        return self._engine

    def transaction(self, isolation: str | None = None) -> TransactionScope:
        """``async with pool.transaction() as tx:`` commits on success and rolls back on an
        exception. Inside an open transaction of the same task it makes a savepoint."""
        return TransactionScope(self, isolation)

    async def cursor(self, sql: str, params: Params = None, chunk_size: int = 1000) -> _engine.EngineCursor:
        """A server-side stream of the query's rows, ``chunk_size`` at a time."""
        return await self._engine.cursor(sql, params, chunk_size)

    async def server_version(self) -> str:
        return await self._engine.server_version()

    async def close(self) -> None:
        """Close every connection. Statements still running finish or fail; later calls raise."""
        await self._engine.close()

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


_savepoint_ids = itertools.count(1)


class Transaction(Executor):
    """An open transaction (or a savepoint inside one) on one connection."""

    def __init__(
        self,
        engine_tx: _engine.EngineTransaction,
        savepoint: str | None = None,
        features: Features | None = None,
    ) -> None:
        self._engine_side = engine_tx
        self._features = features if features is not None else engine_features({})
        self._savepoint = savepoint
        self._finished = False

    @property
    def is_savepoint(self) -> bool:
        return self._savepoint is not None

    @property
    def is_finished(self) -> bool:
        return self._finished

    def _engine_executor(self) -> _engine.EngineTransaction:
        if self._finished:
            raise TransactionManagementError("this transaction has already been committed or rolled back")
        # The engine's transaction, or a third-party backend's one with the same methods.
        return cast(_engine.EngineTransaction, self._engine_side)

    async def commit(self) -> None:
        engine_tx = self._engine_executor()
        self._finished = True
        if self._savepoint is None:
            await engine_tx.commit()
        else:
            await engine_tx.release(self._savepoint)

    async def rollback(self) -> None:
        engine_tx = self._engine_executor()
        self._finished = True
        if self._savepoint is None:
            await engine_tx.rollback()
        else:
            await engine_tx.rollback_to(self._savepoint)
            await engine_tx.release(self._savepoint)


class TransactionScope:
    """The async context manager returned by :meth:`Pool.transaction`."""

    def __init__(self, pool: Pool, isolation: str | None) -> None:
        self._pool = pool
        self._isolation = isolation
        self._tx: Transaction | None = None
        self._token: contextvars.Token[Transaction | None] | None = None

    async def __aenter__(self) -> Transaction:
        outer = self._pool.current_transaction()
        if outer is not None and not outer.is_finished:
            if self._isolation is not None:
                raise TransactionManagementError("isolation can only be set on the outermost transaction")
            name = f"yara_sp_{next(_savepoint_ids)}"
            engine_tx = outer._engine_executor()
            await engine_tx.savepoint(name)
            self._tx = Transaction(engine_tx, savepoint=name, features=self._pool.features)
        else:
            engine_tx = await self._pool.engine.begin(self._isolation)
            self._tx = Transaction(engine_tx, features=self._pool.features)
        self._token = self._pool._current.set(self._tx)
        return self._tx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx, token = self._tx, self._token
        assert tx is not None and token is not None
        try:
            if not tx.is_finished:
                if exc_type is None:
                    await tx.commit()
                else:
                    await self._rollback_after(tx, exc)
        finally:
            self._pool._current.reset(token)

    @staticmethod
    async def _rollback_after(tx: Transaction, exc: BaseException | None) -> None:
        """Roll back because the block raised ``exc``. If the rollback fails too (a savepoint
        whose statement was cancelled mid-flight cannot be rolled back to: its connection's
        state is unknown), ``exc`` still propagates - a cancellation stays a cancellation, so
        ``wait_for`` turns it into TimeoutError - and the enclosing transaction, which then
        refuses everything but a rollback, is left for its own scope to roll back."""
        try:
            await tx.rollback()
        except Exception as rollback_error:
            if exc is None:
                raise
            exc.add_note(f"yara_orm: rolling back after it also failed: {rollback_error}")
