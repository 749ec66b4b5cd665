"""Backends outside the compiled engine: the protocol they implement and the registry by URL scheme.

A third-party backend is a Python object that behaves like the engine's pool (see
``yara_orm/_engine.pyi``): the same async methods, positional rows (tuples in SELECT-list
order), bound parameters in the placeholders of its :class:`~yara_orm.dialects.Dialect`, and the
library's exceptions (``IntegrityError`` with ``sqlstate`` and so on).

It is registered under one or more URL schemes, either in-process::

    yara_orm.backends.register_backend("mydb", BackendSpec(name="mydb", connect=..., dialect=...))

or, so that ``yara_orm.connect("mydb://...")`` finds it once the package is installed, through an
entry point in the ``yara_orm.backends`` group whose name is the scheme::

    [project.entry-points."yara_orm.backends"]
    mydb = "my_package:BACKEND"        # a BackendSpec

Schemes the engine knows (``postgres``, ``postgresql``, ``sqlite``) never consult the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

from .dialects import register_dialect
from .exceptions import ConfigurationError

__all__ = [
    "BUILTIN_SCHEMES",
    "ENTRY_POINT_GROUP",
    "BackendCursor",
    "BackendPool",
    "BackendSpec",
    "BackendTransaction",
    "find_backend",
    "register_backend",
    "scheme_of",
]

ENTRY_POINT_GROUP = "yara_orm.backends"
BUILTIN_SCHEMES = frozenset({"postgres", "postgresql", "sqlite"})

Row = tuple[Any, ...]
Params = Sequence[Any] | None


@runtime_checkable
class BackendCursor(Protocol):
    """A stream over one SELECT (``pool.cursor``)."""

    columns: list[str]

    async def fetch_chunk(self) -> list[Row]:
        """The next chunk of at most ``chunk_size`` rows; an empty list once exhausted."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class BackendTransaction(Protocol):
    """One open transaction on one connection (``pool.begin()``)."""

    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int: ...
    async def fetch(self, sql: str, params: Params = None) -> list[Row]: ...
    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]: ...
    async def fetch_one(self, sql: str, params: Params = None) -> Row | None: ...
    async def savepoint(self, name: str) -> None: ...
    async def rollback_to(self, name: str) -> None: ...
    async def release(self, name: str) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...

    @property
    def is_active(self) -> bool: ...


@runtime_checkable
class BackendPool(Protocol):
    """What ``BackendSpec.connect`` returns: a pool with the engine pool's methods.

    ``backend`` is the name its dialect is registered under; ``capabilities()`` returns the
    capability manifest (the keys of ``EnginePool.capabilities()``: ``max_bind_params``,
    ``savepoints``, ``isolation_levels``, ``float_nan`` ...), which the ORM and the conformance
    kit read.
    """

    backend: str

    def capabilities(self) -> dict[str, Any]: ...
    def status(self) -> dict[str, int]: ...
    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int: ...
    async def fetch(self, sql: str, params: Params = None) -> list[Row]: ...
    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]: ...
    async def fetch_one(self, sql: str, params: Params = None) -> Row | None: ...
    async def begin(self, isolation: str | None = None) -> BackendTransaction: ...
    async def cursor(self, sql: str, params: Params = None, chunk_size: int = 1000) -> BackendCursor: ...
    async def server_version(self) -> str: ...
    async def close(self) -> None: ...

    @property
    def is_closed(self) -> bool: ...


ConnectFn = Callable[[str, dict[str, Any]], Awaitable[BackendPool]]


@dataclass(frozen=True)
class BackendSpec:
    """A backend outside the engine.

    ``connect(url, options)`` opens the pool; ``dialect`` is the :class:`yara_orm.Dialect`
    subclass registered for ``name``; ``expected_failures`` maps conformance test ids (or
    fnmatch patterns of them) to the reason (a sentence and/or a link) they are known to fail.
    """

    name: str
    connect: ConnectFn
    dialect: type[Any]
    expected_failures: Mapping[str, str] = field(default_factory=dict)


_REGISTRY: dict[str, BackendSpec] = {}


def scheme_of(url: str) -> str:
    """``"mydb"`` for ``"mydb://host/db"``; the part before ``+`` is kept (``asyncpg+postgres``)."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        # Never echo the URL: it may hold a password.
        raise ConfigurationError("not a database URL: it has no scheme:// prefix")
    return scheme.lower()


def register_backend(scheme: str, spec: BackendSpec) -> None:
    """Serve URLs whose scheme is ``scheme`` with ``spec`` (overrides an entry point)."""
    if scheme.lower() in BUILTIN_SCHEMES:
        raise ConfigurationError(f"{scheme!r} is a built-in engine scheme and cannot be overridden")
    _REGISTRY[scheme.lower()] = spec


def find_backend(scheme: str) -> BackendSpec:
    """The backend registered for ``scheme``, loading entry points of the group on first use."""
    scheme = scheme.lower()
    spec = _REGISTRY.get(scheme)
    if spec is not None:
        return spec
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() != scheme:
            continue
        loaded = ep.load()
        if callable(loaded) and not isinstance(loaded, BackendSpec):
            loaded = loaded()
        if not isinstance(loaded, BackendSpec):
            raise ConfigurationError(
                f"entry point {ep.name} = {ep.value!r} in {ENTRY_POINT_GROUP!r} is not a BackendSpec"
            )
        _REGISTRY[scheme] = loaded
        return loaded
    known = sorted(BUILTIN_SCHEMES | set(_REGISTRY))
    raise ConfigurationError(
        f"no backend for URL scheme {scheme!r} (known: {known}); install a package that registers "
        f"one under the {ENTRY_POINT_GROUP!r} entry point group, or call "
        "yara_orm.backends.register_backend()"
    )


async def connect_external(url: str, options: dict[str, Any]) -> BackendPool:
    """Open a pool through the registered backend for ``url``'s scheme and register its dialect."""
    spec = find_backend(scheme_of(url))
    register_dialect(spec.name, spec.dialect)
    return await spec.connect(url, options)
