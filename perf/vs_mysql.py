"""MariaDB/MySQL: the engine against the raw asyncio drivers asyncmy and aiomysql.

Two operations, hand-written SQL on every contender: ``point`` (100 sequential primary-key
lookups, one row each) and ``fetch`` (all 1000 rows of an 8-column table). The raw drivers
return their own tuples and get their parameters ready-made; "engine" is the engine pool's
positional rows. Contenders run interleaved (``common.interleaved``), medians are compared,
ratios are to the fastest raw driver. The peers come from perf/requirements-peers.txt.

    python perf/vs_mysql.py [--rounds N] [--url mysql://root@127.0.0.1:3306/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from typing import Any
from urllib.parse import urlsplit

import yara_orm

from common import interleaved, machine_note, md_table

ROWS = 1000
POINTS = 100


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--url", default=os.environ.get("YARA_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))
    ns = parser.parse_args()
    try:
        import aiomysql
        import asyncmy
    except ImportError as exc:
        print(f"vs_mysql: the peers are missing ({exc}); pip install -r perf/requirements-peers.txt")
        return 1
    parts = urlsplit(ns.url)
    conn_kw: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
        "db": parts.path.lstrip("/"),
    }
    table = f"perf_{uuid.uuid4().hex[:8]}"
    pool = await yara_orm.connect(ns.url, max_size=2)
    await pool.execute(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(50), qty INT, price DECIMAL(10,2),"
        " ok BOOL, at DATETIME(6), note VARCHAR(200), score DOUBLE) ENGINE=InnoDB"
    )
    try:
        await pool.execute_many(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?, ?)",
            [[i, f"item {i}", i % 97, f"{i}.25", i % 2 == 0, f"note {i}" * 3, i / 7] for i in range(ROWS)],
        )
        my = await asyncmy.connect(
            **{**{k: v for k, v in conn_kw.items() if k != "db"}, "database": conn_kw["db"]}
        )
        aio = await aiomysql.connect(**conn_kw, autocommit=True)
        point_sql = f"SELECT * FROM {table} WHERE id = ?"
        fetch_sql = f"SELECT * FROM {table}"
        peer_point = f"SELECT * FROM {table} WHERE id = %s"

        async def engine_point() -> None:
            for i in range(POINTS):
                await pool.fetch_one(point_sql, [i])

        async def engine_fetch() -> None:
            assert len(await pool.fetch(fetch_sql)) == ROWS

        def cursor_ops(conn: Any) -> tuple[Any, Any]:
            async def point() -> None:
                async with conn.cursor() as cur:
                    for i in range(POINTS):
                        await cur.execute(peer_point, (i,))
                        await cur.fetchone()

            async def fetch() -> None:
                async with conn.cursor() as cur:
                    await cur.execute(fetch_sql)
                    assert len(await cur.fetchall()) == ROWS

            return point, fetch

        my_point, my_fetch = cursor_ops(my)
        aio_point, aio_fetch = cursor_ops(aio)
        rows = []
        for op, contenders in (
            ("point", [("engine", engine_point), ("asyncmy", my_point), ("aiomysql", aio_point)]),
            ("fetch", [("engine", engine_fetch), ("asyncmy", my_fetch), ("aiomysql", aio_fetch)]),
        ):
            samples = await interleaved([(n, t, None) for n, t in contenders], ns.rounds)
            best_raw = min(samples["asyncmy"].median, samples["aiomysql"].median)
            for name, s in samples.items():
                rows.append((op, name, s.median * 1000, s.median / best_raw))
        my.close()
        aio.close()
    finally:
        await pool.execute(f"DROP TABLE IF EXISTS {table}")
        await pool.close()
    server = "MariaDB/MySQL"
    print(f"{server}, {ROWS}-row fetch and {POINTS} point queries; {machine_note()}")
    print(md_table(["op", "contender", "median ms", "x fastest raw driver"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
