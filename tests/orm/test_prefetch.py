"""Eager loading: select_related, prefetch_related (+Prefetch) and fetch_related, with exact
statement counts so an N+1 regression fails."""

from __future__ import annotations

import pytest

from yara_orm import Connection, Prefetch, count_statements
from yara_orm.exceptions import FieldError, NoValuesFetched

from .rel_models import Author, Book, Country, Employee, Profile, Tag


async def _data(n_authors: int = 4, books_each: int = 3) -> None:
    country = await Country.create(code="fr", name="France")
    tags = [await Tag.create(name=f"t{i}") for i in range(3)]
    for a in range(n_authors):
        author = await Author.create(name=f"a{a}", country=country if a % 2 == 0 else None)
        await Profile.create(author=author, bio=f"bio{a}")
        for b in range(books_each):
            book = await Book.create(title=f"a{a}b{b}", author=author, rating=b)
            await book.tags.add(*tags[: b + 1])


async def test_select_related_one_statement(rel_orm: Connection) -> None:
    await _data()
    with count_statements() as counter:
        books = await Book.all().select_related("author__country", "author__profile")
    assert counter.count == 1
    assert len(books) == 12
    with count_statements() as counter:
        seen = [
            (b.author.name, b.author.country and b.author.country.name, b.author.profile.bio) for b in books
        ]
    assert counter.count == 0
    assert seen[0] == ("a0", "France", "bio0")
    assert seen[3] == ("a1", None, "bio1")  # LEFT JOIN: a NULL key gives None
    single = await Book.filter(title="a2b1").select_related("author").get()
    assert single.author.name == "a2"
    with pytest.raises(FieldError, match="prefetch_related"):
        await Author.all().select_related("books")


async def test_prefetch_counts_depend_on_relations_not_rows(rel_orm: Connection) -> None:
    await _data(n_authors=5)
    with count_statements() as counter:
        authors = await Author.all().prefetch_related("books__tags", "country")
    # authors, books, tags, countries: one statement per relation level.
    assert counter.count == 4
    with count_statements() as counter:
        titles = {a.name: [(b.title, [t.name for t in b.tags]) for b in a.books] for a in authors}
        countries = [a.country.name if a.country else None for a in authors]
        back = [b.author.name for a in authors for b in a.books]  # back-references are linked too
    assert counter.count == 0
    assert titles["a1"] == [("a1b0", ["t0"]), ("a1b1", ["t0", "t1"]), ("a1b2", ["t0", "t1", "t2"])]
    assert countries == ["France", None, "France", None, "France"]
    assert back[:3] == ["a0", "a0", "a0"]
    with count_statements() as counter:
        tags = await Tag.all().prefetch_related("books")
    assert counter.count == 2
    assert [len(t.books) for t in tags] == [15, 10, 5]


async def test_prefetch_object_with_queryset_and_to_attr(rel_orm: Connection) -> None:
    await _data(n_authors=3)
    with count_statements() as counter:
        authors = (
            await Author.all()
            .order_by("name")
            .prefetch_related(
                Prefetch(
                    "books", queryset=Book.filter(rating__gte=1).order_by("-rating"), to_attr="good_books"
                )
            )
        )
    assert counter.count == 2
    assert [b.title for b in getattr(authors[0], "good_books")] == ["a0b2", "a0b1"]  # noqa: B009
    with pytest.raises(NoValuesFetched):
        len(authors[0].books)


async def test_fetch_related_on_instances_and_lists(rel_orm: Connection) -> None:
    await _data(n_authors=3)
    book = await Book.get(title="a1b2")
    with count_statements() as counter:
        await book.fetch_related("author__country", "tags")
    assert counter.count == 2  # author; the author's country is NULL so no third query is needed
    assert book.author.name == "a1" and book.author.country is None
    assert len(book.tags) == 3
    books = await Book.filter(rating=0)
    with count_statements() as counter:
        await Book.fetch_for_list(books, "author", "tags")
    assert counter.count == 2
    assert [b.author.name for b in books] == ["a0", "a1", "a2"]


async def test_self_reference_eager_loading(rel_orm: Connection) -> None:
    boss = await Employee.create(name="boss")
    for i in range(3):
        await Employee.create(name=f"e{i}", manager=boss)
    with count_statements() as counter:
        staff = await Employee.filter(manager__isnull=False).select_related("manager").order_by("name")
        bosses = await Employee.filter(manager__isnull=True).prefetch_related("reports")
    assert counter.count == 3
    assert {e.manager.name for e in staff if e.manager is not None} == {"boss"}
    assert all(e.manager is not None for e in staff)
    assert sorted(e.name for e in bosses[0].reports) == ["e0", "e1", "e2"]


async def test_streaming_and_single_results_load_relations(rel_orm: Connection) -> None:
    await _data(n_authors=4, books_each=2)
    with count_statements() as counter:
        seen = [
            (a.name, len(a.books))
            async for a in Author.all().order_by("name").prefetch_related("books").iterator(chunk_size=2)
        ]
    assert seen == [("a0", 2), ("a1", 2), ("a2", 2), ("a3", 2)]
    assert counter.count == 3  # one cursor, plus one prefetch query per chunk of 2
    book = await Book.get(title="a3b1").select_related("author")
    assert book.author.name == "a3"
    author = await Author.first().prefetch_related("books")
    assert author is not None and [b.title for b in author.books] == ["a0b0", "a0b1"]
    clone = book.clone()
    assert "_prefetch" not in clone.__dict__


async def test_prefetch_slice_applies_to_each_owner(rel_orm: Connection) -> None:
    await _data(n_authors=3)
    with count_statements() as counter:
        authors = (
            await Author.all()
            .order_by("name")
            .prefetch_related(
                Prefetch("books", queryset=Book.all().order_by("-rating")[:2]),
                Prefetch("profile", queryset=Profile.all()[1:]),  # one row per owner: an offset drops it
            )
        )
    assert counter.count == 3  # still one statement per relation
    assert {a.name: [b.title for b in a.books] for a in authors} == {
        "a0": ["a0b2", "a0b1"],
        "a1": ["a1b2", "a1b1"],
        "a2": ["a2b2", "a2b1"],
    }
    assert [await a.profile for a in authors] == [None, None, None]
    books = (
        await Book.filter(rating=0)
        .order_by("title")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.all().order_by("name")[1:2]),
            Prefetch("author", queryset=Author.all()[:1]),
        )
    )
    assert [[t.name for t in b.tags] for b in books] == [[], [], []]  # each has only t0
    assert [b.author.name for b in books] == ["a0", "a1", "a2"]
    rich = await Book.filter(rating=2, author__name="a1").prefetch_related(
        Prefetch("tags", queryset=Tag.all().order_by("name")[1:])
    )
    assert [t.name for t in rich[0].tags] == ["t1", "t2"]
