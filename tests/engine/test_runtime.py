"""The engine's runtime settings: worker threads, the busy-poll window, and that busy-polling
stops once the process goes quiet (an idle process must not burn a CPU)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from yara_orm import connect, runtime
from yara_orm.exceptions import ConfigurationError


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (the runtime is process-wide and starts once)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("YARA_ENGINE_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environ, check=False
    )


@pytest.fixture
def restore_busy_poll() -> Iterator[None]:
    before = runtime.settings()["busy_poll_us"]
    yield
    runtime.configure(busy_poll_us=before)


def test_defaults_in_a_fresh_process() -> None:
    out = run_python("from yara_orm import runtime; print(runtime.settings())")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(
        {
            "worker_threads": 1,
            "busy_poll_us": 50,
            "started": False,
            "busy_polling": False,
            "running_workers": None,
        }
    )


ENGINE_THREADS = """
import asyncio
from yara_orm import connect, runtime
async def main(url):
    pool = await connect(url)
    await pool.fetch('SELECT 1')
    await pool.close()
asyncio.run(main(URL))
s = runtime.settings()
print(s['worker_threads'], s['busy_poll_us'], s['started'], s['running_workers'])
"""


@pytest.mark.parametrize("threads", ["1", "3"])
def test_environment_sets_both_knobs_and_the_runtime_honours_them(pg_url: str, threads: str) -> None:
    code = ENGINE_THREADS.replace("URL", repr(pg_url))
    out = run_python(code, YARA_ENGINE_THREADS=threads, YARA_ENGINE_BUSY_POLL_US="0")
    assert out.returncode == 0, out.stderr
    # The last number is tokio's own count of the running runtime's workers.
    assert out.stdout.split() == [threads, "0", "True", threads]


@pytest.mark.parametrize(
    ("name", "value"),
    [("YARA_ENGINE_THREADS", "two"), ("YARA_ENGINE_BUSY_POLL_US", "-5"), ("YARA_ENGINE_THREADS", "0")],
)
def test_a_bad_environment_value_fails_the_import_loudly(name: str, value: str) -> None:
    out = run_python("import yara_orm", **{name: value})
    assert out.returncode != 0
    assert "ConfigurationError" in out.stderr
    assert name in out.stderr or "at least 1" in out.stderr


def test_worker_threads_cannot_change_once_the_runtime_runs(sqlite_url: str) -> None:
    async def start() -> None:
        pool = await connect(sqlite_url)
        await pool.close()

    asyncio.run(start())
    settings = runtime.settings()
    assert settings["started"]
    # Restating the running value is harmless; changing it is refused, naming what to do.
    runtime.configure(worker_threads=settings["worker_threads"])
    with pytest.raises(ConfigurationError, match="before the first connection"):
        runtime.configure(worker_threads=settings["worker_threads"] + 1)
    with pytest.raises(ConfigurationError, match="at least 1"):
        runtime.configure(worker_threads=0)


def test_busy_poll_window_is_bounded(restore_busy_poll: None) -> None:
    with pytest.raises(ConfigurationError, match="at most"):
        runtime.configure(busy_poll_us=5_000_000)
    runtime.configure(busy_poll_us=120)
    assert runtime.settings()["busy_poll_us"] == 120


async def test_busy_polling_lasts_one_window_after_the_last_statement(
    db_url: str, restore_busy_poll: None
) -> None:
    runtime.configure(busy_poll_us=200_000)  # 0.2 s: long enough to observe from Python
    pool = await connect(db_url)
    try:
        await pool.fetch("SELECT 1")
        assert runtime.settings()["busy_polling"], "a worker should poll right after a statement"
        for _ in range(100):  # up to 5 s
            if not runtime.settings()["busy_polling"]:
                break
            await asyncio.sleep(0.05)
        assert not runtime.settings()["busy_polling"], "busy-polling did not stop after its window"
        # Quiet now: the process burns (almost) no CPU while the loop sleeps.
        cpu = time.process_time()
        await asyncio.sleep(0.5)
        assert time.process_time() - cpu < 0.1
    finally:
        await pool.close()


async def test_busy_polling_off_still_runs_statements(db_url: str, restore_busy_poll: None) -> None:
    runtime.configure(busy_poll_us=0)
    pool = await connect(db_url)
    try:
        for i in range(20):
            assert await pool.fetch_one("SELECT 1 + 1") == (2,), i
        assert not runtime.settings()["busy_polling"]
    finally:
        await pool.close()


def test_configure_before_the_first_connection_sets_the_worker_threads(pg_url: str) -> None:
    code = "from yara_orm import runtime\nruntime.configure(worker_threads=2)\n" + ENGINE_THREADS.replace(
        "URL", repr(pg_url)
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "50", "True", "2"]
