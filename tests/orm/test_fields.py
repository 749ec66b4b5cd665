"""Every field type round-trips on both backends; coercion and validation before any SQL."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest

from yara_orm import Connection, count_statements, fields
from yara_orm.exceptions import ConfigurationError, FieldError, ValidationError
from yara_orm.fields.base import DatabaseDefault

from .models import Color, Doc, Every, Mood, Person, Token

SAMPLES: dict[str, list[Any]] = {
    "small": [-(2**15), 0, 2**15 - 1],
    "integer": [-(2**31), 7, 2**31 - 1],
    "big": [-(2**63), 2**53 + 1, 2**63 - 1],
    "flt": [0.0, -1.5, 1e300, 2.5e-300],
    "dec": [decimal.Decimal("0.0000"), decimal.Decimal("-12345678.1234"), decimal.Decimal("0.0001")],
    "char": ["", "x" * 20, "emoji 🎉 ü", "quote ' \" \\ % _"],
    "text": ["", "long " * 10000, "line\nbreak"],
    "binary": [b"", bytes(range(256))],
    "boolean": [True, False],
    "date": [dt.date(1, 1, 1), dt.date(2024, 2, 29), dt.date(9999, 12, 31)],
    "time": [dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 30, 0, 5)],
    "datetime": [
        dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2030, 3, 31, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
    ],
    "delta": [dt.timedelta(0), dt.timedelta(days=-3, seconds=5), dt.timedelta(days=400, microseconds=7)],
    "uuid": [uuid.UUID(int=0), uuid.uuid4()],
    "json": [{"a": [1, 2.5, None, True], "ü": {"n": "x"}}, [1, 2], "text", 3, None],
    "color": [Color.RED, Color.BLUE],
    "mood": [Mood.HAPPY, Mood.GRUMPY],
}


def _same(name: str, expected: Any, got: Any) -> None:
    if isinstance(expected, dt.datetime):
        assert got == expected and got.utcoffset() == dt.timedelta(0), (name, expected, got)
    else:
        assert got == expected and type(got) is type(expected), (name, expected, got)


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_round_trip_every_type(orm: Connection, name: str) -> None:
    for value in SAMPLES[name]:
        created = await Every.create(**{name: value})
        fetched = await Every.get(pk=created.pk)
        _same(name, getattr(created, name), getattr(fetched, name))
        _same(
            name, getattr(created, name), (await Every.filter(pk=created.pk).values_list(name, flat=True))[0]
        )
        if value is not None and name not in ("json", "binary", "text", "flt"):
            assert await Every.filter(**{name: value}).exists(), (name, value)


async def test_every_type_null_round_trip(orm: Connection) -> None:
    created = await Every.create()
    fetched = await Every.get(pk=created.pk)
    for name in SAMPLES:
        assert getattr(fetched, name) is None
    row = await Every.filter(pk=created.pk).values(*SAMPLES)
    assert all(v is None for v in row[0].values())


async def test_create_returns_the_types_get_returns(orm: Connection) -> None:
    created = await Every.create(
        small="12",
        flt=3,
        dec=1.25,
        date="2024-01-02",
        time="10:11:12",
        datetime=dt.datetime(2024, 1, 1, 12, 0),
        uuid=str(uuid.UUID(int=5)),
        color=2,
        mood="happy",
        binary=bytearray(b"ab"),
    )
    fetched = await Every.get(pk=created.pk)
    for name in ("small", "flt", "dec", "date", "time", "datetime", "uuid", "color", "mood", "binary"):
        _same(name, getattr(fetched, name), getattr(created, name))
    assert created.dec == decimal.Decimal("1.2500")
    assert created.datetime == dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert created.color is Color.GREEN and created.mood is Mood.HAPPY


async def test_decimal_is_exact(orm: Connection) -> None:
    values = [decimal.Decimal("0.1"), decimal.Decimal("0.2"), decimal.Decimal("12345678.9999")]
    for v in values:
        await Every.create(dec=v)
    total = sum([e.dec for e in await Every.all()], decimal.Decimal(0))
    assert total == decimal.Decimal("12345679.2999")
    assert await Every.filter(dec=decimal.Decimal("0.1")).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"small": 70000}, "out of range for SmallIntField"),
        ({"integer": 2**31}, "out of range for IntField"),
        ({"big": 2**63}, "out of range"),
        ({"integer": "seven"}, "expected int"),
        ({"integer": 1.5}, "expected int"),
        ({"integer": True}, "expected int"),
        ({"char": "x" * 21}, "longer than max_length=20"),
        ({"char": 5.5}, "expected str"),
        ({"char": True}, "expected str"),
        ({"dec": decimal.Decimal("123456789")}, "more than 8 digit"),
        ({"dec": "abc"}, "expected Decimal"),
        ({"dec": decimal.Decimal("NaN")}, "not a finite"),
        ({"boolean": "maybe"}, "expected bool"),
        ({"date": "2024-01-01Tnoon"}, "expected date"),
        ({"uuid": "not-a-uuid"}, "expected UUID"),
        ({"color": 9}, "not a valid Color"),
        ({"mood": "sleepy"}, "not a valid Mood"),
        ({"delta": "soon"}, "expected timedelta"),
        ({"binary": "text"}, "expected bytes"),
        ({"datetime": "yesterday"}, "expected datetime"),
    ],
)
def test_bad_values_raise_validation_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Every(**kwargs)


async def test_validation_happens_before_sql_on_save(orm: Connection) -> None:
    obj = await Every.create(char="ok")
    obj.char = "y" * 50
    with pytest.raises(ValidationError, match="max_length"):
        await obj.save()
    obj.json = {"bad": {1, 2}}
    obj.char = "ok"
    with pytest.raises(ValidationError, match="not JSON serialisable"):
        await obj.save()
    assert (await Every.get(pk=obj.pk)).char == "ok"


async def test_not_null_and_validators(orm: Connection) -> None:
    with pytest.raises(ValidationError, match="not nullable"):
        await Person.create(name=None)
    with pytest.raises(ValidationError, match="negative"):
        await Person.create(name="n", age=-1)
    assert await Person.all().count() == 0


async def test_defaults_callables_and_mutable_copies(orm: Connection) -> None:
    a = Person(name="a")
    b = Person(name="b")
    a.tags.append("x")
    assert b.tags == [] and a.tags == ["x"]
    assert a.age == 0 and a.active is True and a.balance == decimal.Decimal("0.00")
    d1, d2 = Doc(), Doc()
    assert d1.ref != d2.ref and isinstance(d1.ref, uuid.UUID)
    assert d1.when == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    t = await Token.create(label="t")
    assert isinstance(t.pk, uuid.UUID)
    assert (await Token.get(pk=t.pk)).label == "t"


async def test_auto_now_and_auto_now_add(orm: Connection) -> None:
    before = dt.datetime.now(dt.UTC)
    p = await Person.create(name="p")
    assert p.created >= before - dt.timedelta(seconds=1) and p.updated >= p.created
    created, first_update = p.created, p.updated
    p.name = "q"
    await p.save()
    assert p.created == created and p.updated >= first_update
    fetched = await Person.get(pk=p.pk)
    assert fetched.created == created and fetched.updated == p.updated


async def test_json_custom_encoder_decoder(orm: Connection) -> None:
    doc = await Doc.create(body={"k": [1, 2]}, plain={"z": 1})
    q = orm.dialect.quote
    text = "CHAR" if orm.backend == "mysql" else "TEXT"  # MySQL's CAST has no TEXT
    raw = await orm.fetch_one(f"SELECT CAST({q('body')} AS {text}) FROM {q('orm_doc')}")
    assert raw is not None and "wrapped" in raw[0]
    fetched = await Doc.get(pk=doc.pk)
    assert fetched.body == {"k": [1, 2]} and fetched.plain == {"z": 1}
    assert await Doc.filter(pk=doc.pk).values_list("body", flat=True) == [{"k": [1, 2]}]


def test_field_declaration_errors() -> None:
    with pytest.raises(ConfigurationError):
        fields.CharField(max_length=0)
    with pytest.raises(ConfigurationError):
        fields.DecimalField(max_digits=2, decimal_places=3)
    with pytest.raises(ConfigurationError, match="unknown option"):
        fields.IntField(nullable=True)
    with pytest.raises(ConfigurationError):
        fields.IntEnumField(Mood)  # type: ignore[type-var]
    with pytest.raises(FieldError, match="no field 'nmae'"):
        Person(nmae="x")


async def test_bulk_create_round_trips_every_type(orm: Connection) -> None:
    """Multi-row VALUES (JSON and bytes columns) and, on PostgreSQL, typed UNNEST arrays."""
    from .models import Typed

    width = max(len(v) for v in SAMPLES.values())
    rows = [{name: values[i % len(values)] for name, values in SAMPLES.items()} for i in range(width)]
    rows.append({})
    created = await Every.bulk_create([Every(**r) for r in rows])
    typed_names = [f.model_field_name for f in Typed._meta.fields if not f.pk]
    typed = await Typed.bulk_create([Typed(**{k: v for k, v in r.items() if k in typed_names}) for r in rows])
    for model, objs, names in ((Every, created, list(SAMPLES)), (Typed, typed, typed_names)):
        fetched = {o.pk: o for o in await model.all()}
        assert len(fetched) == len(rows)
        for obj in objs:
            for name in names:
                _same(name, getattr(obj, name), getattr(fetched[obj.pk], name))


async def test_bulk_create_with_pks_round_trips_every_type(orm: Connection) -> None:
    """Enough rows with their pks for PostgreSQL's binary COPY (VALUES batches on SQLite)."""
    width = max(len(v) for v in SAMPLES.values())
    rows = [{name: values[i % len(values)] for name, values in SAMPLES.items()} for i in range(150)]
    rows[width] = {}
    objs = [Every(id=i + 1, **r) for i, r in enumerate(rows)]
    with count_statements() as counter:
        await Every.bulk_create(objs)
    if orm.backend == "postgres":
        assert [s.split(" ", 1)[0] for s in counter.statements] == ["COPY"]
    fetched = {o.pk: o for o in await Every.all()}
    assert len(fetched) == len(objs)
    for obj in objs:
        for name in SAMPLES:
            _same(name, getattr(obj, name), getattr(fetched[obj.pk], name))


async def test_a_stored_value_the_enum_lacks_fails_loudly(orm: Connection) -> None:
    created = await Every.create(color=Color.RED, mood=Mood.HAPPY)
    table = Every._meta.table
    await orm.execute(f"UPDATE {table} SET mood = 'meh' WHERE id = {int(created.pk)}")
    with pytest.raises(
        ValidationError, match=r"Every.mood: 'meh' is not a valid Mood \(valid: 'happy', 'grumpy'\)"
    ):
        await Every.get(pk=created.pk)
    await orm.execute(f"UPDATE {table} SET color = 9 WHERE id = {int(created.pk)}")
    with pytest.raises(ValidationError, match="9 is not a valid Color"):
        await Every.filter(pk=created.pk).values_list("color", flat=True)
    # Known values still decode to the members themselves.
    await orm.execute(f"UPDATE {table} SET mood = 'grumpy', color = 2 WHERE id = {int(created.pk)}")
    fetched = await Every.get(pk=created.pk)
    assert fetched.mood is Mood.GRUMPY and fetched.color is Color.GREEN


@pytest.mark.filterwarnings("ignore:`pk` is deprecated:DeprecationWarning")
def test_pk_and_primary_key_are_one_option() -> None:
    assert fields.IntField(pk=True).pk and fields.IntField(primary_key=True).pk
    assert fields.CharField(max_length=5, pk=True, primary_key=True).pk
    with pytest.raises(ConfigurationError, match="contradicts"):
        fields.IntField(pk=True, primary_key=False)
    with pytest.raises(ConfigurationError, match="contradicts"):
        fields.UUIDField(pk=False, primary_key=True)


def test_datetime_auto_flags_describe_and_constraints() -> None:
    stamped = fields.DatetimeField(auto_now=True)
    assert (stamped.auto_now, stamped.auto_now_add) == (True, False)  # as declared
    assert stamped.describe(serializable=True)["auto_now"] is True
    assert stamped.constraints == {"readOnly": True}
    assert "readOnly" not in fields.DatetimeField().constraints
    assert fields.CharField(max_length=7).constraints == {"max_length": 7}
    with pytest.raises(ConfigurationError, match="You can choose only 'auto_now' or 'auto_now_add'"):
        fields.DatetimeField(auto_now=True, auto_now_add=True)


def test_database_default_marker_and_required() -> None:
    with_db = fields.IntField(db_default=1)
    marker = with_db.get_db_default_value()
    assert isinstance(marker, DatabaseDefault) and marker.field is with_db
    assert not marker and str(marker) == "<DB_DEFAULT>" and "DatabaseDefault" in repr(marker)
    assert fields.IntField().get_db_default_value() is None
    assert with_db.required is False and fields.IntField().required is True
    assert fields.IntField(null=True).required is False and fields.IntField(default=3).required is False
