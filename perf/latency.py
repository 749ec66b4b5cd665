"""Point-query latency and CPU per statement: raw asyncpg against the engine, interleaved.

The busy-poll window of the engine's runtime trades CPU for latency; this shows both sides of
the trade on this machine, with the window as configured (``YARA_ENGINE_BUSY_POLL_US`` or
``--busy-poll-us``). Run it once quiet and once with the other cores loaded (``--load N`` starts
N spinning processes) to see how the window behaves under contention.

    .venv/bin/python perf/latency.py [--statements N] [--rounds N] [--busy-poll-us US] [--load N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

from common import PostgresMissing, connect_engine, machine_note, md_table, scratch_postgres


def spin() -> None:
    while True:
        pass


async def measure(statements: int, rounds: int) -> list[list[str]]:
    import asyncpg
    from yara_orm import runtime

    async with scratch_postgres() as url:
        engine = await connect_engine(url, max_size=4)
        await engine.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        await engine.execute("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g")
        apg = await asyncpg.connect(url)
        sql = "SELECT id, name FROM t WHERE id = $1"
        keys = [i % 1000 + 1 for i in range(statements)]

        async def with_asyncpg() -> None:
            for k in keys:
                await apg.fetchrow(sql, k)

        async def with_engine() -> None:
            for k in keys:
                await engine.fetch_one(sql, (k,))

        contenders: dict[str, Callable[[], Awaitable[None]]] = {
            "asyncpg": with_asyncpg,
            "engine": with_engine,
        }
        wall: dict[str, list[float]] = {k: [] for k in contenders}
        cpu: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(rounds + 1):
            names = list(contenders)
            for name in names[r % 2 :] + names[: r % 2]:
                gc.collect()
                gc.disable()
                c, t = time.process_time(), time.perf_counter()
                await contenders[name]()
                w, c = time.perf_counter() - t, time.process_time() - c
                gc.enable()
                if r:  # the first round warms up
                    wall[name].append(w)
                    cpu[name].append(c)
        await apg.close()
        await engine.close()
        busy_poll = runtime.settings()["busy_poll_us"]
    rows = []
    base_wall = statistics.median(wall["asyncpg"])
    base_cpu = statistics.median(cpu["asyncpg"])
    for name in contenders:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        label = name if name == "asyncpg" else f"engine (busy_poll_us={busy_poll})"
        rows.append(
            [
                label,
                f"{w / statements * 1e6:.1f}",
                f"{w / base_wall:.2f}x",
                f"{c / statements * 1e6:.1f}",
                f"{c / base_cpu:.2f}x",
            ]
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statements", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--busy-poll-us", type=int, default=None)
    parser.add_argument("--load", type=int, default=0, help="spinning processes to start meanwhile")
    args = parser.parse_args(argv)
    if args.busy_poll_us is not None:
        from yara_orm import runtime

        runtime.configure(busy_poll_us=args.busy_poll_us)
    hogs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.load)]
    for hog in hogs:
        hog.start()
    try:
        rows = asyncio.run(measure(args.statements, args.rounds))
    except PostgresMissing as exc:
        print(f"PostgreSQL is required: {exc}", file=sys.stderr)
        return 2
    finally:
        for hog in hogs:
            hog.terminate()
    headers = ["contender", "µs / statement", "vs asyncpg", "CPU µs / statement", "CPU vs asyncpg"]
    print(f"## Sequential point queries ({args.statements} per round, {args.rounds} rounds, medians)\n")
    print(md_table(headers, rows))
    print(f"\n{machine_note()}; {args.load} spinning process(es) running meanwhile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
