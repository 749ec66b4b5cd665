"""``in_transaction()`` and ``@atomic``: transactions on a named connection.

Inside the block every query of the current task on that connection runs in the transaction
(task-owned, see ``pool.py``); nesting makes savepoints.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

from .connection import connections
from .pool import TransactionScope

P = ParamSpec("P")
R = TypeVar("R")


def _default_name() -> str:
    names = connections.names()
    return "default" if "default" in names or not names else names[0]


def in_transaction(connection_name: str | None = None, isolation: str | None = None) -> TransactionScope:
    """``async with in_transaction():`` commits on success, rolls back on an exception."""
    return connections.get(connection_name or _default_name()).transaction(isolation)


@overload
def atomic(connection_name: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
@overload
def atomic(
    connection_name: str | None = None, isolation: str | None = None
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...
def atomic(connection_name: Any = None, isolation: str | None = None) -> Any:
    """Run the decorated coroutine function in a transaction (``@atomic`` or ``@atomic("db")``)."""

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
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
