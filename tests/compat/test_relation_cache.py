"""Where fetched related objects live: ``instance.__dict__["_prefetch"][name]``, the layout of
yara-orm 1.19 that its users' code reads (and its tests inspect), for every way a relation gets
loaded or assigned, on both backends."""

from __future__ import annotations

import copy
import pickle
from collections.abc import AsyncIterator

import pytest

from yara_orm import Connection, Prefetch, YaraOrm, connections, schema

from .._tables import drop_tables
from . import compat_models as m

MODELS = [m.CpAuthor, m.CpTag, m.CpBook, m.CpCountry, m.CpContact, m.CpCall]


async def _drop(conn: Connection) -> None:
    tables = [model._meta.table for model in reversed(schema.dependency_order(MODELS))]
    await drop_tables(conn, ["cp_book_tag", *tables])


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


def cache(obj: object) -> dict[str, object]:
    return obj.__dict__["_prefetch"]  # type: ignore[no-any-return]


async def test_select_related_fills_the_cache_of_each_joined_object(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="B", author=ada)
    book = await m.CpBook.all().select_related("author", "editor").get()
    assert cache(book)["author"].name == "Ada"  # type: ignore[attr-defined]
    assert cache(book)["editor"] is None  # fetched, and NULL
    assert book.author is cache(book)["author"] and book.editor is None

    fr = await m.CpCountry.create(name="France")
    await m.CpCall.create(note="n", contact=await m.CpContact.create(name="c", country=fr))
    await m.CpCall.create(note="orphan")
    calls = await m.CpCall.all().select_related("contact__country").order_by("id")
    contact = cache(calls[0])["contact"]
    assert cache(contact)["country"].name == "France"  # type: ignore[attr-defined]
    assert calls[0].contact.country.name == "France"
    assert cache(calls[1]) == {"contact": None}


async def test_prefetch_and_fetch_related_fill_the_cache(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    await m.CpBook.create(title="B1", author=ada)
    await m.CpBook.create(title="B2", author=ada)

    books = await m.CpBook.all().prefetch_related("author").order_by("title")
    assert [cache(b)["author"].name for b in books] == ["Ada", "Ada"]  # type: ignore[attr-defined]

    author = await m.CpAuthor.get(pk=ada.pk).prefetch_related("books")
    assert sorted(b.title for b in cache(author)["books"]) == ["B1", "B2"]  # type: ignore[attr-defined]
    # The reverse side links each book back to the owner already in memory.
    assert all(cache(b)["author"] is author for b in author.books)

    # A custom queryset that leaves the related row out caches None (fetched, absent).
    books = await m.CpBook.all().prefetch_related(Prefetch("author", m.CpAuthor.filter(name="nobody")))
    assert [cache(b)["author"] for b in books] == [None, None]

    # to_attr fills the attribute it names, not the relation's cache.
    authors = await m.CpAuthor.all().prefetch_related(Prefetch("books", m.CpBook.all(), to_attr="all_books"))
    assert len(authors[0].all_books) == 2 and "_prefetch" not in authors[0].__dict__

    fresh = await m.CpBook.get(title="B1")
    assert "_prefetch" not in fresh.__dict__
    await fresh.fetch_related("author")
    assert cache(fresh)["author"].name == "Ada"  # type: ignore[attr-defined]


async def test_awaiting_and_assigning_a_relation_use_the_cache(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    bob = await m.CpAuthor.create(name="Bob")
    await m.CpBook.create(title="B", author=ada)
    book = await m.CpBook.get(title="B")
    assert (await book.author).name == "Ada"
    assert cache(book)["author"].name == "Ada"  # type: ignore[attr-defined]

    book.author = bob
    assert cache(book)["author"] is bob
    book.author = ada.pk  # a raw key: the cached object is dropped
    assert "author" not in cache(book) and book.author_id == ada.pk
    book.editor = None
    assert "editor" not in cache(book)

    author = await m.CpAuthor.get(pk=ada.pk)
    assert [b.title for b in await author.books] == ["B"]
    assert [b.title for b in cache(author)["books"]] == ["B"]  # type: ignore[attr-defined]

    # An unsaved instance given a raw key caches nothing at all.
    unsaved = m.CpBook(title="raw")
    unsaved.author = 7
    assert "_prefetch" not in unsaved.__dict__ and unsaved.author_id == 7


async def test_copies_have_a_cache_of_their_own(orm: Connection) -> None:
    ada = await m.CpAuthor.create(name="Ada")
    bob = await m.CpAuthor.create(name="Bob")
    await m.CpBook.create(title="B", author=ada)
    book = await m.CpBook.all().select_related("author").get()

    twin = copy.copy(book)
    twin.author = bob
    assert book.author.name == "Ada" and twin.author.name == "Bob"

    restored = pickle.loads(pickle.dumps(book))
    assert restored.author.name == "Ada"

    # A clone saves as a new row: the original's cached objects stay behind.
    clone = book.clone()
    assert "_prefetch" not in clone.__dict__
    assert (await clone.author).name == "Ada"
