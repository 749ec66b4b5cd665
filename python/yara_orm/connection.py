"""Named connections: ``connections.get("default")`` for raw SQL, and how a query finds the
pool (or transaction) and dialect it runs on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from .dialects import Dialect, get_dialect
from .exceptions import ConfigurationError
from .pool import Executor, Pool, Transaction, TransactionScope
from .records import Record, to_records

if TYPE_CHECKING:
    from .models.model import Model

Row = tuple[Any, ...]
Params = Sequence[Any] | None


class Connection:
    """One named database: its pool and its dialect, plus the raw-SQL methods."""

    def __init__(self, name: str, pool: Pool, dialect: Dialect) -> None:
        self.name = name
        self.pool = pool
        self.dialect = dialect

    @property
    def backend(self) -> str:
        return self.pool.backend

    def capabilities(self) -> dict[str, Any]:
        return self.pool.capabilities()

    async def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; return the number of rows it affected."""
        return await self.pool.execute(sql, params)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        return await self.pool.execute_many(sql, params_seq)

    @overload
    async def fetch_all(
        self, sql: str, params: Params = None, *, as_dict: Literal[False] = False
    ) -> list[Record]: ...
    @overload
    async def fetch_all(
        self, sql: str, params: Params = None, *, as_dict: Literal[True]
    ) -> list[dict[str, Any]]: ...
    async def fetch_all(
        self, sql: str, params: Params = None, *, as_dict: bool = False
    ) -> list[Record] | list[dict[str, Any]]:
        """All rows, as records (tuples that also answer ``row["col"]`` and ``dict(row)``) or
        (``as_dict=True``) dicts keyed by column name."""
        if as_dict:
            return await self.pool.fetch_dicts(sql, params)
        columns, rows = await self.pool.fetch_with_columns(sql, params)
        return to_records(columns, rows)

    @overload
    async def fetch_one(
        self, sql: str, params: Params = None, *, as_dict: Literal[False] = False
    ) -> Record | None: ...
    @overload
    async def fetch_one(
        self, sql: str, params: Params = None, *, as_dict: Literal[True]
    ) -> dict[str, Any] | None: ...
    async def fetch_one(
        self, sql: str, params: Params = None, *, as_dict: bool = False
    ) -> Record | dict[str, Any] | None:
        """The first row (a record, or a dict with ``as_dict=True``) or None."""
        columns, rows = await self.pool.fetch_with_columns(sql, params)
        if not rows:
            return None
        if as_dict:
            return dict(zip(columns, rows[0], strict=True))
        return to_records(columns, rows[:1])[0]

    async def fetch_rows(self, sql: str, params: Params = None) -> list[Row]:
        """All rows as plain positional tuples (yara-orm 1.19's name; no column names)."""
        return await self.pool.fetch(sql, params)

    async def fetch_row(self, sql: str, params: Params = None) -> Row | None:
        """The first row as a positional tuple, or None."""
        rows = await self.pool.fetch(sql, params)
        return rows[0] if rows else None

    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]:
        return await self.pool.fetch_with_columns(sql, params)

    async def execute_query(self, sql: str, values: Params = None) -> tuple[int, list[Record]]:
        """Tortoise-compatible: ``(row count, rows as records)``; a record answers both
        ``row["col"]`` and ``row[0]``."""
        return await self.pool.execute_query(sql, values)

    async def execute_query_dict(self, sql: str, values: Params = None) -> list[dict[str, Any]]:
        return await self.pool.fetch_dicts(sql, values)

    async def execute_script(self, script: str) -> None:
        """Run several ``;``-separated statements (no parameters) in order."""
        for statement in split_statements(script):
            await self.pool.execute(statement)

    def transaction(self, isolation: str | None = None) -> TransactionScope:
        return self.pool.transaction(isolation)

    async def close(self) -> None:
        await self.pool.close()

    def __repr__(self) -> str:
        return f"<Connection {self.name!r} {self.backend}>"


def split_statements(script: str) -> list[str]:
    """Split SQL on ``;`` outside quotes and comments."""
    out: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(script):
        ch = script[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            buf.append(ch)
        elif ch == "-" and script.startswith("--", i):
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
            continue
        elif ch == ";":
            text = "".join(buf).strip()
            if text:
                out.append(text)
            buf = []
        else:
            buf.append(ch)
        i += 1
    text = "".join(buf).strip()
    if text:
        out.append(text)
    return out


class ConnectionHandler:
    """The registry of named connections opened by ``YaraOrm.init``."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        # ``YaraOrm.init(router=...)``: an object with db_for_read(model)/db_for_write(model)
        # returning a connection name (or None for the model's own connection).
        self.router: Any = None

    def get(self, name: str = "default") -> Connection:
        try:
            return self._connections[name]
        except KeyError:
            if not self._connections:
                raise ConfigurationError(
                    f"no connection {name!r}: call `await YaraOrm.init(...)` first"
                ) from None
            raise ConfigurationError(
                f"unknown connection {name!r}; configured: {', '.join(self._connections)}"
            ) from None

    def all(self) -> list[Connection]:
        return list(self._connections.values())

    def names(self) -> list[str]:
        return list(self._connections)

    def _add(self, conn: Connection) -> None:
        self._connections[conn.name] = conn

    async def close_all(self, discard: bool = True) -> None:
        conns = list(self._connections.values())
        if discard:
            self._connections.clear()
        for conn in conns:
            if not conn.pool.is_closed:
                await conn.pool.close()

    def __contains__(self, name: object) -> bool:
        return name in self._connections


connections = ConnectionHandler()


def not_initialised(model: type[Model]) -> ConfigurationError:
    meta = model._meta
    if meta.abstract:
        return ConfigurationError(
            f"{model.__name__} is abstract and cannot be queried; use a concrete subclass"
        )
    return ConfigurationError(
        f"{model.__name__} is not bound to a database: call `await YaraOrm.init(db_url, modules=...)` "
        f"with {model.__module__!r} among the modules (or `YaraOrm.init(url)` to register every model) first"
    )


def executor_for(model: type[Model], using_db: Any = None, write: bool = False) -> tuple[Executor, Dialect]:
    """The executor (pool or transaction) and dialect a query on ``model`` runs on."""
    conn = model._meta.db
    if using_db is None and connections.router is not None and conn is not None:
        router = connections.router
        method = getattr(router, "db_for_write" if write else "db_for_read", None)
        using_db = method(model) if method is not None else None
    if using_db is None:
        if conn is None:
            raise not_initialised(model)
        return conn.pool, conn.dialect
    if isinstance(using_db, Connection):
        return using_db.pool, using_db.dialect
    if isinstance(using_db, str):
        named = connections.get(using_db)
        return named.pool, named.dialect
    if isinstance(using_db, Pool):
        for known in connections.all():
            if known.pool is using_db:
                return using_db, known.dialect
        return using_db, get_dialect(using_db.backend, using_db.capabilities())
    if isinstance(using_db, Transaction):
        if conn is None:
            raise not_initialised(model)
        return using_db, conn.dialect
    raise ConfigurationError(
        f"using_db must be a connection name, Connection, Pool or Transaction, got {type(using_db).__name__}"
    )
