"""Run the Python conformance kit against every backend we ship (``make conformance``).

SQLite (a scratch file), PostgreSQL and MariaDB (scratch databases, created and dropped here)
and the asyncpg example backend (``asyncpg+postgres://``, the PostgreSQL scratch database). JSON
reports go to ``--out``. PostgreSQL and MariaDB are required: if one cannot be found this fails,
it never skips.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._mysql_provision import HOW_TO as MYSQL_HOW_TO  # noqa: E402
from tests._mysql_provision import find_mysql_admin_url  # noqa: E402
from tests._pg_provision import HOW_TO, find_postgres_admin_url  # noqa: E402

from yara_orm import connect  # noqa: E402


async def _admin(url: str, sql: str) -> None:
    pool = await connect(url, max_size=1)
    try:
        await pool.execute(sql)
    finally:
        await pool.close()


def _run(name: str, url: str, out: Path, extra: list[str]) -> tuple[str, int, float]:
    report = out / f"{name}.json"
    print(f"\n=== conformance: {name} ===", flush=True)
    started = time.monotonic()
    status = subprocess.call(
        [sys.executable, "-m", "yara_orm.conformance", url, "--report", str(report), *extra], cwd=ROOT
    )
    return name, status, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="directory for the JSON reports")
    parser.add_argument("--long", action="store_true")
    ns = parser.parse_args()
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = ["--long"] if ns.long else []
    results = [_run("sqlite", f"sqlite:///{out / 'scratch.db'}", out, extra)]
    with find_postgres_admin_url() as admin_url:
        name = f"yara_conformance_{uuid.uuid4().hex[:10]}"
        try:
            asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"conformance: PostgreSQL is required and unusable: {type(exc).__name__}: {exc}\n{HOW_TO}")
            return 1
        pg_url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
        try:
            results.append(_run("postgres", pg_url, out, extra))
            results.append(_run("asyncpg", f"asyncpg+{pg_url}", out, extra))
        finally:
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    try:
        my_admin = find_mysql_admin_url()
        name = f"yara_conformance_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(my_admin, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    except Exception as exc:
        print(f"conformance: MariaDB is required and unusable: {type(exc).__name__}: {exc}\n{MYSQL_HOW_TO}")
        return 1
    try:
        my_url = urlunsplit(urlsplit(my_admin)._replace(path=f"/{name}"))
        results.append(_run("mariadb", my_url, out, extra))
        # MariaDB with RETURNING off: the MySQL way of learning generated keys (LAST_INSERT_ID).
        results.append(_run("mysql-like", f"{my_url}?returning=false", out, extra))
    finally:
        asyncio.run(_admin(my_admin, f"DROP DATABASE IF EXISTS `{name}`"))
    print("\n=== conformance summary ===")
    for backend, status, seconds in results:
        print(f"  {backend:<10} {'ok' if status == 0 else f'FAILED (exit {status})':<18} {seconds:6.1f} s")
    print(f"  reports in {out}")
    return 0 if all(status == 0 for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
