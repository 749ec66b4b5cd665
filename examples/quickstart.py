"""Yara ORM quickstart: models, filters, aggregation, a bulk insert and streaming, on SQLite.

Run with ``make demo`` (or ``python examples/quickstart.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import tempfile
from pathlib import Path
from typing import assert_type

from yara_orm import Case, F, Model, Q, Value, When, YaraOrm, fields
from yara_orm.functions import Avg, Count, Lower, Max, Sum


class Genre(enum.StrEnum):
    FICTION = "fiction"
    SCIENCE = "science"
    HISTORY = "history"


class Author(Model):
    name = fields.CharField(max_length=100, unique=True)
    born = fields.DateField(null=True)

    class Meta:
        table = "authors"
        ordering = ("name",)


class Book(Model):
    title = fields.CharField(max_length=200)
    author_id = fields.IntField(db_index=True)
    genre = fields.CharEnumField(Genre, default=Genre.FICTION)
    price = fields.DecimalField(max_digits=8, decimal_places=2)
    pages = fields.IntField(default=0)
    tags = fields.JSONField(default=list)
    published = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "books"


async def main(db_path: Path) -> None:
    await YaraOrm.init(f"sqlite:///{db_path}", modules={"models": ["__main__"]})
    await YaraOrm.generate_schemas()

    # -- create --------------------------------------------------------------------------------
    le_guin = await Author.create(name="Ursula K. Le Guin", born=dt.date(1929, 10, 21))
    sagan = await Author.create(name="Carl Sagan", born=dt.date(1934, 11, 9))
    await Book.create(
        title="A Wizard of Earthsea", author_id=le_guin.pk, price="8.99", pages=183, tags=["fantasy"]
    )
    await Book.create(
        title="The Dispossessed", author_id=le_guin.pk, price=decimal.Decimal("12.50"), pages=387
    )
    await Book.create(title="Cosmos", author_id=sagan.pk, genre=Genre.SCIENCE, price="15.00", pages=396)

    # -- a bulk insert: one statement per batch, never one per row ------------------------------
    drafts = [
        Book(
            title=f"Pamphlet #{i}",
            author_id=sagan.pk,
            genre=Genre.HISTORY,
            price=decimal.Decimal(i % 7) + 1,
            pages=i,
        )
        for i in range(1, 501)
    ]
    await Book.bulk_create(drafts)
    print(f"books in the library: {await Book.all().count()}")

    # -- get and filters --------------------------------------------------------------------------
    cosmos = await Book.get(title="Cosmos")
    print(f"get(): {cosmos.title!r} costs {cosmos.price} ({cosmos.genre.value}, {cosmos.pages} pages)")
    again = await Book.get(pk=cosmos.pk)
    # Checked by mypy in `make test`: results are typed as the model, fields as their values.
    assert_type(cosmos, Book)
    assert_type(cosmos.pages, int)
    assert_type(cosmos.genre, Genre)
    print(f"get(pk=...) returns an equal instance: {again == cosmos}")

    long_reads = await Book.filter(pages__gte=300).exclude(genre=Genre.HISTORY).order_by("-pages")
    assert_type(long_reads, list[Book])
    print("long reads:", [b.title for b in long_reads])
    earthsea = await Book.filter(Q(title__icontains="earthsea") | Q(tags__0="fantasy")).values_list(
        "title", flat=True
    )
    print("Q objects:", earthsea)
    print(
        "first pamphlets:",
        await Book.filter(title__startswith="Pamphlet").order_by("pages").limit(3).values("title", "pages"),
    )

    # -- expressions, annotations and aggregation -------------------------------------------------
    priced = (
        await Book.annotate(
            band=Case(
                When(price__lt=5, then=Value("cheap")), When(price__lt=10, then=Value("fair")), default="dear"
            ),
            lower=Lower("title"),
        )
        .filter(Q(genre=Genre.FICTION) | Q(pages__lte=3))
        .order_by("pages")
        .values("lower", "band")
    )
    print("price bands:", priced)

    per_genre = (
        await Book.annotate(books=Count("id"), avg_pages=Avg("pages"), most=Max("price"))
        .group_by("genre")
        .order_by("genre")
        .values("genre", "books", "avg_pages", "most")
    )
    for row in per_genre:
        genre, books, pages, most = row["genre"].value, row["books"], row["avg_pages"], row["most"]
        print(f"  {genre:8} books={books:3} avg_pages={pages:6.1f} max_price={most}")

    totals = await Book.all().aggregate(
        pages=Sum("pages"), value=Sum("price"), cheap=Count("id", _filter=Q(price__lt=3))
    )
    print("aggregate():", totals)

    # -- updates: F expressions run in the database -------------------------------------------------
    changed = await Book.filter(genre=Genre.HISTORY, pages__lt=10).update(price=F("price") * 2)
    print(f"doubled the price of {changed} short pamphlets")
    cosmos.pages += 4
    await cosmos.save(update_fields=["pages"])
    await cosmos.refresh_from_db()
    print(f"Cosmos now has {cosmos.pages} pages")

    # -- race-safe get_or_create --------------------------------------------------------------------
    results = await asyncio.gather(*(Author.get_or_create(name="Octavia E. Butler") for _ in range(5)))
    print(f"5 concurrent get_or_create calls created {sum(created for _, created in results)} row")

    # -- streaming: bounded memory however many rows match ------------------------------------------
    pages = 0
    async for book in Book.filter(genre=Genre.HISTORY).iterator(chunk_size=100):
        pages += book.pages
    print(f"streamed the pamphlets: {pages} pages in total")

    deleted = await Book.filter(title__startswith="Pamphlet").delete()
    print(f"deleted {deleted} pamphlets; {await Book.all().count()} books remain")
    await YaraOrm.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp) / "quickstart.db"))
