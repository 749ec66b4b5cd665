"""Tortoise ORM behaviours its users' code relies on: F arithmetic objects (``Connector``,
``**``), custom SQL functions (``Function.database_func``), save/clone errors, TimeField
stamps, and the ``_create_or_get`` step of get_or_create/update_or_create."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from yara_orm import Connection, F, Prefetch, Q, YaraOrm, connections, fields
from yara_orm.exceptions import (
    ConfigurationError,
    FieldError,
    IntegrityError,
    OperationalError,
    ParamsError,
    ValidationError,
)
from yara_orm.expressions import CombinedExpression, Connector, Value
from yara_orm.functions import Count, CustomFunction, Function, SqlFunction, Sum

from .._tables import drop_tables
from . import tortoise_api_models as m

TABLES = ["ta_event_team", *(model._meta.table for model in reversed(m.ALL_MODELS))]


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[Connection]:
    await YaraOrm.init(db_url, modules={"models": [m]}, max_size=4)
    await drop_tables(connections.get("default"), TABLES)
    await YaraOrm.generate_schemas()
    try:
        yield connections.get("default")
    finally:
        await drop_tables(connections.get("default"), TABLES)
        await YaraOrm.close()


def test_arithmetic_builds_connector_expressions() -> None:
    f = F("n")
    cases = [
        (f + 1, Connector.add, f, 1),
        (1 + f, Connector.add, 1, f),
        (f - 1, Connector.sub, f, 1),
        (2 * f, Connector.mul, 2, f),
        (f / 2, Connector.div, f, 2),
        (f**2, Connector.pow, f, 2),
        (2**f, Connector.pow, 2, f),
        (f % 2, Connector.mod, f, 2),
        (2 % f, Connector.mod, 2, f),
        (-f, Connector.mul, f, -1),
    ]
    for expr, connector, left, right in cases:
        assert isinstance(expr, CombinedExpression) and expr.connector is connector
        for side, want in ((expr.left, left), (expr.right, right)):
            assert side is want if isinstance(want, F) else (isinstance(side, Value) and side.value == want)
    assert CombinedExpression(f, "+", Value(1)).connector is Connector.add
    with pytest.raises(ParamsError):
        CombinedExpression(f, "<<", Value(1))


async def test_power_modulo_and_negation_run_on_the_database(orm: Connection) -> None:
    row = await m.TaCounter.create(name="a", n=3)
    got = await m.TaCounter.annotate(p=F("n") ** 2, rp=2 ** F("n"), rm=7 % F("n"), neg=-F("n")).values(
        "p", "rp", "rm", "neg"
    )
    assert got == [{"p": 9.0, "rp": 8.0, "rm": 1, "neg": -3}]
    await m.TaCounter.filter(pk=row.pk).update(n=F("n") ** 3)
    assert (await m.TaCounter.get(pk=row.pk)).n == 27


class _Upper(Function):
    database_func = CustomFunction("UPPER", ["value"])


class _Replace(Function):
    class _Call(SqlFunction):
        def __init__(self, value: Any, old: Any, new: Any) -> None:
            super().__init__("REPLACE", value, old, new)

    database_func = _Call


async def test_functions_named_by_their_sql_name(orm: Connection) -> None:
    await m.TaCounter.create(name="abc")
    rows = await m.TaCounter.annotate(u=_Upper("name"), r=_Replace("name", "b", "x")).values("u", "r")
    assert rows == [{"u": "ABC", "r": "axc"}]
    assert await m.TaCounter.annotate(a=SqlFunction("ABS", -5, output_field=fields.IntField())).values_list(
        "a", flat=True
    ) == [5]
    with pytest.raises(ParamsError):
        SqlFunction("ABS(1); --")
    with pytest.raises(ParamsError, match="takes 1 arguments"):
        CustomFunction("UPPER", ["value"])(1, 2)


async def test_save_and_clone_errors(orm: Connection) -> None:
    row = await m.TaCounter.create(name="a")
    with pytest.raises(IntegrityError, match="doesn't exist"):
        await m.TaCounter(id=row.pk + 100, name="b").save(force_update=True)
    with pytest.raises(OperationalError, match="Can't update pk field"):
        await row.save(update_fields=["id"])
    with pytest.raises(OperationalError, match=r"use `TaCounter\.create` instead"):
        await row.save(update_fields=["id", "note"])
    code = await m.TaCode.create(code="A", name="a")
    with pytest.raises(ParamsError):
        code.clone()
    await code.clone(pk="B").save()
    assert await m.TaCode.all().order_by("code").values_list("code", flat=True) == ["A", "B"]


async def test_time_fields_stamp_the_time_of_day(orm: Connection) -> None:
    clock = await m.TaClock.create(name="a")
    assert isinstance(clock.touched, dt.time) and isinstance(clock.born, dt.time)
    born = clock.born
    clock.born = dt.time(1, 2, 3)
    clock.touched = dt.time(1, 2, 3)
    await clock.save()
    fresh = await m.TaClock.get(pk=clock.pk)
    assert fresh.born == dt.time(1, 2, 3) and fresh.touched != dt.time(1, 2, 3)
    assert born is not None
    with pytest.raises(ConfigurationError, match="You can choose only 'auto_now' or 'auto_now_add'"):
        fields.TimeField(auto_now=True, auto_now_add=True)
    assert fields.TimeField(auto_now=True).constraints.get("readOnly") is True


async def test_defaults_contradicting_the_lookup_are_refused(orm: Connection) -> None:
    with pytest.raises(ParamsError, match="Conflict value with key='name'"):
        await m.TaCounter.get_or_create(name="a", defaults={"name": "b"})
    with pytest.raises(ParamsError, match="Conflict value with key='name'"):
        await m.TaCounter.update_or_create(name="a", defaults={"name": "b"})
    assert await m.TaCounter.all().count() == 0
    row, created = await m.TaCounter.update_or_create(name="a", defaults={"name": "a", "note": "x"})
    assert created and row.note == "x"
    # An existing row: defaults repeating its own key are not an update of the key.
    same, created = await m.TaCounter.update_or_create(id=row.pk, defaults={"id": row.pk, "note": "y"})
    assert not created and same.note == "y"


async def test_a_create_racing_update_or_create_is_updated(orm: Connection, monkeypatch: Any) -> None:
    """``_create_or_get`` is the step a concurrent creation races with: after losing, the
    winner's row is locked and updated with the caller's defaults."""
    original = m.TaCounter._create_or_get
    calls: list[dict[str, Any]] = []

    async def racing(cls: Any, db: Any, defaults: dict[str, Any], **kwargs: Any) -> Any:
        calls.append(kwargs)
        await cls.create(name=kwargs["name"], note="winner", other="theirs")
        return await original(db, defaults, **kwargs)

    monkeypatch.setattr(m.TaCounter, "_create_or_get", classmethod(racing))
    row, created = await m.TaCounter.update_or_create(name="race", defaults={"note": "mine"})
    assert not created and calls == [{"name": "race"}]
    stored = await m.TaCounter.get(name="race")
    assert (row.note, stored.note, stored.other) == ("mine", "mine", "theirs")
    got, created = await m.TaCounter.get_or_create(name="race2")
    assert created is False and got.note == "winner" and len(calls) == 2


async def test_update_or_create_gives_up_when_rows_keep_vanishing(orm: Connection, monkeypatch: Any) -> None:
    original = m.TaCounter._create_or_get

    async def churn(cls: Any, db: Any, defaults: dict[str, Any], **kwargs: Any) -> Any:
        await cls.create(name=kwargs["name"])
        found, created = await original(db, defaults, **kwargs)
        await found.delete()
        return found, created

    monkeypatch.setattr(m.TaCounter, "_create_or_get", classmethod(churn))
    with pytest.raises(OperationalError, match="concurrent deletions"):
        await m.TaCounter.update_or_create(name="gone", defaults={"note": "x"})
    assert await m.TaCounter.filter(name="gone").count() == 0


async def test_unknown_field_messages_name_field_and_model(orm: Connection) -> None:
    with pytest.raises(FieldError, match='Unknown field "neem" for model "TaCounter"'):
        await m.TaCounter.all().values("name", "neem")


async def _event_data() -> tuple[m.TaEvent, m.TaEvent, m.TaTeam, m.TaTeam]:
    one, two = await m.TaTeam.create(name="1"), await m.TaTeam.create(name="2")
    first = await m.TaEvent.create(name="first", score=4)
    second = await m.TaEvent.create(name="second", score=1)
    await first.participants.add(one, two)
    await second.participants.add(one)
    return first, second, one, two


async def test_selecting_or_ordering_by_a_many_relation_is_refused(orm: Connection) -> None:
    await _event_data()
    for query in (m.TaTeam.all().values("name", "events"), m.TaEvent.all().values_list("participants")):
        with pytest.raises(ValueError, match=r'Selecting relation "(events|participants)" is not possible'):
            await query
    with pytest.raises(FieldError, match="reverse or many-to-many"):
        await m.TaTeam.all().order_by("events")
    assert await m.TaTeam.all().order_by("-events__score").values_list("name", flat=True) != []
    with pytest.raises(ConfigurationError, match=r"Meta\.ordering"):
        await m.TaBadOrder.all()
    with pytest.raises(FieldError, match="name__id not resolvable"):
        await m.TaEvent.annotate(x=Sum("name__id")).first()


async def test_aggregate_filters_test_the_aggregated_rows(orm: Connection) -> None:
    await _event_data()
    rows = await (
        m.TaTeam.annotate(
            every=Count("events"),
            firsts=Count("events", _filter=Q(events__name="first")),
            others=Count("events", _filter=Q(events__name__not="first")),
            high=Sum(F("events__score"), _filter=Q(events__score__gte=2)),
        )
        .order_by("name")
        .values("name", "every", "firsts", "others", "high")
    )
    assert rows == [
        {"name": "1", "every": 2, "firsts": 1, "others": 1, "high": 4},
        {"name": "2", "every": 1, "firsts": 1, "others": 0, "high": 4},
    ]


async def test_many_to_many_prefetch_to_attr_and_annotated_targets(orm: Connection) -> None:
    first, _second, one, two = await _event_data()
    event = await m.TaEvent.get(pk=first.pk).prefetch_related(
        Prefetch("participants", m.TaTeam.filter(name="1"), to_attr="ones"),
        Prefetch("participants", m.TaTeam.filter(name="2"), to_attr="twos"),
    )
    assert (event.ones, event.twos) == ([one], [two])  # type: ignore[attr-defined]
    events = (
        await m.TaEvent.all()
        .order_by("name")
        .prefetch_related(Prefetch("participants", m.TaTeam.annotate(n=Count("events")).order_by("name")))
    )
    # Each team counts all its events, not only the one it was prefetched for.
    assert [[(t.name, t.n) for t in e.participants] for e in events] == [  # type: ignore[attr-defined]
        [("1", 2), ("2", 1)],
        [("1", 2)],
    ]


async def test_a_manager_declared_on_an_abstract_base(orm: Connection) -> None:
    await m.TaManaged.create()
    await m.TaManaged.create(status=1)
    await m.TaManagedToo.create()
    assert await m.TaManaged.all_objects.count() == 2
    assert await m.TaManagedToo.all_objects.count() == 1
    assert await m.TaManaged.all().active().count() == 1  # type: ignore[attr-defined]


async def test_a_saved_instance_with_its_pk_cleared_saves_as_a_new_row(orm: Connection) -> None:
    row = await m.TaCounter.create(name="a")
    first_pk = row.pk
    row.pk = None
    row.name = "b"
    await row.save()
    assert row.pk != first_pk and await m.TaCounter.all().count() == 2
    assert str(row) == "<TaCounter>" and repr(row) == f"<TaCounter: {row.pk}>"
    code = await m.TaCode.create(code="A", name="a")
    code.pk = None
    with pytest.raises(ValidationError, match="not nullable"):
        await code.save()


def test_pk_spelling_is_deprecated_for_primary_key() -> None:
    with pytest.warns(DeprecationWarning, match="`pk` is deprecated, please use `primary_key` instead"):
        assert fields.IntField(pk=True).pk is True
    with pytest.warns(DeprecationWarning, match="TextField as a PrimaryKey is Deprecated"):
        assert fields.TextField(True).pk is True
    with pytest.raises(ConfigurationError), pytest.warns(DeprecationWarning):
        fields.CharField(max_length=5, pk=True, primary_key=False)


async def test_only_names_annotations_and_refuses_empty_or_values(orm: Connection) -> None:
    await _event_data()
    teams = await m.TaTeam.annotate(n=Count("events")).only("name", "n").order_by("name")
    assert [(t.name, t.n) for t in teams] == [("1", 2), ("2", 1)]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="at least one field"):
        m.TaTeam.all().only()
    with pytest.raises(ValueError, match="cannot follow only"):
        m.TaTeam.all().only("name").values("name")
    with pytest.raises(ValueError, match="cannot follow only"):
        m.TaTeam.all().defer("name").values_list("id")


async def test_f_reads_json_key_paths_and_posix_regex_lookups(orm: Connection) -> None:
    doc = await m.TaDoc.create(data={"attribute": {"sub": "value"}, "n": 1, "array": ["a", "b"]})
    row = await m.TaDoc.annotate(
        sub=F("data__attribute__sub"), n=F("data__n"), first=F("data__array__0"), gone=F("data__array__5")
    ).get(pk=doc.pk)
    assert (row.sub, int(row.n), row.first, row.gone) == ("value", 1, "a", None)  # type: ignore[attr-defined]
    found = await m.TaDoc.annotate(sub=F("data__attribute__sub")).filter(sub="value").first()
    assert found is not None and found.pk == doc.pk
    assert await m.TaDoc.annotate(sub=F("data__attribute__sub")).filter(sub="other").first() is None
    await m.TaCounter.create(name="Abc")
    if orm.backend != "sqlite":  # SQLite has no regular expressions
        assert await m.TaCounter.filter(name__posix_regex="^A").count() == 1
        assert await m.TaCounter.filter(name__iposix_regex="^a").count() == 1
