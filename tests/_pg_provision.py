"""Find a PostgreSQL server for the tests, or say clearly how to provide one."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

LOCAL_URL = "postgres://postgres@127.0.0.1:5432/postgres"

HOW_TO = (
    "PostgreSQL is required for these tests and none was found. Provide one of:\n"
    "  * YARA_PG_URL=postgres://user:password@host:port/dbname (a role that may CREATE DATABASE)\n"
    "  * a server on 127.0.0.1:5432 accepting user 'postgres'\n"
    "    (e.g. `docker compose -f docker/compose.yml up -d`)\n"
    "  * a working Docker engine, for testcontainers\n"
)


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


@contextlib.contextmanager
def find_postgres_admin_url() -> Iterator[str]:
    env_url = os.environ.get("YARA_PG_URL")
    if env_url:
        yield env_url
        return
    if _port_open("127.0.0.1", 5432):
        yield LOCAL_URL
        return
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver=None)
        container.start()
    except Exception as exc:  # docker missing or unusable: fail with the how-to
        raise RuntimeError(f"{HOW_TO}(testcontainers failed: {type(exc).__name__}: {exc})") from exc
    try:
        yield container.get_connection_url()
    finally:
        container.stop()
