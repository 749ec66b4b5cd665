"""A fault-injecting backend: a built-in backend wrapped through the public API
(``yara_orm.backends.connect_builtin`` + ``DelegatingPool``), with at most one planted fault,
chosen by the environment variable ``YARA_MUTANT``.

Each fault is one realistic bug a backend author could write. The mutation suite
(``test_mutation.py``) certifies the clean wrapper and then checks that the conformance kit
fails on every fault. The CLI loads this module by import path:

    python -m yara_orm.conformance mutant+sqlite:///x.db --backend tests.conformance.mutants:SPEC
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from yara_orm import _engine, exceptions
from yara_orm.backends import (
    BackendSpec,
    DelegatingCursor,
    DelegatingPool,
    DelegatingTransaction,
    connect_builtin,
)
from yara_orm.dialects import PostgresDialect, SQLiteDialect

Row = tuple[Any, ...]
Params = Sequence[Any] | None


@dataclass(frozen=True)
class Fault:
    name: str
    area: str
    what: str
    # The backend it is planted in: "sqlite" unless it needs a server feature (isolation levels,
    # deadlock detection, COPY, SQLSTATE classes SQLite never reports).
    on: str = "sqlite"


FAULTS = [
    # values written
    Fault("float_signed_zero_lost", "values", "-0.0 is written as 0.0", on="postgres"),
    Fault("datetime_microseconds_dropped", "values", "datetimes lose their microseconds"),
    Fault("text_cut_at_64k", "values", "text longer than 65535 characters is cut"),
    Fault("bytes_cut_at_64k", "values", "bytes longer than 65536 are cut"),
    Fault("decimal_rounded_to_15_digits", "values", "decimals go through a double", on="postgres"),
    Fault("json_ints_become_floats", "values", "JSON integers are written as floats (3 -> 3.0)"),
    Fault("empty_string_as_null", "values", "'' is written as NULL"),
    Fault("big_int_through_double", "values", "integers beyond 2**53 go through a double"),
    Fault("astral_chars_replaced", "values", "characters outside the BMP are written as '?'"),
    Fault("bool_read_as_int", "values", "booleans come back as the ints 0/1"),
    # values read
    Fault("nan_read_as_null", "values", "NaN comes back as NULL", on="postgres"),
    Fault("aware_datetime_read_naive", "values", "timezone-aware datetimes come back naive"),
    Fault("date_read_a_day_early", "values", "dates before 1900 come back one day early"),
    Fault("uuid_read_as_text", "values", "UUID columns come back as str", on="postgres"),
    # lookups (SQL the ORM sends, rewritten)
    Fault("like_escape_dropped", "lookups", "LIKE loses its ESCAPE clause"),
    Fault("glob_as_like", "lookups", "case-sensitive GLOB becomes case-insensitive LIKE"),
    Fault("filter_params_lowercased", "lookups", "string parameters of SELECTs are lower-cased"),
    Fault("is_null_inverted", "lookups", "IS NULL becomes IS NOT NULL"),
    # ordering
    Fault("descending_ignored", "ordering", "ORDER BY ... DESC is sent as ASC"),
    Fault("rows_reversed", "ordering", "fetch returns rows in reverse order"),
    Fault("fetch_one_returns_last_row", "ordering", "fetch_one returns the last row, not the first"),
    # transactions
    Fault("tx_execute_on_pool", "transactions", "a transaction's execute runs on the pool"),
    Fault("tx_execute_many_on_pool", "transactions", "a transaction's execute_many runs on the pool"),
    Fault("tx_fetch_on_pool", "transactions", "a transaction's fetch reads through the pool"),
    Fault("tx_rollback_commits", "transactions", "rollback() commits"),
    Fault("tx_is_active_stays_true", "transactions", "is_active stays True after commit/rollback"),
    Fault("rollback_to_is_noop", "transactions", "rollback_to(savepoint) does nothing"),
    # isolation
    Fault("isolation_level_ignored", "isolation", "begin(level) opens a default transaction", on="postgres"),
    Fault("serializable_downgraded", "isolation", "serializable runs as repeatable read", on="postgres"),
    # errors
    Fault("integrity_as_operational", "errors", "constraint violations raise OperationalError"),
    Fault("sqlstate_dropped", "errors", "errors carry no SQLSTATE"),
    Fault("not_null_reported_as_check", "errors", "23502 is reported as 23514"),
    Fault("serialization_not_retryable", "errors", "40001 raises a plain OperationalError", on="postgres"),
    Fault("deadlock_not_retryable", "errors", "40P01 raises a plain OperationalError", on="postgres"),
    Fault("data_error_as_operational", "errors", "22xxx raises a plain OperationalError", on="postgres"),
    Fault("unique_violation_swallowed", "errors", "a duplicate-key INSERT reports 0 rows, no error"),
    # batching
    Fault("execute_many_drops_partial_batch", "batching", "execute_many drops the last partial batch of 128"),
    Fault("bind_limit_overstated", "batching", "capabilities() doubles max_bind_params"),
    Fault("returning_rows_reversed", "batching", "multi-row INSERT ... RETURNING rows come back reversed"),
    Fault("large_returning_short", "batching", "INSERT ... RETURNING of 1000+ rows returns one row short"),
    # streaming
    Fault("cursor_drops_partial_chunk", "streaming", "a cursor drops a last chunk shorter than chunk_size"),
    Fault("cursor_ignores_chunk_size", "streaming", "a cursor returns everything in its first chunk"),
    Fault("cursor_columns_uppercased", "streaming", "a cursor's column names are upper-cased"),
    Fault("chunk_instances_skip_first", "streaming", "fetch_chunk_instances drops each chunk's first row"),
    # counts
    Fault("rowcount_zero", "counts", "execute reports 0 rows affected for UPDATE/DELETE"),
    Fault("rowcount_always_one", "counts", "execute reports 1 row affected whatever happened"),
    Fault(
        "execute_many_count_per_batch", "counts", "execute_many reports the parameter sets of the last call"
    ),
    # protocol methods
    Fault("columns_uppercased", "protocol", "fetch_with_columns upper-cases column names"),
    Fault("fetch_with_columns_drops_last_row", "protocol", "fetch_with_columns loses the last row"),
    Fault("status_is_constant", "protocol", "status() reports a fixed, idle pool"),
    Fault("fetch_instances_drops_last", "protocol", "fetch_instances loses the last instance"),
    Fault("copy_in_drops_last_row", "protocol", "copy_in stores all rows but the last", on="postgres"),
    Fault("server_version_empty", "protocol", "server_version() returns ''"),
]
BY_NAME = {f.name: f for f in FAULTS}


def current_fault() -> str:
    name = os.environ.get("YARA_MUTANT", "")
    if name and name not in BY_NAME:
        raise RuntimeError(f"YARA_MUTANT={name!r} is not a planted fault")
    return name


BATCH = 128


# -- value faults ---------------------------------------------------------------------------------


def _intify(doc: Any) -> Any:
    if isinstance(doc, bool) or doc is None:
        return doc
    if isinstance(doc, int):
        return float(doc)
    if isinstance(doc, list):
        return [_intify(v) for v in doc]
    if isinstance(doc, dict):
        return {k: _intify(v) for k, v in doc.items()}
    return doc


def _write(value: Any) -> Any:
    f = current_fault()
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if f == "float_signed_zero_lost" and value == 0:
            return 0.0
        return value
    if isinstance(value, int):
        if f == "big_int_through_double" and abs(value) > 2**53:
            return int(float(value))
        return value
    if isinstance(value, dt.datetime) and f == "datetime_microseconds_dropped":
        return value.replace(microsecond=0)
    if isinstance(value, str):
        if f == "text_cut_at_64k":
            return value[:65535]
        if f == "empty_string_as_null" and value == "":
            return None
        if f == "astral_chars_replaced":
            return "".join("?" if ord(c) > 0xFFFF else c for c in value)
        return value
    if isinstance(value, bytes) and f == "bytes_cut_at_64k":
        return value[:65536]
    if isinstance(value, decimal.Decimal) and f == "decimal_rounded_to_15_digits" and value.is_finite():
        return decimal.Decimal(repr(float(value)))
    if isinstance(value, _engine.Json) and f == "json_ints_become_floats":
        doc = json.loads(value.value) if value.raw else value.value
        return _engine.Json(json.dumps(_intify(doc)), raw=True)
    if isinstance(value, list):
        return [_write(v) for v in value]
    return value


def _read(value: Any) -> Any:
    f = current_fault()
    if f == "bool_read_as_int" and isinstance(value, bool):
        return int(value)
    if f == "nan_read_as_null" and isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime):
        if f == "aware_datetime_read_naive" and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    if isinstance(value, dt.date) and f == "date_read_a_day_early" and value.year < 1900 and value.year > 1:
        return value - dt.timedelta(days=1)
    if f == "uuid_read_as_text" and type(value).__name__ == "UUID":
        return str(value)
    return value


def _params(sql: str, params: Params) -> Params:
    if params is None:
        return None
    out = [_write(v) for v in params]
    if current_fault() == "filter_params_lowercased" and sql.lstrip().upper().startswith("SELECT"):
        out = [v.lower() if isinstance(v, str) else v for v in out]
    return out


def _rows(rows: Sequence[Row]) -> list[Row]:
    out = [tuple(_read(v) for v in row) for row in rows]
    if current_fault() == "rows_reversed":
        out.reverse()
    return out


def _sql(sql: str) -> str:
    f = current_fault()
    if f == "like_escape_dropped":
        return sql.replace(" ESCAPE '\\'", "")
    if f == "glob_as_like":
        return sql.replace(" GLOB ", " LIKE ")
    if f == "is_null_inverted":
        return sql.replace(" IS NULL", " IS NOT NULL")
    if f == "descending_ignored":
        return re.sub(r"\bDESC\b", "ASC", sql)
    return sql


def _error(exc: exceptions.OperationalError) -> BaseException:
    f, state = current_fault(), exc.sqlstate
    fields: dict[str, Any] = {"sqlstate": state, "constraint": exc.constraint, "table": exc.table}
    if f == "integrity_as_operational" and isinstance(exc, exceptions.IntegrityError):
        return exceptions.OperationalError(str(exc), **fields)
    if f == "sqlstate_dropped":
        return type(exc)(str(exc), **{**fields, "sqlstate": None})
    if f == "not_null_reported_as_check" and state == "23502":
        return type(exc)(str(exc), **{**fields, "sqlstate": "23514"})
    if f == "serialization_not_retryable" and isinstance(exc, exceptions.SerializationError):
        return exceptions.OperationalError(str(exc), **fields)
    if f == "deadlock_not_retryable" and isinstance(exc, exceptions.DeadlockError):
        return exceptions.OperationalError(str(exc), **fields)
    if f == "data_error_as_operational" and isinstance(exc, exceptions.DataError):
        return exceptions.OperationalError(str(exc), **fields)
    return exc


def _count(sql: str, n: int) -> int:
    verb = sql.lstrip()[:6].upper()
    if current_fault() == "rowcount_zero" and verb in ("UPDATE", "DELETE"):
        return 0
    if current_fault() == "rowcount_always_one":
        return 1
    return n


# -- the wrapper ----------------------------------------------------------------------------------


class _Faulty:
    """The statement methods with the faults planted; ``inner`` is a pool or a transaction."""

    inner: Any
    # Where "runs on the pool" faults send a transaction's statements (None on the pool itself).
    pool: Any = None

    def _on(self, fault: str) -> Any:
        return self.pool if (self.pool is not None and current_fault() == fault) else self.inner

    async def execute(self, sql: str, params: Params = None) -> int:
        target = self._on("tx_execute_on_pool")
        try:
            n = int(await target.execute(_sql(sql), _params(sql, params)))
        except exceptions.IntegrityError as exc:
            if current_fault() == "unique_violation_swallowed" and exc.sqlstate == "23505":
                return 0
            raise _error(exc) from None
        except exceptions.OperationalError as exc:
            raise _error(exc) from None
        return _count(sql, n)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        target = self._on("tx_execute_many_on_pool")
        sets = [_params(sql, p) or [] for p in params_seq]
        total = last = 0
        try:
            for start in range(0, len(sets), BATCH):
                batch = sets[start : start + BATCH]
                if current_fault() == "execute_many_drops_partial_batch" and start > 0 and len(batch) < BATCH:
                    break
                last = int(await target.execute_many(_sql(sql), batch))
                total += last
        except exceptions.OperationalError as exc:
            raise _error(exc) from None
        return last if current_fault() == "execute_many_count_per_batch" else total

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        target = self._on("tx_fetch_on_pool")
        try:
            rows = _rows(await target.fetch(_sql(sql), _params(sql, params)))
        except exceptions.OperationalError as exc:
            raise _error(exc) from None
        if "RETURNING" in sql.upper() and current_fault() == "returning_rows_reversed":
            rows.reverse()
        if (
            current_fault() == "large_returning_short"
            and sql.upper().startswith("INSERT")
            and len(rows) >= 1000
        ):
            rows = rows[:-1]
        return rows

    async def fetch_with_columns(self, sql: str, params: Params = None) -> tuple[list[str], list[Row]]:
        try:
            columns, rows = await self.inner.fetch_with_columns(_sql(sql), _params(sql, params))
        except exceptions.OperationalError as exc:
            raise _error(exc) from None
        columns = [c.upper() for c in columns] if current_fault() == "columns_uppercased" else list(columns)
        out = _rows(rows)
        if current_fault() == "fetch_with_columns_drops_last_row" and out:
            out = out[:-1]
        return columns, out

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        if current_fault() == "fetch_one_returns_last_row":
            rows = await self.fetch(sql, params)
            return rows[-1] if rows else None
        try:
            row = await self.inner.fetch_one(_sql(sql), _params(sql, params))
        except exceptions.IntegrityError as exc:
            if current_fault() == "unique_violation_swallowed" and exc.sqlstate == "23505":
                return None
            raise _error(exc) from None
        except exceptions.OperationalError as exc:
            raise _error(exc) from None
        return None if row is None else _rows([row])[0]

    async def fetch_instances(self, sql: str, params: Params, spec: Any) -> list[Any]:
        try:
            out = list(await self.inner.fetch_instances(_sql(sql), _params(sql, params), spec))
        except exceptions.OperationalError as exc:
            raise _error(exc) from None
        if current_fault() == "fetch_instances_drops_last" and out:
            out = out[:-1]
        return out

    async def copy_in(self, copy_sql: str, types_from: str, columns: Sequence[Sequence[Any]]) -> int:
        cols = [[_write(v) for v in col] for col in columns]
        if current_fault() == "copy_in_drops_last_row":
            cols = [col[:-1] for col in cols]
        return int(await self.inner.copy_in(copy_sql, types_from, cols))


class MutantTransaction(_Faulty, DelegatingTransaction):
    def __init__(self, inner: Any, pool: Any = None) -> None:
        super().__init__(inner)
        self.pool = pool

    async def commit(self) -> None:
        try:
            await self.inner.commit()
        except exceptions.OperationalError as exc:
            raise _error(exc) from None

    async def rollback(self) -> None:
        if current_fault() == "tx_rollback_commits":
            await self.inner.commit()
        else:
            await self.inner.rollback()

    async def rollback_to(self, name: str) -> None:
        if current_fault() != "rollback_to_is_noop":
            await self.inner.rollback_to(name)

    @property
    def is_active(self) -> bool:
        if current_fault() == "tx_is_active_stays_true":
            return True
        return bool(self.inner.is_active)


class MutantCursor(DelegatingCursor):
    def __init__(self, inner: Any, chunk_size: int) -> None:
        super().__init__(inner)
        self.chunk_size = chunk_size
        self.done = False

    @property
    def columns(self) -> list[str]:
        cols = list(self.inner.columns)
        return [c.upper() for c in cols] if current_fault() == "cursor_columns_uppercased" else cols

    async def fetch_chunk(self) -> list[Row]:
        if self.done:
            return []
        chunk = _rows(await self.inner.fetch_chunk())
        if current_fault() == "cursor_ignores_chunk_size":
            while True:
                more = _rows(await self.inner.fetch_chunk())
                if not more:
                    break
                chunk += more
            self.done = True
        if current_fault() == "cursor_drops_partial_chunk" and len(chunk) < self.chunk_size:
            return []
        return chunk

    async def fetch_chunk_instances(self, spec: Any) -> list[Any]:
        out = list(await self.inner.fetch_chunk_instances(spec))
        if current_fault() == "chunk_instances_skip_first" and out:
            out = out[1:]
        return out


class MutantPool(_Faulty, DelegatingPool):
    optional = frozenset({"fetch_instances", "copy_in", "fetch_chunk_instances"})

    def capabilities(self) -> dict[str, Any]:
        caps = super().capabilities()
        if current_fault() == "bind_limit_overstated":
            caps["max_bind_params"] = 2 * int(caps["max_bind_params"])
        return caps

    def status(self) -> dict[str, int]:
        if current_fault() == "status_is_constant":
            return {"size": 1, "available": 1, "max_size": 4, "waiting": 0}
        return dict(self.inner.status())

    async def begin(self, isolation: str | None = None) -> MutantTransaction:
        if current_fault() == "isolation_level_ignored":
            isolation = None
        if current_fault() == "serializable_downgraded" and isolation == "serializable":
            isolation = "repeatable_read"
        return MutantTransaction(await self.inner.begin(isolation), pool=self.inner)

    async def cursor(self, sql: str, params: Params = None, chunk_size: int = 1000) -> MutantCursor:
        inner = await self.inner.cursor(_sql(sql), _params(sql, params), chunk_size)
        return MutantCursor(inner, chunk_size)

    async def server_version(self) -> str:
        return "" if current_fault() == "server_version_empty" else str(await self.inner.server_version())

    # The optional parts are the wrapper's own methods (with their faults), not forwarded.
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


class MutantSQLiteDialect(SQLiteDialect):
    name = "mutant_sqlite"


class MutantPostgresDialect(PostgresDialect):
    name = "mutant_postgres"


def _connector(name: str) -> Any:
    async def connect(url: str, options: dict[str, Any]) -> MutantPool:
        inner = await connect_builtin(url.split("+", 1)[1], **options)
        return MutantPool(inner, backend=name)

    return connect


SPEC_SQLITE = BackendSpec(
    name="mutant_sqlite", connect=_connector("mutant_sqlite"), dialect=MutantSQLiteDialect
)
SPEC_POSTGRES = BackendSpec(
    name="mutant_postgres", connect=_connector("mutant_postgres"), dialect=MutantPostgresDialect
)


def SPEC() -> BackendSpec:
    """The wrapper of the backend ``YARA_MUTANT_ON`` names (``sqlite`` or ``postgres``)."""
    return SPEC_POSTGRES if os.environ.get("YARA_MUTANT_ON") == "postgres" else SPEC_SQLITE
