"""Clean shutdown: a process that exits with open pools, in-flight queries and pending
transactions neither aborts nor hangs, and the database rolls the pending work back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from yara_orm import connect

from ._util import unique_name

RUNS = 10
TIMEOUT = 30.0
MODES = ("return", "sys_exit", "abandon_loop", "daemon_thread", "exception")

SCRIPT = r"""
import asyncio
import sys
import threading

import yara_orm

pg_url, sqlite_url, pg_table, mode = sys.argv[1:5]
KEEP = []
SLOW_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c"
)


async def start():
    pg = await yara_orm.connect(pg_url, max_size=4)
    lite = await yara_orm.connect(sqlite_url, max_size=3)
    await lite.execute("CREATE TABLE IF NOT EXISTS pending (v TEXT)")
    # Open transactions with uncommitted rows, on both backends.
    pg_tx = await pg.engine.begin()
    await pg_tx.execute(f"INSERT INTO {pg_table} (v) VALUES ($1)", ["uncommitted"])
    lite_tx = await lite.engine.begin()
    await lite_tx.execute("INSERT INTO pending (v) VALUES (?1)", ["uncommitted"])
    # In-flight statements on both backends, one of them inside a pool-level transaction.
    async def in_tx():
        async with pg.transaction():
            await pg.execute(f"INSERT INTO {pg_table} (v) VALUES ($1)", ["in-flight tx"])
            await pg.execute("SELECT pg_sleep(3)")

    tasks = [
        asyncio.ensure_future(pg.execute("SELECT pg_sleep(3)")),
        asyncio.ensure_future(in_tx()),
        asyncio.ensure_future(lite.fetch(SLOW_SQLITE)),
    ]
    await asyncio.sleep(0.15)
    KEEP.extend([pg, lite, pg_tx, lite_tx, tasks])
    if mode == "sys_exit":
        print("exiting", mode, flush=True)
        sys.exit(0)
    if mode == "exception":
        raise KeyboardInterrupt


if mode == "abandon_loop":
    # Leave the loop open with pending tasks and let the interpreter exit around it.
    loop = asyncio.new_event_loop()
    loop.run_until_complete(start())
elif mode == "daemon_thread":
    # A loop in a daemon thread, still running queries when the main thread exits.
    ready = threading.Event()

    def run():
        async def main():
            await start()
            ready.set()
            await asyncio.sleep(60)

        asyncio.run(main())

    threading.Thread(target=run, daemon=True).start()
    assert ready.wait(20)
elif mode == "exception":
    try:
        asyncio.run(start())
    except KeyboardInterrupt:
        pass
else:
    # "return": asyncio.run cancels the pending tasks; "sys_exit": SystemExit from inside the loop.
    asyncio.run(start())
print("exiting", mode, flush=True)
"""


async def _prepare_table(pg_url: str) -> str:
    table = unique_name("shutdown")
    async with await connect(pg_url) as pool:
        await pool.execute(f"CREATE TABLE {table} (v TEXT)")
    return table


async def _count(url: str, sql: str) -> int:
    async with await connect(url) as pool:
        rows = await pool.fetch(sql)
    return int(rows[0][0])


def test_exit_with_open_pools_and_inflight_work(pg_url: str, tmp_path: Path) -> None:
    table = asyncio.run(_prepare_table(pg_url))
    script = tmp_path / "exit_script.py"
    script.write_text(SCRIPT)
    runs = []
    started = time.monotonic()
    # Five at a time: exiting under some load is when a fragile shutdown shows.
    for batch in range(0, RUNS, 5):
        procs = []
        for i in range(batch, min(batch + 5, RUNS)):
            mode = MODES[i % len(MODES)]
            sqlite_url = f"sqlite:///{tmp_path / f'run{i}.db'}"
            procs.append(
                (
                    mode,
                    sqlite_url,
                    subprocess.Popen(
                        [sys.executable, str(script), pg_url, sqlite_url, table, mode],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    ),
                )
            )
        for mode, sqlite_url, proc in procs:
            try:
                out, err = proc.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"mode {mode}: the process hung at exit\n{err[-3000:]}") from None
            runs.append((mode, sqlite_url, proc.returncode, out, err))
    for mode, _, code, out, err in runs:
        assert code == 0, f"mode {mode}: exit code {code}\nstdout: {out[-500:]}\nstderr: {err[-3000:]}"
        assert f"exiting {mode}" in out, f"mode {mode}: the script did not reach its end\n{err[-3000:]}"
        for bad in ("panicked", "Fatal Python error", "Segmentation fault", "Aborted"):
            assert bad not in err, f"mode {mode}: {bad!r} in stderr\n{err[-3000:]}"
    assert time.monotonic() - started < 60
    # Nothing uncommitted survived: the servers rolled the pending transactions back.
    assert asyncio.run(_count(pg_url, f"SELECT count(*) FROM {table}")) == 0
    for _, sqlite_url, _, _, _ in runs:
        assert asyncio.run(_count(sqlite_url, "SELECT count(*) FROM pending")) == 0
