"""``bulk_create`` batching at the bind-parameter limit, and streaming with ``iterator(chunk_size)``."""

from __future__ import annotations

from typing import Any

import pytest

from yara_orm.conformance.kit import Kit
from yara_orm.transactions import in_transaction

COLUMNS_PER_ROW = 3  # a, b and c or d (the id is generated)

# The two bulk models: ``bulk`` may go out as one array statement (UNNEST) or a prepared
# one-row INSERT per row where the dialect does that; ``bulk_values`` has a binary column no
# dialect sends as an array, so it is batched into multi-row VALUES at the bind-parameter limit.
SHAPES = ["bulk", "bulk_values"]


def _rows_at_limit(kit: Kit, columns: int = COLUMNS_PER_ROW) -> int:
    return max(1, int(kit.caps["max_bind_params"]) // columns)


def _third(model_name: str, i: int) -> dict[str, Any]:
    if model_name == "bulk":
        return {"c": None if i % 20 == 0 else i / 4}
    return {"d": None if i % 20 == 0 else i.to_bytes(3, "big")}


async def _bulk(kit: Kit, count: int, model_name: str = "bulk", ids: bool = False) -> list[Any]:
    model = getattr(kit.models, model_name)
    await kit.clear(model)
    objs = [
        model(**({"id": 10 * i + 3} if ids else {}), a=i, b=f"row {i}", **_third(model_name, i))
        for i in range(count)
    ]
    await model.bulk_create(objs)
    return objs


async def _check_rows(kit: Kit, count: int, model_name: str = "bulk", objs: list[Any] | None = None) -> None:
    model = getattr(kit.models, model_name)
    third = "c" if model_name == "bulk" else "d"
    total = await model.all().count()
    assert total == count, f"bulk_create of {count} rows into {model_name} stored {total}"
    rows = await model.all().order_by("a").values_list("id", "a", "b", third)
    bad = [row for i, row in enumerate(rows) if row[1:] != (i, f"row {i}", _third(model_name, i)[third])]
    assert not bad, f"{len(bad)} rows came back different from what bulk_create wrote, first: {bad[:3]}"
    if objs is not None:
        # Each object got the id of its own row (RETURNING in the order of the rows given).
        by_a = {a: id_ for id_, a, *_ in rows}
        wrong = [(o.a, o.id, by_a.get(o.a)) for o in objs if o.id != by_a.get(o.a)]
        assert not wrong, (
            f"bulk_create gave {len(wrong)} objects another row's id, first (a, obj.id, row id): {wrong[:3]}"
        )


# Given ids need no RETURNING: those rows go out through the prepared or bulk-load path, where
# the bind limit does not apply, so only the over-the-limit count is worth its time there.
BULK_CASES = [
    pytest.param(shape, ids, model, id=f"{shape}-{'explicit_ids' if ids else 'returning'}-{model}")
    for model in SHAPES
    for shape, ids in (("exactly_at_limit", False), ("over_limit", False), ("over_limit", True))
]


@pytest.mark.parametrize(("shape", "ids", "model_name"), BULK_CASES)
def test_bulk_create_at_bind_limit(kit: Kit, shape: str, ids: bool, model_name: str) -> None:
    """One batch exactly at max_bind_params, then enough rows to need three batches; with ids
    generated (RETURNING assigns them) and given (no RETURNING: the prepared or bulk-load path)."""
    at_limit = _rows_at_limit(kit, COLUMNS_PER_ROW + ids)
    count = at_limit if shape == "exactly_at_limit" else 2 * at_limit + 7

    async def go() -> None:
        objs = await _bulk(kit, count, model_name, ids)
        await _check_rows(kit, count, model_name, objs)

    kit.run(go())


def test_bulk_create_in_transaction_rolls_back(kit: Kit) -> None:
    count = _rows_at_limit(kit) + 1

    async def go() -> None:
        model = kit.models.bulk
        await kit.clear(model)
        try:
            async with in_transaction():
                await model.bulk_create([model(a=i, b="x") for i in range(count)])
                assert await model.all().count() == count
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        left = await model.all().count()
        assert left == 0, f"a rolled-back multi-batch bulk_create left {left} rows"

    kit.run(go())


STREAM_ROWS = 2_503


@pytest.fixture(scope="module")
def streamed(kit: Kit) -> Kit:
    kit.run(_bulk(kit, STREAM_ROWS))
    return kit


@pytest.mark.requires("streaming")
@pytest.mark.parametrize("chunk_size", [1, 100, 2_503, 10_000])
def test_iterator(streamed: Kit, chunk_size: int) -> None:
    async def go() -> list[int]:
        return [
            obj.a async for obj in streamed.models.bulk.all().order_by("a").iterator(chunk_size=chunk_size)
        ]

    got = streamed.run(go())
    assert got == list(range(STREAM_ROWS)), (
        f"iterator(chunk_size={chunk_size}) yielded {len(got)} rows, first differences: "
        f"{[(i, v) for i, v in enumerate(got) if v != i][:3]}"
    )


@pytest.mark.requires("streaming")
def test_iterator_empty_and_filtered(streamed: Kit) -> None:
    async def go() -> tuple[list[int], list[int]]:
        model = streamed.models.bulk
        empty = [o.a async for o in model.filter(a__lt=0).iterator(chunk_size=10)]
        some = [o.a async for o in model.filter(a__range=(10, 29)).order_by("-a").iterator(chunk_size=7)]
        return empty, some

    empty, some = streamed.run(go())
    assert empty == [], f"an empty stream yielded {empty}"
    assert some == list(range(29, 9, -1)), f"a filtered, descending stream yielded {some}"


def test_iterator_inside_transaction_sees_own_writes(streamed: Kit) -> None:
    async def go() -> int:
        model = streamed.models.bulk
        async with in_transaction() as tx:
            await model.create(a=-1, b="uncommitted")
            count = len([o async for o in model.filter(a__lt=0).iterator(chunk_size=2)])
            await tx.rollback()
        return count

    assert streamed.run(go()) == 1, "a stream inside a transaction must see the transaction's writes"
