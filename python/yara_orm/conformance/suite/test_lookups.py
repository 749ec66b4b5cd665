"""Lookup semantics through ``QuerySet.filter``: every backend must agree with Python's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yara_orm.conformance.kit import Kit

UTC = dt.UTC

ROWS: list[dict[str, Any]] = [
    {
        "name": "Alpha",
        "num": 1,
        "when": dt.datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        "day": dt.date(2024, 1, 15),
    },
    {
        "name": "alpha",
        "num": 2,
        "when": dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC),
        "day": dt.date(2023, 12, 31),
    },
    {
        "name": "ALPHA ",
        "num": 3,
        "when": dt.datetime(2024, 2, 29, 0, 0, tzinfo=UTC),
        "day": dt.date(2024, 2, 29),
    },
    {"name": "50%_off", "num": 4, "when": None, "day": None},
    {
        "name": "50xxoff",
        "num": None,
        "when": dt.datetime(1999, 7, 4, 12, 0, tzinfo=UTC),
        "day": dt.date(1999, 7, 4),
    },
    {"name": "a\\b", "num": 6, "when": None, "day": None},
    {"name": "a_b", "num": 7, "when": None, "day": None},
    {"name": "axb", "num": 8, "when": None, "day": None},
    {"name": None, "num": 9, "when": None, "day": None},
    {"name": "", "num": 0, "when": None, "day": None},
]

DOCS: list[Any] = [
    {"owner": {"name": "ann", "age": 30}, "n": 3, "tags": ["a", "b"]},
    {"owner": {"name": "bob", "age": 20}, "n": 10, "tags": ["b"]},
    {"owner": None, "n": 1, "tags": []},
    {"other": True},
]


@pytest.fixture(scope="module")
def look(kit: Kit) -> Kit:
    async def fill() -> None:
        model = kit.models.look
        await kit.clear(model)
        for row in ROWS:
            await model.create(**row)
        if kit.caps.get("json"):
            for i, doc in enumerate(DOCS):
                await model.create(name=f"doc{i}", doc=doc)

    kit.run(fill())
    return kit


def names(kit: Kit, **filters: Any) -> list[str | None]:
    async def go() -> list[str | None]:
        rows = await kit.models.look.filter(**filters).order_by("id")
        return [r.name for r in rows]

    return kit.run(go())


def python_side(pred: Callable[[dict[str, Any]], bool]) -> list[str | None]:
    return [r["name"] for r in ROWS if pred(r)]


CASES: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ("exact", {"name": "Alpha"}, lambda r: r["name"] == "Alpha"),
    ("exact_empty_string", {"name": ""}, lambda r: r["name"] == ""),
    ("iexact", {"name__iexact": "alpha"}, lambda r: r["name"] is not None and r["name"].lower() == "alpha"),
    ("in", {"num__in": [1, 3, 9, 42]}, lambda r: r["num"] in (1, 3, 9, 42)),
    ("in_empty", {"num__in": []}, lambda r: False),
    # Like ``not``, ``not_in`` keeps NULL rows (Tortoise's and yara-orm 1.19's semantics).
    ("not_in", {"num__not_in": [1, 2]}, lambda r: r["num"] not in (1, 2)),
    ("range", {"num__range": (2, 6)}, lambda r: r["num"] is not None and 2 <= r["num"] <= 6),
    ("isnull_true", {"num__isnull": True}, lambda r: r["num"] is None),
    ("isnull_false", {"when__isnull": False}, lambda r: r["when"] is not None),
    ("gt_excludes_null", {"num__gt": 2}, lambda r: r["num"] is not None and r["num"] > 2),
    ("contains_percent", {"name__contains": "%"}, lambda r: r["name"] is not None and "%" in r["name"]),
    ("contains_underscore", {"name__contains": "_"}, lambda r: r["name"] is not None and "_" in r["name"]),
    ("contains_backslash", {"name__contains": "\\"}, lambda r: r["name"] is not None and "\\" in r["name"]),
    (
        "startswith_meta",
        {"name__startswith": "a_"},
        lambda r: r["name"] is not None and r["name"].startswith("a_"),
    ),
    (
        "endswith_meta",
        {"name__endswith": "%_off"},
        lambda r: r["name"] is not None and r["name"].endswith("%_off"),
    ),
    (
        "contains_is_case_sensitive",
        {"name__contains": "lph"},
        lambda r: r["name"] is not None and "lph" in r["name"],
    ),
    (
        "icontains",
        {"name__icontains": "LPH"},
        lambda r: r["name"] is not None and "lph" in r["name"].lower(),
    ),
    (
        "icontains_meta",
        {"name__icontains": "%_O"},
        lambda r: r["name"] is not None and "%_o" in r["name"].lower(),
    ),
    (
        "istartswith_meta",
        {"name__istartswith": "A_"},
        lambda r: r["name"] is not None and r["name"].lower().startswith("a_"),
    ),
    ("iexact_meta", {"name__iexact": "A_B"}, lambda r: r["name"] is not None and r["name"].lower() == "a_b"),
    ("year", {"when__year": 2024}, lambda r: r["when"] is not None and r["when"].year == 2024),
    ("month", {"when__month": 12}, lambda r: r["when"] is not None and r["when"].month == 12),
    ("day", {"day__day": 29}, lambda r: r["day"] is not None and r["day"].day == 29),
    ("date_year_lt", {"day__year__lt": 2024}, lambda r: r["day"] is not None and r["day"].year < 2024),
    ("hour", {"when__hour": 23}, lambda r: r["when"] is not None and r["when"].hour == 23),
]


@pytest.mark.parametrize(("filters", "pred"), [pytest.param(f, p, id=i) for i, f, p in CASES])
def test_lookup(look: Kit, filters: dict[str, Any], pred: Callable[[dict[str, Any]], bool]) -> None:
    want = python_side(pred)
    got = [n for n in names(look, **filters) if n is None or not n.startswith("doc")]
    assert got == want, f"filter({filters!r}) returned names {got!r}, expected {want!r}"


JSON_CASES: list[tuple[str, dict[str, Any], list[int]]] = [
    ("path_exact", {"doc__owner__name": "ann"}, [0]),
    ("path_gt", {"doc__owner__age__gt": 25}, [0]),
    ("path_lte", {"doc__n__lte": 3}, [0, 2]),
    ("path_in", {"doc__n__in": [3, 10]}, [0, 1]),
    ("path_index", {"doc__tags__0": "b"}, [1]),
    ("path_bool", {"doc__other": True}, [3]),
    # JSON null and a missing key are both "null" to a path lookup.
    ("path_json_null_or_missing", {"doc__owner__isnull": True}, [2, 3]),
    ("path_not_null", {"doc__owner__isnull": False}, [0, 1]),
]


@pytest.mark.requires("json")
@pytest.mark.parametrize(("filters", "want"), [pytest.param(f, w, id=i) for i, f, w in JSON_CASES])
def test_json_path(look: Kit, filters: dict[str, Any], want: list[int]) -> None:
    got = [n for n in names(look, **filters) if n is not None and n.startswith("doc")]
    assert got == [f"doc{i}" for i in want], f"filter({filters!r}) returned {got!r}"


PATTERN_ALPHABET = st.sampled_from(["a", "B", "%", "_", "\\", "x", "é"])


@given(text=st.text(PATTERN_ALPHABET, max_size=8), needle=st.text(PATTERN_ALPHABET, min_size=1, max_size=3))
def test_contains_property(kit: Kit, text: str, needle: str) -> None:
    """contains/startswith/endswith agree with Python's ``in``/``startswith``/``endswith``,
    whatever LIKE metacharacters the needle holds."""

    async def go() -> dict[str, bool]:
        model = kit.models.look
        obj = await model.create(name=text)
        try:
            q = model.filter(id=obj.id)
            return {
                "contains": await q.filter(name__contains=needle).exists(),
                "startswith": await q.filter(name__startswith=needle).exists(),
                "endswith": await q.filter(name__endswith=needle).exists(),
                "icontains": await q.filter(name__icontains=needle).exists(),
            }
        finally:
            await obj.delete()

    got = kit.run(go())
    want = {
        "contains": needle in text,
        "startswith": text.startswith(needle),
        "endswith": text.endswith(needle),
        "icontains": needle.lower() in text.lower(),
    }
    assert got == want, f"name={text!r}, needle={needle!r}: database said {got}, Python says {want}"


def test_ordering_with_nulls(look: Kit) -> None:
    """NULLs sort together at one end, the other end when descending; the rest in order."""

    async def go() -> tuple[list[int | None], list[int | None]]:
        model = look.models.look
        q = model.filter(name__not_isnull=True).exclude(name__startswith="doc")
        asc = [r.num for r in await q.order_by("num", "id")]
        desc = [r.num for r in await q.order_by("-num", "id")]
        return asc, desc

    asc, desc = look.run(go())
    values = sorted(r["num"] for r in ROWS if r["name"] is not None and r["num"] is not None)
    nulls = [None] * sum(1 for r in ROWS if r["name"] is not None and r["num"] is None)
    assert asc in (nulls + values, values + nulls), f"order_by('num') gave {asc}"
    flipped = values[::-1] + nulls if asc[: len(nulls)] == nulls else nulls + values[::-1]
    assert desc == flipped, f"order_by('-num') gave {desc}, expected {flipped} (NULLs at the other end)"
