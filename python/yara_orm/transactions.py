"""``in_transaction()``, ``@atomic``, ``on_commit`` and ``retry_transaction`` on named connections.

Inside the block every query of the current task on that connection runs in the transaction
(task-owned through contextvars, see ``pool.py``); nesting makes savepoints, and an exception
rolls back exactly the innermost scope it leaves.

``on_commit`` callbacks are kept per scope: a savepoint that is released hands its callbacks to
the enclosing scope, one that rolls back drops them, and the outermost commit runs them in
registration order. The scope stack is an immutable tuple in a contextvar, so a task never sees
another task's scopes.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from .connection import connections
from .exceptions import DeadlockError, SerializationError, TransactionManagementError
from .pool import Transaction, TransactionScope

P = ParamSpec("P")
R = TypeVar("R")

Callback = Callable[[], Any]


class IsolationLevel(enum.StrEnum):
    """The standard isolation levels, for ``in_transaction(isolation=...)`` and ``@atomic``.
    SQLite transactions are always serializable."""

    READ_UNCOMMITTED = "READ UNCOMMITTED"
    READ_COMMITTED = "READ COMMITTED"
    REPEATABLE_READ = "REPEATABLE READ"
    SERIALIZABLE = "SERIALIZABLE"


class _Frame:
    __slots__ = ("callbacks", "connection")

    def __init__(self, connection: str) -> None:
        self.connection = connection
        self.callbacks: list[Callback] = []


_frames: contextvars.ContextVar[tuple[_Frame, ...]] = contextvars.ContextVar("yara_orm_tx_frames", default=())


# Keeps callbacks scheduled outside a transaction alive until they finish.
_detached: set[asyncio.Future[Any]] = set()


def _default_name() -> str:
    names = connections.names()
    return "default" if "default" in names or not names else names[0]


class TransactionContext:
    """``async with in_transaction() as tx``: ``tx`` is the :class:`~yara_orm.Transaction`
    (use it as ``using_db=tx`` or for raw SQL)."""

    def __init__(self, connection_name: str, isolation: str | None) -> None:
        self.connection_name = connection_name
        self._scope: TransactionScope = connections.get(connection_name).transaction(isolation)
        self._frame = _Frame(connection_name)
        self._token: contextvars.Token[tuple[_Frame, ...]] | None = None

    async def __aenter__(self) -> Transaction:
        if self._token is not None:
            raise TransactionManagementError("this in_transaction() block is already open")
        tx = await self._scope.__aenter__()
        self._token = _frames.set((*_frames.get(), self._frame))
        return tx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token = self._token
        if token is None:
            raise TransactionManagementError("this transaction block was never entered")
        _frames.reset(token)
        self._token = None
        await self._scope.__aexit__(exc_type, exc, tb)
        if exc_type is not None:
            return  # rolled back: its callbacks are discarded
        outer = [f for f in _frames.get() if f.connection == self.connection_name]
        if outer:
            outer[-1].callbacks.extend(self._frame.callbacks)
            return
        for callback in self._frame.callbacks:
            result = callback()
            if inspect.isawaitable(result):
                await result


def in_transaction(connection_name: str | None = None, isolation: str | None = None) -> TransactionContext:
    """``async with in_transaction():`` commits on success, rolls back on an exception.
    ``isolation`` ("serializable", "repeatable read"...) applies to the outermost block only."""
    return TransactionContext(connection_name or _default_name(), isolation)


def on_commit(callback: Callback, connection_name: str | None = None) -> None:
    """Run ``callback`` (sync or async, no arguments) after the outermost transaction on the
    connection commits — never after a rollback. Outside a transaction it runs at once (async
    callbacks are scheduled as a task)."""
    name = connection_name or _default_name()
    for frame in reversed(_frames.get()):
        if frame.connection == name:
            frame.callbacks.append(callback)
            return
    result = callback()
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _detached.add(task)
        task.add_done_callback(_detached.discard)


@overload
def atomic(connection_name: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
@overload
def atomic(
    connection_name: str | None = None, isolation: str | None = None
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...
def atomic(connection_name: Any = None, isolation: str | None = None) -> Any:
    """Run the decorated coroutine function in a transaction (``@atomic``, ``@atomic()`` or
    ``@atomic("db")``)."""

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        if not inspect.iscoroutinefunction(func):
            raise TransactionManagementError("@atomic decorates async functions only")

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with in_transaction(name, isolation):
                return await func(*args, **kwargs)

        return wrapper

    if callable(connection_name):
        name = None
        return decorate(connection_name)
    name = connection_name
    return decorate


async def retry_transaction(
    func: Callable[[], Awaitable[R]],
    *,
    attempts: int = 3,
    connection_name: str | None = None,
    isolation: str | None = None,
    delay: float = 0.01,
) -> R:
    """Run ``func`` in a fresh transaction, again (up to ``attempts`` times in all) when it fails
    with a serialization failure or a deadlock; the last failure propagates. Must be called
    outside any transaction on the connection: only a whole transaction can be retried."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    name = connection_name or _default_name()
    if connections.get(name).pool.current_transaction() is not None:
        raise TransactionManagementError("retry_transaction() cannot run inside an open transaction")
    for attempt in range(1, attempts + 1):
        try:
            async with in_transaction(name, isolation):
                return await func()
        except (SerializationError, DeadlockError):
            if attempt == attempts:
                raise
            await asyncio.sleep(delay * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def current_transaction(connection_name: str | None = None) -> Transaction | None:
    """The transaction the current task has open on the connection, if any."""
    return connections.get(connection_name or _default_name()).pool.current_transaction()


__all__ = ["atomic", "current_transaction", "in_transaction", "on_commit", "retry_transaction"]
