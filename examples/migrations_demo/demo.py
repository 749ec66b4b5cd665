"""Walk through the two migrations of README.md on a fresh SQLite database (``make demo``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from yara_orm import connect

HERE = Path(__file__).resolve().parent


def yara(*args: str, env: dict[str, str]) -> str:
    print(f"$ yara migrations {' '.join(args)}", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "yara_orm", "migrations", "--config", "settings:CONFIG", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(done.stdout + done.stderr, flush=True)
    if done.returncode != 0:
        raise SystemExit(f"`yara migrations {' '.join(args)}` failed with exit code {done.returncode}")
    return done.stdout


async def sql(url: str, *statements: str) -> list[tuple[object, ...]]:
    pool = await connect(url)
    try:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            if statement.startswith("SELECT"):
                rows = await pool.fetch(statement)
            else:
                await pool.execute(statement)
        return rows
    finally:
        await pool.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
        env = {**os.environ, "DEMO_DB_URL": url}
        yara("migrate", "shop", "0001_initial", env=env)
        asyncio.run(
            sql(
                url,
                "INSERT INTO customer (name) VALUES ('Ada Lovelace'), ('Alan Turing')",
                'INSERT INTO "order" (customer_id, total, created) '
                "VALUES (1, 12.5, '2024-01-01T00:00:00+00:00')",
            )
        )
        yara("showmigrations", env=env)
        yara("sqlmigrate", "shop", "0002", env=env)
        yara("migrate", env=env)
        rows = asyncio.run(sql(url, "SELECT first_name, last_name FROM customer ORDER BY id"))
        print(f"customers after 0002: {rows}\n")
        assert rows == [("Ada", "Lovelace"), ("Alan", "Turing")], rows
        yara("check", env=env)
        yara("makemigrations", "--check", env=env)
        yara("migrate", "shop", "0001", env=env)
        rows = asyncio.run(sql(url, "SELECT name FROM customer ORDER BY id"))
        print(f"customers after reverting to 0001: {rows}\n")
        assert rows == [("Ada Lovelace",), ("Alan Turing",)], rows
        yara("migrate", env=env)
        print("demo finished: two migrations applied, reverted and applied again, data kept.")


if __name__ == "__main__":
    main()
