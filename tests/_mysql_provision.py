"""Find a MariaDB/MySQL server for the tests, or fail saying how to provide one."""

from __future__ import annotations

import contextlib
import os
import socket

LOCAL_URL = "mysql://root@127.0.0.1:3306/test"

HOW_TO = (
    "MariaDB (or MySQL) is required for these tests and none was found. Provide one of:\n"
    "  * YARA_MYSQL_URL=mysql://user:password@host:port/dbname (a user that may CREATE DATABASE)\n"
    "  * a server on 127.0.0.1:3306 accepting user 'root' without a password\n"
    "    (`make mariadb` finds or starts one; `docker compose -f docker/compose.yml up -d mariadb`)\n"
)


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


def find_mysql_admin_url() -> str:
    env_url = os.environ.get("YARA_MYSQL_URL")
    if env_url:
        return env_url
    if _port_open("127.0.0.1", 3306):
        return LOCAL_URL
    raise RuntimeError(HOW_TO)
