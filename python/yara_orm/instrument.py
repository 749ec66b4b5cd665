"""Counting the statements the ORM sends, for tests that assert "no N+1".

::

    with count_statements() as counter:
        await Book.all().prefetch_related("author")
    assert counter.count == 2

While a counter is open the statement methods of pools and transactions are wrapped; when none
is open the originals are back in place, so the hot path pays nothing. Counters see every
statement of the process (all tasks, all connections) while open.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import pool

# Every method that sends a statement (pools and transactions share them); the cursor is extra.
STATEMENT_METHODS = (
    "execute",
    "execute_insert",
    "execute_many",
    "copy_in",
    "fetch",
    "fetch_with_columns",
    "fetch_one",
    "fetch_instances",
)
_METHODS = STATEMENT_METHODS
_active: list[StatementCounter] = []
_originals: dict[str, Callable[..., Any]] = {}


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


def _wrap(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def counted(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        for counter in _active:
            counter.statements.append(sql)
        return await original(self, sql, *args, **kwargs)

    return counted


def _install() -> None:
    for name in _METHODS:
        original = getattr(pool.Executor, name)
        _originals[name] = original
        setattr(pool.Executor, name, _wrap(name, original))
    original_cursor = pool.Pool.cursor
    _originals["cursor"] = original_cursor
    pool.Pool.cursor = _wrap("cursor", original_cursor)  # type: ignore[method-assign]


def _uninstall() -> None:
    for name in _METHODS:
        setattr(pool.Executor, name, _originals.pop(name))
    pool.Pool.cursor = _originals.pop("cursor")  # type: ignore[method-assign]


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    """Count (and record the SQL of) every statement run while the block is open."""
    counter = StatementCounter()
    if not _active:
        _install()
    _active.append(counter)
    try:
        yield counter
    finally:
        _active.remove(counter)
        if not _active:
            _uninstall()


__all__ = ["StatementCounter", "count_statements"]
