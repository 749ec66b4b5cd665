"""Type stubs for the compiled engine (``yara_orm._engine``).

The engine speaks positional rows: every fetch returns tuples whose items follow the
SELECT list. Parameters are bound, never interpolated. Placeholders are the backend's
own: ``$1, $2`` on PostgreSQL, ``?1, ?2`` (or ``?``) on SQLite, ``?`` on MySQL/MariaDB.

``make lint`` checks this file against the built module (mypy's stubtest); the dicts that
cross the boundary are TypedDicts here.

Python values accepted as parameters: ``None``, ``bool``, ``int`` (beyond int64 only
into NUMERIC columns), ``float``, ``str``, ``bytes``/``bytearray``/``memoryview``,
``decimal.Decimal``, ``uuid.UUID``, ``datetime.date``/``time``/``datetime`` (aware values
are normalised to UTC), ``datetime.timedelta``, ``Json(obj)`` or a ``dict`` (JSON), and
``list``/``tuple`` (arrays, PostgreSQL only).
"""

from collections.abc import Callable, Sequence
from typing import Any, Literal, Self, TypedDict, final

__all__ = [
    "Completer",
    "EngineCursor",
    "EnginePool",
    "EngineTransaction",
    "InstanceSpec",
    "Json",
    "StoredRange",
    "TableConverter",
    "configure_runtime",
    "connect",
    "runtime_settings",
]

# Stub-only names (listed in scripts/stubtest-allowlist.txt: they do not exist at runtime).
Row = tuple[Any, ...]
Params = Sequence[Any] | None

class Capabilities(TypedDict):
    """What ``EnginePool.capabilities()`` returns: the backend's manifest (``backend.rs``)."""

    backend: str
    max_bind_params: int
    returning: bool
    savepoints: bool
    isolation_levels: list[str]
    timestamp_precision_us: int
    date_range: tuple[int, int]
    float_nan: bool
    float_infinity: bool
    float_signed_zero: bool
    text_allows_nul: bool
    empty_string_is_null: bool
    json: bool
    arrays: bool
    interval: bool
    numeric_max_digits: int
    numeric_special: bool
    big_integers: bool
    for_update: bool
    skip_locked: bool
    statement_timeout: bool
    streaming: bool
    copy_in: bool
    last_insert_id: bool
    insert_id_step: int
    placeholder: Literal["dollar", "question", "qmark"]

class PoolStatus(TypedDict):
    """``size`` (open connections), ``available`` (idle), ``max_size``, ``waiting``."""

    size: int
    available: int
    max_size: int
    waiting: int

class RuntimeSettings(TypedDict):
    worker_threads: int
    busy_poll_us: int
    started: bool
    busy_polling: bool
    running_workers: int

@final
class Json:
    """Marks a parameter as JSON; ``value`` is serialised with ``json.dumps`` unless it is
    already JSON text passed as ``Json(text, raw=True)``."""

    value: Any
    raw: bool
    def __new__(cls, value: Any, raw: bool = False) -> Self: ...

@final
class TableConverter:
    """A converter that is a table: ``table[value]`` when present, else ``fallback(value)``;
    None stays None. The table is copied when the converter is made (later changes to the dict
    do not reach it). The engine applies it without calling into Python."""

    def __new__(cls, table: dict[Any, Any], fallback: Callable[[Any], Any]) -> Self: ...
    def __call__(self, value: Any) -> Any: ...

@final
class StoredRange:
    """The read-side range check of an integer field (``lo``..``hi``) or a decimal one
    (``max_digits``/``decimal_places``): out of range raises DataError; None passes. The
    engine checks its own values without calling into Python."""

    def __new__(
        cls,
        label: str,
        lo: int | None = None,
        hi: int | None = None,
        max_digits: int | None = None,
        decimal_places: int | None = None,
    ) -> Self: ...
    def __call__(self, value: Any) -> Any: ...
    @staticmethod
    def check_rows(rows: list[tuple[Any, ...]], checks: list[tuple[int, StoredRange]]) -> None:
        """Check columns ``checks`` (index, range) of every row, in one call."""

@final
class Completer:
    """The per-loop completion queue, registered with the loop as a reader (internal)."""

    def drain(self) -> None:
        """Resolve every finished operation's future. Runs on the loop thread."""

@final
class InstanceSpec:
    """How one query shape's rows become model instances: ``names[i]`` is the attribute column
    ``i`` fills, ``converters[i]`` (a callable, a :class:`TableConverter`, or None) converts its value,
    ``extra`` is merged into every instance's ``__dict__``. Instances are allocated without
    running ``__init__``."""

    width: int
    def __new__(
        cls,
        model: type,
        names: list[str],
        converters: list[Callable[[Any], Any] | TableConverter | None],
        extra: dict[str, Any] | None = None,
    ) -> Self: ...

@final
class EngineCursor:
    """A server-side stream over one SELECT, holding one connection until exhausted or closed."""

    columns: list[str]
    async def fetch_chunk(self) -> list[Row]:
        """The next chunk of at most ``chunk_size`` rows; an empty list once exhausted."""
    async def fetch_chunk_instances(self, spec: InstanceSpec) -> list[Any]:
        """The next chunk as instances built as ``spec`` says."""
    async def close(self) -> None: ...

@final
class EngineTransaction:
    """One open transaction on one connection. Dropped without commit, it rolls back."""

    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def execute_insert(self, sql: str, params: Params = None) -> tuple[int, int | None]:
        """Run one INSERT; ``(rows affected, first generated key)`` where the ``last_insert_id``
        capability is declared (MySQL/MariaDB: the AUTO_INCREMENT key of its first row, the
        others following it by ``insert_id_step``); elsewhere the key is None."""
    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int: ...
    async def copy_in(self, copy_sql: str, types_from: str, columns: Sequence[Sequence[Any]]) -> int:
        """Bulk-load rows where the ``copy_in`` capability is declared (PostgreSQL: ``copy_sql``
        is ``COPY t (cols) FROM STDIN (FORMAT binary)``). ``types_from`` is a statement whose
        parameters have the columns' types (the one-row INSERT); ``columns`` holds the values
        column by column. A value the binary format cannot carry for its column raises
        ParamsError before anything is sent. Returns the rows stored."""
    async def fetch(self, sql: str, params: Params = None) -> list[Row]: ...
    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]: ...
    async def fetch_one(self, sql: str, params: Params = None) -> Row | None: ...
    async def fetch_instances(self, sql: str, params: Params, spec: InstanceSpec) -> list[Any]: ...
    async def savepoint(self, name: str) -> None: ...
    async def rollback_to(self, name: str) -> None: ...
    async def release(self, name: str) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    @property
    def is_active(self) -> bool: ...

@final
class EnginePool:
    """A connection pool for one database. Backends are chosen by the URL scheme."""

    backend: str
    """``"postgres"``, ``"mysql"`` (MySQL and MariaDB) or ``"sqlite"``."""
    def capabilities(self) -> Capabilities: ...
    def status(self) -> PoolStatus:
        """``size`` (open connections), ``available`` (idle), ``max_size``, ``waiting``."""
    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def execute_insert(self, sql: str, params: Params = None) -> tuple[int, int | None]:
        """Run one INSERT; ``(rows affected, first generated key)`` where the ``last_insert_id``
        capability is declared (MySQL/MariaDB: the AUTO_INCREMENT key of its first row, the
        others following it by ``insert_id_step``); elsewhere the key is None."""
    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int: ...
    async def copy_in(self, copy_sql: str, types_from: str, columns: Sequence[Sequence[Any]]) -> int:
        """Bulk-load rows where the ``copy_in`` capability is declared (PostgreSQL: ``copy_sql``
        is ``COPY t (cols) FROM STDIN (FORMAT binary)``). ``types_from`` is a statement whose
        parameters have the columns' types (the one-row INSERT); ``columns`` holds the values
        column by column. A value the binary format cannot carry for its column raises
        ParamsError before anything is sent. Returns the rows stored."""
    async def fetch(self, sql: str, params: Params = None) -> list[Row]: ...
    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]: ...
    async def fetch_one(self, sql: str, params: Params = None) -> Row | None: ...
    async def fetch_instances(self, sql: str, params: Params, spec: InstanceSpec) -> list[Any]:
        """Run a query; one instance per row, built as ``spec`` says (no tuple per row)."""
    async def begin(self, isolation: str | None = None) -> EngineTransaction:
        """``isolation``: read_uncommitted, read_committed, repeatable_read or serializable."""
    async def cursor(self, sql: str, params: Params = None, chunk_size: int = 1000) -> EngineCursor: ...
    async def server_version(self) -> str: ...
    async def close(self) -> None: ...
    @property
    def is_closed(self) -> bool: ...

async def connect(url: str, options: dict[str, Any] | None = None) -> EnginePool:
    """Open a pool. Options (also accepted in the URL query): ``max_size``, ``min_size``,
    ``acquire_timeout``, ``connect_timeout``, ``statement_timeout`` (seconds, floats),
    ``max_lifetime`` (seconds), ``statement_cache_size`` (0 disables; PgBouncer),
    ``sslmode`` (disable, prefer, require, verify-ca, verify-full; MySQL without prefer),
    ``sslrootcert``,
    ``busy_timeout`` (SQLite, seconds), ``journal_mode`` (SQLite), ``foreign_keys`` (SQLite)."""

def configure_runtime(*, worker_threads: int | None = None, busy_poll_us: int | None = None) -> None:
    """Worker threads (before the runtime starts, else ConfigurationError) and the busy-poll
    window in microseconds (any time; 0 is off). See ``yara_orm.runtime``."""

def runtime_settings() -> RuntimeSettings:
    """``worker_threads``, ``busy_poll_us``, ``started``, ``busy_polling``, ``running_workers``."""
