"""The per-shape decode plan and the bounded per-model statement cache."""

from __future__ import annotations

from typing import Any

import pytest

from yara_orm import Connection, F
from yara_orm.pool import Pool
from yara_orm.query.cache import DeleteKey, GetPkKey, StatementCache, ValuesKey

from .models import Row


def test_statement_cache_drops_the_oldest_entry_when_full() -> None:
    cache = StatementCache(limit=3)
    for i in range(5):
        cache.put(("k", i), i)
    assert list(cache) == [("k", 2), ("k", 3), ("k", 4)]
    cache.put(("k", 3), "again")  # a present key does not evict
    assert len(cache) == 3 and cache[("k", 3)] == "again"


async def test_bulk_inserts_of_many_batch_sizes_keep_the_cache_bounded(orm: Connection) -> None:
    meta = Row._meta
    old_limit = meta.statements.limit
    meta.statements.limit = 8
    try:
        for size in range(1, 30):
            await Row.bulk_create([Row(n=i, label="b") for i in range(size)])
        assert len(meta.statements) <= 8
        assert await Row.filter(label="b").count() == sum(range(1, 30))
    finally:
        meta.statements.limit = old_limit


def test_keys_of_other_kinds_never_collide() -> None:
    # Named tuples compare as tuples: the trailing kind keeps equal fields of two kinds apart.
    assert DeleteKey("sqlite") != GetPkKey("sqlite")
    assert ValuesKey("sqlite", ("a",), 2, False) != ValuesKey("sqlite", ("a",), 3, False)


async def test_annotated_queries_use_the_engine_instance_path(
    orm: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Row.bulk_create([Row(n=i, label=f"l{i}") for i in range(5)])
    calls: list[str] = []
    original = Pool.fetch_instances

    async def counting(self: Pool, sql: str, params: Any, spec: Any) -> list[Any]:
        calls.append(sql)
        return await original(self, sql, params, spec)

    monkeypatch.setattr(Pool, "fetch_instances", counting)
    rows = await Row.annotate(double=F("n") * 2).filter(n__gte=3).order_by("n")
    assert [(r.n, r.double) for r in rows] == [(3, 6), (4, 8)]  # type: ignore[attr-defined]
    assert len(calls) == 1
