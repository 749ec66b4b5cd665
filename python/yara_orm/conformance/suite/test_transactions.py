"""Transaction semantics: commit, rollback, savepoints, isolation levels, task ownership."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any

import pytest

from yara_orm.conformance.kit import Kit
from yara_orm.transactions import in_transaction


class Boom(Exception):
    pass


async def _codes(kit: Kit) -> list[str]:
    return sorted(r.code for r in await kit.models.uniq.all())


def test_commit_and_rollback(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        async with in_transaction():
            await model.create(code="committed")
        with pytest.raises(Boom):
            async with in_transaction():
                await model.create(code="rolled-back")
                assert await model.filter(code="rolled-back").exists(), (
                    "a transaction must see its own writes"
                )
                raise Boom
        assert await _codes(kit) == ["committed"], f"after commit + rollback: {await _codes(kit)}"

    kit.run(go())


def test_explicit_rollback(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        async with in_transaction() as tx:
            await model.create(code="gone")
            await tx.rollback()
        assert await _codes(kit) == [], f"after an explicit rollback: {await _codes(kit)}"

    kit.run(go())


@pytest.mark.requires("savepoints")
def test_savepoints(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        async with in_transaction():
            await model.create(code="outer")
            with pytest.raises(Boom):
                async with in_transaction():
                    await model.create(code="inner-rolled-back")
                    raise Boom
            async with in_transaction():
                await model.create(code="inner-released")
                async with in_transaction():
                    await model.create(code="innermost")
        got = await _codes(kit)
        assert got == ["inner-released", "innermost", "outer"], f"after nested savepoints: {got}"

    kit.run(go())


def test_isolation_levels(kit: Kit) -> None:
    """Every isolation level the backend declares can be used."""
    levels = list(kit.caps.get("isolation_levels") or [])
    if not levels:
        pytest.skip("backend declares no isolation levels")

    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        for level in levels:
            async with in_transaction(isolation=level):
                await model.create(code=f"iso-{level}")
        got = await _codes(kit)
        assert got == sorted(f"iso-{lv}" for lv in levels), f"rows written under each isolation level: {got}"

    kit.run(go())


async def _elsewhere(coro: Coroutine[Any, Any, bool]) -> bool:
    """Run ``coro`` in a task that does not inherit this task's transaction (a fresh context)."""
    return await asyncio.create_task(coro, context=contextvars.Context())


def test_uncommitted_writes_are_private(kit: Kit) -> None:
    """Another task does not see an open transaction's writes; it does after commit."""

    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        seen: list[bool] = []
        async with in_transaction():
            await model.create(code="private")
            seen.append(await _elsewhere(model.filter(code="private").exists()))
        seen.append(await _elsewhere(model.filter(code="private").exists()))
        assert seen == [False, True], f"visible to another task before/after commit: {seen}"

    kit.run(go())
