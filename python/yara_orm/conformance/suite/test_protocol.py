"""The backend protocol itself (``yara_orm.backends.BackendPool``), method by method, on the pool
and inside a transaction: rows affected, column names, positional rows, ``execute_many`` over
every parameter set, ``is_active``, ``status()``, savepoints and cursors.

The ORM-level tests go through these methods too, but a backend can be wrong in a way the ORM
never shows on one path (``execute_many`` dropping a last partial batch, a transaction's
``execute`` running on the pool): each method is checked here on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from yara_orm.conformance.kit import POOL_SIZE, Kit

T = TypeVar("T")

# Parameter-set counts for execute_many: one, a few, and enough for any internal batching to leave
# a partial last batch (257 = 2 * 128 + 1, 1001 = 1000 + 1).
MANY_SIZES = [1, 2, 7, 257, 1001]


async def _elsewhere(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` in a task that does not inherit this task's transaction."""
    return await asyncio.create_task(coro, context=contextvars.Context())


async def _end(tx: Any) -> None:
    """Roll back ``tx`` if a failed check left it open (the next test needs the connection)."""
    if tx.is_active:
        with contextlib.suppress(Exception):
            await tx.rollback()


def _table(kit: Kit) -> str:
    return kit.quote(kit.models.account._meta.table)


def _insert(kit: Kit) -> str:
    return f"INSERT INTO {_table(kit)} (id, n) VALUES ({kit.ph(1)}, {kit.ph(2)})"


async def _ids(kit: Kit) -> list[int]:
    rows = await kit.backend.fetch(f"SELECT id FROM {_table(kit)} ORDER BY id")
    return [int(r[0]) for r in rows]


async def _reset(kit: Kit, n: int = 0) -> None:
    await kit.backend.execute(f"DELETE FROM {_table(kit)}")
    if n:
        await kit.backend.execute_many(_insert(kit), [(i, i * 10) for i in range(1, n + 1)])


@pytest.mark.parametrize("count", MANY_SIZES)
def test_execute_many_runs_every_parameter_set(kit: Kit, count: int) -> None:
    async def go() -> None:
        await _reset(kit)
        affected = await kit.backend.execute_many(_insert(kit), [(i, i) for i in range(count)])
        assert affected == count, f"execute_many of {count} parameter sets reported {affected} rows"
        got = await _ids(kit)
        assert got == list(range(count)), (
            f"execute_many of {count} parameter sets stored {len(got)} rows; missing: "
            f"{sorted(set(range(count)) - set(got))[:5]}"
        )

    kit.run(go())


def test_execute_many_with_no_parameter_sets(kit: Kit) -> None:
    async def go() -> None:
        await _reset(kit, 2)
        assert await kit.backend.execute_many(_insert(kit), []) == 0
        assert await _ids(kit) == [1, 2]

    kit.run(go())


def test_execute_reports_rows_affected(kit: Kit) -> None:
    async def go() -> None:
        await _reset(kit, 5)
        t, p = _table(kit), kit.ph
        assert await kit.backend.execute(f"UPDATE {t} SET n = n + 1 WHERE id > {p(1)}", [2]) == 3
        assert await kit.backend.execute(f"UPDATE {t} SET n = 0 WHERE id > {p(1)}", [99]) == 0
        assert await kit.backend.execute(f"DELETE FROM {t} WHERE id = {p(1)}", [1]) == 1
        assert await kit.backend.execute(f"DELETE FROM {t} WHERE id = {p(1)}", [1]) == 0
        assert await kit.backend.execute(_insert(kit), [9, 9]) == 1
        rows = await kit.backend.fetch(f"SELECT id, n FROM {t} ORDER BY id")
        assert [tuple(r) for r in rows] == [(2, 20), (3, 31), (4, 41), (5, 51), (9, 9)]

    kit.run(go())


def test_orm_update_and_delete_counts(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.account
        await _reset(kit, 6)
        assert await model.filter(id__lte=4).update(n=7) == 4
        assert await model.filter(id__gt=100).update(n=7) == 0
        assert await model.filter(n=7).count() == 4
        assert await model.filter(id__in=[1, 2, 99]).delete() == 2
        assert await model.filter(id=99).delete() == 0
        obj = await model.get(id=3)
        obj.n = 8
        await obj.save()
        assert (await model.get(id=3)).n == 8
        assert await model.all().count() == 4

    kit.run(go())


def test_fetch_rows_are_positional_in_select_order(kit: Kit) -> None:
    async def go() -> None:
        await _reset(kit, 3)
        rows = await kit.backend.fetch(f"SELECT n, id FROM {_table(kit)} ORDER BY id DESC")
        assert [tuple(r) for r in rows] == [(30, 3), (20, 2), (10, 1)], rows
        assert all(isinstance(r, tuple) for r in rows), f"rows must be tuples, got {type(rows[0])}"
        one = await kit.backend.fetch_one(f"SELECT id, n FROM {_table(kit)} ORDER BY id")
        assert one is not None and tuple(one) == (1, 10), f"fetch_one gave {one!r}, expected the first row"
        none = await kit.backend.fetch_one(f"SELECT id FROM {_table(kit)} WHERE id < 0")
        assert none is None, f"fetch_one of no rows gave {none!r}"

    kit.run(go())


def _columns_sql(kit: Kit) -> str:
    q = kit.quote
    return f"SELECT id, n AS {q('MixedCase')}, n + 1 AS {q('lower_name')} FROM {_table(kit)} ORDER BY id"


def test_fetch_with_columns(kit: Kit) -> None:
    async def go() -> None:
        await _reset(kit, 2)
        columns, rows = await kit.backend.fetch_with_columns(_columns_sql(kit))
        assert list(columns) == ["id", "MixedCase", "lower_name"], f"column names: {columns}"
        assert [tuple(r) for r in rows] == [(1, 10, 11), (2, 20, 21)], rows
        empty_cols, empty = await kit.backend.fetch_with_columns(
            _columns_sql(kit).replace("ORDER", "WHERE 1=0 ORDER")
        )
        assert empty == [] and list(empty_cols) in ([], ["id", "MixedCase", "lower_name"])

    kit.run(go())


def test_transaction_statement_methods_run_inside_it(kit: Kit) -> None:
    """Every statement method of a transaction runs on its connection: seen inside, invisible
    outside until commit, gone after rollback."""

    async def go() -> None:
        await _reset(kit, 1)
        b, t, p = kit.backend, _table(kit), kit.ph
        for ending in ("rollback", "commit"):
            await _reset(kit, 1)
            tx = await b.begin()
            try:
                assert tx.is_active is True, "a transaction just begun must be active"
                assert await tx.execute(_insert(kit), [2, 20]) == 1
                assert await tx.execute_many(_insert(kit), [(3, 30), (4, 40)]) == 2
                assert await tx.execute(f"UPDATE {t} SET n = n + 1 WHERE id = {p(1)}", [1]) == 1
                rows = [tuple(r) for r in await tx.fetch(f"SELECT id, n FROM {t} ORDER BY id")]
                assert rows == [(1, 11), (2, 20), (3, 30), (4, 40)], f"inside the transaction: {rows}"
                columns, crows = await tx.fetch_with_columns(_columns_sql(kit))
                assert list(columns) == ["id", "MixedCase", "lower_name"], f"column names inside: {columns}"
                assert len(crows) == 4
                one = await tx.fetch_one(f"SELECT n FROM {t} WHERE id = {p(1)}", [4])
                assert one is not None and tuple(one) == (40,)
                outside = await _elsewhere(_ids(kit))
                assert outside == [1], f"another connection saw uncommitted rows: {outside}"
                await getattr(tx, ending)()
                assert tx.is_active is False, f"is_active must be False after {ending}()"
            finally:
                await _end(tx)
            after = [tuple(r) for r in await b.fetch(f"SELECT id, n FROM {t} ORDER BY id")]
            want = [(1, 10)] if ending == "rollback" else [(1, 11), (2, 20), (3, 30), (4, 40)]
            assert after == want, f"after {ending}: {after}"

    kit.run(go())


@pytest.mark.requires("savepoints")
def test_savepoint_methods(kit: Kit) -> None:
    async def go() -> None:
        await _reset(kit)
        tx = await kit.backend.begin()
        try:
            await tx.execute(_insert(kit), [1, 1])
            await tx.savepoint("yc_sp_a")
            await tx.execute(_insert(kit), [2, 2])
            await tx.rollback_to("yc_sp_a")
            await tx.release("yc_sp_a")
            await tx.savepoint("yc_sp_b")
            await tx.execute(_insert(kit), [3, 3])
            await tx.release("yc_sp_b")
            rows = [r[0] for r in await tx.fetch(f"SELECT id FROM {_table(kit)} ORDER BY id")]
            assert rows == [1, 3], f"after rollback_to / release: {rows}"
            await tx.commit()
        finally:
            await _end(tx)
        assert await _ids(kit) == [1, 3]

    kit.run(go())


def test_status_counts_connections(kit: Kit) -> None:
    async def go() -> None:
        b = kit.backend
        status = b.status()
        assert set(status) >= {"size", "available", "max_size", "waiting"}, status
        assert all(isinstance(v, int) for v in status.values()), status
        assert status["max_size"] == POOL_SIZE, (
            f"max_size {status['max_size']}, the pool was opened with {POOL_SIZE}"
        )
        tx = await b.begin()
        try:
            held = b.status()
            assert held["size"] >= 1 and held["size"] <= POOL_SIZE, held
            assert held["available"] <= held["size"] - 1, (
                f"a connection held by a transaction is available: {held}"
            )
        finally:
            await tx.rollback()
        back = b.status()
        assert back["available"] >= 1 and back["waiting"] == 0, f"after the transaction ended: {back}"
        assert b.is_closed is False
        version = await b.server_version()
        assert isinstance(version, str) and version, f"server_version() gave {version!r}"

    kit.run(go())


@pytest.mark.parametrize("chunk_size", [1, 3, 100])
def test_cursor_chunks(kit: Kit, chunk_size: int) -> None:
    async def go() -> None:
        await _reset(kit, 10)
        cursor = await kit.backend.cursor(f"SELECT id, n FROM {_table(kit)} ORDER BY id", None, chunk_size)
        try:
            assert list(cursor.columns) == ["id", "n"], f"cursor columns: {cursor.columns}"
            got: list[tuple[Any, ...]] = []
            for _ in range(20):
                chunk = await cursor.fetch_chunk()
                if not chunk:
                    break
                assert len(chunk) <= chunk_size, f"a chunk of {len(chunk)} rows for chunk_size={chunk_size}"
                got += [tuple(r) for r in chunk]
            assert got == [(i, i * 10) for i in range(1, 11)], f"cursor rows: {got}"
            assert await cursor.fetch_chunk() == [], "an exhausted cursor must return []"
        finally:
            await cursor.close()

    kit.run(go())
