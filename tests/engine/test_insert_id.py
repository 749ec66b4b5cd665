"""``execute_insert``: the rows an INSERT stored and the first key it generated, where the
backend declares ``last_insert_id`` (MySQL/MariaDB); elsewhere the key is None."""

from __future__ import annotations

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import ConfigurationError


def _ddl(pool: Pool) -> str:
    if pool.backend == "mysql":
        return "CREATE TABLE ins_id (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)"
    if pool.backend == "postgres":
        return "CREATE TABLE ins_id (id BIGSERIAL PRIMARY KEY, v INT)"
    return "CREATE TABLE ins_id (id INTEGER PRIMARY KEY AUTOINCREMENT, v INT)"


def _marks(pool: Pool, n: int, start: int = 1) -> str:
    if pool.backend == "postgres":
        return ", ".join(f"(${i})" for i in range(start, start + n))
    return ", ".join("(?)" for _ in range(n))


async def test_insert_ids_where_declared(pool: Pool) -> None:
    await pool.execute("DROP TABLE IF EXISTS ins_id")
    await pool.execute(_ddl(pool))
    try:
        declared = pool.capabilities()["last_insert_id"]
        assert declared is (pool.backend == "mysql")
        assert pool.features.execute_insert is declared
        one = await pool.execute_insert(f"INSERT INTO ins_id (v) VALUES {_marks(pool, 1)}", [10])
        three = await pool.execute_insert(f"INSERT INTO ins_id (v) VALUES {_marks(pool, 3)}", [1, 2, 3])
        if not declared:
            assert one == (1, None) and three == (3, None)
            return
        assert one[0] == 1 and isinstance(one[1], int)
        # The first key of a multi-row INSERT; the others follow it (insert_id_step).
        step = pool.features.insert_id_step
        assert three[0] == 3 and three[1] == one[1] + step
        rows = await pool.fetch("SELECT id, v FROM ins_id WHERE v < 10 ORDER BY id")
        assert rows == [(three[1] + i * step, i + 1) for i in range(3)]
        # In a transaction too, on its own connection.
        async with pool.transaction() as tx:
            made = await tx.execute_insert("INSERT INTO ins_id (v) VALUES (?)", [5])
            assert made == (1, three[1] + 3 * step)
    finally:
        await pool.execute("DROP TABLE IF EXISTS ins_id")


async def test_returning_can_be_switched_off_on_mariadb(mysql_url: str) -> None:
    on = await connect(mysql_url, max_size=1)
    off = await connect(mysql_url, max_size=1, returning="false")
    try:
        version = (await on.fetch_one("SELECT VERSION()") or ("",))[0]
        assert on.features.returning is ("mariadb" in str(version).lower())
        assert off.features.returning is False and off.features.execute_insert
    finally:
        await on.close()
        await off.close()
    with pytest.raises(ConfigurationError, match="returning"):
        await connect(mysql_url, max_size=1, returning="maybe")
