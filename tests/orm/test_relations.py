"""ForeignKey, OneToOne and ManyToMany on both backends: access, managers, traversal."""

from __future__ import annotations

import uuid

import pytest

from yara_orm import Connection, Model, Q, YaraOrm, fields
from yara_orm.exceptions import ConfigurationError, FieldError, IntegrityError, NoValuesFetched
from yara_orm.functions import Count, Sum
from yara_orm.models import MODEL_REGISTRY

from .rel_models import (
    Author,
    Book,
    Club,
    Country,
    Device,
    Employee,
    Member,
    Membership,
    Profile,
    Reading,
    Tag,
)


def _forget(*models: type[Model]) -> None:
    """Keep deliberately broken models out of ``YaraOrm.init()`` without modules later on."""
    for model in models:
        if model in MODEL_REGISTRY:
            MODEL_REGISTRY.remove(model)


async def _library() -> tuple[Author, Author, list[Book], list[Tag]]:
    fr = await Country.create(code="fr", name="France")
    uk = await Country.create(code="uk", name="United Kingdom")
    hugo = await Author.create(name="Hugo", country=fr)
    austen = await Author.create(name="Austen", country=uk)
    books = [
        await Book.create(title="Les Miserables", author=hugo, rating=5),
        await Book.create(title="Notre-Dame", author=hugo, rating=4),
        await Book.create(title="Emma", author=austen, rating=3),
    ]
    tags = [await Tag.create(name=n) for n in ("classic", "french", "romance")]
    await books[0].tags.add(tags[0], tags[1])
    await books[1].tags.add(tags[1])
    await books[2].tags.add(tags[0], tags[2])
    return hugo, austen, books, tags


async def test_foreign_key_access(rel_orm: Connection) -> None:
    hugo, _austen, books, _tags = await _library()
    book = await Book.get(pk=books[0].pk)
    assert book.author_id == hugo.pk
    with pytest.raises(NoValuesFetched, match="select_related"):
        _ = book.author.name
    author = await book.author
    assert author == hugo and author.name == "Hugo"
    # Cached: now a plain attribute, and awaiting it again is free.
    assert book.author is author
    assert await book.author is author
    # Assigning an instance updates the id.
    other = await Author.create(name="Other")
    book.author = other
    assert book.author_id == other.pk
    await book.save()
    assert (await Book.get(pk=book.pk)).author_id == other.pk


async def test_reverse_manager(rel_orm: Connection) -> None:
    hugo, _austen, _books, _tags = await _library()
    with pytest.raises(NoValuesFetched):
        len(hugo.books)
    assert [b.title for b in await hugo.books] == ["Les Miserables", "Notre-Dame"]
    assert len(hugo.books) == 2  # fetched and cached
    seen = [b.title async for b in hugo.books]
    assert seen == ["Les Miserables", "Notre-Dame"]
    assert [b.title for b in await hugo.books.filter(rating__gte=5)] == ["Les Miserables"]
    assert await hugo.books.order_by("-rating").values_list("title", flat=True) == [
        "Les Miserables",
        "Notre-Dame",
    ]
    assert await hugo.books.count() == 2
    new = await hugo.books.create(title="Hernani")
    assert new.author_id == hugo.pk
    assert await hugo.books.count() == 3


async def test_one_to_one(rel_orm: Connection) -> None:
    hugo, austen, _books, _tags = await _library()
    await Profile.create(author=hugo, bio="poet")
    assert (await hugo.profile).bio == "poet"
    assert hugo.profile.bio == "poet"
    assert await austen.profile is None
    assert await austen.profile is None  # fetched as absent: still awaitable, and falsy
    assert not austen.profile
    prefetched = {
        a.name: a for a in await Author.filter(pk__in=[hugo.pk, austen.pk]).prefetch_related("profile")
    }
    assert (await prefetched["Hugo"].profile).bio == "poet" and await prefetched[austen.name].profile is None
    with pytest.raises(IntegrityError):
        await Profile.create(author=hugo, bio="twice")
    profile = await Profile.get(author=hugo)
    assert (await profile.author).name == "Hugo"


async def test_many_to_many_manager(rel_orm: Connection) -> None:
    _hugo, _austen, books, tags = await _library()
    classic, french, romance = tags
    book = books[0]
    assert {t.name for t in await book.tags} == {"classic", "french"}
    assert {b.title for b in await french.books} == {"Les Miserables", "Notre-Dame"}
    await book.tags.add(classic)  # already linked: no duplicate, no error
    assert await book.tags.count() == 2
    await book.tags.remove(french)
    assert [t.name for t in await book.tags] == ["classic"]
    await book.tags.set([romance, french])
    assert [t.name for t in await book.tags.all()] == ["french", "romance"]
    await book.tags.clear()
    assert await book.tags.all() == []
    created = await book.tags.create(name="new")
    assert [b.pk for b in await created.books] == [book.pk]


async def test_m2m_through_model_with_extra_columns(rel_orm: Connection) -> None:
    club = await Club.create(name="chess")
    ann, bob = await Member.create(name="ann"), await Member.create(name="bob")
    await Membership.create(club=club, member=ann, role="captain")
    await club.members.add(bob)
    assert sorted(m.name for m in await club.members) == ["ann", "bob"]
    assert [c.name for c in await ann.clubs] == ["chess"]
    assert await Member.filter(memberships__role="captain").values_list("name", flat=True) == ["ann"]
    assert await Club.filter(members__name="bob").count() == 1
    roles = await Membership.filter(club=club).order_by("member__name").values_list("role", flat=True)
    assert roles == ["captain", "member"]


async def test_self_references(rel_orm: Connection) -> None:
    boss = await Employee.create(name="boss")
    a = await Employee.create(name="a", manager=boss)
    b = await Employee.create(name="b", manager=boss)
    assert sorted(e.name for e in await boss.reports) == ["a", "b"]
    manager = a.manager
    assert manager is not None
    assert (await manager).name == "boss"
    # A NULL key not fetched: falsy and None when awaited (both anchors return an awaitable).
    assert not boss.manager and await boss.manager is None
    await a.friends.add(b)
    assert [e.name for e in await a.friends] == ["b"]
    assert [e.name for e in await b.befriended] == ["a"]
    assert await Employee.filter(manager__name="boss").count() == 2
    assert await Employee.filter(reports__name="a").values_list("name", flat=True) == ["boss"]


async def test_uuid_and_char_primary_keys(rel_orm: Connection) -> None:
    device = await Device.create(name="probe")
    assert isinstance(device.id, uuid.UUID)
    await Reading.create(device=device, value=1.5)
    await Reading.create(device_id=device.id, value=2.5)
    reading = await Reading.filter(device=device).order_by("value").first()
    assert reading is not None and reading.device_id == device.id
    assert (await reading.device).name == "probe"
    assert await device.readings.count() == 2
    fetched = await Reading.all().select_related("device").order_by("-value")
    assert fetched[0].device.id == device.id
    fr = await Country.create(code="fr", name="France")
    await Author.create(name="Hugo", country=fr)
    assert await Author.filter(country__code="fr").count() == 1
    assert (await Author.get(name="Hugo")).country_id == "fr"


async def test_traversal(rel_orm: Connection) -> None:
    hugo, austen, _books, tags = await _library()
    assert await Book.filter(author__name="Hugo").count() == 2
    assert await Book.filter(author__country__name__icontains="kingdom").values_list("title", flat=True) == [
        "Emma"
    ]
    assert await Book.exclude(author__country__code="fr").values_list("title", flat=True) == ["Emma"]
    assert await Book.filter(Q(author__name="Austen") | Q(rating=5)).count() == 2
    ordered = await Book.all().order_by("author__name", "title").values_list("title", flat=True)
    assert ordered == ["Emma", "Les Miserables", "Notre-Dame"]
    rows = await Book.filter(author=austen).values("title", "author__name", "author__country__name")
    assert rows == [{"title": "Emma", "author__name": "Austen", "author__country__name": "United Kingdom"}]
    assert await Book.filter(author__in=[hugo]).count() == 2
    assert await Book.filter(tags=tags[2]).values_list("title", flat=True) == ["Emma"]
    assert await Tag.filter(books__author__name="Hugo").distinct().count() == 2
    # reverse and many-to-many __isnull
    lonely = await Author.create(name="Lonely")
    assert await Author.filter(books__isnull=True).values_list("name", flat=True) == ["Lonely"]
    untagged = await Book.create(title="Untagged", author=lonely)
    assert await Book.filter(tags__isnull=True).values_list("title", flat=True) == ["Untagged"]
    assert untagged.pk is not None
    # annotations and aggregates through relations
    counts = await Author.annotate(n=Count("books")).order_by("name").values_list("name", "n")
    assert counts == [("Austen", 1), ("Hugo", 2), ("Lonely", 1)]
    total = await Book.filter(author__country__code="fr").aggregate(total=Sum("rating"))
    assert total == {"total": 9}
    # writes filtered through a relation
    assert await Book.filter(author__name="Hugo").update(rating=1) == 2
    assert await Book.filter(author__country__code="uk").delete() == 1
    assert await Book.all().count() == 3
    with pytest.raises(FieldError, match="valid choices"):
        await Book.filter(author__nope="x")


async def test_related_name_collision_rejected_at_init(sqlite_url: str) -> None:
    class Shelf(Model):
        books = fields.IntField(default=0)

        class Meta:
            table = "collide_shelf"

    class Volume(Model):
        shelf = fields.ForeignKeyField(Shelf, related_name="books")

        class Meta:
            table = "collide_volume"

    try:
        with pytest.raises(ConfigurationError, match="related_name collision"):
            await YaraOrm.init(sqlite_url, modules={"models": [Shelf, Volume]})
    finally:
        await YaraOrm.close()
        _forget(Shelf, Volume)


async def test_schema_orders_tables_by_dependency(rel_orm: Connection) -> None:
    sql = YaraOrm.get_schema_sql()
    q = rel_orm.dialect.quote
    assert sql.index(q("rel_country")) < sql.index(q("rel_author")) < sql.index(f"{q('rel_book')} (")
    assert sql.index(f"{q('rel_book')} (") < sql.index(q("rel_book_tag"))


async def test_multi_valued_filters_use_subqueries(rel_orm: Connection) -> None:
    hugo, austen, _books, tags = await _library()
    # One row per author however many books match, and exclude() means "no book matches".
    assert await Author.filter(books__rating__gte=4).values_list("name", flat=True) == ["Hugo"]
    assert await Author.exclude(books__title="Notre-Dame").values_list("name", flat=True) == ["Austen"]
    assert await Author.filter(books__tags__name="classic").order_by("name").values_list(
        "name", flat=True
    ) == [
        "Austen",
        "Hugo",
    ]
    assert await Book.exclude(tags=tags[0]).values_list("title", flat=True) == ["Notre-Dame"]
    sql = Author.filter(books__title="x").sql()
    assert " IN (SELECT " in sql and "JOIN" in sql
    # the cached shape re-binds new values (including model instances) correctly
    assert await Book.filter(tags=tags[1]).count() == 2
    assert await Book.filter(tags=tags[2]).count() == 1
    assert await Author.filter(books__title="Emma").values_list("name", flat=True) == ["Austen"]
    assert await Author.filter(books__title="Notre-Dame").values_list("name", flat=True) == ["Hugo"]
    assert hugo.pk != austen.pk


async def test_two_relations_with_one_related_name_rejected(sqlite_url: str) -> None:
    class Hub(Model):
        class Meta:
            table = "collide_hub"

    class Spoke(Model):
        one = fields.ForeignKeyField(Hub, related_name="spokes")
        second = fields.ForeignKeyField(Hub, related_name="spokes")

        class Meta:
            table = "collide_spoke"

    try:
        with pytest.raises(ConfigurationError, match=r"Spoke\.second"):
            await YaraOrm.init(sqlite_url, modules={"models": [Hub, Spoke]})
    finally:
        await YaraOrm.close()
        _forget(Hub, Spoke)


def test_relation_named_like_a_model_method_rejected() -> None:
    class Target(Model):
        class Meta:
            table = "collide_target"

    with pytest.raises(ConfigurationError, match="Model attribute"):

        class Source(Model):
            filter = fields.ForeignKeyField(Target)  # would hide Source.filter()

            class Meta:
                table = "collide_source"

    _forget(Target)


async def test_unfetched_relations_explain_how_to_fetch(rel_orm: Connection) -> None:
    hugo, _austen, books, _tags = await _library()
    book = await Book.get(pk=books[0].pk)
    with pytest.raises(NoValuesFetched, match="prefetch_related\\('tags'\\)"):
        list(book.tags)
    with pytest.raises(NoValuesFetched, match=r"Author\.profile"):
        _ = hugo.profile.bio
    sql = Book.all().select_related("author__country").sql()
    q = rel_orm.dialect.quote
    assert f"LEFT JOIN {q('rel_author')}" in sql and f"LEFT JOIN {q('rel_country')}" in sql
