"""Behaviour yara-orm 1.19 and Tortoise code relies on, on both backends."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from yara_orm import (
    Connection,
    Count,
    F,
    Model,
    Q,
    RawSQL,
    Subquery,
    Sum,
    YaraOrm,
    connections,
    fields,
    in_transaction,
    relations,
    schema,
)
from yara_orm import timezone as tz
from yara_orm.contrib.pydantic import pydantic_model_creator, pydantic_queryset_creator
from yara_orm.contrib.test import capabilities, requireCapability
from yara_orm.exceptions import (
    ConfigurationError,
    FieldError,
    FieldNotLoadedError,
    IncompleteInstanceError,
    ObjectDoesNotExistError,
    OperationalError,
    ParamsError,
    ParamsTypeError,
    UnSupportedError,
    ValidationError,
)
from yara_orm.fields.base import StrEnum
from yara_orm.models import NoneAwaitable

from .._tables import drop_tables
from . import compat_models as m

MODELS = [m.CpAuthor, m.CpTag, m.CpBook, m.CpChecked]
CALLS = [m.CpCountry, m.CpContact, m.CpCall, m.CpStamped, m.CpTouched]


async def _drop(conn: Connection) -> None:
    chosen = [*MODELS, *CALLS]
    tables = [model._meta.table for model in reversed(schema.dependency_order(chosen))]
    await drop_tables(conn, ["cp_book_tag", *tables])


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[Connection]:
    await YaraOrm.init(db_url, modules={"models": [m]})
    conn = connections.get("default")
    await _drop(conn)
    # Only these models: the M2M join table named by through= must come along.
    await YaraOrm.generate_schemas(models=[*MODELS, *CALLS])
    try:
        yield conn
    finally:
        await _drop(connections.get("default"))
        await YaraOrm.close()


def test_relation_aliases_subscript_at_class_creation() -> None:
    ann = m.CpBook.__annotations__
    assert ann["author"].__origin__ is m.CpAuthor  # Annotated[CpAuthor, ...]
    assert type(None) in ann["editor"].__args__


async def test_raw_rows_answer_by_name_and_index(orm: Connection) -> None:
    await m.CpAuthor.create(name="Ada")
    rows = await orm.fetch_all("SELECT id, name FROM cpauthor")
    assert rows[0]["name"] == "Ada" and rows[0][1] == "Ada"
    assert dict(rows[0]) == {"id": rows[0][0], "name": "Ada"}
    assert rows[0] == (rows[0][0], "Ada")  # still a tuple
    one = await orm.fetch_one("SELECT name FROM cpauthor")
    assert one is not None and one["name"] == "Ada"
    assert [tuple(r) for r in await orm.fetch_rows("SELECT name FROM cpauthor")] == [("Ada",)]
    first = await orm.fetch_row("SELECT name FROM cpauthor WHERE name = 'nobody'")
    assert first is None
    count, recs = await orm.execute_query("SELECT name FROM cpauthor")
    assert count == 1 and recs[0]["name"] == "Ada"
    async with in_transaction() as tx:
        inner = await tx.fetch_all("SELECT name AS n FROM cpauthor")
        assert inner[0]["n"] == "Ada" and dict(inner[0]) == {"n": "Ada"}
        with pytest.raises(KeyError):
            inner[0]["missing"]


async def test_m2m_through_table_name(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    book = await m.CpBook.create(title="B", author=ada)
    tag = await m.CpTag.create(name="t")
    await book.tags.add(tag)
    rows = await orm.fetch_all("SELECT book_id, tag_id FROM cp_book_tag")
    assert [tuple(r) for r in rows] == [(book.pk, tag.pk)]


async def test_not_in_keeps_null_rows(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="one", rank=1, author=ada)
    await m.CpBook.create(title="none", rank=None, author=ada)
    got = {b.title for b in await m.CpBook.filter(rank__not_in=[1])}
    assert got == {"none"}
    assert {b.title for b in await m.CpBook.filter(rank__not=1)} == {"none"}


async def test_order_by_random(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    for i in range(5):
        await m.CpBook.create(title=str(i), author=ada)
    assert sorted(b.title for b in await m.CpBook.all().order_by("?")) == ["0", "1", "2", "3", "4"]


async def test_queryset_get_or_create_uses_its_filters(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    book, created = await ada.books.get_or_create(title="Mine")
    assert created and book.author_id == ada.pk
    again, created = await ada.books.get_or_create(title="Mine")
    assert not created and again.pk == book.pk
    upd, created = await m.CpBook.filter(author_id=ada.pk).update_or_create(
        title="Mine", defaults={"rank": 5}
    )
    assert not created and upd.rank == 5
    assert (await m.CpBook.select_related("author").get(pk=book.pk)).author.name == "Ada"
    qs = m.CpBook.filter(pk=3).filter(Q(Q(title="x"), Q(rank=7))).filter(rank__gte=1).exclude(title="y")
    qs = qs.filter(Q(title="a") | Q(title="b")).annotate(n=Count("id")).filter(n=2, title=F("title"))
    assert qs._filter_create_kwargs() == {"id": 3, "title": "x", "rank": 7}
    # A value defaults gives wins over the one the filter implies.
    made, created = await m.CpBook.filter(rank=5).get_or_create(title="New", author=ada, defaults={"rank": 9})
    assert created and made.rank == 9


async def test_validators_name_the_field(orm: Connection) -> None:
    await m.CpChecked.create(age=None, code=None)  # None in a nullable field is not validated
    cases = [
        ({"age": -1}, "age: "),
        ({"code": "abc"}, "code: "),
        ({"nick": "toolong"}, "nick: "),
        ({"ids": "1,x"}, "ids: "),
        ({"ip": "300.1.1.1"}, "ip: "),
    ]
    for kwargs, prefix in cases:
        with pytest.raises(ValidationError, match=f"^{prefix}"):
            await m.CpChecked.create(**kwargs)
    ok = await m.CpChecked.create(age=3, code="AB", nick="abc", ids="1,2", ip="::1")
    assert ok.pk is not None


async def test_string_input_is_coerced(orm: Connection) -> None:
    row = await m.CpChecked.create(age="42", flag="false", day="2024-05-03")
    assert (row.age, row.flag, row.day) == (42, False, dt.date(2024, 5, 3))
    assert (await m.CpChecked.create(flag="Yes")).flag is True
    with pytest.raises(ValidationError):
        await m.CpChecked.create(flag="maybe")
    with pytest.raises(ValidationError):
        await m.CpChecked.create(age="forty")
    assert issubclass(ValidationError, FieldError)  # as in yara-orm 1.19


async def test_text_fields_take_ints_and_str_enums(orm: Connection) -> None:
    class Nick(enum.Enum):  # a plain Enum with str values, as Tortoise's tests declare them
        ab = "ab"

    row = await m.CpChecked.create(nick=17)
    assert row.nick == "17"
    assert (await m.CpChecked.get(nick=17)).pk == row.pk
    other = await m.CpChecked.create(nick=Nick.ab)
    assert other.nick == "ab"
    assert (await m.CpChecked.get(nick=Nick.ab)).pk == other.pk
    with pytest.raises(ValidationError):
        await m.CpChecked.create(nick=1.5)
    key = uuid.uuid4()
    book = await m.CpBook.create(title=key, author=await m.CpAuthor.create(name="k"))
    assert book.title == str(key) and (await m.CpBook.get(title=key)).pk == book.pk


async def test_sql_default_is_read_back(orm: Connection) -> None:
    row = await m.CpChecked.create()
    assert row.seven == 7
    assert (await m.CpChecked.get(pk=row.pk)).seven == 7


async def test_bulk_create_update_fields_defaults_to_pk(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    book = await m.CpBook.create(title="old", author=ada)
    await m.CpBook.bulk_create([m.CpBook(id=book.pk, title="new", author=ada)], update_fields=["title"])
    assert [b.title for b in await m.CpBook.all()] == ["new"]


async def test_pydantic_models(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="B1", author=ada)
    Book = pydantic_model_creator(m.CpBook, exclude=("editor", "tags"))
    out = await Book.from_tortoise_orm(await m.CpBook.get(title="B1"))
    data = out.model_dump()
    assert data["title"] == "B1" and data["author"]["name"] == "Ada"
    schema_ = Book.model_json_schema()
    assert "title" in schema_["properties"]
    BookIn = pydantic_model_creator(m.CpBook, name="BookIn", exclude_readonly=True)
    assert "id" not in BookIn.model_fields
    with pytest.raises(Exception, match="title"):
        BookIn.model_validate({"rank": 1})
    many = await pydantic_queryset_creator(m.CpAuthor, exclude=("books", "edited")).from_queryset(
        m.CpAuthor.all()
    )
    assert [a["name"] for a in many.model_dump()] == ["Ada"]


async def test_require_capability(orm: Connection) -> None:
    caps = capabilities()
    assert caps.dialect == orm.backend

    @requireCapability(dialect="no-such-db")
    async def never() -> None:
        raise AssertionError("should have been skipped")

    import unittest

    with pytest.raises(unittest.SkipTest):
        await never()


async def test_relative_sqlite_url_stays_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    await YaraOrm.init(
        config={
            "connections": {"default": "sqlite://rel.db"},
            "apps": {"models": {"models": [m], "default_connection": "default"}},
        }
    )
    try:
        await YaraOrm.generate_schemas()
    finally:
        await YaraOrm.close()
    assert "rel.db" in {p.name for p in tmp_path.iterdir()}  # noqa: ASYNC240 - a test's own temp dir


async def test_json_filter_dict_and_text_lookups_on_paths(orm: Connection) -> None:
    await m.CpChecked.create(data={"owner": {"name": "Ada Lovelace"}, "size": 3})
    await m.CpChecked.create(data={"owner": {"name": "Bob"}, "size": 9})
    found = await m.CpChecked.filter(data__filter={"owner__name__icontains": "ada", "size__lt": 5})
    assert [r.data["size"] for r in found] == [3]
    assert await m.CpChecked.filter(data__filter={}).count() == 2
    assert await m.CpChecked.filter(data__owner__name__startswith="Bo").count() == 1
    assert await m.CpChecked.filter(data__owner__name__contains="Love").count() == 1


async def test_bulk_get_or_create_and_update_or_create(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    got = await m.CpAuthor.bulk_get_or_create([{"name": "Ada"}, {"name": "Bob"}, {"name": "Bob"}], ["name"])
    assert [(a.name, created) for a, created in got] == [("Ada", False), ("Bob", True), ("Bob", False)]
    assert got[0][0].pk == ada.pk and got[1][0] is got[2][0]
    assert await m.CpAuthor.all().count() == 2
    res = await m.CpChecked.bulk_update_or_create(
        [{"nick": "a", "age": 1}, {"nick": "b", "age": 2}], ["nick"]
    )
    assert [c for _o, c in res] == [True, True]
    res = await m.CpChecked.bulk_update_or_create([{"nick": "a", "age": 10}], ["nick"])
    assert [c for _o, c in res] == [False]
    assert (await m.CpChecked.get(nick="a")).age == 10


class _ReplicaReads:
    def db_for_read(self, model: type) -> str | None:
        return "replica" if model is m.CpTag else None

    def db_for_write(self, model: type) -> str | None:
        return None


class _PrimaryWrites:
    def db_for_read(self, model: type) -> str | None:
        return "default"

    def db_for_write(self, model: type) -> str | None:
        return "default"


@pytest.mark.parametrize("as_keyword", [False, True])
async def test_config_dict_with_connections_and_routers(tmp_path: Path, as_keyword: bool) -> None:
    config = {
        "connections": {
            "default": f"sqlite://{tmp_path / 'primary.db'}",
            "replica": f"sqlite://{tmp_path / 'replica.db'}",
        },
        "apps": {"models": {"models": [m], "default_connection": "default"}},
        "routers": [_ReplicaReads(), _PrimaryWrites],  # an instance and a class; first answer wins
    }
    if as_keyword:
        await YaraOrm.init(config=config)
    else:
        await YaraOrm.init(config)
    try:
        await YaraOrm.generate_schemas()
        await connections.get("replica").execute(
            'CREATE TABLE IF NOT EXISTS "cptag" (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'
        )
        await connections.get("replica").execute("INSERT INTO cptag (name) VALUES ('from-replica')")
        await m.CpTag.create(name="written-to-primary")
        # Reads of CpTag go to the replica (first router), writes to the primary (second router).
        assert [t.name for t in await m.CpTag.all()] == ["from-replica"]
        rows = await connections.get("default").fetch_all("SELECT name FROM cptag")
        assert [r["name"] for r in rows] == ["written-to-primary"]
        assert await m.CpAuthor.all().count() == 0  # no router answer for reads: model's own
    finally:
        await YaraOrm.close()


async def test_get_parameterized_sql(orm: Connection) -> None:
    sql, params = m.CpBook.filter(title="x").get_parameterized_sql()
    assert sql.startswith("SELECT") and params == ["x"]


async def test_get_parameterized_sql_of_a_grouped_queryset_runs_wrapped(orm: Connection) -> None:
    # yara-orm 1.19 code counts groups by wrapping the grouped SQL; on PostgreSQL the model's
    # own columns beside the GROUP BY would be refused.
    ada, bob, _ = [await m.CpAuthor.create(name=n) for n in ("ada", "bob", "cy")]
    for author, rank in ((ada, 5), (ada, 4), (bob, 4), (bob, 1)):
        await m.CpBook.create(title="t", rank=rank, author=author)
    qs = m.CpBook.filter(rank__gte=3).annotate(total=Sum("rank")).group_by("author_id")
    sql, params = qs.get_parameterized_sql()
    assert params == [3] and "GROUP BY" in sql
    row = await orm.fetch_one(f"SELECT COUNT(*) FROM ({sql}) x", params)
    assert row is not None and row[0] == 2


async def test_add_connection_after_init(orm: Connection, tmp_path: Path) -> None:
    extra = await YaraOrm.add_connection("extra", f"sqlite://{tmp_path / 'extra.db'}")
    await extra.execute('CREATE TABLE "cpauthor" (id INTEGER PRIMARY KEY, name TEXT NOT NULL)')
    await m.CpAuthor.create(name="there", using_db="extra")
    assert [a.name for a in await m.CpAuthor.all().using_db("extra")] == ["there"]
    assert await m.CpAuthor.all().count() == 0  # the model's own connection is untouched
    with pytest.raises(ConfigurationError):
        await YaraOrm.add_connection("extra", f"sqlite://{tmp_path / 'again.db'}")


async def test_grouped_values_list_without_fields(orm: Connection) -> None:
    from yara_orm.functions import Count

    ada = await m.CpAuthor.create(name="Ada")
    for title in ("a", "b"):
        await m.CpBook.create(title=title, author=ada)
    rows = await m.CpBook.annotate(n=Count("id")).group_by("author_id").values_list()
    assert rows == [(ada.pk, 2)]


def test_meta_extra_kwargs_store_is_inherited() -> None:
    from yara_orm import Model, fields

    class Lenient(Model):
        name = fields.CharField(max_length=10)

        class Meta:
            abstract = True
            extra_kwargs = "store"

    class LenientChild(Lenient):
        class Meta:
            table = "cp_lenient_child"

    obj = LenientChild(name="a", note="kept")
    assert obj.note == "kept"  # type: ignore[attr-defined]
    with pytest.raises(FieldError):
        m.CpAuthor(name="a", note="strict by default")  # type: ignore[call-arg]


def test_related_name_class_placeholder() -> None:
    from yara_orm.models.wiring import _placeholders

    # Django's placeholder on an abstract base's foreign key: one reverse name per subclass.
    assert _placeholders("%(class)s_set", m.CpBook) == "cpbook_set"
    assert _placeholders("%(app_label)s_%(class)s", m.CpBook) == "models_cpbook"
    assert _placeholders("books", m.CpBook) == "books"


async def test_save_update_fields_takes_a_relation_name(orm: Connection) -> None:
    ada, bob = await m.CpAuthor.create(name="Ada"), await m.CpAuthor.create(name="Bob")
    book = await m.CpBook.create(title="t", author=ada)
    book.author = bob
    book.title = "not saved"
    await book.save(update_fields=["author"])
    again = await m.CpBook.get(pk=book.pk)
    assert (again.author_id, again.title) == (bob.pk, "t")


async def test_meta_db_table_alias_and_rename(orm: Connection) -> None:
    meta = m.CpTag._meta
    assert meta.db_table == "cptag"
    await m.CpTag.create(name="old-table")
    pk = {
        "postgres": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER AUTO_INCREMENT PRIMARY KEY",
    }.get(orm.backend, "INTEGER PRIMARY KEY")
    table = orm.dialect.quote("cptag_new")
    await orm.execute(f"CREATE TABLE {table} (id {pk}, name TEXT NOT NULL)")
    meta.db_table = "cptag_new"
    try:
        await m.CpTag.create(name="new-table")
        assert [t.name for t in await m.CpTag.all()] == ["new-table"]
    finally:
        meta.db_table = "cptag"
        await orm.execute(f"DROP TABLE {table}")
    assert [t.name for t in await m.CpTag.all()] == ["old-table"]


async def test_none_awaitable_and_str_enum_names() -> None:
    assert not NoneAwaitable
    assert await NoneAwaitable is None
    assert issubclass(StrEnum, str) and issubclass(StrEnum, enum.Enum)


async def test_model_construct_trusts_its_values(orm: Connection) -> None:
    ada = m.CpAuthor.construct(id=3, name="Ada")
    assert ada.pk == 3 and ada._saved_in_db is False and repr(ada) == "<CpAuthor: 3>"
    unsaved = m.CpAuthor.construct(name=None)  # no coercion, no null check
    book = m.CpBook.construct(title="B", author=unsaved, extra=1)
    assert book.author is unsaved and book.author_id is None and book.extra == 1
    linked = m.CpBook.construct(title="B", author=ada, tags=[m.CpTag.construct(id=1, name="t")])
    assert linked.author_id == 3 and [t.name for t in linked.tags] == ["t"]
    assert len(m.CpAuthor.construct(id=1, name="x", books=[]).books) == 0
    assert m.CpAuthor.construct(name="x", _saved_in_db=True)._saved_in_db is True


async def test_model_index_hash_and_repr(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    assert (await m.CpAuthor[ada.pk]).name == "Ada"
    with pytest.raises(ObjectDoesNotExistError) as info:
        await m.CpAuthor[ada.pk + 100]
    assert isinstance(info.value, KeyError) and info.value.pk_val == ada.pk + 100
    assert str(info.value) == f"CpAuthor has no object with id={ada.pk + 100}"
    with pytest.raises(KeyError):
        await m.CpAuthor["not-an-int"]
    assert m.CpAuthor[int] is m.CpAuthor  # a type argument: an annotation, not a lookup
    assert hash(ada) == hash(ada.pk)
    assert repr(m.CpAuthor(name="new")) == "<CpAuthor>"


async def test_only_and_defer_through_related_paths(orm: Connection) -> None:
    wl = await m.CpCountry.create(name="Wonderland", code="WL")
    alice = await m.CpContact.create(name="Alice", props={"a": 1}, country=wl)
    await m.CpCall.create(note="hi", contact=alice)
    await m.CpCall.create(note="orphan", contact=None)
    rows = await m.CpCall.all().only("contact__props").order_by("id")
    assert rows[0].contact.props == {"a": 1}  # joined: no query, and only that column
    assert "name" not in rows[0].contact.__dict__ and "note" not in rows[0].__dict__
    assert rows[1].contact is None
    both = await m.CpCall.all().only("note", "contact__props").order_by("id")
    assert (both[0].note, both[0].contact.props) == ("hi", {"a": 1})
    deferred = await m.CpCall.all().defer("contact__props").order_by("id")
    assert deferred[0].note == "hi" and deferred[0].contact.name == "Alice"
    assert "props" not in deferred[0].contact.__dict__
    nested = await m.CpCall.all().only("contact__country__code").order_by("id")
    assert nested[0].contact.name == "Alice"  # the intermediate loads fully
    assert nested[0].contact.country.code == "WL" and "name" not in nested[0].contact.country.__dict__
    chained = await m.CpCall.all().select_related("contact").only("contact__props").order_by("id")
    assert "name" not in chained[0].contact.__dict__
    # only() leaving out the key column of a joined relation: the joined object still serves.
    joined = await m.CpCall.all().select_related("contact").only("note").order_by("id")
    assert "contact_id" not in joined[0].__dict__ and joined[0].contact.name == "Alice"
    with pytest.raises(FieldError):
        m.CpCall.all().only("note__nope")
    with pytest.raises(FieldError):
        m.CpCall.all().defer("contact__nope")


async def test_reading_a_field_the_instance_was_loaded_without(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="T", rank=3, author=ada)
    part = await m.CpBook.all().only("title").get()
    # A FieldError (yara-orm 1.19) that is an AttributeError too (Tortoise, getattr defaults).
    with pytest.raises(FieldError, match="'rank' was not loaded"):
        part.rank  # noqa: B018
    with pytest.raises(AttributeError):
        part.rank  # noqa: B018
    assert getattr(part, "rank", "absent") == "absent" and not hasattr(part, "rank")
    assert part.title == "T"
    assert (await m.CpBook.all().defer("title").get()).rank == 3
    with pytest.raises(FieldNotLoadedError):
        (await m.CpBook.all().defer("title").get()).title  # noqa: B018
    # Through a select_related path too; full instances and assignment are unaffected.
    call_contact = await m.CpContact.create(name="Alice", props={})
    await m.CpCall.create(note="hi", contact=call_contact)
    row = await m.CpCall.all().only("contact__props").get()
    with pytest.raises(FieldNotLoadedError, match="'name'"):
        row.contact.name  # noqa: B018
    full = await m.CpBook.get(title="T")
    assert (full.rank, full.title) == (3, "T")
    part.rank = 4
    assert part.rank == 4
    assert m.CpBook(title="new", rank=1, author=ada).rank == 1


async def test_partial_instance_refuses_to_save_a_field_it_did_not_load(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="T", rank=3, author=ada)
    part = await m.CpBook.all().only("title").get()
    with pytest.raises(IncompleteInstanceError, match="field 'rank' is not available"):
        await part.save(update_fields=["rank"])
    assert (await m.CpBook.get(title="T")).rank == 3  # not overwritten with NULL
    part.title = "U"
    await part.save(update_fields=["title"])
    assert (await m.CpBook.get(rank=3)).title == "U"


async def test_save_computes_an_expression_assigned_to_a_field(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    book = await m.CpBook.create(title="T", rank=1, author=ada)
    book.rank = F("rank") + 1
    await book.save(update_fields=["rank"])
    assert (await m.CpBook.get(pk=book.pk)).rank == 2
    book.rank = F("rank") * 10
    book.title = "U"
    await book.save()
    fresh = await m.CpBook.get(pk=book.pk)
    assert (fresh.rank, fresh.title) == (20, "U")


async def test_async_default_is_awaited_on_insert(orm: Connection) -> None:
    assert (await m.CpChecked.create()).greeting == "hello"
    row = m.CpChecked()
    await row.save()
    assert row.greeting == "hello"
    assert (await m.CpChecked.get(pk=row.pk)).greeting == "hello"
    given = m.CpChecked(greeting="hi")
    await given.save()
    assert given.greeting == "hi"


async def test_tortoise_messages_for_prefetch_and_unsaved_owner(orm: Connection) -> None:
    await m.CpBook.create(title="t", author=await m.CpAuthor.create(name="a"))
    with pytest.raises(FieldError, match=r"Relation nope for models\.CpBook not found"):
        await m.CpBook.all().prefetch_related("nope")
    with pytest.raises(FieldError, match=r"Field title on models\.CpBook is not a relation"):
        await m.CpBook.all().prefetch_related("title")
    with pytest.raises(ValueError):  # a ParamsError (a FieldError and a ValueError)
        await m.CpBook.all().prefetch_related("nope")
    with pytest.raises(OperationalError, match="hasn't been instanced"):
        await m.CpAuthor(name="unsaved").books.create(title="x")
    assert await m.CpBook.all().count() == 1


class _NameMixin:
    name = fields.CharField(max_length=40)


class _StampMixin:
    created = fields.DatetimeField(null=True, auto_now_add=True)


class _MixedBase(_NameMixin, Model):
    class Meta:
        abstract = True


class _MixedModel(_StampMixin, _MixedBase):
    extra = fields.IntField(null=True)


def test_fields_of_plain_mixins_are_collected() -> None:
    assert {"name", "created", "extra"} <= set(_MixedModel._meta.fields_map)
    assert "name" in _MixedBase._meta.fields_map
    assert _MixedModel(name="x").name == "x"
    assert _MixedBase(name="y").name == "y"  # an abstract model builds in memory


async def test_constructor_relation_arguments(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    bob = await m.CpAuthor.create(name="Bob")
    assert m.CpBook(title="t", author=ada.pk).author_id == ada.pk  # a raw key (yara-orm 1.19)
    explicit = m.CpBook(title="t", author=bob, author_id=ada.pk)
    assert explicit.author_id == ada.pk  # the explicit key wins
    assert (await explicit.author).name == "Ada"  # and the other object is not cached
    with pytest.raises(TypeError, match="m2m"):
        m.CpBook(title="t", author=ada, tags=[])
    with pytest.raises(ConfigurationError):
        m.CpAuthor(name="x", books=[])
    book = await m.CpBook.create(title="t", author=ada)
    assert dict(book) == {"id": book.pk, "title": "t", "rank": None, "author_id": ada.pk, "editor_id": None}
    assert dict(await m.CpBook.all().only("title").get()).keys() == {"id", "title"}
    book.note = "kept"  # a plain attribute set by the application comes along
    assert dict(book)["note"] == "kept" and not [k for k in dict(book) if k.startswith("_")]
    unsaved = m.CpAuthor(name="u")
    assert unsaved == unsaved and unsaved != m.CpAuthor(name="u")


def test_constructor_takes_a_db_column_name_and_meta_pk_field() -> None:
    class _Aliased(Model):
        alias = fields.CharField(max_length=10, null=True, source_field="alias_col")

    assert _Aliased(alias_col="al").alias == "al"
    assert _Aliased(alias="x").alias == "x"
    assert _Aliased._meta.pk_field is _Aliased._meta.pk
    with pytest.raises(FieldError):
        _Aliased(nope=1)


async def test_indexing_errors_are_the_builtin_kinds_too(orm: Connection) -> None:
    await m.CpAuthor.create(name="Ada")
    with pytest.raises(IndexError):
        await m.CpAuthor.all().order_by("id")[5]
    with pytest.raises(ValueError):
        m.CpAuthor.all()[-1]
    with pytest.raises(ValueError):
        m.CpAuthor.all()[::2]
    with pytest.raises(TypeError):
        m.CpAuthor.all()["x"]  # type: ignore[call-overload]
    assert issubclass(ParamsTypeError, ParamsError) and issubclass(ParamsError, ValueError)


async def test_force_update_of_a_fresh_instance_and_deleting_an_unsaved_one(orm: Connection) -> None:
    first = await m.CpStamped.create(name="a")
    fresh = m.CpStamped(id=first.pk, name="b")
    await fresh.save(force_update=True)  # the empty auto_now_add column is stamped, not NULL
    assert fresh.created is not None and (await m.CpStamped.get(id=first.pk)).name == "b"
    with pytest.raises(OperationalError):
        await m.CpStamped(name="unsaved").delete()


async def test_auto_now_is_left_alone_by_update_fields_that_do_not_name_it(orm: Connection) -> None:
    row = await m.CpTouched.create(name="a")
    stored = (await m.CpTouched.get(pk=row.pk)).touched
    row.name = "b"
    await row.save(update_fields=["name"])
    again = await m.CpTouched.get(pk=row.pk)
    assert (again.name, again.touched) == ("b", stored) and row.touched == stored
    await row.save(update_fields=["touched"])
    assert (await m.CpTouched.get(pk=row.pk)).touched > stored
    row.name = "c"
    await row.save(update_fields=["pk", "name", "name"])  # the pk and a repeat are skipped
    assert (await m.CpTouched.get(pk=row.pk)).name == "c"
    await row.save()  # a full save bumps it
    assert (await m.CpTouched.get(pk=row.pk)).touched >= row.touched > stored


async def test_model_class_methods_take_using_db(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada", using_db=orm)
    assert [a.pk for a in await m.CpAuthor.filter(name="Ada", using_db=orm)] == [ada.pk]
    assert await m.CpAuthor.exclude(name="Ada", using_db=orm).count() == 0
    assert await m.CpAuthor.count(using_db=orm) == 1
    assert await m.CpAuthor.exists(name="Ada", using_db=orm)
    assert (await m.CpAuthor.annotate(using_db=orm).first()) == ada


def test_unknown_constructor_argument_is_a_type_error_and_in_db_alias() -> None:
    with pytest.raises(TypeError, match="no field 'bogus'"):
        m.CpAuthor(name="x", bogus=1)
    with pytest.raises(FieldError):
        m.CpAuthor(name="x", bogus=1)
    obj = m.CpAuthor(name="x")
    assert obj._in_db is False
    obj._in_db = True
    assert obj._saved_in_db is True
    # Meta.extra_kwargs = "store": update_from_dict keeps unknown keys as the constructor does.
    kept = m.CpTouched(name="a", note="n").update_from_dict({"name": "b", "computed": 1})
    assert (kept.name, kept.note, kept.computed) == ("b", "n", 1)  # type: ignore[attr-defined]
    with pytest.raises(FieldError, match="no field 'computed'"):
        m.CpAuthor(name="x").update_from_dict({"computed": 1})


async def test_forward_relation_assignment_and_awaiting_an_empty_one(orm: Connection) -> None:
    one, two = await m.CpAuthor.create(name="One"), await m.CpAuthor.create(name="Two")
    book = await m.CpBook.create(title="B", author=one)
    assert (await book.author).pk == one.pk
    book.author = two.pk  # a raw key: stored, loaded on await (the cached One is dropped)
    assert book.author_id == two.pk and (await book.author).name == "Two"
    book.editor = one
    book.editor = None
    assert book.editor_id is None and not book.editor and await book.editor is None
    fresh = await m.CpBook.get(pk=book.pk)
    assert await fresh.editor is None  # a NULL key, never fetched: still awaitable
    # An unsaved target: Tortoise's OperationalError, yara-orm 1.19's ValueError.
    with pytest.raises(OperationalError, match="isn't saved"):
        book.author = m.CpAuthor(name="ghost")
    with pytest.raises(ValueError, match=r"first call \.save"):
        m.CpBook(title="C", author=m.CpAuthor(name="ghost"))
    assert book.author_id == two.pk


def test_timezone_set_config_changes_only_what_it_is_given() -> None:
    before = (tz.get_timezone(), tz.get_use_tz())
    try:
        tz._set_config(timezone="Europe/Paris")
        assert (tz.get_timezone(), tz.get_use_tz()) == ("Europe/Paris", before[1])
        tz._set_config(use_tz=True)
        assert (tz.get_timezone(), tz.get_use_tz()) == ("Europe/Paris", True)
        with pytest.raises(ConfigurationError):
            tz._set_config(timezone="Nowhere/Atlantis")
    finally:
        tz.set_timezone(*before)


async def test_date_and_time_fields_narrow_datetimes(orm: Connection) -> None:
    day = fields.DateField()
    assert day.to_python_value("2026-07-01T10:20:30") == dt.date(2026, 7, 1)
    assert day.to_python_value(dt.datetime(2026, 7, 1, 5, 0)) == dt.date(2026, 7, 1)
    with pytest.raises(ValidationError):
        day.to_python_value("2026-13-01")
    assert fields.TimeField().to_python_value(dt.datetime(2026, 7, 1, 8, 9, 10)) == dt.time(8, 9, 10)
    row = await m.CpChecked.create(day=dt.datetime(2024, 5, 3, 23, 30))
    assert row.day == dt.date(2024, 5, 3)
    assert await m.CpChecked.filter(day="2024-05-03T08:00:00").count() == 1
    assert await m.CpChecked.filter(day=dt.datetime(2024, 5, 3, 1, 0)).count() == 1


def test_field_get_default_copies_mutable_defaults() -> None:
    doc = fields.JSONField(default={"tags": []})
    first = doc.get_default()
    first["tags"].append("x")
    assert doc.get_default() == {"tags": []}
    assert fields.IntField(default=lambda: 4).get_default() == 4


async def test_locking_annotated_rows_and_annotation_name_collisions(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="T", rank=1, author=ada)
    with pytest.raises(UnSupportedError, match="select_for_update"):
        await m.CpAuthor.all().annotate(n=Count("books")).select_for_update()
    with pytest.raises(UnSupportedError, match="select_for_update"):
        await m.CpBook.all().select_related("author").annotate(r=RawSQL("1")).select_for_update()
    async with in_transaction():
        locked = await m.CpBook.all().annotate(r2=F("rank") + 1).select_for_update()
    assert [b.r2 for b in locked] == [2]  # type: ignore[attr-defined]
    with pytest.raises(FieldError, match="'rank' collides with a field"):
        await m.CpBook.all().only("title").annotate(rank=RawSQL("1"))


async def test_bulk_update_bumps_auto_now_listed_or_not(orm: Connection) -> None:
    rows = [m.CpTouched(name=f"r{i}") for i in range(2)]
    await m.CpTouched.bulk_create(rows)
    fetched = await m.CpTouched.all().order_by("id")
    before = fetched[0].touched
    for row in fetched:
        row.name += "!"
    await m.CpTouched.bulk_update(fetched, fields=["name"])
    again = await m.CpTouched.get(pk=fetched[0].pk)
    assert again.name == "r0!" and again.touched > before and fetched[0].touched == again.touched
    await m.CpTouched.bulk_update(fetched, fields=["name", "touched"])  # listed: bumped once
    assert (await m.CpTouched.get(pk=fetched[0].pk)).touched > again.touched


async def test_a_subquery_of_only_one_field_selects_that_field(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    for title, rank in (("x", 1), ("y", 2), ("z", None)):
        await m.CpBook.create(title=title, rank=rank, author=ada)
    sub = Subquery(m.CpBook.filter(title="x").only("rank"))
    assert {b.title for b in await m.CpBook.filter(rank__not_in=sub)} == {"y", "z"}  # NULL kept
    assert {b.title for b in await m.CpBook.filter(rank__in=sub)} == {"x"}
    assert await m.CpAuthor.filter(name__in=m.CpAuthor.filter(name="Ada").only("name")).count() == 1
    assert await m.CpAuthor.filter(id__in=m.CpAuthor.all()).count() == 1  # the primary key


def test_relation_typing_aliases_under_the_relations_module() -> None:
    assert relations.RelatedManager is fields.ReverseRelation
    assert relations.M2MManager is fields.ManyToManyRelation
    assert relations.ForeignKeyRelation == fields.ForeignKeyRelation
    assert relations.OneToOneNullableRelation["m.CpAuthor"] is not None
    with pytest.raises(AttributeError, match="NoSuchName"):
        relations.NoSuchName  # noqa: B018


async def test_bulk_create_leaves_unset_database_defaults_to_the_database(orm: Connection) -> None:
    rows = [m.CpChecked(age=1), m.CpChecked(age=2, seven=3), m.CpChecked(age=3)]
    await m.CpChecked.bulk_create(rows)
    stored = await m.CpChecked.all().order_by("age").values_list("age", "seven")
    assert stored == [(1, 7), (2, 3), (3, 7)]
    assert all(r.pk is not None for r in rows) and len({r.pk for r in rows}) == 3


async def test_an_integer_column_compares_with_a_fractional_float(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.bulk_create(
        [m.CpBook(title="a", rank=4, author=ada), m.CpBook(title="b", rank=5, author=ada)]
    )
    assert await m.CpBook.filter(rank__lte=4.5).count() == 1
    assert await m.CpBook.filter(rank__gt=4.5).values_list("title", flat=True) == ["b"]
    assert await m.CpBook.filter(rank__lte=5).count() == 2  # the cached int shape still works
    assert await m.CpBook.filter(rank__lt=5.0).count() == 1  # an integral float is the int
    with pytest.raises(ValidationError):
        await m.CpBook.filter(rank=4.5).count()  # equality with a fraction: still refused


async def test_validation_errors_are_value_errors_and_json_refuses_nan(orm: Connection) -> None:
    assert issubclass(ValidationError, ValueError) and issubclass(ValidationError, FieldError)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="no JSON representation"):
            await m.CpChecked.create(data={"score": bad})
    assert (await m.CpChecked.create(data={"score": 1.5})).data == {"score": 1.5}


def test_boolean_strings_and_to_db_of_a_field_of_no_model() -> None:
    flag = fields.BooleanField()
    assert [flag.to_db(v) for v in ("false", " F ", "TRUE", "1", 0)] == [False, False, True, True, False]
    assert flag.to_db(None) is None  # no model: no column to keep filled
    with pytest.raises(ValueError, match="Invalid boolean string"):
        flag.to_db("bogus")
    with pytest.raises(ValidationError, match="not nullable"):
        m.CpChecked._meta.fields_map["flag"].to_db(None)
