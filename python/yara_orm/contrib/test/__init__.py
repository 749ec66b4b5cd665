"""Test helpers with Tortoise's ``contrib.test`` names: a database per test and capability gates.

::

    @pytest.fixture
    async def db():
        async with orm_test_context(["myapp.models"]) as ctx:   # a fresh SQLite file by default
            yield ctx

    @requireCapability(dialect="postgres")
    async def test_locks(db): ...

``requireCapability`` skips (``unittest.SkipTest``, which pytest reports as a skip) when the
named connection's capabilities differ; it reads them when the test runs, so the database must be
initialised by a fixture first.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from unittest import SkipTest, expectedFailure, skip, skipIf, skipUnless

from ...connection import connections
from ...orm import YaraOrm
from . import condition

__all__ = [
    "MEMORY_SQLITE",
    "Capabilities",
    "SkipTest",
    "capabilities",
    "condition",
    "expectedFailure",
    "orm_test_context",
    "requireCapability",
    "skip",
    "skipIf",
    "skipUnless",
    "tortoise_test_context",
    "truncate_all_models",
]

MEMORY_SQLITE = "sqlite://:memory:"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Capabilities:
    """What a connection can do, under the names Tortoise's test suites ask for."""

    dialect: str
    supports_transactions: bool = True
    support_for_update: bool = True
    support_for_posix_regex_queries: bool = True
    support_json_attributes: bool = True  # F("data__key") reads a JSON key path on every backend
    support_update_limit_order_by: bool = False
    support_index_hint: bool = False
    requires_limit: bool = False
    inline_comment: bool = False
    daemon: bool = True


def capabilities(connection_name: str | None = None) -> Capabilities:
    """The capabilities of a named connection (the default one when not given or unknown)."""
    names = connections.names()
    name = connection_name if connection_name in names else ("default" if "default" in names else names[0])
    backend = connections.get(name).backend
    if backend == "sqlite":
        return Capabilities(
            dialect="sqlite", support_for_update=False, support_for_posix_regex_queries=False, daemon=False
        )
    return Capabilities(dialect=backend)


def requireCapability(connection_name: str = "models", **conditions: Any) -> Callable[[F], F]:
    """Skip the decorated test (function or class) unless every capability matches."""

    def check() -> None:
        caps = capabilities(connection_name)
        for key, wanted in conditions.items():
            if getattr(caps, key) != wanted:
                raise SkipTest(f"capability {key} != {wanted!r}")

    def decorate(item: F) -> F:
        if isinstance(item, type):
            for attr in dir(item):
                if attr.startswith("test_") and callable(getattr(item, attr)):
                    setattr(item, attr, decorate(getattr(item, attr)))
            return item
        if inspect.iscoroutinefunction(item):

            @functools.wraps(item)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                check()
                return await item(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(item)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check()
            return item(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


async def truncate_all_models() -> None:
    """Delete every row of every registered model (children first)."""
    for conn in connections.all():
        models = [m for m in YaraOrm.models() if m._meta.db is conn]
        for model in reversed(models):
            await model.all().delete()


@contextlib.asynccontextmanager
async def orm_test_context(
    modules: str | list[str],
    db_url: str | None = None,
    app_label: str = "models",
    connection_label: str = "default",
) -> AsyncIterator[None]:
    """Init the ORM on a fresh database with the schema of ``modules``; close it afterwards.
    Without ``db_url`` (or with ``sqlite://:memory:``) the database is a temporary SQLite file,
    so every pooled connection sees the same data."""
    path = None
    if db_url is None or db_url == MEMORY_SQLITE:
        fd, path = tempfile.mkstemp(suffix=".db", prefix="yara-test-")
        os.close(fd)
        os.remove(path)
        db_url = f"sqlite://{path}"
    mods = [modules] if isinstance(modules, str) else list(modules)
    await YaraOrm.init(
        config={
            "connections": {connection_label: db_url},
            "apps": {app_label: {"models": mods, "default_connection": connection_label}},
        }
    )
    try:
        await YaraOrm.generate_schemas()
        yield None
    finally:
        await YaraOrm.close()
        if path:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)


tortoise_test_context = orm_test_context  # its name in Tortoise
