"""The engine's runtime: its worker threads and its busy-poll window.

Every statement runs on the engine's tokio runtime, on a worker thread, and its result is handed
back to the asyncio loop. Between statements the worker stays awake for ``busy_poll_us``
microseconds (50 by default) instead of sleeping, so the next statement, and the database's
reply, find a running thread rather than paying a CPU's wake-up from idle (about 20 µs per
wake-up on a small VM, several per statement). That is what makes a point query as fast as a
driver running on the event-loop thread; the cost is at most one window of CPU after the
process's last statement, and an idle process burns nothing.

Settings come from the environment when ``yara_orm`` is imported (``YARA_ENGINE_THREADS``,
``YARA_ENGINE_BUSY_POLL_US``) and from :func:`configure`. ``worker_threads`` can only be set
before the first connection; ``busy_poll_us`` at any time (0 turns busy-polling off).
"""

from __future__ import annotations

from typing import TypedDict

from . import _engine


class RuntimeSettings(TypedDict):
    worker_threads: int
    busy_poll_us: int
    started: bool
    busy_polling: bool
    running_workers: int | None  # as the running runtime reports it; None before it starts


def configure(*, worker_threads: int | None = None, busy_poll_us: int | None = None) -> None:
    """Set the runtime's worker threads (before the first connection: ConfigurationError after)
    and its busy-poll window in microseconds (any time; 0 turns it off, at most 1,000,000)."""
    _engine.configure_runtime(worker_threads=worker_threads, busy_poll_us=busy_poll_us)


def settings() -> RuntimeSettings:
    """The current settings; ``busy_polling`` tells whether a worker is polling right now and
    ``running_workers`` how many worker threads the running runtime has."""
    raw = _engine.runtime_settings()
    return RuntimeSettings(
        worker_threads=int(raw["worker_threads"]),
        busy_poll_us=int(raw["busy_poll_us"]),
        started=bool(raw["started"]),
        busy_polling=bool(raw["busy_polling"]),
        running_workers=None if raw["running_workers"] is None else int(raw["running_workers"]),
    )
