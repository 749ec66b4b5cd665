"""Large fetches reach Python in batches while the rest is still being read (PostgreSQL,
MariaDB): the result is still one whole, ordered list, and a failure anywhere fails the whole
fetch, leaves no partial list behind and leaves the connection usable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from yara_orm import Pool, _engine, connect
from yara_orm.exceptions import DataError

ROWS = 20_000


def series(pool: Pool, n: int) -> str:
    """``SELECT n, 'row ' || n`` for n in 1..``n``, in order, on either backend."""
    if pool.backend == "postgres":
        return f"SELECT g, 'row ' || g FROM generate_series(1, {n}) g ORDER BY g"
    if pool.backend == "mysql":
        # MariaDB's sequence tables (a recursive CTE stops at cte_max_recursion_depth, 1000).
        return f"SELECT seq, CONCAT('row ', seq) FROM seq_1_to_{n} ORDER BY seq"
    return (
        f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) "
        "SELECT g, 'row ' || g FROM s ORDER BY g"
    )


class Row:
    pass


async def settled(pool: Pool) -> dict[str, int]:
    """The pool's status once every connection has come back."""
    for _ in range(200):
        status = pool.status()
        if status["available"] == status["size"]:
            break
        await asyncio.sleep(0.01)
    return pool.status()


async def test_a_large_result_arrives_whole_and_in_order(pool: Pool) -> None:
    expected = [(i, f"row {i}") for i in range(1, ROWS + 1)]
    assert await pool.fetch(series(pool, ROWS)) == expected
    spec = _engine.InstanceSpec(Row, ["n", "label"], [None, None])
    things = await pool.fetch_instances(series(pool, ROWS), None, spec)
    assert [(t.n, t.label) for t in things] == expected
    async with pool.transaction() as tx:
        assert await tx.fetch(series(pool, ROWS)) == expected
        inside = await tx.fetch_instances(series(pool, ROWS), None, spec)
        assert [t.n for t in inside] == list(range(1, ROWS + 1))
    # Small and empty results take the same path.
    assert await pool.fetch(series(pool, 1)) == [(1, "row 1")]
    assert await pool.fetch_instances(series(pool, 1) + " LIMIT 0", None, spec) == []


async def test_a_server_error_after_rows_were_handed_over_fails_the_whole_fetch(pg_pool: Pool) -> None:
    converted = 0

    def count(value: Any) -> Any:
        nonlocal converted
        converted += 1
        return value

    spec = _engine.InstanceSpec(Row, ["n", "q"], [count, None])
    # Division by zero at row 15000: by then several batches have reached the loop.
    sql = "SELECT g, 1 / (g - 15000) FROM generate_series(1, 20000) g"
    with pytest.raises(DataError) as info:
        await pg_pool.fetch_instances(sql, None, spec)
    assert info.value.sqlstate == "22012"
    assert 0 < converted < 15000, "rows should have been converted while the query ran"
    with pytest.raises(DataError):
        await pg_pool.fetch(sql)
    # The connection is clean and back in the pool.
    assert await pg_pool.fetch_one("SELECT 41 + 1") == (42,)
    status = await settled(pg_pool)
    assert status["available"] == status["size"]


async def test_a_failing_converter_fails_the_fetch_and_stops_converting(pool: Pool) -> None:
    calls = 0

    def fail_at_1000(value: Any) -> Any:
        nonlocal calls
        calls += 1
        if value == 1000:
            raise RuntimeError("bad row 1000")
        return value

    spec = _engine.InstanceSpec(Row, ["n", "label"], [fail_at_1000, None])
    with pytest.raises(RuntimeError, match="bad row 1000"):
        await pool.fetch_instances(series(pool, 5000), None, spec)
    # Batches still queued behind the failing one are dropped, not converted.
    assert calls == 1000
    assert await pool.fetch(series(pool, 3)) == [(1, "row 1"), (2, "row 2"), (3, "row 3")]
    status = await settled(pool)
    assert status["available"] == status["size"]


async def test_cancelling_a_fetch_while_batches_flow_returns_the_connection_clean(pg_pool: Pool) -> None:
    first_batch = asyncio.Event()

    def note(value: Any) -> Any:
        first_batch.set()
        return value

    spec = _engine.InstanceSpec(Row, ["n", "label"], [note, None])
    task = asyncio.ensure_future(pg_pool.fetch_instances(series(pg_pool, 2_000_000), None, spec))
    await asyncio.wait_for(first_batch.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await pg_pool.fetch_one("SELECT 6 * 7") == (42,)
    assert await pg_pool.fetch(series(pg_pool, 2)) == [(1, "row 1"), (2, "row 2")]
    status = await settled(pg_pool)
    assert status["available"] == status["size"]


async def test_mariadb_hands_rows_over_while_the_rest_is_still_read(mysql_url: str) -> None:
    # The server sleeps before its last row: rows already read reach the loop (and its
    # converters) during that second, not after the whole result is in.
    pool = await connect(mysql_url, max_size=1)
    loop = asyncio.get_running_loop()
    first_converted: list[float] = []

    def note(value: Any) -> Any:
        if not first_converted:
            first_converted.append(loop.time())
        return value

    spec = _engine.InstanceSpec(Row, ["n", "slept"], [note, None])
    try:
        for fetch in ("pool", "transaction"):
            first_converted.clear()
            sql = "SELECT seq, IF(seq = 5000, SLEEP(1), 0) FROM seq_1_to_5000"
            if fetch == "pool":
                things = await pool.fetch_instances(sql, None, spec)
            else:
                async with pool.transaction() as tx:
                    things = await tx.fetch_instances(sql, None, spec)
            done = loop.time()
            assert [t.n for t in things] == list(range(1, 5001))
            assert done - first_converted[0] > 0.5, f"{fetch}: the rows reached the loop only at the end"
    finally:
        await pool.close()
