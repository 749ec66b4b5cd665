"""Backends outside the compiled engine: the protocol they implement, the optional parts of it,
the one ``Features`` object the ORM consults, and the registry by URL scheme.

**The protocol is the contract.** A backend is a Python object that behaves like the engine's pool
(:class:`BackendPool`, with :class:`BackendTransaction` from ``begin()`` and :class:`BackendCursor`
from ``cursor()``): the same async methods, positional rows (tuples in SELECT-list order), bound
parameters in the placeholders of its :class:`~yara_orm.dialects.Dialect`, and the library's
exceptions (``IntegrityError`` with ``sqlstate`` and so on). Some parts are optional, each a named
protocol a backend may offer to take a faster path:

* :class:`SupportsFetchInstances` — ``fetch_instances(sql, params, spec)`` on the pool and its
  transactions builds model instances from the rows itself (the engine's decode plan);
* :class:`SupportsCopyIn` — ``copy_in(copy_sql, types_from, columns)`` on the pool and its
  transactions bulk-loads rows; offered only together with the ``copy_in`` capability;
* :class:`SupportsChunkInstances` — ``fetch_chunk_instances(spec)`` on its cursors;
* :class:`SupportsInsertId` — ``execute_insert(sql, params)`` on the pool and its transactions
  runs an INSERT and reports the first key it generated (MySQL's ``LAST_INSERT_ID``), for a
  server without ``INSERT ... RETURNING``; offered only together with the ``last_insert_id``
  capability.

When a backend lacks one the ORM takes the plain path (``fetch`` + Python decoding,
multi-row ``INSERT``, ``fetch_chunk``). The ORM never probes for them while running queries:
:func:`features_of` answers every "can this backend ...?" question once per connection, and
:func:`check_backend` refuses, at connect time, a backend that lacks a required method, takes the
wrong parameters, or offers an optional part on the pool but not on its transactions.

It is registered under one or more URL schemes, either in-process::

    yara_orm.backends.register_backend("mydb", BackendSpec(name="mydb", connect=..., dialect=...))

or, so that ``yara_orm.connect("mydb://...")`` finds it once the package is installed, through an
entry point in the ``yara_orm.backends`` group whose name is the scheme::

    [project.entry-points."yara_orm.backends"]
    mydb = "my_package:BACKEND"        # a BackendSpec

Schemes the engine knows (``postgres``, ``postgresql``, ``sqlite``) never consult the registry.
To wrap or delegate to one of them (tracing, sharding, fault injection), open it with
:func:`connect_builtin` and subclass :class:`DelegatingPool`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

from . import _engine
from .dialects import register_dialect
from .exceptions import ConfigurationError, ConnectionConfigError

__all__ = [
    "BUILTIN_SCHEMES",
    "ENTRY_POINT_GROUP",
    "OPTIONAL_PARTS",
    "BackendCursor",
    "BackendPool",
    "BackendSpec",
    "BackendTransaction",
    "DelegatingCursor",
    "DelegatingPool",
    "DelegatingTransaction",
    "Features",
    "SupportsChunkInstances",
    "SupportsCopyIn",
    "SupportsFetchInstances",
    "SupportsInsertId",
    "check_backend",
    "connect_builtin",
    "features_of",
    "find_backend",
    "register_backend",
    "scheme_of",
]

ENTRY_POINT_GROUP = "yara_orm.backends"
BUILTIN_SCHEMES = frozenset({"postgres", "postgresql", "mysql", "mariadb", "sqlite"})

Row = tuple[Any, ...]
Params = Sequence[Any] | None


# -- the required protocol ------------------------------------------------------------------------


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
    """One open transaction on one connection (``pool.begin()``). Every statement method runs on
    that connection, inside the transaction; ``is_active`` is False once it is committed or
    rolled back."""

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
    kit read. ``execute``/``execute_many`` return the rows affected (``execute_many``: the total
    over every parameter set); ``status()`` returns ``size``, ``available``, ``max_size`` and
    ``waiting``.
    """

    backend: str

    def capabilities(self) -> Mapping[str, Any]: ...
    def status(self) -> Mapping[str, Any]: ...
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


# -- the optional parts ---------------------------------------------------------------------------


@runtime_checkable
class SupportsFetchInstances(Protocol):
    """Optional, on the pool and its transactions: run a query and build one model instance per
    row as ``spec`` (a ``yara_orm._engine.InstanceSpec``, the ORM's decode plan) says. Must give
    exactly what ``fetch`` + the ORM's own decoding gives."""

    async def fetch_instances(self, sql: str, params: Params, spec: Any) -> list[Any]: ...


@runtime_checkable
class SupportsCopyIn(Protocol):
    """Optional, on the pool and its transactions, together with the ``copy_in`` capability:
    bulk-load rows given column by column (``copy_sql`` is the dialect's ``COPY ... FROM STDIN``,
    ``types_from`` a one-row INSERT whose parameters have the target columns' types); the number
    of rows stored."""

    async def copy_in(self, copy_sql: str, types_from: str, columns: Sequence[Sequence[Any]]) -> int: ...


@runtime_checkable
class SupportsChunkInstances(Protocol):
    """Optional, on cursors: the next chunk as model instances built as ``spec`` says (see
    :class:`SupportsFetchInstances`); an empty list once exhausted."""

    async def fetch_chunk_instances(self, spec: Any) -> list[Any]: ...


@runtime_checkable
class SupportsInsertId(Protocol):
    """Optional, on the pool and its transactions, together with the ``last_insert_id``
    capability: run one INSERT; ``(rows affected, the first AUTO_INCREMENT key it generated, or
    None when it generated none)``. The keys of a multi-row INSERT are that key plus multiples
    of the ``insert_id_step`` capability (0: the server does not promise consecutive keys)."""

    async def execute_insert(self, sql: str, params: Params = None) -> tuple[int, int | None]: ...


# Name -> (protocol, where it lives). The names are the ``Features`` attributes and the ids the
# conformance report lists under "optional_protocol".
OPTIONAL_PARTS: dict[str, tuple[type[Any], str]] = {
    "fetch_instances": (SupportsFetchInstances, "pool and transaction"),
    "copy_in": (SupportsCopyIn, "pool and transaction"),
    "fetch_chunk_instances": (SupportsChunkInstances, "cursor"),
    "execute_insert": (SupportsInsertId, "pool and transaction"),
}


# -- features: the one place the ORM asks "can this backend ...?" ---------------------------------


@dataclass(frozen=True)
class Features:
    """What one connection's backend can do, built once when it is opened (``pool.features``).

    The first group comes from the capability manifest; the second says which optional protocol
    parts the backend offers. Query code reads these attributes, never ``hasattr`` on a pool.
    """

    backend: str
    max_bind_params: int
    returning: bool
    savepoints: bool
    isolation_levels: tuple[str, ...]
    json: bool
    arrays: bool
    interval: bool
    streaming: bool
    for_update: bool
    skip_locked: bool
    # Optional protocol parts (see OPTIONAL_PARTS).
    fetch_instances: bool
    copy_in: bool
    fetch_chunk_instances: bool
    execute_insert: bool = False
    # With ``execute_insert``: the step between the keys of one multi-row INSERT (0: unknown).
    insert_id_step: int = 0
    capabilities: Mapping[str, Any] = field(repr=False, default_factory=dict)

    def offered(self) -> dict[str, bool]:
        """``{optional part: offered}`` for every name of :data:`OPTIONAL_PARTS`."""
        return {name: bool(getattr(self, name)) for name in OPTIONAL_PARTS}


def features_of(
    caps: Mapping[str, Any],
    *,
    fetch_instances: bool,
    copy_in: bool,
    fetch_chunk_instances: bool,
    execute_insert: bool = False,
) -> Features:
    """A :class:`Features` from a capability manifest and the optional parts offered. ``copy_in``
    and ``execute_insert`` count only when the manifest declares them too (``copy_in``,
    ``last_insert_id``: capability and method go together)."""
    insert_id = execute_insert and bool(caps.get("last_insert_id"))
    return Features(
        backend=str(caps.get("backend", "")),
        max_bind_params=int(caps.get("max_bind_params") or 0),
        returning=bool(caps.get("returning")),
        savepoints=bool(caps.get("savepoints")),
        isolation_levels=tuple(str(level) for level in caps.get("isolation_levels") or ()),
        json=bool(caps.get("json")),
        arrays=bool(caps.get("arrays")),
        interval=bool(caps.get("interval")),
        streaming=bool(caps.get("streaming")),
        for_update=bool(caps.get("for_update")),
        skip_locked=bool(caps.get("skip_locked")),
        fetch_instances=fetch_instances,
        copy_in=copy_in and bool(caps.get("copy_in")),
        fetch_chunk_instances=fetch_chunk_instances,
        execute_insert=insert_id,
        insert_id_step=int(caps.get("insert_id_step") or 0) if insert_id else 0,
        capabilities=dict(caps),
    )


def engine_features(caps: Mapping[str, Any]) -> Features:
    """The engine's own pools offer every optional part (``copy_in`` where declared)."""
    return features_of(
        caps, fetch_instances=True, copy_in=True, fetch_chunk_instances=True, execute_insert=True
    )


# -- the connect-time check -----------------------------------------------------------------------

# Method name -> the positional arguments the ORM passes it; a backend's method must accept them.
_POOL_METHODS: dict[str, int] = {
    "capabilities": 0,
    "status": 0,
    "execute": 2,
    "execute_many": 2,
    "fetch": 2,
    "fetch_with_columns": 2,
    "fetch_one": 2,
    "begin": 1,
    "cursor": 3,
    "server_version": 0,
    "close": 0,
}
_TX_METHODS: dict[str, int] = {
    "execute": 2,
    "execute_many": 2,
    "fetch": 2,
    "fetch_with_columns": 2,
    "fetch_one": 2,
    "savepoint": 1,
    "rollback_to": 1,
    "release": 1,
    "commit": 0,
    "rollback": 0,
}
_CURSOR_METHODS: dict[str, int] = {"fetch_chunk": 0, "close": 0}
_OPTIONAL_ARITY = {"fetch_instances": 3, "copy_in": 3, "fetch_chunk_instances": 1, "execute_insert": 2}


def _method_problem(obj: Any, name: str, arity: int) -> str | None:
    method = getattr(obj, name, None)
    if method is None:
        return f"has no method {name}()"
    if not callable(method):
        return f"{name} is not callable"
    try:
        inspect.signature(method).bind(*([None] * arity))
    except TypeError as exc:
        return f"{name}() cannot be called with {arity} argument(s): {exc}"
    except ValueError:
        pass  # no signature available (a compiled method): trust it
    return None


def _problems(obj: Any, methods: Mapping[str, int], what: str) -> list[str]:
    out = []
    for name, arity in methods.items():
        problem = _method_problem(obj, name, arity)
        if problem is not None:
            out.append(f"the {what} ({type(obj).__name__}) {problem}")
    return out


def _offers(obj: Any, name: str, what: str, problems: list[str]) -> bool:
    if getattr(obj, name, None) is None:
        return False
    problem = _method_problem(obj, name, _OPTIONAL_ARITY[name])
    if problem is not None:
        problems.append(f"the {what} ({type(obj).__name__}) {problem}")
        return False
    return True


async def check_backend(pool: Any, name: str = "backend") -> Features:
    """Check that ``pool`` implements the protocol, and build its :class:`Features`.

    Opens one transaction (rolled back) and one cursor over ``SELECT 1`` to check their methods
    too. Raises ``ConfigurationError`` listing every problem: a missing or non-async method, one
    that cannot take the arguments the ORM passes, a ``backend`` attribute or ``capabilities()``
    of the wrong type, an optional part offered on the pool but not on its transactions, or the
    ``copy_in`` capability declared without the method.
    """
    problems = _problems(pool, _POOL_METHODS, "pool")
    if not isinstance(getattr(pool, "backend", None), str):
        problems.append(f"the pool ({type(pool).__name__}) has no str attribute 'backend'")
    caps: Mapping[str, Any] = {}
    if not problems:
        raw = pool.capabilities()
        if not isinstance(raw, Mapping) or not isinstance(raw.get("max_bind_params"), int):
            problems.append("capabilities() must return a dict with at least an int 'max_bind_params'")
        else:
            caps = raw
    offers: dict[str, bool] = {}
    if not problems:
        tx = await pool.begin(None)
        try:
            problems += _problems(tx, _TX_METHODS, "transaction")
            if not isinstance(getattr(tx, "is_active", None), bool):
                problems.append(f"the transaction ({type(tx).__name__}) has no bool property is_active")
            for part in ("fetch_instances", "copy_in", "execute_insert"):
                on_pool = _offers(pool, part, "pool", problems)
                on_tx = _offers(tx, part, "transaction", problems)
                if on_pool != on_tx:
                    where = "pool" if on_pool else "transaction"
                    problems.append(
                        f"{part}() is offered on the {where} only: an optional part is offered on "
                        "the pool and its transactions together, or not at all"
                    )
                offers[part] = on_pool and on_tx
        finally:
            await tx.rollback()
        cursor = await pool.cursor("SELECT 1", None, 1)
        try:
            problems += _problems(cursor, _CURSOR_METHODS, "cursor")
            offers["fetch_chunk_instances"] = _offers(cursor, "fetch_chunk_instances", "cursor", problems)
        finally:
            await cursor.close()
        if caps.get("copy_in") and not offers.get("copy_in"):
            problems.append("capabilities() declares copy_in but the pool offers no copy_in() method")
        if caps.get("last_insert_id") and not offers.get("execute_insert"):
            problems.append(
                "capabilities() declares last_insert_id but the pool offers no execute_insert() method"
            )
    if problems:
        raise ConfigurationError(
            f"{name} does not implement the yara_orm.backends protocol:\n  - " + "\n  - ".join(problems)
        )
    return features_of(
        caps,
        fetch_instances=offers["fetch_instances"],
        copy_in=offers["copy_in"],
        fetch_chunk_instances=offers["fetch_chunk_instances"],
        execute_insert=offers["execute_insert"],
    )


# -- the registry ---------------------------------------------------------------------------------

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
        raise ConnectionConfigError("not a database URL: it has no scheme:// prefix")
    return scheme.lower()


def register_backend(scheme: str, spec: BackendSpec) -> None:
    """Serve URLs whose scheme is ``scheme`` with ``spec`` (overrides an entry point)."""
    if scheme.lower() in BUILTIN_SCHEMES:
        raise ConfigurationError(f"{scheme!r} is a built-in engine scheme and cannot be overridden")
    if not isinstance(spec, BackendSpec):
        raise ConfigurationError(f"register_backend({scheme!r}, ...) needs a BackendSpec, got {spec!r}")
    _REGISTRY[scheme.lower()] = spec


def _as_spec(loaded: Any, origin: str) -> BackendSpec:
    if callable(loaded) and not isinstance(loaded, BackendSpec):
        loaded = loaded()
    if not isinstance(loaded, BackendSpec):
        raise ConfigurationError(f"{origin} is not a BackendSpec (got {type(loaded).__name__})")
    return loaded


def find_backend(scheme: str) -> BackendSpec:
    """The backend registered for ``scheme``, loading entry points of the group on first use."""
    scheme = scheme.lower()
    spec = _REGISTRY.get(scheme)
    if spec is not None:
        return spec
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() != scheme:
            continue
        loaded = _as_spec(ep.load(), f"entry point {ep.name} = {ep.value!r} in {ENTRY_POINT_GROUP!r}")
        _REGISTRY[scheme] = loaded
        return loaded
    known = sorted(BUILTIN_SCHEMES | set(_REGISTRY))
    raise ConnectionConfigError(
        f"no backend for URL scheme {scheme!r} (known: {known}); install a package that registers "
        f"one under the {ENTRY_POINT_GROUP!r} entry point group, or call "
        "yara_orm.backends.register_backend()"
    )


def load_spec(path: str) -> BackendSpec:
    """The ``BackendSpec`` named by an import path ``"package.module:NAME"`` (``NAME`` may be a
    function returning one)."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"backend import path must look like 'package.module:NAME', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import backend module {module_name!r}: {exc}") from exc
    try:
        loaded = getattr(module, attr)
    except AttributeError:
        raise ConfigurationError(f"module {module_name!r} has no attribute {attr!r}") from None
    return _as_spec(loaded, path)


async def connect_external(url: str, options: dict[str, Any]) -> tuple[BackendPool, Features]:
    """Open a pool through the registered backend for ``url``'s scheme, register its dialect and
    check the protocol; the pool and its features."""
    spec = find_backend(scheme_of(url))
    register_dialect(spec.name, spec.dialect)
    pool = await spec.connect(url, options)
    try:
        features = await check_backend(pool, f"backend {spec.name!r} (scheme {scheme_of(url)!r})")
    except BaseException:
        await pool.close()
        raise
    return pool, features


# -- wrapping a backend ---------------------------------------------------------------------------


async def connect_builtin(url: str, **options: Any) -> BackendPool:
    """The engine's own pool for a built-in URL (``postgres://``, ``sqlite:///``), as a
    :class:`BackendPool` (with ``begin()``, ``cursor()`` and the optional parts), for a backend
    that wraps or delegates to it. ``options`` as for :func:`yara_orm.connect`."""
    if scheme_of(url) not in BUILTIN_SCHEMES:
        raise ConfigurationError(
            f"connect_builtin opens the engine's own schemes only ({sorted(BUILTIN_SCHEMES)})"
        )
    pool: BackendPool = await _engine.connect(url, options)
    return pool


class DelegatingCursor:
    """A cursor that forwards to ``inner``. Override what you need."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def columns(self) -> list[str]:
        return list(self.inner.columns)

    async def fetch_chunk(self) -> list[Row]:
        return list(await self.inner.fetch_chunk())

    async def close(self) -> None:
        await self.inner.close()


class _DelegatingStatements:
    inner: Any

    async def execute(self, sql: str, params: Params = None) -> int:
        return int(await self.inner.execute(sql, params))

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        return int(await self.inner.execute_many(sql, params_seq))

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        return list(await self.inner.fetch(sql, params))

    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]:
        columns, rows = await self.inner.fetch_with_columns(sql, params)
        return list(columns), list(rows)

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        row: Row | None = await self.inner.fetch_one(sql, params)
        return row


class DelegatingTransaction(_DelegatingStatements):
    """A transaction that forwards to ``inner``. Override what you need."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def savepoint(self, name: str) -> None:
        await self.inner.savepoint(name)

    async def rollback_to(self, name: str) -> None:
        await self.inner.rollback_to(name)

    async def release(self, name: str) -> None:
        await self.inner.release(name)

    async def commit(self) -> None:
        await self.inner.commit()

    async def rollback(self) -> None:
        await self.inner.rollback()

    @property
    def is_active(self) -> bool:
        return bool(self.inner.is_active)


class DelegatingPool(_DelegatingStatements):
    """A backend that forwards every required protocol method to ``inner`` (typically a pool
    from :func:`connect_builtin`), wrapping transactions and cursors in ``transaction_class`` and
    ``cursor_class``. Subclass it and override what you need.

    It offers **no optional part**: a wrapper that changes ``fetch`` must not let the ORM bypass
    it through the inner pool's ``fetch_instances``. Forward the ones your wrapper keeps correct
    by listing them in ``optional`` (e.g. ``optional = frozenset({"copy_in"})``); they are
    forwarded on the pool, its transactions and its cursors alike.
    """

    transaction_class: type[DelegatingTransaction] = DelegatingTransaction
    cursor_class: type[DelegatingCursor] = DelegatingCursor
    optional: frozenset[str] = frozenset()

    def __init__(self, inner: Any, backend: str | None = None) -> None:
        self.inner = inner
        self.backend: str = backend or str(inner.backend)
        unknown = set(self.optional) - set(OPTIONAL_PARTS)
        if unknown:
            raise ConfigurationError(f"unknown optional protocol parts: {sorted(unknown)}")

    def capabilities(self) -> dict[str, Any]:
        return {**self.inner.capabilities(), "backend": self.backend}

    def status(self) -> dict[str, int]:
        return dict(self.inner.status())

    async def begin(self, isolation: str | None = None) -> DelegatingTransaction:
        tx = self.transaction_class(await self.inner.begin(isolation))
        _forward_optional(tx, self.optional, ("fetch_instances", "copy_in", "execute_insert"))
        return tx

    async def cursor(self, sql: str, params: Params = None, chunk_size: int = 1000) -> DelegatingCursor:
        cursor = self.cursor_class(await self.inner.cursor(sql, params, chunk_size))
        _forward_optional(cursor, self.optional, ("fetch_chunk_instances",))
        return cursor

    async def server_version(self) -> str:
        return str(await self.inner.server_version())

    async def close(self) -> None:
        await self.inner.close()

    @property
    def is_closed(self) -> bool:
        return bool(self.inner.is_closed)

    def __getattr__(self, name: str) -> Any:
        # Only the optional parts listed in ``optional`` are forwarded; nothing else leaks through.
        if name in ("fetch_instances", "copy_in", "execute_insert") and name in type(self).optional:
            return getattr(self.inner, name)
        raise AttributeError(name)


def _forward_optional(wrapper: Any, listed: frozenset[str], names: tuple[str, ...]) -> None:
    for name in names:
        if name in listed and not hasattr(type(wrapper), name):
            setattr(wrapper, name, getattr(wrapper.inner, name))
