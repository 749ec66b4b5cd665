"""The raw-SQL API: execute, execute_many, fetch, fetch_one, fetch_with_columns, fetch_dicts."""

from __future__ import annotations

import pytest

from yara_orm import Pool, connect
from yara_orm.exceptions import IntegrityError, ProgrammingError

from ._util import create_table, ph, phs, unique_name, xfail_on_mysql


async def _people(pool: Pool) -> str:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, age INTEGER")
    await pool.execute_many(
        f"INSERT INTO {table} (id, name, age) VALUES ({phs(pool, 3)})",
        [[1, "ann", 30], [2, "bob", None], [3, "cy", 41]],
    )
    return table


async def test_execute_returns_the_row_count(pool: Pool) -> None:
    table = await _people(pool)
    assert await pool.execute(f"UPDATE {table} SET age = {ph(pool, 1)} WHERE age IS NOT NULL", [1]) == 2
    assert await pool.execute(f"UPDATE {table} SET age = 0 WHERE id = 99") == 0
    assert await pool.execute(f"DELETE FROM {table} WHERE id = {ph(pool, 1)}", [3]) == 1


async def test_fetch_returns_tuples_in_select_order(pool: Pool) -> None:
    table = await _people(pool)
    rows = await pool.fetch(f"SELECT age, name, id FROM {table} ORDER BY id")
    assert rows == [(30, "ann", 1), (None, "bob", 2), (41, "cy", 3)]
    assert all(type(r) is tuple for r in rows)
    assert await pool.fetch(f"SELECT * FROM {table} WHERE id < 0") == []
    # Parameters may be a list or a tuple.
    assert await pool.fetch(f"SELECT name FROM {table} WHERE id = {ph(pool, 1)}", (2,)) == [("bob",)]


async def test_fetch_one(pool: Pool) -> None:
    table = await _people(pool)
    assert await pool.fetch_one(f"SELECT name FROM {table} ORDER BY id DESC") == ("cy",)
    assert await pool.fetch_one(f"SELECT name FROM {table} WHERE id = {ph(pool, 1)}", [99]) is None


async def test_fetch_with_columns_and_dicts(pool: Pool) -> None:
    table = await _people(pool)
    columns, rows = await pool.fetch_with_columns(f"SELECT id, name AS who, age FROM {table} ORDER BY id")
    assert columns == ["id", "who", "age"]
    assert rows[0] == (1, "ann", 30)
    dicts = await pool.fetch_dicts(f"SELECT id, name AS who FROM {table} ORDER BY id")
    assert dicts == [{"id": 1, "who": "ann"}, {"id": 2, "who": "bob"}, {"id": 3, "who": "cy"}]
    columns, rows = await pool.fetch_with_columns(f"SELECT id, name FROM {table} WHERE id < 0")
    assert columns == ["id", "name"] and rows == []
    assert await pool.fetch_dicts(f"SELECT id FROM {table} WHERE id < 0") == []


async def test_returning(pool: Pool, request: pytest.FixtureRequest) -> None:
    xfail_on_mysql(pool, request, "MariaDB has RETURNING on INSERT and DELETE, not on UPDATE")
    table = await _people(pool)
    row = await pool.fetch_one(
        f"INSERT INTO {table} (id, name) VALUES ({phs(pool, 2)}) RETURNING id, name", [4, "di"]
    )
    assert row == (4, "di")
    # execute counts the rows a RETURNING statement produced, like any other.
    assert await pool.execute(f"UPDATE {table} SET age = 5 WHERE id > 2 RETURNING id") == 2


async def test_execute_many(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, v TEXT")
    sql = f"INSERT INTO {table} (id, v) VALUES ({phs(pool, 2)})"
    assert await pool.execute_many(sql, [[i, f"v{i}"] for i in range(500)]) == 500
    assert await pool.execute_many(sql, []) == 0
    assert await pool.execute_many(f"UPDATE {table} SET v = 'x' WHERE id < {ph(pool, 1)}", [[10], [20]]) == 30
    assert await pool.fetch(f"SELECT count(*), min(id), max(id) FROM {table}") == [(500, 0, 499)]


async def test_execute_many_is_atomic(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, v TEXT")
    sql = f"INSERT INTO {table} (id, v) VALUES ({phs(pool, 2)})"
    with pytest.raises(IntegrityError) as caught:
        await pool.execute_many(sql, [[1, "a"], [2, "b"], [1, "duplicate"], [3, "c"]])
    # MySQL reports one SQLSTATE for every integrity violation.
    assert caught.value.sqlstate == ("23000" if pool.backend == "mysql" else "23505")
    assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    # A set with the wrong number of parameters: refused, nothing written.
    with pytest.raises(ProgrammingError):
        await pool.execute_many(sql, [[1, "a"], [2]])
    assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    # The pool is fine afterwards and the same statement works.
    assert await pool.execute_many(sql, [[1, "a"], [2, "b"]]) == 2


async def test_schema_script_without_parameters(pool: Pool) -> None:
    """Several statements in one string run as a script when there are no parameters."""
    a, b = unique_name("script_a"), unique_name("script_b")
    await pool.execute(
        f"CREATE TABLE {a} (id INTEGER); CREATE TABLE {b} (id INTEGER); INSERT INTO {a} VALUES (1)"
    )
    try:
        assert await pool.fetch(f"SELECT id FROM {a}") == [(1,)]
        assert await pool.fetch(f"SELECT count(*) FROM {b}") == [(0,)]
    finally:
        await pool.execute(f"DROP TABLE {a}; DROP TABLE {b}")


async def test_statement_cache_survives_schema_changes(pool: Pool) -> None:
    """A cached statement whose table changed shape is re-prepared, not failed."""
    table = await create_table(pool, "id INTEGER")
    await pool.execute(f"INSERT INTO {table} VALUES (1)")
    sql = f"SELECT * FROM {table}"
    assert await pool.fetch(sql) == [(1,)]
    await pool.execute(f"ALTER TABLE {table} ADD COLUMN extra TEXT")
    await pool.execute(f"UPDATE {table} SET extra = 'x'")
    for _ in range(4):  # on every pooled connection
        assert await pool.fetch_with_columns(sql) == (["id", "extra"], [(1, "x")])


async def test_void_result_column_decodes_as_none(pg_pool: Pool) -> None:
    """Functions returning void (pg_sleep, pg_notify, pg_advisory_lock ...) are common in SELECTs."""
    assert await pg_pool.fetch("SELECT pg_sleep(0)") == [(None,)]
    assert await pg_pool.fetch_one("SELECT pg_notify('yara_test', 'x'), 1") == (None, 1)


async def test_statement_cache_disabled(pg_url: str) -> None:
    async with await connect(pg_url, statement_cache_size=0, max_size=1) as pool:
        for i in range(3):
            assert await pool.fetch("SELECT $1::int + 1", [i]) == [(i + 1,)]
