"""Where a fetch's time goes: one 5000-row query in a loop, with the CPU of each side.

Runs the same ``item`` fetch N times and prints the median wall time with three CPU figures
per call: the whole process (loop thread plus the engine's runtime threads), the loop thread
alone, and the database server's processes. On a 2-vCPU machine the three compete for the
same cores, so a fetch can be slower than its loop thread's work alone; the figures show which
side to make cheaper. It is the loop to run under ``perf record`` (see perf/README.md, "Where
a fetch's time goes").

    .venv/bin/python perf/fetch_loop.py [--backend mysql|postgres] [--mode orm|tuples|read|driver]
                                        [--iterations N] [--heap N] [--no-gc]

Modes: ``orm`` (``Item.all()``, instances), ``tuples`` (the engine's ``fetch``), ``read`` (the
engine runs the SELECT and reads every row without decoding it: the driver's floor) and
``driver`` (the raw driver, asyncpg or asyncmy).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from common import (
    ITEM_COLUMNS,
    connect_engine,
    item_ddl,
    item_insert_sql,
    item_row,
    mysql_connect_kwargs,
    scratch_mysql,
    scratch_postgres,
)
from orm_adapter import load as load_orm

ROWS = 5000
SERVER_PROCESS = {"mysql": "mariadbd", "postgres": "postgres"}


def server_cpu(backend: str) -> float:
    """CPU seconds used so far by every process of the database server on this machine."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                name, rest = f.read().split(" (", 1)[1].split(") ", 1)
        except OSError:
            continue
        if name.startswith(SERVER_PROCESS[backend]):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def driver_query(backend: str, url: str, sql: str) -> tuple[Callable[[], Awaitable[Any]], Any]:
    """The raw driver's fetch of ``sql`` and its connection (to close)."""
    if backend == "postgres":
        import asyncpg

        conn = await asyncpg.connect(url)
        return (lambda: conn.fetch(sql)), conn
    import asyncmy

    kwargs = mysql_connect_kwargs(url)
    kwargs["database"] = kwargs.pop("db")
    conn = await asyncmy.connect(autocommit=True, **kwargs)

    async def fetch() -> Any:
        async with conn.cursor() as cur:
            await cur.execute(sql)
            return await cur.fetchall()

    return fetch, conn


async def main(backend: str, mode: str, iterations: int, heap: int, no_gc: bool) -> None:
    # Long-lived objects, as an application has (models, caches, framework state): the cyclic
    # collector's older generations grow with them, and so does the cost of the collections a
    # fetch's new objects set off.
    kept = [{"n": i, "items": [i]} for i in range(heap)]
    scratch = scratch_mysql if backend == "mysql" else scratch_postgres
    async with scratch() as url:
        engine = await connect_engine(url, max_size=2)
        await engine.execute(item_ddl(backend))
        await engine.execute("CREATE TABLE owner (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        await engine.execute_many(item_insert_sql(backend), [list(item_row(i)) for i in range(1, ROWS + 1)])
        sql = f"SELECT {', '.join((*ITEM_COLUMNS, 'owner_id'))} FROM item"
        orm: Any = None
        driver: Any = None
        query: Callable[[], Awaitable[Any]]
        if mode == "orm":
            orm = await load_orm(url)
            if isinstance(orm, str):
                raise SystemExit(f"the ORM did not load: {orm}")
            query = orm.Item.all
        elif mode == "tuples":
            query = lambda: engine.fetch(sql)  # noqa: E731
        elif mode == "read":
            query = lambda: engine.execute(sql)  # noqa: E731
        else:
            query, driver = await driver_query(backend, url, sql)
        for _ in range(20):
            result = await query()
        assert mode == "read" or len(result) == ROWS, len(result)
        walls = []
        if no_gc:
            # As vs_driver and peers time their calls: the collector's share left out.
            gc.disable()
        server0, process0, thread0 = server_cpu(backend), time.process_time(), time.thread_time()
        for _ in range(iterations):
            start = time.perf_counter()
            await query()
            walls.append(time.perf_counter() - start)
        server1, process1, thread1 = server_cpu(backend), time.process_time(), time.thread_time()
        gc.enable()
        per_call = 1000.0 / iterations
        print(
            f"{backend} {mode}: median {statistics.median(walls) * 1000:.2f} ms, CPU per call: "
            f"process {(process1 - process0) * per_call:.2f} ms, loop thread "
            f"{(thread1 - thread0) * per_call:.2f} ms, server {(server1 - server0) * per_call:.2f} ms"
        )
        if orm is not None:
            await orm._close()
        if driver is not None:
            closed = driver.close()
            if asyncio.iscoroutine(closed):
                await closed
        await engine.close()
    del kept


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("mysql", "postgres"), default="mysql")
    parser.add_argument("--mode", choices=("orm", "tuples", "read", "driver"), default="orm")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--heap", type=int, default=0, help="long-lived dicts to keep alive (an app's heap)")
    parser.add_argument("--no-gc", action="store_true", help="cyclic collector off while timing")
    args = parser.parse_args()
    asyncio.run(main(args.backend, args.mode, args.iterations, args.heap, args.no_gc))
