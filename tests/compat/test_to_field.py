"""``ForeignKeyField(..., to_field=...)`` / ``OneToOneField(..., to_field=...)`` referencing a
unique field that is not the target's primary key: the key column holds that field's value, and
every relation path (joins, descriptors, managers, prefetch, select_related, filters) uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from yara_orm import Connection, Model, YaraOrm, connections, fields, schema
from yara_orm.exceptions import ConfigurationError, IntegrityError, ParamsError

from .._tables import drop_tables
from . import to_field_models as m

MODELS = [m.TfSchool, m.TfStudent, m.TfPrincipal]


async def _drop(conn: Connection) -> None:
    await drop_tables(conn, [model._meta.table for model in reversed(schema.dependency_order(MODELS))])


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[Connection]:
    await YaraOrm.init(db_url, modules={"models": [m]})
    conn = connections.get("default")
    await _drop(conn)
    await YaraOrm.generate_schemas(models=MODELS)
    try:
        yield conn
    finally:
        await _drop(connections.get("default"))
        await YaraOrm.close()


async def test_key_column_holds_the_referenced_field(orm: Connection) -> None:
    school = await m.TfSchool.create(id=1024, name="S1")
    student = await m.TfStudent.create(name="a", school=school)
    assert student.school_id == 1024
    rows = await orm.fetch_all("SELECT school_id FROM tfstudent")
    assert rows[0][0] == 1024
    fresh = await m.TfStudent.get(id=student.id)
    assert fresh.school_id == 1024
    assert (await fresh.school).uuid == school.uuid
    # the reverse side and the reverse one-to-one find rows by the referenced field too
    assert [s.name for s in await school.students.all()] == ["a"]
    await m.TfPrincipal.create(id=1, name="p", school=school)
    assert (await school.principal).name == "p"


async def test_the_foreign_key_constraint_references_that_column(orm: Connection) -> None:
    await m.TfSchool.create(id=7, name="S")
    await m.TfStudent.create(name="ok", school_id=7)
    with pytest.raises(IntegrityError):
        await m.TfStudent.create(name="dangling", school_id=8)


async def test_filters_joins_and_ordering(orm: Connection) -> None:
    school = await m.TfSchool.create(id=42, name="S42")
    other = await m.TfSchool.create(id=1, name="S1")
    await m.TfStudent.create(name="x", school=other)
    wanted = await m.TfStudent.create(name="y", school=school)
    assert school.pk != school.id
    assert (await m.TfStudent.filter(school=school).get()).id == wanted.id
    assert (await m.TfStudent.filter(school=school.id).get()).id == wanted.id
    assert (await m.TfStudent.filter(school__pk=school.pk).get()).id == wanted.id
    assert (await m.TfStudent.filter(school__id=42).get()).id == wanted.id
    assert (await m.TfStudent.filter(school__name="S42").get()).id == wanted.id
    assert (await m.TfStudent.filter(school__in=[school]).get()).id == wanted.id
    values = await m.TfStudent.filter(id=wanted.id).values("name", "school__name")
    assert values == [{"name": "y", "school__name": "S42"}]
    ordered = await m.TfSchool.all().order_by("-students__name")
    assert [s.name for s in ordered] == ["S42", "S1"]
    with pytest.raises(ParamsError) as info:
        await m.TfStudent.filter(school=m.TfStudent(id=42, name="not a school"))
    assert isinstance(info.value, TypeError)


async def test_update_prefetch_and_select_related(orm: Connection) -> None:
    one = await m.TfSchool.create(id=10, name="one")
    two = await m.TfSchool.create(id=20, name="two")
    await m.TfStudent.create(name="a", school=one)
    await m.TfStudent.create(name="b", school=one)
    await m.TfStudent.all().update(school=two)
    assert set(await m.TfStudent.all().values_list("school_id", flat=True)) == {20}
    await m.TfStudent.filter(name="a").update(school=one)

    schools = await m.TfSchool.all().order_by("id").prefetch_related("students")
    assert [[s.name for s in school.students] for school in schools] == [["a"], ["b"]]
    students = await m.TfStudent.all().order_by("name").prefetch_related("school")
    assert [s.school.name for s in students] == ["one", "two"]
    joined = await m.TfStudent.all().order_by("name").select_related("school")
    assert [(s.school.name, s.school.uuid) for s in joined] == [("one", one.uuid), ("two", two.uuid)]

    await m.TfPrincipal.create(id=5, name="p", school=two)
    fetched = await m.TfSchool.filter(id=20).prefetch_related("principal").get()
    assert fetched.principal.name == "p"


def test_to_field_must_name_a_unique_field() -> None:
    class TfTarget(Model):
        code = fields.CharField(max_length=10)
        tag = fields.CharField(max_length=10, unique=True)

    class TfBadRef(Model):
        target = fields.ForeignKeyField("models.TfTarget", to_field="code")

    class TfMissingRef(Model):
        target = fields.ForeignKeyField("models.TfTarget", to_field="nope")

    class TfGoodRef(Model):
        target = fields.ForeignKeyField("models.TfTarget", to_field="tag")

    for model, message in ((TfBadRef, "must name a unique field"), (TfMissingRef, "is not a field")):
        assert model._meta.fields_map["target_id"] is not None
        with pytest.raises(ConfigurationError, match=message):
            model._meta.fields_map["target_id"].finish()  # type: ignore[attr-defined]
    good = TfGoodRef._meta.fields_map["target_id"]
    good.finish()  # type: ignore[attr-defined]
    # the key column is typed like the referenced field, not like the target's integer pk
    assert good.type_key == TfTarget._meta.fields_map["tag"].type_key
    assert good.max_length == 10  # type: ignore[attr-defined]
