"""Shared helpers of the perf scripts: scratch databases, interleaved timing, schemas, tables.

Every comparison in perf/ is made inside one run: the contenders are timed in interleaved
rounds (A B A B ..., the starting contender rotating each round) and compared by their
medians, because this machine is shared and noisy and absolute times swing a lot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


class DatabaseMissing(RuntimeError):
    """A server the perf harness needs is unreachable; it fails rather than skips without it."""


class PostgresMissing(DatabaseMissing):
    """PostgreSQL is required by the perf harness."""


class MysqlMissing(DatabaseMissing):
    """MariaDB/MySQL is required by the MariaDB rows of the perf harness."""


def pg_admin_url() -> str:
    return os.environ.get("YARA_PG_URL") or DEFAULT_PG_URL


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@asynccontextmanager
async def scratch_postgres() -> AsyncIterator[str]:
    """Create ``yara_perf_<random>`` on the server of YARA_PG_URL, yield its URL, drop it."""
    import asyncpg

    admin_url = pg_admin_url()
    try:
        admin = await asyncpg.connect(admin_url, timeout=10)
    except Exception as exc:
        raise PostgresMissing(
            f"PostgreSQL is required for the perf harness and is not reachable at {admin_url!r} "
            f"({type(exc).__name__}: {exc}); set YARA_PG_URL or run `make pg`"
        ) from exc
    name = f"yara_perf_{secrets.token_hex(4)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(admin_url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def mysql_admin_url() -> str:
    return os.environ.get("YARA_MYSQL_URL") or DEFAULT_MYSQL_URL


@asynccontextmanager
async def scratch_mysql() -> AsyncIterator[str]:
    """Create ``yara_perf_<random>`` on the server of YARA_MYSQL_URL, yield its URL, drop it."""
    admin_url = mysql_admin_url()
    try:
        admin = await connect_engine(admin_url, max_size=1, connect_timeout=10)
    except Exception as exc:
        raise MysqlMissing(
            f"MariaDB/MySQL is required for the perf harness and is not reachable at {admin_url!r} "
            f"({type(exc).__name__}: {exc}); set YARA_MYSQL_URL or run `make mariadb`"
        ) from exc
    name = f"yara_perf_{secrets.token_hex(4)}"
    try:
        await admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            yield _with_database(admin_url, name)
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        await admin.close()


def mysql_connect_kwargs(url: str) -> dict[str, Any]:
    """asyncmy/aiomysql ``connect()`` keyword arguments for a ``mysql://`` URL (aiomysql spells
    the database ``db``; the caller renames it for asyncmy)."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
        "db": parts.path.lstrip("/"),
    }


@asynccontextmanager
async def scratch_sqlite() -> AsyncIterator[str]:
    """A fresh SQLite file in a temporary directory; yields its path."""
    with tempfile.TemporaryDirectory(prefix="yara_perf_") as tmp:
        yield os.path.join(tmp, "perf.db")


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


# --------------------------------------------------------------------------------------------
# The engine


def load_engine() -> Any:
    """The compiled engine module ``yara_orm._engine``.

    Imported through the package when it imports; when the package itself does not (the ORM
    layer above the engine is being written and may be mid-change), the extension module is
    loaded from its file, so the engine-only measurements still run.
    """
    try:
        from yara_orm import _engine

        return _engine
    except Exception:
        import importlib.machinery
        import importlib.util

        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = ROOT / "python" / "yara_orm" / f"_engine{suffix}"
            if path.exists():
                spec = importlib.util.spec_from_file_location("yara_orm._engine", path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
        raise


async def connect_engine(url: str, **options: Any) -> Any:
    """Open a compiled engine pool (``EnginePool``: positional rows, no ORM in between)."""
    return await load_engine().connect(url, options or None)


# --------------------------------------------------------------------------------------------
# Timing


@dataclass
class Samples:
    """Wall-clock samples (seconds) of one contender on one operation."""

    name: str
    times: list[float] = field(default_factory=list)
    # Process CPU time (all threads) of the same calls: the engine's runtime threads work beside
    # the loop, and its busy-poll window spends CPU to save latency, so wall time alone is not
    # the whole cost.
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def median_ms(self) -> float:
        return self.median * 1000.0


Setup = Callable[[], Awaitable[Any]]
Timed = Callable[[], Awaitable[Any]]


async def interleaved(
    contenders: Sequence[tuple[str, Timed, Setup | None]],
    rounds: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Samples]:
    """Time each contender ``rounds`` times, interleaved, rotating who goes first.

    ``contenders`` are ``(name, timed, setup)``; ``setup`` (untimed, may be None) runs right
    before each timed call, e.g. to restore rows a delete removed. GC is collected before and
    disabled during each timed call so one contender's garbage is not billed to another.
    ``clock`` is wall time by default; pure-Python CPU work may pass ``time.thread_time`` so
    that time spent descheduled (the machine is shared) is not counted.
    """
    samples = {name: Samples(name) for name, _, _ in contenders}
    n = len(contenders)
    for r in range(warmup + rounds):
        order = [contenders[(r + i) % n] for i in range(n)]
        for name, timed, setup in order:
            if setup is not None:
                await setup()
            gc.collect()
            gc.disable()
            try:
                cpu_start = time.process_time()
                start = clock()
                await timed()
                elapsed = clock() - start
                cpu = time.process_time() - cpu_start
            finally:
                gc.enable()
            if r >= warmup:
                samples[name].times.append(elapsed)
                samples[name].cpu.append(cpu)
    return samples


def paired_ratio(numerator: Samples, denominator: Samples, cpu: bool = False) -> float:
    """Median over rounds of numerator/denominator measured in the same round: a slow phase of
    the machine slows both members of a pair, so it cancels out of their ratio. ``cpu`` pairs
    the process CPU times of the same calls instead of their wall times."""
    if cpu:
        pairs = zip(numerator.cpu, denominator.cpu, strict=True)
    else:
        pairs = zip(numerator.times, denominator.times, strict=True)
    return statistics.median(a / b if b > 0 else float("inf") for a, b in pairs)


def spread(values: Sequence[float]) -> str:
    return f"{min(values):.3g}..{max(values):.3g}"


# --------------------------------------------------------------------------------------------
# Schemas and data

ITEM_COLUMNS = (
    "id",
    "name",
    "email",
    "price",
    "quantity",
    "rating",
    "active",
    "created_at",
    "code",
    "status",
)


class Status(enum.Enum):
    """A Python-side enum stored as text: the one column of ``item`` that needs a conversion."""

    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"


STATUSES = [s.value for s in Status]


# MariaDB/MySQL: UUIDs in a binary-collated CHAR(36), the column type the ORM generates (the
# engine decodes it as a UUID); DATETIME(6) holds UTC wall times (the session time zone is UTC).
MYSQL_UUID = "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin"
MYSQL_TABLE = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"


def item_ddl(backend: str, table: str = "item") -> str:
    if backend == "mysql":
        return (
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(100) NOT NULL, "
            "price DECIMAL(10, 2) NOT NULL, quantity INTEGER NOT NULL, rating DOUBLE NOT NULL, "
            f"active BOOL NOT NULL, created_at DATETIME(6) NOT NULL, code {MYSQL_UUID} NOT NULL, "
            f"status VARCHAR(10) NOT NULL, owner_id INTEGER){MYSQL_TABLE}"
        )
    if backend == "postgres":
        return (
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(100) NOT NULL, "
            "price NUMERIC(10, 2) NOT NULL, quantity INTEGER NOT NULL, rating DOUBLE PRECISION NOT NULL, "
            "active BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL, code UUID NOT NULL, "
            "status VARCHAR(10) NOT NULL, owner_id INTEGER)"
        )
    return (
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(100) NOT NULL, "
        "price DECIMAL(10, 2) NOT NULL, quantity INTEGER NOT NULL, rating REAL NOT NULL, "
        "active BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL, code UUID NOT NULL, "
        "status VARCHAR(10) NOT NULL, owner_id INTEGER)"
    )


BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def item_row(i: int, owners: int = 0) -> tuple[Any, ...]:
    """One ``item`` row as the engine binds it (id first, owner_id last)."""
    return (
        i,
        f"item {i}",
        f"user{i}@example.com",
        decimal.Decimal(f"{i % 1000}.{i % 100:02d}"),
        i % 100,
        (i % 17) / 4.0,
        i % 2 == 0,
        BASE_TIME + dt.timedelta(seconds=i),
        uuid.UUID(int=i),
        STATUSES[i % 3],
        (i % owners) + 1 if owners else None,
    )


def item_insert_sql(backend: str, table: str = "item") -> str:
    cols = ", ".join((*ITEM_COLUMNS, "owner_id"))
    marks = ", ".join(placeholders(backend, 11))
    return f"INSERT INTO {table} ({cols}) VALUES ({marks})"


def placeholders(backend: str, n: int, start: int = 1) -> list[str]:
    if backend == "postgres":
        return [f"${i}" for i in range(start, start + n)]
    if backend == "mysql":
        return ["?"] * n
    return [f"?{i}" for i in range(start, start + n)]


WIDE_COLUMNS = 20


def wide_ddl(backend: str) -> str:
    types_pg = [
        "INTEGER",
        "TEXT",
        "NUMERIC(12, 3)",
        "DOUBLE PRECISION",
        "BOOLEAN",
        "TIMESTAMPTZ",
        "UUID",
        "DATE",
    ]
    types_sqlite = ["INTEGER", "TEXT", "DECIMAL(12, 3)", "REAL", "BOOLEAN", "TIMESTAMPTZ", "UUID", "DATE"]
    types_mysql = ["INTEGER", "TEXT", "DECIMAL(12, 3)", "DOUBLE", "BOOL", "DATETIME(6)", MYSQL_UUID, "DATE"]
    types = {"postgres": types_pg, "mysql": types_mysql}.get(backend, types_sqlite)
    cols = [f"c{i} {types[i % len(types)]} NOT NULL" for i in range(1, WIDE_COLUMNS)]
    options = MYSQL_TABLE if backend == "mysql" else ""
    return f"CREATE TABLE wide (id INTEGER PRIMARY KEY, {', '.join(cols)}){options}"


def wide_row(i: int) -> tuple[Any, ...]:
    makers: list[Callable[[int], Any]] = [
        lambda k: k * 7,
        lambda k: f"text value {k}",
        lambda k: decimal.Decimal(f"{k % 10000}.{k % 1000:03d}"),
        lambda k: k / 8.0,
        lambda k: k % 3 == 0,
        lambda k: BASE_TIME + dt.timedelta(minutes=k),
        lambda k: uuid.UUID(int=k + 1),
        lambda k: dt.date(2020, 1, 1) + dt.timedelta(days=k % 3000),
    ]
    return (i, *(makers[c % len(makers)](i + c) for c in range(1, WIDE_COLUMNS)))


def wide_insert_sql(backend: str) -> str:
    cols = ", ".join(["id", *(f"c{i}" for i in range(1, WIDE_COLUMNS))])
    return f"INSERT INTO wide ({cols}) VALUES ({', '.join(placeholders(backend, WIDE_COLUMNS))})"


# --------------------------------------------------------------------------------------------
# Reporting


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if v < 100 else f"{v:.0f}"
        return str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def machine_note() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"(shared machine: absolute times are noisy, compare ratios), Python {sys.version.split()[0]}"
    )


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]
