"""Soak run (``make soak``, not part of ``make test``): many tasks on a small PostgreSQL pool for
a long time, with cancellations and transactions mixed in; prints ops/s and RSS as it goes and
checks at the end that nothing was lost, duplicated or left open.

    .venv/bin/python scripts/soak.py [--tasks 1000] [--pool 10] [--seconds 600] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from yara_orm import connect


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def soak(url: str, tasks: int, pool_size: int, seconds: float) -> int:
    app = f"yara_soak_{uuid.uuid4().hex[:8]}"
    pool = await connect(f"{url}{'&' if '?' in url else '?'}application_name={app}", max_size=pool_size)
    table = f"soak_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, worker INT NOT NULL)")
    deadline = time.monotonic() + seconds
    ops = 0
    committed: set[int] = set()
    maybe: set[int] = set()
    errors: dict[str, int] = {}
    next_id = iter(range(1, 10**12))

    async def worker(w: int) -> None:
        nonlocal ops
        rng = random.Random(w)
        while time.monotonic() < deadline:
            kind = rng.random()
            try:
                if kind < 0.6:
                    await pool.fetch_one("SELECT $1::int", [w])
                elif kind < 0.9:
                    key = next(next_id)
                    maybe.add(key)
                    async with pool.transaction() as tx:
                        await tx.execute(f"INSERT INTO {table} (id, worker) VALUES ($1, $2)", [key, w])
                    committed.add(key)
                else:
                    key = next(next_id)
                    maybe.add(key)

                    async def cancelled(key: int = key) -> None:
                        async with pool.transaction() as tx:
                            await tx.execute(f"INSERT INTO {table} (id, worker) VALUES ($1, $2)", [key, w])
                            await tx.execute("SELECT pg_sleep(0.05)")

                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(cancelled(), rng.uniform(0.0, 0.03))
                ops += 1
            except Exception as exc:  # counted and reported: a soak never stops on one error
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    async def report() -> None:
        last, start = 0, time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(10)
            now = time.monotonic()
            print(
                f"{now - start:6.0f} s  {(ops - last) / 10:8.0f} ops/s  rss {rss_mb():6.1f} MB  "
                f"pool {pool.status()}  errors {errors}",
                flush=True,
            )
            last = ops

    start = time.monotonic()
    rss0 = rss_mb()
    await asyncio.gather(report(), *(worker(w) for w in range(tasks)))
    elapsed = time.monotonic() - start
    ids = {row[0] for row in await pool.fetch(f"SELECT id FROM {table}")}
    lost = committed - ids
    phantom = ids - maybe
    await asyncio.sleep(1)
    lingering = await pool.fetch(
        "SELECT state FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle' "
        "AND pid <> pg_backend_pid()",
        [app],
    )
    await pool.execute(f"DROP TABLE {table}")
    await pool.close()
    print(
        f"soak: {tasks} tasks, pool {pool_size}, {elapsed:.0f} s, {ops} ops ({ops / elapsed:.0f} ops/s), "
        f"rss {rss0:.1f} -> {rss_mb():.1f} MB, committed {len(committed)}, lost {len(lost)}, "
        f"rows without a caller {len(phantom)}, sessions not idle at the end {len(lingering)}, "
        f"errors {errors}"
    )
    return 1 if lost or phantom or lingering else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument(
        "--url", default=os.environ.get("YARA_PG_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    return asyncio.run(soak(args.url, args.tasks, args.pool, args.seconds))


if __name__ == "__main__":
    sys.exit(main())
