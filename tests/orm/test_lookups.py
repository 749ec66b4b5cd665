"""Every lookup, run against both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from yara_orm import Connection, F
from yara_orm.exceptions import FieldError, UnSupportedError

from .models import Every, Person


@pytest.fixture
async def people(orm: Connection) -> Connection:
    rows = [
        ("Alice", 30, "alice@example.com", dt.datetime(2024, 3, 15, 10, 20, 30, 123456, tzinfo=dt.UTC)),
        ("bob", 25, "bob@test.org", dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
        ("Carol 50%_off", 41, None, dt.datetime(2024, 7, 1, 0, 0, 1, tzinfo=dt.UTC)),
        ("dave\\x", 25, "DAVE@EXAMPLE.COM", None),
    ]
    for name, age, email, seen in rows:
        await Person.create(name=name, age=age, email=email, seen=seen, born=seen.date() if seen else None)
    return orm


async def names(**kwargs: Any) -> list[str]:
    return sorted(await Person.filter(**kwargs).values_list("name", flat=True))


CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"age": 25}, ["bob", "dave\\x"]),
    ({"age__exact": 30}, ["Alice"]),
    ({"name__iexact": "ALICE"}, ["Alice"]),
    ({"age__not": 25}, ["Alice", "Carol 50%_off"]),
    ({"email__not": "bob@test.org"}, ["Alice", "Carol 50%_off", "dave\\x"]),
    ({"age__gt": 30}, ["Carol 50%_off"]),
    ({"age__gte": 30}, ["Alice", "Carol 50%_off"]),
    ({"age__lt": 30}, ["bob", "dave\\x"]),
    ({"age__lte": 30}, ["Alice", "bob", "dave\\x"]),
    ({"age__in": [30, 41, 99]}, ["Alice", "Carol 50%_off"]),
    ({"age__not_in": [25]}, ["Alice", "Carol 50%_off"]),
    ({"age__range": (26, 41)}, ["Alice", "Carol 50%_off"]),
    ({"email__isnull": True}, ["Carol 50%_off"]),
    ({"email__not_isnull": True}, ["Alice", "bob", "dave\\x"]),
    ({"email": None}, ["Carol 50%_off"]),
    ({"email__contains": "example"}, ["Alice"]),
    ({"email__icontains": "EXAMPLE"}, ["Alice", "dave\\x"]),
    ({"name__contains": "50%_"}, ["Carol 50%_off"]),
    ({"name__contains": "%"}, ["Carol 50%_off"]),
    ({"name__contains": "_"}, ["Carol 50%_off"]),
    ({"name__contains": "\\"}, ["dave\\x"]),
    ({"name__startswith": "A"}, ["Alice"]),
    ({"name__startswith": "a"}, []),
    ({"name__istartswith": "a"}, ["Alice"]),
    ({"name__endswith": "off"}, ["Carol 50%_off"]),
    ({"name__iendswith": "OFF"}, ["Carol 50%_off"]),
    ({"email__endswith": ".COM"}, ["dave\\x"]),
    ({"seen__year": 2024}, ["Alice", "Carol 50%_off"]),
    ({"seen__year__lt": 2024}, ["bob"]),
    ({"seen__quarter": 1}, ["Alice"]),
    ({"seen__month": 12}, ["bob"]),
    ({"seen__week": 11}, ["Alice"]),
    ({"seen__day": 15}, ["Alice"]),
    ({"seen__hour": 23}, ["bob"]),
    ({"seen__minute": 20}, ["Alice"]),
    ({"seen__second": 1}, ["Carol 50%_off"]),
    ({"seen__microsecond": 123456}, ["Alice"]),
    ({"seen__date": dt.date(2023, 12, 31)}, ["bob"]),
    ({"born__year": 2023}, ["bob"]),
    ({"born__month__in": [3, 7]}, ["Alice", "Carol 50%_off"]),
    ({"age": F("age")}, ["Alice", "Carol 50%_off", "bob", "dave\\x"]),
    ({"age__lt": F("age") + 1}, ["Alice", "Carol 50%_off", "bob", "dave\\x"]),
]


@pytest.mark.parametrize(("kwargs", "expected"), CASES, ids=[next(iter(c[0])) for c in CASES])
async def test_lookup(people: Connection, kwargs: dict[str, Any], expected: list[str]) -> None:
    assert await names(**kwargs) == sorted(expected)


async def test_regex_and_search(people: Connection) -> None:
    if people.backend == "postgres":
        assert await names(name__regex=r"^[A-C]") == ["Alice", "Carol 50%_off"]
        assert await names(name__iregex=r"^b") == ["bob"]
        await Person.filter(name="bob").update(bio="the quick brown foxes jumped")
        assert await names(bio__search="fox jump") == ["bob"]
    elif people.backend == "mysql":
        assert await names(name__regex=r"^[A-C]") == ["Alice", "Carol 50%_off"]
        assert await names(name__iregex=r"^b") == ["bob"]
        await Person.filter(name="bob").update(bio="the quick brown foxes jumped")
        # MATCH ... AGAINST needs a FULLTEXT index (and matches whole words, no stemming).
        q = people.dialect.quote
        await people.execute(f"CREATE FULLTEXT INDEX {q('ft_bio')} ON {q(Person._meta.table)} ({q('bio')})")
        assert await names(bio__search="quick brown") == ["bob"]
    else:
        with pytest.raises(UnSupportedError, match="regex"):
            await names(name__regex="^A")
        with pytest.raises(UnSupportedError, match="search"):
            await names(bio__search="fox")


async def test_json_lookups(orm: Connection) -> None:
    await Every.create(json={"owner": {"name": "ann", "age": 40}, "tags": ["a", "b"], "n": 3})
    await Every.create(json={"owner": {"name": "ben", "age": 12}, "tags": ["b"], "n": 10})
    await Every.create(json={"other": True})

    async def ids(**kwargs: Any) -> int:
        return await Every.filter(**kwargs).count()

    assert await ids(json__owner__name="ann") == 1
    assert await ids(json__owner__age__gt=20) == 1
    assert await ids(json__n__lte=3) == 1
    assert await ids(json__n__in=[3, 10]) == 2
    assert await ids(json__owner__isnull=True) == 1
    assert await ids(json__owner__name__not="ann") == 2
    assert await ids(json__other=True) == 1
    assert await ids(json__tags__0="b") == 1
    if orm.dialect.supports_json_containment:
        assert await ids(json__contains={"owner": {"name": "ben"}}) == 1
        assert await ids(json__contained_by={"other": True, "x": 1}) == 1
        assert await ids(json__has_key="tags") == 2
    else:
        with pytest.raises(UnSupportedError):
            await ids(json__contains={"owner": {}})
        assert await ids(json__has_key="tags") == 2


async def test_unknown_lookup_and_field_errors(people: Connection) -> None:
    with pytest.raises(
        FieldError, match=r"Unknown filter param 'agee'. Allowed base values are \[pk, active, age"
    ):
        await Person.filter(agee=3)
    with pytest.raises(FieldError, match=r"unknown lookup 'bigger'.*valid lookups"):
        await Person.filter(age__bigger=3)
    with pytest.raises(FieldError, match="unknown lookup 'year'"):
        await Person.filter(name__year=2020)
    with pytest.raises(FieldError, match="JSON fields only"):
        await Person.filter(name__has_key="x")
