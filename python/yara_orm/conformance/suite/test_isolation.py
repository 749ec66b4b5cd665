"""Isolation behaviour, not just "the level can be set": no dirty reads at any level from
read_committed up, repeatable reads at repeatable_read and serializable, no write skew at
serializable, and deadlocks reported as the retryable ``DeadlockError``.

Two transactions are interleaved with bounded waits, so the tests hold for both kinds of
backend: one that runs transactions concurrently (MVCC: the second one goes ahead and the
database must keep the guarantee or raise a retryable error) and one that serializes them with
locks (the second one waits; the bounded wait lets the first finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Coroutine
from typing import Any

import pytest

from yara_orm.conformance.kit import Kit
from yara_orm.exceptions import DeadlockError, RetryableError, SerializationError

# How long one transaction waits for the other to reach a step before going on alone.
STEP_WAIT_S = 0.5
# Upper bound on any one transaction of these tests (lock waits, deadlock detection).
TX_TIMEOUT_S = 20.0

STRONG = ("read_committed", "repeatable_read", "serializable")
REPEATABLE = ("repeatable_read", "serializable")


def _levels(kit: Kit, wanted: tuple[str, ...]) -> list[str]:
    levels = [lv for lv in kit.caps.get("isolation_levels") or [] if lv in wanted]
    if not levels:
        pytest.skip(f"backend declares none of the isolation levels {list(wanted)}")
    return levels


def _t(kit: Kit) -> str:
    return kit.quote(kit.models.account._meta.table)


async def _accounts(kit: Kit, values: dict[int, int]) -> None:
    await kit.backend.execute(f"DELETE FROM {_t(kit)}")
    ins = f"INSERT INTO {_t(kit)} (id, n) VALUES ({kit.ph(1)}, {kit.ph(2)})"
    await kit.backend.execute_many(ins, list(values.items()))


async def _value(runner: Any, kit: Kit, id_: int) -> int:
    row = await runner.fetch_one(f"SELECT n FROM {_t(kit)} WHERE id = {kit.ph(1)}", [id_])
    assert row is not None
    return int(row[0])


def _task(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    return asyncio.create_task(asyncio.wait_for(coro, TX_TIMEOUT_S), context=contextvars.Context())


async def _set(kit: Kit, id_: int, n: int) -> None:
    await kit.backend.execute(f"UPDATE {_t(kit)} SET n = {kit.ph(1)} WHERE id = {kit.ph(2)}", [n, id_])


@pytest.mark.parametrize("level", STRONG)
def test_no_dirty_read(kit: Kit, level: str) -> None:
    """A transaction at ``level`` never reads another's uncommitted write."""
    if level not in (kit.caps.get("isolation_levels") or []):
        pytest.skip(f"backend does not declare isolation level {level!r}")

    async def go() -> None:
        await _accounts(kit, {1: 100})
        writer = await kit.backend.begin()
        try:
            await writer.execute(f"UPDATE {_t(kit)} SET n = 999 WHERE id = 1")

            async def read() -> int:
                reader = await kit.backend.begin(level)
                try:
                    return await _value(reader, kit, 1)
                finally:
                    await reader.rollback()

            task = _task(read())
            await asyncio.wait({task}, timeout=STEP_WAIT_S)
            await writer.rollback()
            seen = await task
        finally:
            if writer.is_active:
                await writer.rollback()
        assert seen == 100, f"a {level} transaction read the uncommitted value {seen}"

    kit.run(go())


@pytest.mark.parametrize("level", REPEATABLE)
def test_repeatable_read(kit: Kit, level: str) -> None:
    """Reading a row twice in one ``level`` transaction gives the same value, whatever another
    transaction committed in between."""
    if level not in (kit.caps.get("isolation_levels") or []):
        pytest.skip(f"backend does not declare isolation level {level!r}")

    async def go() -> None:
        await _accounts(kit, {1: 100})
        reader = await kit.backend.begin(level)
        try:
            first = await _value(reader, kit, 1)
            writer = _task(_set(kit, 1, 555))
            # MVCC: the write commits now. Locking: it waits for the reader, which goes on.
            await asyncio.wait({writer}, timeout=STEP_WAIT_S)
            second = await _value(reader, kit, 1)
            await reader.commit()
        finally:
            if reader.is_active:
                await reader.rollback()
        await writer
        assert first == second == 100, f"{level}: read {first}, then {second} in the same transaction"
        assert await _value(kit.backend, kit, 1) == 555

    kit.run(go())


def test_no_write_skew_at_serializable(kit: Kit) -> None:
    """Two serializable transactions each check "both on call" and take one off call: at most one
    of them may succeed; the other waits (and sees the change) or fails with a retryable
    ``SerializationError`` (SQLSTATE 40001)."""
    _levels(kit, ("serializable",))

    async def go() -> None:
        await _accounts(kit, {1: 1, 2: 1})
        read_events = [asyncio.Event(), asyncio.Event()]
        errors: list[BaseException] = []

        async def doctor(me: int) -> bool:
            other = 1 - me
            tx = await kit.backend.begin("serializable")
            try:
                row = await tx.fetch_one(f"SELECT SUM(n) FROM {_t(kit)}")
                read_events[me].set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(read_events[other].wait(), STEP_WAIT_S)
                wrote = False
                if row is not None and int(row[0]) == 2:
                    await tx.execute(f"UPDATE {_t(kit)} SET n = 0 WHERE id = {kit.ph(1)}", [me + 1])
                    wrote = True
                await tx.commit()
                return wrote
            except RetryableError as exc:
                errors.append(exc)
                return False
            finally:
                if tx.is_active:
                    await tx.rollback()

        results = await asyncio.gather(_task(doctor(0)), _task(doctor(1)), return_exceptions=True)
        unexpected = [r for r in results if isinstance(r, BaseException)]
        assert not unexpected, f"write-skew transactions raised non-retryable errors: {unexpected!r}"
        for exc in errors:
            assert isinstance(exc, SerializationError) and getattr(exc, "sqlstate", None) == "40001", (
                f"a serialization failure must be SerializationError with SQLSTATE 40001, got {exc!r}"
            )
        rows = await kit.backend.fetch(f"SELECT id, n FROM {_t(kit)} ORDER BY id")
        total = sum(int(r[1]) for r in rows)
        assert total >= 1, f"write skew: both serializable transactions committed their write ({rows})"
        assert results.count(True) == 1, f"exactly one transaction should have written, got {results}"

    kit.run(go())


def test_deadlock_is_a_retryable_error(kit: Kit) -> None:
    """Two transactions locking two rows in opposite orders: if the backend lets both take their
    first lock, one of them must fail with ``DeadlockError`` (SQLSTATE 40P01) and the other
    commit; a backend that serializes them runs both."""

    async def go() -> None:
        await _accounts(kit, {1: 0, 2: 0})
        locked = [asyncio.Event(), asyncio.Event()]
        finished = [asyncio.Event(), asyncio.Event()]
        both_locked: list[bool] = []
        errors: list[BaseException] = []

        async def worker(me: int) -> None:
            first, second = (1, 2) if me == 0 else (2, 1)
            tx = await kit.backend.begin()
            try:
                await tx.execute(f"UPDATE {_t(kit)} SET n = n + 1 WHERE id = {kit.ph(1)}", [first])
                locked[me].set()
                try:
                    await asyncio.wait_for(locked[1 - me].wait(), STEP_WAIT_S)
                    if not finished[1 - me].is_set():
                        both_locked.append(True)
                except TimeoutError:
                    pass
                await tx.execute(f"UPDATE {_t(kit)} SET n = n + 1 WHERE id = {kit.ph(1)}", [second])
                await tx.commit()
            except RetryableError as exc:
                errors.append(exc)
            finally:
                if tx.is_active:
                    await tx.rollback()
                finished[me].set()

        results = await asyncio.gather(_task(worker(0)), _task(worker(1)), return_exceptions=True)
        unexpected = [r for r in results if isinstance(r, BaseException)]
        assert not unexpected, f"the deadlocked transactions raised non-retryable errors: {unexpected!r}"
        rows = {int(r[0]): int(r[1]) for r in await kit.backend.fetch(f"SELECT id, n FROM {_t(kit)}")}
        if both_locked:
            assert len(errors) == 1, f"a deadlock must fail exactly one transaction, got {errors!r}"
            exc = errors[0]
            assert isinstance(exc, DeadlockError) and getattr(exc, "sqlstate", None) == "40P01", (
                f"a deadlock must raise DeadlockError with SQLSTATE 40P01, got {exc!r}"
            )
            assert rows == {1: 1, 2: 1}, f"the surviving transaction's writes: {rows}"
        else:
            assert not errors, f"serialized transactions failed: {errors!r}"
            assert rows == {1: 2, 2: 2}, f"both serialized transactions' writes: {rows}"

    kit.run(go())
