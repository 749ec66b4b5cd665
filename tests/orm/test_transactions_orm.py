"""ORM transactions: nesting with savepoints, atomic, on_commit, task ownership, row locks and
the retry helper against a real serialization conflict."""

from __future__ import annotations

import asyncio

import pytest

from yara_orm import Connection, atomic, in_transaction, on_commit, retry_transaction
from yara_orm.exceptions import OperationalError, SerializationError, TransactionManagementError

from .rel_models import Author, Parent


class Boom(Exception):
    pass


async def _names() -> list[str]:
    return await Parent.all().order_by("name").values_list("name", flat=True)


async def test_nested_failure_at_each_level(rel_orm: Connection) -> None:
    # The innermost block fails: only its write is undone.
    async with in_transaction():
        await Parent.create(name="outer1")
        async with in_transaction():
            await Parent.create(name="middle1")
            with pytest.raises(Boom):
                async with in_transaction():
                    await Parent.create(name="inner1")
                    raise Boom
    assert await _names() == ["middle1", "outer1"]
    # The middle block fails after its inner block succeeded: both are undone.
    async with in_transaction():
        await Parent.create(name="outer2")
        with pytest.raises(Boom):
            async with in_transaction():
                await Parent.create(name="middle2")
                async with in_transaction():
                    await Parent.create(name="inner2")
                raise Boom
    assert await _names() == ["middle1", "outer1", "outer2"]
    # The outermost block fails: everything inside it is undone.
    with pytest.raises(Boom):
        async with in_transaction():
            await Parent.create(name="outer3")
            async with in_transaction():
                await Parent.create(name="middle3")
            raise Boom
    assert await _names() == ["middle1", "outer1", "outer2"]


async def test_atomic_with_and_without_parentheses(rel_orm: Connection) -> None:
    @atomic
    async def bare(fail: bool) -> None:
        await Parent.create(name="bare")
        if fail:
            raise Boom

    @atomic()
    async def called(fail: bool) -> int:
        await Parent.create(name="called")
        if fail:
            raise Boom
        return 7

    with pytest.raises(Boom):
        await bare(True)
    with pytest.raises(Boom):
        await called(True)
    assert await _names() == []
    await bare(False)
    assert await called(False) == 7
    assert await _names() == ["bare", "called"]
    with pytest.raises(TransactionManagementError):
        atomic(lambda: None)  # type: ignore[arg-type, return-value]


async def test_on_commit_order_and_discard_on_rollback(rel_orm: Connection) -> None:
    calls: list[str] = []

    async def record_async() -> None:
        calls.append("async")

    async with in_transaction():
        on_commit(lambda: calls.append("outer"))
        async with in_transaction():
            on_commit(lambda: calls.append("inner-kept"))
        with pytest.raises(Boom):
            async with in_transaction():
                on_commit(lambda: calls.append("inner-dropped"))
                raise Boom
        on_commit(record_async)
        assert calls == []  # nothing runs before the outermost commit
    assert calls == ["outer", "inner-kept", "async"]

    calls.clear()
    with pytest.raises(Boom):
        async with in_transaction():
            on_commit(lambda: calls.append("never"))
            raise Boom
    assert calls == []
    on_commit(lambda: calls.append("now"))  # outside a transaction: runs at once
    assert calls == ["now"]


async def test_transaction_belongs_to_its_task(rel_pg: Connection) -> None:
    started = asyncio.Event()
    checked = asyncio.Event()
    seen: list[int] = []

    async def writer() -> None:
        async with in_transaction():
            await Parent.create(name="uncommitted")
            started.set()
            await checked.wait()

    async def reader() -> None:
        await started.wait()
        seen.append(await Parent.all().count())
        checked.set()

    await asyncio.gather(writer(), reader())
    assert seen == [0]  # the other task ran on its own connection, outside the transaction
    assert await Parent.all().count() == 1


async def test_misuse_raises(rel_orm: Connection) -> None:
    async with in_transaction():
        with pytest.raises(TransactionManagementError):
            async with in_transaction(isolation="serializable"):
                pass
        with pytest.raises(TransactionManagementError):
            await retry_transaction(_names)
    scope = in_transaction()
    with pytest.raises(TransactionManagementError):
        await scope.__aexit__(None, None, None)


async def test_select_for_update_skip_locked_and_nowait(rel_pg: Connection) -> None:
    first = await Parent.create(name="a")
    await Parent.create(name="b")
    await Parent.create(name="c")
    locked = asyncio.Event()
    done = asyncio.Event()
    results: dict[str, object] = {}

    async def holder() -> None:
        async with in_transaction():
            rows = await Parent.filter(pk=first.pk).select_for_update()
            assert len(rows) == 1
            locked.set()
            await done.wait()

    async def other() -> None:
        await locked.wait()
        try:
            async with in_transaction():
                free = await Parent.all().order_by("name").select_for_update(skip_locked=True)
                results["skip_locked"] = [p.name for p in free]
            with pytest.raises(OperationalError) as info:
                async with in_transaction():
                    await Parent.filter(pk=first.pk).select_for_update(nowait=True)
            results["nowait"] = info.value.sqlstate
            async with in_transaction():
                sql = Parent.all().select_for_update(of=("rel_parent",)).sql()
                results["of"] = sql
        finally:
            done.set()

    await asyncio.gather(holder(), other())
    assert results["skip_locked"] == ["b", "c"]
    assert results["nowait"] == "55P03"
    assert str(results["of"]).endswith('FOR UPDATE OF "rel_parent"')


async def test_retry_helper_on_real_serialization_conflict(rel_pg: Connection) -> None:
    counter = await Author.create(name="0")
    barrier = asyncio.Barrier(2)
    attempts: list[int] = []

    def increment(first_attempts: list[bool]) -> object:
        async def body() -> None:
            attempts.append(1)
            row = await Author.get(pk=counter.pk)
            if first_attempts:
                first_attempts.pop()
                await barrier.wait()  # both transactions have read the same value
            row.name = str(int(row.name) + 1)
            await row.save()

        return body

    await asyncio.gather(
        retry_transaction(increment([True]), isolation="serializable", attempts=3),  # type: ignore[arg-type]
        retry_transaction(increment([True]), isolation="serializable", attempts=3),  # type: ignore[arg-type]
    )
    assert (await Author.get(pk=counter.pk)).name == "2"
    assert len(attempts) == 3  # exactly one conflict, retried once

    barrier = asyncio.Barrier(2)
    with pytest.raises(SerializationError):
        await asyncio.gather(
            retry_transaction(increment([True]), isolation="serializable", attempts=1),  # type: ignore[arg-type]
            retry_transaction(increment([True]), isolation="serializable", attempts=1),  # type: ignore[arg-type]
        )
