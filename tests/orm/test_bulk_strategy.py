"""bulk_create's strategy comes from the connection's features, in one function; multi-row
VALUES batches stay under the dialect's statement size (MySQL's max_allowed_packet)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from yara_orm import Connection
from yara_orm.backends import engine_features
from yara_orm.dialects import MySQLDialect, PostgresDialect, SQLiteDialect
from yara_orm.query import ir
from yara_orm.query.writes import BulkStrategy, _byte_slices, bulk_strategy

from .models import Doc, Row


def _features(backend: str, **caps: Any) -> Any:
    base = {"backend": backend, "max_bind_params": 1000, "returning": True, "copy_in": False, "arrays": False}
    return engine_features({**base, **caps})


FIELDS = [f for f in Row._meta.fields if not f.pk]


def test_postgres_copies_many_plain_rows_and_unnests_the_rest() -> None:
    pg = _features("postgres", copy_in=True, arrays=True)
    assert bulk_strategy(pg, PostgresDialect(), FIELDS, 100, False, None) is BulkStrategy.COPY
    assert bulk_strategy(pg, PostgresDialect(), FIELDS, 99, False, None) is BulkStrategy.UNNEST
    assert bulk_strategy(pg, PostgresDialect(), FIELDS, 500, True, None) is BulkStrategy.UNNEST
    assert bulk_strategy(pg, PostgresDialect(), FIELDS, 500, False, ir.OnConflict()) is BulkStrategy.UNNEST


def test_the_backend_not_the_dialect_decides_copy() -> None:
    # A PostgreSQL dialect over a backend without bulk load (or arrays) falls back to VALUES.
    plain = _features("postgres")
    assert bulk_strategy(plain, PostgresDialect(), FIELDS, 500, False, None) is BulkStrategy.VALUES


def test_sqlite_prepares_rows_and_mysql_sends_values() -> None:
    sqlite = _features("sqlite", returning=True)
    assert bulk_strategy(sqlite, SQLiteDialect(), FIELDS, 500, False, None) is BulkStrategy.PREPARED_ROWS
    assert bulk_strategy(sqlite, SQLiteDialect(), FIELDS, 500, True, None) is BulkStrategy.VALUES
    mysql = _features("mysql", returning=True)
    assert bulk_strategy(mysql, MySQLDialect(), FIELDS, 500, False, None) is BulkStrategy.VALUES
    assert bulk_strategy(mysql, MySQLDialect(), [], 5, True, None) is BulkStrategy.DEFAULT_VALUES


def test_without_returning_keys_come_from_last_insert_id() -> None:
    # MySQL: one multi-row INSERT where the server promises consecutive keys, else row by row.
    consecutive = _features("mysql", returning=False, last_insert_id=True, insert_id_step=1)
    assert consecutive.execute_insert and consecutive.insert_id_step == 1
    assert (
        bulk_strategy(consecutive, MySQLDialect(), FIELDS, 500, True, None) is BulkStrategy.VALUES_INSERT_ID
    )
    assert bulk_strategy(consecutive, MySQLDialect(), FIELDS, 500, False, None) is BulkStrategy.VALUES
    interleaved = _features("mysql", returning=False, last_insert_id=True, insert_id_step=0)
    assert bulk_strategy(interleaved, MySQLDialect(), FIELDS, 500, True, None) is BulkStrategy.ROWS_INSERT_ID


def test_values_batches_stay_under_the_statement_size() -> None:
    # Two columns of 1 MiB text per row (4 MiB each as utf8mb4 upper bound): under MySQL's 8 MiB
    # statement budget one row per batch, however many the bind-parameter limit allows.
    big = "x" * (1 << 20)
    group = SimpleNamespace(objs=list(range(5)), columns=[[big] * 5, [1, 2, 3, 4, 5]])
    limit = MySQLDialect.max_statement_bytes
    assert limit is not None
    batches = list(_byte_slices(group, 1000, limit))  # type: ignore[arg-type]
    assert batches == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    small = SimpleNamespace(objs=list(range(5)), columns=[["a"] * 5])
    assert list(_byte_slices(small, 2, limit)) == [(0, 2), (2, 4), (4, 5)]  # type: ignore[arg-type]


async def test_bulk_create_many_large_rows(orm: Connection) -> None:
    """24 MiB of parameters in one bulk_create (more than MariaDB's default 16 MiB
    max_allowed_packet) all arrive, on every backend. (On MySQL this holds even without the
    statement budget: the driver sends long parameters as packets of their own.)"""
    objs = [Doc(body={"k": "y" * (1 << 20)}, plain={"i": i}) for i in range(24)]
    await Doc.bulk_create(objs)
    assert await Doc.all().count() == 24
