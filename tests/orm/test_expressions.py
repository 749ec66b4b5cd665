"""Expressions, functions and aggregates on both backends."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable

import pytest

from yara_orm import Case, Connection, Exists, F, OuterRef, Q, RawSQL, Subquery, Value, When, fields
from yara_orm.exceptions import ParamsError
from yara_orm.functions import (
    Abs,
    Avg,
    Cast,
    Coalesce,
    Concat,
    Count,
    Extract,
    Function,
    Length,
    Lower,
    Max,
    Min,
    Now,
    Round,
    Sum,
    Trim,
    Trunc,
    Upper,
)

from .models import Article, Person, Row


@pytest.fixture
async def data(orm: Connection) -> Connection:
    await Row.bulk_create([Row(n=i, label=f"  L{i % 2}  ") for i in range(6)])
    await Person.create(
        name="Ann", age=30, email=None, seen=dt.datetime(2024, 5, 17, 13, 45, 10, tzinfo=dt.UTC)
    )
    await Person.create(name="Bo", age=20, email="bo@x", seen=dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    return orm


async def test_f_arithmetic(data: Connection) -> None:
    rows = await Row.annotate(v=(F("n") + 1) * 3 - F("n") % 2).order_by("n").values_list("v", flat=True)
    assert rows == [(n + 1) * 3 - n % 2 for n in range(6)]
    assert await Row.filter(n__gt=F("n") - 1).count() == 6
    await Row.filter(n=2).update(n=F("n") * 10 + 1)
    assert await Row.filter(n=21).exists()
    half = await Row.annotate(h=F("n") / 2).filter(n=5).values_list("h", flat=True)
    assert half == [2]


async def test_value_and_raw_sql(data: Connection) -> None:
    got = (
        await Row.annotate(one=Value(1), s=Value("x"), d=Value(dt.date(2020, 1, 2)))
        .filter(n=0)
        .values("one", "s", "d")
    )
    assert got == [{"one": 1, "s": "x", "d": dt.date(2020, 1, 2)}]
    raw = (
        await Row.annotate(t=RawSQL(f"{data.dialect.quote('n')} * %s", [7], output_field=fields.IntField()))
        .filter(n=3)
        .values_list("t", flat=True)
    )
    assert raw == [21]
    assert await Row.filter(RawSQL(f"{data.dialect.quote('n')} >= %s", [4])).count() == 2


async def test_case_when(data: Connection) -> None:
    qs = Row.annotate(
        size=Case(When(n__lt=2, then="small"), When(n__lt=4, then="mid"), default="big")
    ).order_by("n")
    assert await qs.values_list("size", flat=True) == ["small", "small", "mid", "mid", "big", "big"]
    flag = (
        await Row.annotate(even=Case(When(Q(n=0) | Q(n=2), then=Value(True)), default=False))
        .filter(n=2)
        .values_list("even", flat=True)
    )
    assert flag == [True]
    picked = (
        await Row.annotate(p=Case(When(n=1, then=F("n") * 100), default=F("n")))
        .order_by("n")
        .values_list("p", flat=True)
    )
    assert picked[:3] == [0, 100, 2]


async def test_subquery_outerref_exists(data: Connection) -> None:
    bigger = Row.filter(n__gt=OuterRef("n")).order_by("n").values_list("n", flat=True)
    nexts = await Row.annotate(nxt=Subquery(bigger.limit(1))).order_by("n").values_list("n", "nxt")
    assert nexts == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, None)]
    same_label = Row.filter(label=OuterRef("label"), n__gt=OuterRef("n"))
    assert sorted(await Row.filter(Exists(same_label)).values_list("n", flat=True)) == [0, 1, 2, 3]
    assert sorted(await Row.exclude(Exists(same_label)).values_list("n", flat=True)) == [4, 5]
    flags = await Row.annotate(has=Exists(same_label)).order_by("n").values_list("has", flat=True)
    assert flags == [True, True, True, True, False, False]
    ids = Row.filter(n__gte=4).values_list("id", flat=True)
    assert await Row.filter(id__in=ids).count() == 2
    assert await Row.filter(id__in=Row.filter(n__lt=1)).count() == 1


async def test_text_functions(data: Connection) -> None:
    got = (
        await Row.annotate(lo=Lower(Trim("label")), up=Upper("label"), ln=Length("label"), tr=Trim("label"))
        .filter(n=1)
        .values("lo", "up", "ln", "tr")
    )
    assert got == [{"lo": "l1", "up": "  L1  ", "ln": 6, "tr": "L1"}]
    cat = (
        await Person.annotate(c=Concat("name", "-", F("age"), "-", F("email")))
        .order_by("name")
        .values_list("c", flat=True)
    )
    assert cat == ["Ann-30-", "Bo-20-bo@x"]
    assert await Person.filter(name="Ann").annotate(e=Coalesce("email", "none")).values_list(
        "e", flat=True
    ) == ["none"]


async def test_numeric_functions(data: Connection) -> None:
    got = await Row.annotate(a=Abs(F("n") - 10), r=Round(F("n") / Value(4.0), 1)).filter(n=3).values("a", "r")
    assert got == [{"a": 7, "r": 0.8}]
    as_text = (
        await Row.annotate(t=Cast("n", fields.CharField(max_length=10)))
        .filter(n=5)
        .values_list("t", flat=True)
    )
    assert as_text == ["5"]
    await Person.filter(name="Ann").update(balance=decimal.Decimal("10.56"))
    rounded = await Person.annotate(b=Round("balance", 1)).filter(name="Ann").values_list("b", flat=True)
    assert rounded == [decimal.Decimal("10.6")]


async def test_date_functions(data: Connection) -> None:
    got = (
        await Person.annotate(
            y=Extract("seen", "year"),
            m=Extract("seen", "month"),
            d=Trunc("seen", "month"),
            h=Trunc("seen", "hour"),
        )
        .filter(name="Ann")
        .values("y", "m", "d", "h")
    )
    assert got == [
        {
            "y": 2024,
            "m": 5,
            "d": dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
            "h": dt.datetime(2024, 5, 17, 13, tzinfo=dt.UTC),
        }
    ]
    week = (
        await Person.annotate(w=Trunc("seen", "week"), q=Trunc("seen", "quarter"))
        .filter(name="Ann")
        .values("w", "q")
    )
    assert week == [
        {"w": dt.datetime(2024, 5, 13, tzinfo=dt.UTC), "q": dt.datetime(2024, 4, 1, tzinfo=dt.UTC)}
    ]
    now = await Person.annotate(now=Now()).filter(name="Ann").values_list("now", flat=True)
    assert abs(now[0] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    born = await Person.filter(name="Bo").update(born=dt.date(2001, 8, 9))
    assert born == 1
    by_year = await Person.annotate(y=Extract("born", "year")).filter(y=2001).values_list("name", flat=True)
    assert by_year == ["Bo"]


async def test_aggregates_distinct_and_filter(data: Connection) -> None:
    result = await Row.all().aggregate(
        labels=Count("label", distinct=True),
        evens=Count("id", _filter=Q(n__in=[0, 2, 4])),
        big_sum=Sum("n", _filter=Q(n__gte=3)),
        mean=Avg("n"),
        lo=Min("label"),
        hi=Max("n"),
    )
    assert result == {"labels": 2, "evens": 3, "big_sum": 12, "mean": 2.5, "lo": "  L0  ", "hi": 5}
    latest = await Person.all().aggregate(last=Max("seen"))
    assert latest["last"] == dt.datetime(2024, 5, 17, 13, 45, 10, tzinfo=dt.UTC)
    per_label = (
        await Row.annotate(c=Count("id", _filter=Q(n__gt=1)))
        .group_by("label")
        .order_by("label")
        .values("label", "c")
    )
    assert [r["c"] for r in per_label] == [2, 2]


async def test_order_by_expression_and_annotation(data: Connection) -> None:
    assert [r.n for r in await Row.all().order_by(F("n").desc()).limit(2)] == [5, 4]
    ordered = await Row.annotate(neg=F("n") * -1).order_by("neg").values_list("n", flat=True)
    assert ordered == [5, 4, 3, 2, 1, 0]


async def test_expression_errors(data: Connection) -> None:
    with pytest.raises(ParamsError):
        Row.annotate(x=5)  # type: ignore[arg-type]
    with pytest.raises(ParamsError):
        await Row.all().aggregate(x=F("n"))
    with pytest.raises(ParamsError):
        When(then=1)
    with pytest.raises(ParamsError):
        Extract("n", "fortnight")
    with pytest.raises(ParamsError, match="marker"):
        await Row.annotate(x=RawSQL("%s + %s", [1])).values("x")


async def test_article_defaults_inherited(orm: Connection) -> None:
    a = await Article.create(title="t", slug="s")
    assert a.created_at is not None and a.lang == "en"


async def test_mixed_arithmetic_keeps_fractions(data: Connection) -> None:
    got = await Row.annotate(h=F("n") * 0.5, d=F("n") * decimal.Decimal("1.5")).filter(n=3).values("h", "d")
    assert got[0]["h"] == 1.5
    assert got[0]["d"] == decimal.Decimal("4.5")


class _Doubled(Function):
    """A custom function written the yara-orm 1.19 way: only ``render``."""

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field

    def render(self, resolve: Callable[[str], str]) -> str:
        return f"({resolve(self.field)} * 2)"


class _Placeholders:
    def placeholder(self, index: int) -> str:
        return f"${index}"


async def test_custom_function_render_hook_and_render_params(data: Connection) -> None:
    got = await Row.annotate(d=_Doubled("n")).filter(n=3).values_list("d", flat=True)
    assert got == [6]
    assert await Row.annotate(d=_Doubled("n")).filter(d__gte=8).count() == 2  # n = 4, 5
    # The built-ins render through the same protocol (columns via resolve, values bound).
    quote = '"{}"'.format
    assert Lower(Trim("label")).render(quote) == 'LOWER(TRIM("label"))'
    params: list[object] = []
    assert Coalesce(Lower(F("a")), "x").render_params(quote, _Placeholders(), params, 1) == (
        'COALESCE(LOWER("a"), $1)',
        2,
    )
    assert params == ["x"]
    with pytest.raises(ParamsError, match="render_params"):
        Coalesce("a", "x").render(quote)
