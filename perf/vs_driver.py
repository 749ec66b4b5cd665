"""Overhead vs the raw drivers: the operations of the perf issue, hand-written SQL on the raw
driver vs the engine API (labelled "engine") vs the ORM (labelled "orm", where it works).

* PostgreSQL: asyncpg (baseline), engine, orm.
* SQLite: sqlite3 (stdlib, baseline), aiosqlite (if installed), engine, orm.
* MariaDB/MySQL: asyncmy (baseline), aiomysql (if installed), engine, orm.

"engine" is the least an ORM must do: the engine's positional rows turned into instances by a
decode plan computed once per query shape (``perf/decode.py``), bulk writes through
``execute_many``. The raw drivers return their own rows (asyncpg Records, sqlite3 tuples) and
get their parameters already in their native types (a lower bound for them); likewise the ORM
gets its keyword arguments already built, in its native types (enum members), and the timed
work is constructing the instances and writing them. Contenders run interleaved (A B A B ...,
rotating), medians are compared, ratios are to the baseline driver.

    .venv/bin/python perf/vs_driver.py [--quick] [--rounds N] [--backend sqlite|postgres|mysql|both|all]
                                       [--ops bulk_insert,count,...] [--no-orm] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import decimal
import json
import re
import sqlite3
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common import (
    ITEM_COLUMNS,
    WIDE_COLUMNS,
    DatabaseMissing,
    Samples,
    connect_engine,
    interleaved,
    item_ddl,
    item_row,
    machine_note,
    md_table,
    mysql_connect_kwargs,
    paired_ratio,
    scratch_mysql,
    scratch_postgres,
    scratch_sqlite,
    sqlite_url,
    wide_ddl,
    wide_insert_sql,
    wide_row,
)
from decode import CONVERTERS, DecodePlan
from orm_adapter import Orm, describe_error, item_kwargs
from orm_adapter import load as load_orm

try:
    import aiosqlite
except ImportError:  # optional: requirements-dev.txt installs it
    aiosqlite = None
try:
    import asyncmy
    import asyncmy.cursors
except ImportError:  # the MariaDB baseline: requirements-dev.txt installs it
    asyncmy = None
try:
    import aiomysql
except ImportError:  # optional second MariaDB driver (perf/requirements-peers.txt)
    aiomysql = None

Timed = Callable[[], Awaitable[Any]]
Setup = Callable[[], Awaitable[Any]] | None


@dataclass(frozen=True)
class Sizes:
    items: int = 5000
    bulk_insert: int = 5000
    single_inserts: int = 500
    get_by_pk: int = 1000
    wide_rows: int = 10_000
    tasks: int = 100
    gets_per_task: int = 50
    owners: int = 1000
    stream_rows: int = 1_000_000
    chunk: int = 5000
    # Statements that take ~1-2 ms (count, group by) run this many times per timed sample, so
    # one scheduler hiccup does not decide a sample; ratios are unchanged in expectation.
    small_repeat: int = 10


QUICK = Sizes(
    bulk_insert=1000,
    single_inserts=100,
    get_by_pk=200,
    wide_rows=2000,
    tasks=20,
    gets_per_task=25,
    stream_rows=100_000,
)

OPS = (
    ("bulk_insert", "bulk insert {bulk_insert}"),
    ("single_insert", "{single_inserts} single inserts"),
    ("fetch_all", "fetch all {items} as instances"),
    ("filter", "filter (~half) as instances"),
    ("get_by_pk", "{get_by_pk} sequential get-by-pk"),
    ("count", "count (x{small_repeat})"),
    ("group_by", "group by + having (x{small_repeat})"),
    ("bulk_update", "bulk update (~half)"),
    ("bulk_delete", "bulk delete {bulk_insert}"),
    ("wide_fetch", "wide fetch {wide_rows} x 20 cols"),
    ("concurrent_get", "{tasks} tasks x {gets_per_task} get-by-pk, pool 10"),
    ("prefetch", "prefetch reverse FK, {owners} owners"),
    ("stream", "stream {stream_rows} rows"),
)

SELECT_ITEM = f"SELECT {', '.join(ITEM_COLUMNS)} FROM item"
WIDE_NAMES = ["id", *(f"c{i}" for i in range(1, WIDE_COLUMNS))]
SELECT_WIDE = f"SELECT {', '.join(WIDE_NAMES)} FROM wide"


def qmarks(sql: str) -> str:
    """PostgreSQL ``$n`` placeholders to SQLite's ``?`` (parameters are passed in order)."""
    return re.sub(r"\$\d+", "?", sql)


def pyformat(sql: str) -> str:
    """The engine's ``?`` placeholders to the ``%s`` of asyncmy and aiomysql."""
    return sql.replace("?", "%s")


def mysql_params(row: Sequence[Any]) -> tuple[Any, ...]:
    """A row in the types asyncmy and aiomysql escape themselves: UUIDs as their 36-character
    text, aware datetimes as naive UTC (DATETIME holds UTC wall times)."""
    out: list[Any] = []
    for v in row:
        if isinstance(v, uuid.UUID):
            out.append(str(v))
        elif isinstance(v, dt.datetime) and v.tzinfo is not None:
            out.append(v.astimezone(dt.UTC).replace(tzinfo=None))
        else:
            out.append(v)
    return tuple(out)


# One MariaDB raw contender, made for a given driver's connection (asyncmy's or aiomysql's
# DB-API-like cursors are the same to use).
MyFactory = Callable[["MyDriver"], Timed]


@dataclass
class MyDriver:
    """One raw MariaDB driver's connections: a single one, a pool of 10, its streaming cursor."""

    name: str
    conn: Any
    pool: Any
    sscursor: Any


def sqlite3_params(row: Sequence[Any]) -> tuple[Any, ...]:
    """A row in sqlite3's native types, in the text forms the engine stores."""
    out: list[Any] = []
    for v in row:
        if isinstance(v, decimal.Decimal | uuid.UUID):
            out.append(str(v))
        elif isinstance(v, dt.datetime):
            out.append(v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00"))
        elif isinstance(v, bool):
            out.append(int(v))
        else:
            out.append(v)
    return tuple(out)


def rss_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class OpResult:
    key: str
    label: str
    samples: dict[str, Samples]
    errors: dict[str, str] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)

    def ratio(self, name: str, baseline: str) -> float | None:
        if name in self.samples and baseline in self.samples:
            return self.samples[name].median / self.samples[baseline].median
        return None

    def paired(self, name: str, baseline: str, cpu: bool = False) -> float | None:
        """Median of the per-round ratios ``name / baseline`` (see ``common.paired_ratio``), of
        wall time or (``cpu``) of the process CPU time the same calls used."""
        if name in self.samples and baseline in self.samples:
            return paired_ratio(self.samples[name], self.samples[baseline], cpu=cpu)
        return None


@dataclass
class BackendResult:
    backend: str
    baseline: str
    ops: list[OpResult]
    orm_status: str


class Bench:
    """Everything one backend's run needs: the database, the contenders' connections, the ops."""

    def __init__(
        self, backend: str, url: str, sizes: Sizes, rounds: int, rounds_for: Mapping[str, int] | None = None
    ) -> None:
        self.backend = backend
        self.url = url
        self.sizes = sizes
        self.rounds = rounds
        # Per-operation overrides of ``rounds`` (the gate gives its short operations more).
        self.rounds_for: Mapping[str, int] = rounds_for or {}
        self.engine: Any = None
        self.apg: Any = None
        self.apg_pool: Any = None
        self.sq: sqlite3.Connection | None = None
        self.aq: Any = None
        self.aq_pool: list[Any] = []
        self.my_drivers: list[MyDriver] = []
        self.orm: Orm | None = None
        self.orm_status = "not measured"
        self.item_plan = DecodePlan(dict, ITEM_COLUMNS, CONVERTERS)  # replaced in open()
        self.wide_plan = DecodePlan(dict, WIDE_NAMES, {})
        self.owner_plan = DecodePlan(dict, ("id", "name"), {})

    def sql(self, sql: str) -> str:
        return sql if self.backend == "postgres" else qmarks(sql)

    @property
    def baseline(self) -> str:
        return {"postgres": "asyncpg", "mysql": "asyncmy"}.get(self.backend, "sqlite3")

    # ---------------------------------------------------------------- setup and teardown

    async def open(self, with_orm: bool) -> None:
        class ItemObj:
            pass

        class WideObj:
            pass

        class OwnerObj:
            items: list[Any]

        self.item_plan = DecodePlan(ItemObj, ITEM_COLUMNS, CONVERTERS)
        self.wide_plan = DecodePlan(WideObj, WIDE_NAMES, {})
        self.owner_plan = DecodePlan(OwnerObj, ("id", "name"), {})
        self.engine = await connect_engine(self.url, max_size=10)
        await self.load_data()
        if self.backend == "postgres":
            import asyncpg

            self.apg = await asyncpg.connect(self.url)
            self.apg_pool = await asyncpg.create_pool(self.url, min_size=10, max_size=10)
        elif self.backend == "mysql":
            await self.open_mysql_drivers()
        else:
            path = self.url.removeprefix("sqlite:///")
            self.sq = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if aiosqlite is not None:
                self.aq = await aiosqlite.connect(path, isolation_level=None)
                self.aq_pool = [await aiosqlite.connect(path, isolation_level=None) for _ in range(10)]
        if with_orm:
            loaded = await load_orm(self.url, max_size=10)
            if isinstance(loaded, str):
                self.orm_status = f"not available yet ({loaded})"
            else:
                self.orm = loaded
                self.orm_status = "measured"

    async def open_mysql_drivers(self) -> None:
        if asyncmy is None:
            raise RuntimeError(
                "the MariaDB baseline asyncmy is not installed (pip install -r requirements-dev.txt)"
            )
        kw = mysql_connect_kwargs(self.url)
        my_kw = {**{k: v for k, v in kw.items() if k != "db"}, "database": kw["db"], "autocommit": True}
        self.my_drivers.append(
            MyDriver(
                "asyncmy",
                await asyncmy.connect(**my_kw),
                await asyncmy.create_pool(minsize=10, maxsize=10, **my_kw),
                asyncmy.cursors.SSCursor,
            )
        )
        if aiomysql is not None:
            aio_kw = {**kw, "autocommit": True}
            self.my_drivers.append(
                MyDriver(
                    "aiomysql",
                    await aiomysql.connect(**aio_kw),
                    await aiomysql.create_pool(minsize=10, maxsize=10, **aio_kw),
                    aiomysql.SSCursor,
                )
            )

    async def close(self) -> None:
        if self.orm is not None:
            await self.orm.close()
        for d in self.my_drivers:
            d.conn.close()
            d.pool.close()
            await d.pool.wait_closed()
        if self.apg is not None:
            await self.apg.close()
            await self.apg_pool.close()
        if self.sq is not None:
            self.sq.close()
        for conn in [self.aq, *self.aq_pool]:
            if conn is not None:
                await conn.close()
        await self.engine.close()

    async def load_data(self) -> None:
        e, s = self.engine, self.sizes
        pg = self.backend == "postgres"
        await e.execute("CREATE TABLE owner (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        await e.execute_many(
            self.sql("INSERT INTO owner (id, name) VALUES ($1, $2)"),
            [(i, f"owner {i}") for i in range(1, s.owners + 1)],
        )
        await e.execute(item_ddl(self.backend))
        await e.execute("CREATE INDEX item_owner ON item (owner_id)")
        await e.execute_many(self.insert_item_sql(), [item_row(i, s.owners) for i in range(1, s.items + 1)])
        await e.execute(wide_ddl(self.backend))
        await e.execute_many(
            self.sql(wide_insert_sql("postgres")), [wide_row(i) for i in range(1, s.wide_rows + 1)]
        )
        stream_type = {"postgres": "DOUBLE PRECISION", "mysql": "DOUBLE"}.get(self.backend, "REAL")
        await e.execute(
            f"CREATE TABLE stream (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value {stream_type} NOT NULL)"
        )
        if pg:
            await e.execute(
                "INSERT INTO stream SELECT g, 'row ' || g, g * 0.5 FROM generate_series(1, $1::int) g",
                [s.stream_rows],
            )
        elif self.backend == "mysql":
            # Multi-row VALUES (MariaDB's recursive CTEs stop at 1000 levels by default).
            step = 5000
            for start in range(1, s.stream_rows + 1, step):
                ids = range(start, min(start + step, s.stream_rows + 1))
                await e.execute(
                    "INSERT INTO stream VALUES " + ", ".join("(?, ?, ?)" for _ in ids),
                    [v for i in ids for v in (i, f"row {i}", i * 0.5)],
                )
        else:
            await e.execute(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?1) "
                "INSERT INTO stream SELECT n, 'row ' || n, n * 0.5 FROM g",
                [s.stream_rows],
            )
        if pg:
            await e.execute("ANALYZE")

    def insert_item_sql(self) -> str:
        cols = ", ".join((*ITEM_COLUMNS, "owner_id"))
        return self.sql(f"INSERT INTO item ({cols}) VALUES ({', '.join(f'${i}' for i in range(1, 12))})")

    async def delete_extra(self) -> None:
        await self.engine.execute(self.sql("DELETE FROM item WHERE id > $1"), [self.sizes.items])

    def new_rows(self, n: int) -> list[tuple[Any, ...]]:
        base = self.sizes.items
        return [item_row(i, self.sizes.owners) for i in range(base + 1, base + n + 1)]

    # ---------------------------------------------------------------- the operations

    def ops(self, key: str) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        """The contenders of one operation and an optional cleanup to run after it."""
        return getattr(self, f"op_{key}")()

    def _raw(
        self,
        pg: Timed | None,
        sq: Callable[[], Any] | None,
        aq: Timed | None,
        my: MyFactory | None = None,
    ) -> dict[str, Timed]:
        out: dict[str, Timed] = {}
        if self.backend == "postgres":
            if pg is not None:
                out["asyncpg"] = pg
        elif self.backend == "mysql":
            if my is not None:
                for d in self.my_drivers:
                    out[d.name] = my(d)
        else:
            if sq is not None:
                sync = sq

                async def run_sync() -> None:
                    sync()

                out["sqlite3"] = run_sync
            if aq is not None and self.aq is not None:
                out["aiosqlite"] = aq
        return out

    def _with(
        self, raw: dict[str, Timed], engine: Timed, orm: Timed | None, setup: Setup
    ) -> dict[str, tuple[Timed, Setup]]:
        out = {name: (fn, setup) for name, fn in raw.items()}
        out["engine"] = (engine, setup)
        if orm is not None and self.orm is not None:
            out["orm"] = (orm, setup)
        return out

    def op_bulk_insert(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        rows = self.new_rows(self.sizes.bulk_insert)
        sq_rows = [sqlite3_params(r) for r in rows]
        sql = self.insert_item_sql()

        async def pg() -> None:
            await self.apg.executemany(sql, rows)

        def sq() -> None:
            assert self.sq is not None
            self.sq.execute("BEGIN")
            self.sq.executemany(sql, sq_rows)
            self.sq.execute("COMMIT")

        async def aq() -> None:
            await self.aq.execute("BEGIN")
            await self.aq.executemany(sql, sq_rows)
            await self.aq.execute("COMMIT")

        my_sql, my_rows = pyformat(sql), [mysql_params(r) for r in rows]

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                # Both drivers rewrite an INSERT's executemany into multi-row VALUES.
                async with d.conn.cursor() as cur:
                    await cur.executemany(my_sql, my_rows)

            return run

        async def engine() -> None:
            await self.engine.execute_many(sql, rows)

        orm_fn = None
        if self.orm is not None:
            item = self.orm.Item
            bulk_kwargs = [item_kwargs(r, self.orm.has_fk) for r in rows]

            async def orm_fn() -> None:
                await item.bulk_create([item(**kw) for kw in bulk_kwargs])

        return self._with(self._raw(pg, sq, aq, my), engine, orm_fn, self.delete_extra), self.delete_extra

    def op_single_insert(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        rows = self.new_rows(self.sizes.single_inserts)
        sq_rows = [sqlite3_params(r) for r in rows]
        sql = self.insert_item_sql()

        async def pg() -> None:
            for r in rows:
                await self.apg.execute(sql, *r)

        def sq() -> None:
            assert self.sq is not None
            for r in sq_rows:
                self.sq.execute(sql, r)

        async def aq() -> None:
            for r in sq_rows:
                await self.aq.execute(sql, r)

        my_sql, my_rows = pyformat(sql), [mysql_params(r) for r in rows]

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async with d.conn.cursor() as cur:
                    for r in my_rows:
                        await cur.execute(my_sql, r)

            return run

        async def engine() -> None:
            for r in rows:
                await self.engine.execute(sql, r)

        orm_fn = None
        if self.orm is not None:
            item = self.orm.Item
            single_kwargs = [item_kwargs(r, self.orm.has_fk) for r in rows]

            async def orm_fn() -> None:
                for kw in single_kwargs:
                    await item.create(**kw)

        return self._with(self._raw(pg, sq, aq, my), engine, orm_fn, self.delete_extra), self.delete_extra

    def _fetch_op(
        self,
        sql: str,
        params: list[Any],
        plan: DecodePlan,
        expect: int | None,
        orm_query: Callable[[], Any] | None,
    ) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        sql = self.sql(sql)
        tparams = tuple(params)

        def check(n: int) -> None:
            if expect is not None and n != expect:
                raise AssertionError(f"fetched {n} rows, expected {expect}")

        async def pg() -> None:
            check(len(await self.apg.fetch(sql, *tparams)))

        def sq() -> None:
            assert self.sq is not None
            check(len(self.sq.execute(sql, tparams).fetchall()))

        async def aq() -> None:
            async with self.aq.execute(sql, tparams) as cur:
                check(len(await cur.fetchall()))

        my_sql, my_params = pyformat(sql), mysql_params(params)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async with d.conn.cursor() as cur:
                    await cur.execute(my_sql, my_params or None)
                    check(len(await cur.fetchall()))

            return run

        async def engine() -> None:
            check(len(plan(await self.engine.fetch(sql, params or None))))

        orm_fn = None
        if orm_query is not None and self.orm is not None:
            query = orm_query

            async def orm_fn() -> None:
                check(len(await query()))

        return self._with(self._raw(pg, sq, aq, my), engine, orm_fn, None), None

    def op_fetch_all(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm
        return self._fetch_op(
            SELECT_ITEM, [], self.item_plan, self.sizes.items, (lambda: orm.Item.all()) if orm else None
        )

    def op_filter(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm
        return self._fetch_op(
            SELECT_ITEM + " WHERE quantity < $1",
            [50],
            self.item_plan,
            None,
            (lambda: orm.Item.filter(quantity__lt=50)) if orm else None,
        )

    def op_wide_fetch(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm
        return self._fetch_op(
            SELECT_WIDE, [], self.wide_plan, self.sizes.wide_rows, (lambda: orm.Wide.all()) if orm else None
        )

    def op_get_by_pk(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        sql = self.sql(SELECT_ITEM + " WHERE id = $1")
        keys = [(i % self.sizes.items) + 1 for i in range(self.sizes.get_by_pk)]
        plan = self.item_plan

        async def pg() -> None:
            for k in keys:
                assert await self.apg.fetchrow(sql, k) is not None

        def sq() -> None:
            assert self.sq is not None
            for k in keys:
                assert self.sq.execute(sql, (k,)).fetchone() is not None

        async def aq() -> None:
            for k in keys:
                async with self.aq.execute(sql, (k,)) as cur:
                    assert await cur.fetchone() is not None

        my_sql = pyformat(sql)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async with d.conn.cursor() as cur:
                    for k in keys:
                        await cur.execute(my_sql, (k,))
                        assert await cur.fetchone() is not None

            return run

        async def engine() -> None:
            for k in keys:
                row = await self.engine.fetch_one(sql, (k,))
                assert row is not None
                plan([row])

        orm_fn = None
        if self.orm is not None:
            item = self.orm.Item

            async def orm_fn() -> None:
                for k in keys:
                    await item.get(id=k)

        return self._with(self._raw(pg, sq, aq, my), engine, orm_fn, None), None

    def op_concurrent_get(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        sql = self.sql(SELECT_ITEM + " WHERE id = $1")
        s = self.sizes
        plan = self.item_plan

        def keys(t: int) -> list[int]:
            return [((t * s.gets_per_task + j) % s.items) + 1 for j in range(s.gets_per_task)]

        async def fan_out(worker: Callable[[int], Awaitable[None]]) -> None:
            await asyncio.gather(*(worker(t) for t in range(s.tasks)))

        async def pg() -> None:
            async def worker(t: int) -> None:
                for k in keys(t):
                    assert await self.apg_pool.fetchrow(sql, k) is not None

            await fan_out(worker)

        async def sq_async() -> None:
            assert self.sq is not None
            conn = self.sq

            async def worker(t: int) -> None:
                for k in keys(t):
                    assert conn.execute(sql, (k,)).fetchone() is not None
                    await asyncio.sleep(0)

            await fan_out(worker)

        async def aq() -> None:
            free: asyncio.Queue[Any] = asyncio.Queue()
            for conn in self.aq_pool:
                free.put_nowait(conn)

            async def worker(t: int) -> None:
                for k in keys(t):
                    conn = await free.get()
                    try:
                        async with conn.execute(sql, (k,)) as cur:
                            assert await cur.fetchone() is not None
                    finally:
                        free.put_nowait(conn)

            await fan_out(worker)

        async def engine() -> None:
            async def worker(t: int) -> None:
                for k in keys(t):
                    row = await self.engine.fetch_one(sql, (k,))
                    assert row is not None
                    plan([row])

            await fan_out(worker)

        orm_fn = None
        if self.orm is not None:
            item = self.orm.Item

            async def orm_fn() -> None:
                async def worker(t: int) -> None:
                    for k in keys(t):
                        await item.get(id=k)

                await fan_out(worker)

        my_sql = pyformat(sql)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async def worker(t: int) -> None:
                    for k in keys(t):
                        # One pool checkout per query, as asyncpg's pool.fetchrow does.
                        async with d.pool.acquire() as conn, conn.cursor() as cur:
                            await cur.execute(my_sql, (k,))
                            assert await cur.fetchone() is not None

                await fan_out(worker)

            return run

        raw: dict[str, Timed] = {}
        if self.backend == "postgres":
            raw["asyncpg"] = pg
        elif self.backend == "mysql":
            raw = self._raw(None, None, None, my)
        else:
            raw["sqlite3"] = sq_async
            if self.aq is not None:
                raw["aiosqlite"] = aq  # a queue of 10 connections stands in for a pool
        return self._with(raw, engine, orm_fn, None), None

    def _scalar_op(
        self, sql: str, params: list[Any], orm_query: Callable[[], Awaitable[Any]] | None
    ) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        sql = self.sql(sql)
        tparams = tuple(params)

        async def pg() -> None:
            await self.apg.fetch(sql, *tparams)

        def sq() -> None:
            assert self.sq is not None
            self.sq.execute(sql, tparams).fetchall()

        async def aq() -> None:
            async with self.aq.execute(sql, tparams) as cur:
                await cur.fetchall()

        my_sql, my_params = pyformat(sql), mysql_params(params)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async with d.conn.cursor() as cur:
                    await cur.execute(my_sql, my_params or None)
                    await cur.fetchall()

            return run

        async def engine() -> None:
            await self.engine.fetch(sql, params or None)

        contenders = self._with(self._raw(pg, sq, aq, my), engine, orm_query if self.orm else None, None)
        self._repeat = self.sizes.small_repeat
        return {name: (self.repeated(fn), setup) for name, (fn, setup) in contenders.items()}, None

    def repeated(self, fn: Timed) -> Timed:
        """``fn`` run ``self._repeat`` times in a row (one timed sample)."""
        n = self._repeat
        if n <= 1:
            return fn

        async def run() -> None:
            for _ in range(n):
                await fn()

        return run

    def op_count(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm

        async def orm_fn() -> None:
            assert orm is not None
            assert await orm.Item.all().count() == self.sizes.items

        return self._scalar_op("SELECT count(*) FROM item", [], orm_fn)

    def op_group_by(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm

        async def orm_fn() -> None:
            assert orm is not None
            from yara_orm.functions import Count, Sum

            rows = await (
                orm.Item.annotate(n=Count("id"), total=Sum("quantity"))
                .group_by("status")
                .filter(n__gt=10)
                .values("status", "n", "total")
            )
            assert len(rows) == 3

        return self._scalar_op(
            "SELECT status, count(id) AS n, sum(quantity) AS total FROM item "
            "GROUP BY status HAVING count(id) > $1",
            [10],
            orm_fn,
        )

    def _write_op(
        self, sql: str, params: list[Any], orm_fn: Timed | None, setup: Setup
    ) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        sql = self.sql(sql)
        tparams = tuple(params)
        sq_params = sqlite3_params(tparams)

        async def pg() -> None:
            await self.apg.execute(sql, *tparams)

        def sq() -> None:
            assert self.sq is not None
            self.sq.execute(sql, sq_params)

        async def aq() -> None:
            await self.aq.execute(sql, sq_params)

        my_sql, my_params = pyformat(sql), mysql_params(params)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async with d.conn.cursor() as cur:
                    await cur.execute(my_sql, my_params)

            return run

        async def engine() -> None:
            await self.engine.execute(sql, params)

        return self._with(self._raw(pg, sq, aq, my), engine, orm_fn if self.orm else None, setup), setup

    def op_bulk_update(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm

        async def orm_fn() -> None:
            assert orm is not None
            await orm.Item.filter(active=True).update(rating=1.5)

        return self._write_op("UPDATE item SET rating = $1 WHERE active = $2", [1.5, True], orm_fn, None)

    def op_bulk_delete(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        orm = self.orm
        rows = self.new_rows(self.sizes.bulk_insert)
        insert = self.insert_item_sql()

        async def refill() -> None:
            await self.delete_extra()
            await self.engine.execute_many(insert, rows)

        async def orm_fn() -> None:
            assert orm is not None
            await orm.Item.filter(id__gt=self.sizes.items).delete()

        contenders, _ = self._write_op("DELETE FROM item WHERE id > $1", [self.sizes.items], orm_fn, refill)
        return contenders, self.delete_extra

    def op_prefetch(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        owners_sql = "SELECT id, name FROM owner"
        pg_items_sql = f"SELECT {', '.join(ITEM_COLUMNS)}, owner_id FROM item WHERE owner_id = ANY($1)"
        n_owners = self.sizes.owners
        marks = ", ".join("?" * n_owners)
        in_sql = f"SELECT {', '.join(ITEM_COLUMNS)}, owner_id FROM item WHERE owner_id IN ({marks})"
        item_plan = DecodePlan(self.item_plan.cls, (*ITEM_COLUMNS, "owner_id"), CONVERTERS)
        owner_plan = self.owner_plan

        def group(owner_ids: list[int], items: list[Any], key: Callable[[Any], int]) -> dict[int, list[Any]]:
            by_owner: dict[int, list[Any]] = {i: [] for i in owner_ids}
            for it in items:
                by_owner[key(it)].append(it)
            return by_owner

        async def pg() -> None:
            owners = await self.apg.fetch(owners_sql)
            ids = [o[0] for o in owners]
            items = await self.apg.fetch(pg_items_sql, ids)
            group(ids, items, lambda r: r[10])

        def sq() -> None:
            assert self.sq is not None
            owners = self.sq.execute(owners_sql).fetchall()
            ids = [o[0] for o in owners]
            items = self.sq.execute(in_sql, ids).fetchall()
            group(ids, items, lambda r: r[10])

        async def aq() -> None:
            async with self.aq.execute(owners_sql) as cur:
                owners = await cur.fetchall()
            ids = [o[0] for o in owners]
            async with self.aq.execute(in_sql, ids) as cur:
                items = await cur.fetchall()
            group(ids, items, lambda r: r[10])

        my_in_sql = pyformat(in_sql)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                async with d.conn.cursor() as cur:
                    await cur.execute(owners_sql)
                    owners = await cur.fetchall()
                    ids = [o[0] for o in owners]
                    await cur.execute(my_in_sql, ids)
                    items = await cur.fetchall()
                group(ids, list(items), lambda r: r[10])

            return run

        async def engine() -> None:
            owners = owner_plan(await self.engine.fetch(owners_sql))
            ids = [o.id for o in owners]
            if self.backend == "postgres":
                rows = await self.engine.fetch(pg_items_sql, [ids])
            else:
                rows = await self.engine.fetch(in_sql, ids)
            by_owner = group(ids, item_plan(rows), lambda it: it.owner_id)
            for o in owners:
                o.items = by_owner[o.id]

        orm_fn = None
        if self.orm is not None and self.orm.has_fk:
            owner_model = self.orm.Owner

            async def orm_fn() -> None:
                owners = await owner_model.all().prefetch_related("items")
                assert len(owners) == n_owners

        contenders = self._with(self._raw(pg, sq, aq, my), engine, orm_fn, None)
        if self.orm is not None and not self.orm.has_fk:
            self._unavailable["orm"] = "not available yet: the ORM has no ForeignKeyField"
        return contenders, None

    def op_stream(self) -> tuple[dict[str, tuple[Timed, Setup]], Setup]:
        sql = "SELECT id, name, value FROM stream"
        n_rows, chunk = self.sizes.stream_rows, self.sizes.chunk
        self._peaks: dict[str, list[float]] = {}
        self._rss0 = 0

        async def reset() -> None:
            reset_peak_rss()
            self._rss0 = rss_kb("VmRSS")

        def note(name: str, n: int) -> None:
            if n != n_rows:
                raise AssertionError(f"streamed {n} rows, expected {n_rows}")
            self._peaks.setdefault(name, []).append((rss_kb("VmHWM") - self._rss0) / 1024)

        async def pg() -> None:
            n = 0
            async with self.apg.transaction():
                cur = await self.apg.cursor(sql)
                while rows := await cur.fetch(chunk):
                    n += len(rows)
            note("asyncpg", n)

        def sq() -> None:
            assert self.sq is not None
            cur = self.sq.execute(sql)
            n = 0
            while rows := cur.fetchmany(chunk):
                n += len(rows)
            note("sqlite3", n)

        async def aq() -> None:
            n = 0
            async with self.aq.execute(sql) as cur:
                while rows := await cur.fetchmany(chunk):
                    n += len(rows)
            note("aiosqlite", n)

        def my(d: MyDriver) -> Timed:
            async def run() -> None:
                n = 0
                # The drivers' unbuffered cursors read rows off the socket as they are fetched.
                async with d.conn.cursor(d.sscursor) as cur:
                    await cur.execute(sql)
                    while rows := await cur.fetchmany(chunk):
                        n += len(rows)
                note(d.name, n)

            return run

        async def engine() -> None:
            cur = await self.engine.cursor(sql, None, chunk)
            n = 0
            try:
                while rows := await cur.fetch_chunk():
                    n += len(rows)
            finally:
                await cur.close()
            note("engine", n)

        orm_fn = None
        if self.orm is not None:
            stream_model = self.orm.Stream

            async def orm_fn() -> None:
                n = 0
                async for _ in stream_model.all().iterator(chunk_size=chunk):
                    n += 1
                note("orm", n)

        contenders = {
            name: (fn, reset)
            for name, (fn, _) in self._with(self._raw(pg, sq, aq, my), engine, orm_fn, None).items()
        }
        return contenders, None

    # ---------------------------------------------------------------- running

    async def run_op(self, key: str, label: str) -> OpResult:
        self._unavailable: dict[str, str] = {}
        self._repeat = 1
        contenders, cleanup = self.ops(key)
        errors: dict[str, str] = dict(self._unavailable)
        statements: dict[str, int] = {}
        working: list[tuple[str, Timed, Setup]] = []
        for name, (fn, setup) in contenders.items():
            # One untimed trial run: a contender that fails is reported, not timed.
            try:
                if setup is not None:
                    await setup()
                if name == "orm" and self.orm is not None:
                    with self.orm.counting() as counter:
                        await fn()
                    if counter is not None:
                        statements[name] = counter.count // self._repeat
                else:
                    await fn()
                working.append((name, fn, setup))
            except Exception as exc:
                errors[name] = describe_error(exc)
        rounds = self.rounds_for.get(key, self.rounds) if self.rounds > 0 else 0
        samples = await interleaved(working, rounds, warmup=0) if rounds > 0 else {}
        if cleanup is not None:
            await cleanup()
        result = OpResult(key, label.format(**vars(self.sizes)), samples, errors, statements)
        if key == "stream":
            import statistics

            result.peak_mb = {k: statistics.median(v[-rounds:]) for k, v in self._peaks.items()}
        return result


async def run_backend(
    backend: str,
    sizes: Sizes,
    rounds: int,
    ops: Sequence[str],
    with_orm: bool,
    log: Callable[[str], None],
    rounds_for: Mapping[str, int] | None = None,
) -> BackendResult:
    async def go(url: str) -> BackendResult:
        bench = Bench(backend, url, sizes, rounds, rounds_for)
        await bench.open(with_orm)
        try:
            results = []
            for key, label in OPS:
                if key in ops:
                    log(f"[{backend}] {key} ...")
                    results.append(await bench.run_op(key, label))
            return BackendResult(backend, bench.baseline, results, bench.orm_status)
        finally:
            await bench.close()

    if backend == "postgres":
        async with scratch_postgres() as url:
            return await go(url)
    if backend == "mysql":
        async with scratch_mysql() as url:
            return await go(url)
    async with scratch_sqlite() as path:
        return await go(sqlite_url(path))


def report(result: BackendResult) -> str:
    base = result.baseline
    others = sorted({n for op in result.ops for n in op.samples} - {base, "engine", "orm"})
    headers = [
        "operation",
        f"{base} ms",
        *(f"{o} ms" for o in others),
        "engine ms",
        f"engine/{base}",
        "orm ms",
        f"orm/{base}",
        f"orm cpu/{base} cpu",
        "orm stmts",
    ]
    rows = []
    notes = []
    for op in result.ops:
        s = op.samples

        def ms(name: str, op: OpResult = op, s: dict[str, Samples] = s) -> str:
            if name in s:
                return f"{s[name].median_ms:.3g}" if s[name].median_ms < 100 else f"{s[name].median_ms:.0f}"
            return "see note" if name in op.errors else "n/a"

        def ratio(name: str, op: OpResult = op) -> str:
            r = op.ratio(name, base)
            return f"{r:.2f}x" if r is not None else "n/a"

        def cpu_ratio(name: str, s: dict[str, Samples] = s) -> str:
            if name in s and base in s and s[base].cpu_median > 0:
                return f"{s[name].cpu_median / s[base].cpu_median:.2f}x"
            return "n/a"

        rows.append(
            [
                op.label,
                ms(base),
                *(ms(o) for o in others),
                ms("engine"),
                ratio("engine"),
                ms("orm"),
                ratio("orm"),
                cpu_ratio("orm"),
                op.statements.get("orm", "n/a"),
            ]
        )
        for name, err in op.errors.items():
            notes.append(f"- {op.key} / {name}: {err}")
        if op.peak_mb:
            peaks = ", ".join(f"{k} {v:.0f} MB" for k, v in op.peak_mb.items())
            notes.append(f"- {op.key}: peak RSS growth while streaming (median): {peaks}")
    out = [f"### {result.backend} (ratios to {base}; orm: {result.orm_status})", "", md_table(headers, rows)]
    if notes:
        out += ["", *notes]
    return "\n".join(out)


def to_json(results: Sequence[BackendResult]) -> dict[str, Any]:
    return {
        r.backend: {
            "baseline": r.baseline,
            "orm_status": r.orm_status,
            "ops": {
                op.key: {
                    "label": op.label,
                    "median_ms": {k: v.median_ms for k, v in op.samples.items()},
                    "median_cpu_ms": {k: v.cpu_median * 1000 for k, v in op.samples.items()},
                    "errors": op.errors,
                    "statements": op.statements,
                    "peak_mb": op.peak_mb,
                }
                for op in r.ops
            },
        }
        for r in results
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller data sizes, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "mysql", "both", "all"], default="both")
    parser.add_argument("--ops", default=",".join(k for k, _ in OPS), help="comma-separated operation keys")
    parser.add_argument("--no-orm", action="store_true")
    parser.add_argument("--json", help="also write the medians to this JSON file")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    rounds = args.rounds or (3 if args.quick else 5)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    unknown = set(ops) - {k for k, _ in OPS}
    if unknown:
        parser.error(f"unknown operations: {', '.join(sorted(unknown))}")
    groups = {"both": ["sqlite", "postgres"], "all": ["sqlite", "postgres", "mysql"]}
    backends = groups.get(args.backend, [args.backend])

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    async def go() -> list[BackendResult]:
        return [await run_backend(b, sizes, rounds, ops, not args.no_orm, log) for b in backends]

    try:
        results = asyncio.run(go())
    except DatabaseMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mode = "quick" if args.quick else "full"
    print(f"## Overhead vs the raw drivers ({mode} sizes, {rounds} interleaved rounds, medians)\n")
    for r in results:
        print(report(r))
        print()
    print(f"Machine: {machine_note()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(results), f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
