"""Every QuerySet method on both backends."""

from __future__ import annotations

import decimal

import pytest

from yara_orm import Connection, F, Q, QuerySet
from yara_orm.exceptions import DoesNotExist, FieldError, MultipleObjectsReturned, ParamsError

from .models import Article, Product, Row


@pytest.fixture
async def rows(orm: Connection) -> Connection:
    await Row.bulk_create([Row(n=i, label=f"l{i % 3}") for i in range(10)])
    return orm


async def test_await_gives_list_and_is_lazy(rows: Connection) -> None:
    qs = Row.filter(n__lt=3)
    assert isinstance(qs, QuerySet)
    result = await qs.order_by("n")
    assert [r.n for r in result] == [0, 1, 2]
    assert all(isinstance(r, Row) and r._saved_in_db for r in result)
    # chaining does not modify the original
    qs.filter(n=1)
    assert len(await qs) == 3


async def test_async_for_iterates(rows: Connection) -> None:
    seen = [r.n async for r in Row.all().order_by("-n")]
    assert seen == list(range(9, -1, -1))


async def test_order_by_limit_offset_slicing(rows: Connection) -> None:
    assert [r.n for r in await Row.all().order_by("-n").limit(3)] == [9, 8, 7]
    assert [r.n for r in await Row.all().order_by("n").offset(8)] == [8, 9]
    assert [r.n for r in await Row.all().order_by("n")[2:5]] == [2, 3, 4]
    assert (await Row.all().order_by("n")[4]).n == 4
    with pytest.raises(DoesNotExist):
        await Row.all().order_by("n")[40]
    assert [r.n for r in await Row.all().order_by("label", "-n").limit(4)] == [9, 6, 3, 0]


async def test_distinct_values_values_list(rows: Connection) -> None:
    assert sorted(await Row.all().distinct().values_list("label", flat=True)) == ["l0", "l1", "l2"]
    first = await Row.filter(n=1).values("n", "label")
    assert first == [{"n": 1, "label": "l1"}]
    assert await Row.filter(n=2).values(number="n") == [{"number": 2}]
    assert await Row.filter(n__in=[1, 2]).order_by("n").values_list("n", "label") == [(1, "l1"), (2, "l2")]
    every = await Row.filter(n=0).values()
    assert set(every[0]) == {"id", "n", "label"}
    assert await Row.filter(n=3).values_list("label", flat=True).first() == "l0"
    assert await Row.filter(n=4).values("n").get() == {"n": 4}
    with pytest.raises(ParamsError):
        Row.all().values_list("n", "label", flat=True)


async def test_only_defer_and_partial_save(rows: Connection) -> None:
    row = await Row.filter(n=5).only("n").get()
    assert row.n == 5 and "label" not in row.__dict__
    row.n = 50
    await row.save()
    fresh = await Row.get(pk=row.pk)
    assert (fresh.n, fresh.label) == (50, "l2")
    deferred = await Row.filter(n=50).defer("label").first()
    assert deferred is not None and "label" not in deferred.__dict__
    with pytest.raises(FieldError):
        await Row.all().only("nope")


async def test_count_exists_first_last_earliest_latest(rows: Connection) -> None:
    assert await Row.all().count() == 10
    assert await Row.filter(label="l0").count() == 4
    assert await Row.all().limit(3).count() == 3
    assert await Row.all().distinct().values("label").count() == 3
    assert await Row.filter(n=3).exists() and not await Row.filter(n=99).exists()
    assert (await Row.all().order_by("n").first()).n == 0  # type: ignore[union-attr]
    assert (await Row.all().order_by("n").last()).n == 9  # type: ignore[union-attr]
    assert (await Row.first()).n == 0  # type: ignore[union-attr]
    assert await Row.filter(n=99).first() is None
    assert (await Row.all().earliest("-n")).n == 9  # type: ignore[union-attr]
    assert (await Row.all().latest("n")).n == 9  # type: ignore[union-attr]


async def test_get_get_or_none(rows: Connection) -> None:
    assert (await Row.get(n=3)).label == "l0"
    assert (await Row.filter(label="l1").get(n=4)).n == 4
    with pytest.raises(DoesNotExist):
        await Row.get(n=99)
    with pytest.raises(DoesNotExist):
        await Row.get(pk=12345)
    with pytest.raises(MultipleObjectsReturned):
        await Row.get(label="l0")
    assert await Row.get_or_none(n=99) is None
    assert (await Row.get_or_none(n=2)).n == 2  # type: ignore[union-attr]
    row = await Row.get(n=1)
    assert (await Row.get(pk=row.pk)) == row
    assert (await Row.get(pk=row.pk).only("n")).n == 1


async def test_update_and_delete_return_counts(rows: Connection) -> None:
    assert await Row.filter(label="l0").update(n=F("n") + 100) == 4
    assert sorted(await Row.filter(n__gte=100).values_list("n", flat=True)) == [100, 103, 106, 109]
    assert await Row.filter(n__gte=100).update(label="big") == 4
    assert await Row.filter(label="big").delete() == 4
    assert await Row.all().count() == 6
    with pytest.raises(ParamsError, match="sliced"):
        await Row.all().limit(2).delete()
    with pytest.raises(ParamsError, match="sliced"):
        await Row.all().offset(2).update(n=1)
    with pytest.raises(FieldError):
        await Row.all().update(nope=1)


async def test_annotate_group_by_aggregate_having(rows: Connection) -> None:
    from yara_orm.functions import Avg, Count, Max, Min, Sum

    grouped = (
        await Row.annotate(c=Count("id"), s=Sum("n"))
        .group_by("label")
        .order_by("label")
        .values("label", "c", "s")
    )
    assert grouped == [
        {"label": "l0", "c": 4, "s": 18},
        {"label": "l1", "c": 3, "s": 12},
        {"label": "l2", "c": 3, "s": 15},
    ]
    having = await Row.annotate(s=Sum("n")).group_by("label").filter(s__gt=14).values_list("label", flat=True)
    assert sorted(having) == ["l0", "l2"]
    agg = await Row.filter(n__lt=5).aggregate(
        total=Sum("n"), avg=Avg("n"), lo=Min("n"), hi=Max("n"), c=Count("id")
    )
    assert agg == {"total": 10, "avg": 2.0, "lo": 0, "hi": 4, "c": 5}
    assert isinstance(agg["avg"], float) and isinstance(agg["total"], int)
    empty = await Row.filter(n__gt=100).aggregate(total=Sum("n"), c=Count("id"))
    assert empty == {"total": None, "c": 0}
    annotated = await Row.annotate(double=F("n") * 2).filter(double__gte=16).order_by("-double")
    assert [(r.n, r.double) for r in annotated] == [(9, 18), (8, 16)]  # type: ignore[attr-defined]


async def test_decimal_aggregates(orm: Connection) -> None:
    from yara_orm.functions import Sum

    await Product.create(code="a", price=decimal.Decimal("1.10"))
    await Product.create(code="b", price=decimal.Decimal("2.25"))
    result = await Product.all().aggregate(total=Sum("price"))
    assert result["total"] == decimal.Decimal("3.35")


async def test_custom_manager_filters_every_query(orm: Connection) -> None:
    await Product.create(code="live", price=1)
    gone = await Product.create(code="gone", price=1, deleted=True)
    assert [p.code for p in await Product.all()] == ["live"]
    assert await Product.filter(code="gone").count() == 0
    assert await Product.get_or_none(code="gone") is None
    with pytest.raises(DoesNotExist):
        await Product.get(pk=gone.pk)


async def test_meta_ordering_is_default(orm: Connection) -> None:
    for i in range(3):
        await Article.create(title=f"t{i}", slug=f"s{i}")
    assert [a.title for a in await Article.all()] == ["t2", "t1", "t0"]
    assert [a.title for a in await Article.all().order_by("id")] == ["t0", "t1", "t2"]


async def test_select_for_update_in_transaction(orm: Connection) -> None:
    await Row.create(n=1, label="x")
    async with orm.transaction():
        row = await Row.filter(n=1).select_for_update().get()
        row.label = "locked"
        await row.save()
    assert (await Row.get(n=1)).label == "locked"


async def test_using_db_and_sql_and_explain(rows: Connection) -> None:
    assert await Row.all().using_db("default").count() == 10
    assert await Row.all().using_db(rows).filter(n=1).count() == 1
    async with rows.transaction() as tx:
        await Row.create(n=77, label="tx")
        assert await Row.filter(n=77).using_db(tx).count() == 1
    sql = Row.filter(n=1).sql()
    assert sql.startswith("SELECT") and "orm_row" in sql
    plan = await Row.filter(n=1).explain()
    assert isinstance(plan, str) and plan


async def test_in_bulk_and_raw(rows: Connection) -> None:
    ids = await Row.filter(n__lt=3).values_list("id", flat=True)
    found = await Row.in_bulk(ids)
    assert sorted(r.n for r in found.values()) == [0, 1, 2]
    assert set(found) == set(ids)
    q = rows.dialect.quote
    raw = await Row.raw(
        f"SELECT {q('id')}, {q('n')}, {q('label')}, {q('n')} * 10 AS {q('tenfold')} FROM {q('orm_row')} "
        f"WHERE {q('n')} < 2 ORDER BY {q('n')}"
    )
    assert [(r.n, r.tenfold) for r in raw] == [(0, 0), (1, 10)]  # type: ignore[attr-defined]
    ph = rows.dialect.placeholder(1)
    raw2 = await Row.raw(f"SELECT * FROM {q('orm_row')} WHERE {q('n')} = {ph}", [5])
    assert len(raw2) == 1 and raw2[0].label == "l2"
    with pytest.raises(ParamsError):
        await Row.in_bulk([1], field_name="label")


async def test_q_objects(rows: Connection) -> None:
    result = await Row.filter(Q(n__lt=2) | Q(n__gt=8), ~Q(n=0)).values_list("n", flat=True)
    assert sorted(result) == [1, 9]
    assert await Row.filter(Q(n=1, label="l1", join_type="OR")).count() == 3
    assert await Row.exclude(label="l0").count() == 6
    assert await Row.exclude(Q(label="l0") | Q(label="l1")).count() == 3


async def test_iterator_chunks(rows: Connection) -> None:
    got = [r.n async for r in Row.all().order_by("n").iterator(chunk_size=3)]
    assert got == list(range(10))
    values = [v async for v in Row.all().order_by("n").values_list("n", flat=True).iterator(chunk_size=4)]
    assert values == list(range(10))
    async with rows.transaction():
        inside = [r.n async for r in Row.filter(n__gte=5).order_by("n").iterator(chunk_size=2)]
    assert inside == [5, 6, 7, 8, 9]
    with pytest.raises(ParamsError):
        [r async for r in Row.all().iterator(chunk_size=0)]
