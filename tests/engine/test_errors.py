"""Each error class with its sqlstate and structured fields, on both backends where they exist."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from yara_orm import Pool
from yara_orm.exceptions import (
    BaseORMException,
    DataError,
    DeadlockError,
    IntegrityError,
    OperationalError,
    ParamsError,
    ProgrammingError,
    RetryableError,
    SerializationError,
)

from ._util import create_table, ph, phs, xfail_on_mysql

_MYSQL_CONSTRAINTS = (
    "MySQL names no column-level constraints (CONSTRAINT x UNIQUE / REFERENCES / CHECK inline) "
    "and reports SQLSTATE 23000 without table or column fields"
)


async def _constraint_tables(pool: Pool) -> tuple[str, str]:
    parent = await create_table(pool, "id INTEGER PRIMARY KEY", prefix="parent")
    child = await create_table(
        pool,
        f"id INTEGER PRIMARY KEY, "
        f"email TEXT NOT NULL CONSTRAINT {parent}_email_key UNIQUE, "
        f"parent_id INTEGER CONSTRAINT {parent}_fk REFERENCES {parent} (id), "
        f"qty INTEGER CONSTRAINT {parent}_qty_positive CHECK (qty > 0)",
        prefix="child",
    )
    await pool.execute(f"INSERT INTO {parent} (id) VALUES (1)")
    await pool.execute(
        f"INSERT INTO {child} (id, email, parent_id, qty) VALUES ({phs(pool, 4)})", [1, "a@example.com", 1, 1]
    )
    return parent, child


async def test_unique_violation(pool: Pool, request: pytest.FixtureRequest) -> None:
    xfail_on_mysql(pool, request, _MYSQL_CONSTRAINTS)
    parent, child = await _constraint_tables(pool)
    with pytest.raises(IntegrityError) as caught:
        await pool.execute(
            f"INSERT INTO {child} (id, email, parent_id, qty) VALUES ({phs(pool, 4)})",
            [2, "a@example.com", 1, 1],
        )
    err = caught.value
    assert err.sqlstate == "23505"
    assert err.table == child
    if pool.backend == "postgres":
        assert err.constraint == f"{parent}_email_key"
        assert err.detail is not None and "a@example.com" in err.detail
    else:
        assert err.column == "email"
    # The primary key is a unique constraint too.
    with pytest.raises(IntegrityError) as caught:
        await pool.execute(
            f"INSERT INTO {child} (id, email, parent_id, qty) VALUES ({phs(pool, 4)})",
            [1, "b@example.com", 1, 1],
        )
    assert caught.value.sqlstate == "23505"


async def test_foreign_key_violation(pool: Pool, request: pytest.FixtureRequest) -> None:
    xfail_on_mysql(pool, request, _MYSQL_CONSTRAINTS)
    parent, child = await _constraint_tables(pool)
    with pytest.raises(IntegrityError) as caught:
        await pool.execute(
            f"INSERT INTO {child} (id, email, parent_id, qty) VALUES ({phs(pool, 4)})",
            [2, "b@example.com", 99, 1],
        )
    assert caught.value.sqlstate == "23503"
    if pool.backend == "postgres":
        assert caught.value.constraint == f"{parent}_fk"
        assert caught.value.table == child
    # Deleting a referenced parent is refused too.
    with pytest.raises(IntegrityError) as caught:
        await pool.execute(f"DELETE FROM {parent} WHERE id = 1")
    assert caught.value.sqlstate == "23503"


async def test_not_null_violation(pool: Pool, request: pytest.FixtureRequest) -> None:
    xfail_on_mysql(pool, request, _MYSQL_CONSTRAINTS)
    _, child = await _constraint_tables(pool)
    with pytest.raises(IntegrityError) as caught:
        await pool.execute(f"INSERT INTO {child} (id, email, qty) VALUES ({phs(pool, 3)})", [2, None, 1])
    assert caught.value.sqlstate == "23502"
    assert caught.value.table == child
    assert caught.value.column == "email"


async def test_check_violation(pool: Pool, request: pytest.FixtureRequest) -> None:
    xfail_on_mysql(pool, request, _MYSQL_CONSTRAINTS)
    parent, child = await _constraint_tables(pool)
    with pytest.raises(IntegrityError) as caught:
        await pool.execute(
            f"INSERT INTO {child} (id, email, parent_id, qty) VALUES ({phs(pool, 4)})",
            [2, "c@example.com", 1, -5],
        )
    assert caught.value.sqlstate == "23514"
    assert f"{parent}_qty_positive" in (caught.value.constraint or str(caught.value))


async def test_integrity_error_leaves_table_unchanged(pool: Pool, request: pytest.FixtureRequest) -> None:
    xfail_on_mysql(pool, request, _MYSQL_CONSTRAINTS)
    _, child = await _constraint_tables(pool)
    with pytest.raises(IntegrityError):
        await pool.execute(f"UPDATE {child} SET qty = {ph(pool, 1)}", [0])
    assert await pool.fetch(f"SELECT qty FROM {child}") == [(1,)]


async def test_bad_sql_is_a_programming_error(pool: Pool) -> None:
    with pytest.raises(ProgrammingError) as caught:
        await pool.fetch("SELEC 1")
    if pool.backend == "postgres":
        assert caught.value.sqlstate == "42601"
    with pytest.raises(ProgrammingError, match="no_such_table_xyz") as caught:
        await pool.fetch("SELECT * FROM no_such_table_xyz")
    if pool.backend == "postgres":
        assert caught.value.sqlstate == "42P01"
    table = await create_table(pool, "id INTEGER")
    with pytest.raises(ProgrammingError, match="no_such_column"):
        await pool.fetch(f"SELECT no_such_column FROM {table}")
    # The pool is fine afterwards.
    assert await pool.fetch("SELECT 1") == [(1,)]


@pytest.mark.parametrize(("placeholders", "given"), [(1, 0), (1, 2), (2, 1), (0, 1)])
async def test_wrong_parameter_count(pool: Pool, placeholders: int, given: int) -> None:
    sql = f"SELECT {phs(pool, placeholders) or '1'}"
    params = list(range(given))
    for call in (pool.fetch, pool.fetch_one, pool.execute):
        with pytest.raises(ProgrammingError, match=rf"{placeholders} placeholder.*{given} parameter"):
            await call(sql, params)
    with pytest.raises(ProgrammingError, match="placeholder"):
        await pool.execute_many(sql, [params])


async def test_unbindable_parameter_names_its_position(pool: Pool) -> None:
    with pytest.raises(ParamsError, match=r"parameter 2 \(set\)"):
        await pool.fetch(f"SELECT {phs(pool, 2)}", [1, {1, 2}])
    with pytest.raises(ParamsError, match="parameter set 2"):
        await pool.execute_many(f"SELECT {ph(pool, 1)}", [[1], [object()]])
    with pytest.raises(ParamsError, match="list or tuple"):
        await pool.fetch(f"SELECT {ph(pool, 1)}", "x")
    assert isinstance(ParamsError("x"), BaseORMException)


async def test_data_error_from_the_server(pg_pool: Pool) -> None:
    with pytest.raises(DataError) as caught:
        await pg_pool.fetch("SELECT 1 / 0")
    assert caught.value.sqlstate == "22012"
    with pytest.raises(DataError) as caught:
        await pg_pool.fetch("SELECT 'not a uuid'::uuid")
    assert caught.value.sqlstate == "22P02"


async def test_serialization_failure(pg_pool: Pool) -> None:
    """Two REPEATABLE READ transactions updating the same row: the later one gets 40001."""
    table = await create_table(pg_pool, "id INTEGER PRIMARY KEY, n INTEGER")
    await pg_pool.execute(f"INSERT INTO {table} VALUES (1, 0)")
    tx = await pg_pool.engine.begin("repeatable_read")
    try:
        assert await tx.fetch(f"SELECT n FROM {table}") == [(0,)]  # takes the snapshot
        assert await pg_pool.execute(f"UPDATE {table} SET n = n + 1 WHERE id = 1") == 1  # commits
        with pytest.raises(SerializationError) as caught:
            await tx.execute(f"UPDATE {table} SET n = n + 10 WHERE id = 1")
    finally:
        await tx.rollback()
    err = caught.value
    assert err.sqlstate == "40001"
    assert isinstance(err, RetryableError) and isinstance(err, OperationalError)
    assert await pg_pool.fetch(f"SELECT n FROM {table}") == [(1,)]


async def test_serializable_write_skew(pg_pool: Pool) -> None:
    """SERIALIZABLE: two transactions each reading what the other writes; one must fail with 40001."""
    table = await create_table(pg_pool, "id INTEGER PRIMARY KEY, on_call BOOLEAN")
    await pg_pool.execute(f"INSERT INTO {table} VALUES (1, true), (2, true)")
    t1 = await pg_pool.engine.begin("serializable")
    t2 = await pg_pool.engine.begin("serializable")
    failures: list[SerializationError] = []
    try:
        for tx, doctor in ((t1, 1), (t2, 2)):
            assert await tx.fetch(f"SELECT count(*) FROM {table} WHERE on_call") == [(2,)]
            await tx.execute(f"UPDATE {table} SET on_call = false WHERE id = $1", [doctor])
        for tx in (t1, t2):
            try:
                await tx.commit()
            except SerializationError as exc:
                failures.append(exc)
    finally:
        for tx in (t1, t2):
            if tx.is_active:
                await tx.rollback()
    assert len(failures) == 1 and failures[0].sqlstate == "40001"
    assert await pg_pool.fetch(f"SELECT count(*) FROM {table} WHERE on_call") == [(1,)]


async def test_deadlock(pg_pool: Pool) -> None:
    """Two transactions locking two rows in opposite order: the server aborts one with 40P01."""
    table = await create_table(pg_pool, "id INTEGER PRIMARY KEY, n INTEGER")
    await pg_pool.execute(f"INSERT INTO {table} VALUES (1, 0), (2, 0)")
    t1 = await pg_pool.engine.begin()
    t2 = await pg_pool.engine.begin()
    try:
        await t1.execute(f"UPDATE {table} SET n = 1 WHERE id = 1")
        await t2.execute(f"UPDATE {table} SET n = 2 WHERE id = 2")
        results = await asyncio.wait_for(
            asyncio.gather(
                t1.execute(f"UPDATE {table} SET n = 1 WHERE id = 2"),
                t2.execute(f"UPDATE {table} SET n = 2 WHERE id = 1"),
                return_exceptions=True,
            ),
            timeout=10,
        )
    finally:
        for tx in (t1, t2):
            if tx.is_active:
                await tx.rollback()
    deadlocks = [r for r in results if isinstance(r, DeadlockError)]
    assert len(deadlocks) == 1, results
    assert deadlocks[0].sqlstate == "40P01"
    assert isinstance(deadlocks[0], RetryableError)
    assert [r for r in results if not isinstance(r, BaseException)] == [1]
    # Both rolled back: nothing changed, and the pool is healthy.
    assert await pg_pool.fetch(f"SELECT n FROM {table} ORDER BY id") == [(0,), (0,)]


async def test_errors_pickle_with_their_fields(pg_pool: Pool) -> None:
    table = await create_table(pg_pool, "id INTEGER CONSTRAINT pk_pickle_test PRIMARY KEY")
    await pg_pool.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(IntegrityError) as caught:
        await pg_pool.execute(f"INSERT INTO {table} VALUES (1)")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is IntegrityError
    assert (copy.sqlstate, copy.constraint, copy.table, copy.detail, str(copy)) == (
        "23505",
        "pk_pickle_test",
        table,
        caught.value.detail,
        str(caught.value),
    )
