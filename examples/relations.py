"""Yara ORM relations: foreign keys, one-to-one, many-to-many, eager loading, transactions and
signals, on SQLite.

Run with ``make demo`` (or ``python examples/relations.py``).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from yara_orm import (
    Model,
    Prefetch,
    YaraOrm,
    count_statements,
    fields,
    in_transaction,
    on_commit,
    post_save,
)
from yara_orm.exceptions import IntegrityError, NoValuesFetched
from yara_orm.functions import Count


class Country(Model):
    code = fields.CharField(max_length=2, primary_key=True)
    name = fields.CharField(max_length=50)

    authors: fields.ReverseRelation[Author]


class Author(Model):
    name = fields.CharField(max_length=100)
    country: fields.ForeignKeyNullableRelation[Country] = fields.ForeignKeyField(
        "models.Country", related_name="authors", null=True, on_delete=fields.SET_NULL
    )

    books: fields.ReverseRelation[Book]
    bio: fields.BackwardOneToOneRelation[Biography]

    class Meta:
        ordering = ("name",)


class Biography(Model):
    author: fields.OneToOneRelation[Author] = fields.OneToOneField("models.Author", related_name="bio")
    text = fields.TextField()


class Tag(Model):
    name = fields.CharField(max_length=30, unique=True)

    books: fields.ManyToManyRelation[Book]

    class Meta:
        ordering = ("name",)


class Book(Model):
    title = fields.CharField(max_length=200)
    author: fields.ForeignKeyRelation[Author] = fields.ForeignKeyField(
        "models.Author", related_name="books", on_delete=fields.RESTRICT
    )
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField("models.Tag", related_name="books")
    author_id: int

    class Meta:
        ordering = ("title",)


saved: list[str] = []


@post_save(Book)
async def remember(
    sender: type[Model], instance: Any, created: bool, using_db: Any, update_fields: Any
) -> None:
    saved.append(f"{'created' if created else 'updated'} {instance.title}")


async def main(db_path: Path) -> None:
    await YaraOrm.init(f"sqlite:///{db_path}", modules={"models": [__name__]})
    await YaraOrm.generate_schemas()

    uk = await Country.create(code="uk", name="United Kingdom")
    ru = await Country.create(code="ru", name="Russia")
    austen = await Author.create(name="Jane Austen", country=uk)
    tolstoy = await Author.create(name="Leo Tolstoy", country=ru)
    await Biography.create(author=austen, text="Born in Steventon, 1775.")
    classic, romance, war = [await Tag.create(name=n) for n in ("classic", "romance", "war")]
    emma = await Book.create(title="Emma", author=austen)
    await emma.tags.add(classic, romance)
    pride = await austen.books.create(title="Pride and Prejudice")
    await pride.tags.set([classic, romance])
    peace = await Book.create(title="War and Peace", author=tolstoy)
    await peace.tags.add(classic, war)
    print("signals:", saved)

    # Lazy access: await once, then it is cached on the instance.
    book = await Book.get(title="Emma")
    try:
        print(book.author.name)
    except NoValuesFetched as exc:
        print("unfetched:", exc)
    print("author of Emma:", (await book.author).name, "| author_id:", book.author_id)
    print("Austen's books:", [b.title for b in await austen.books])
    print("Austen's bio:", (await austen.bio).text)
    print("romance titles:", [b.title for b in await romance.books])

    # Traversal in filters, ordering, values and aggregates.
    uk_titles = await Book.filter(author__country__name__icontains="kingdom").values_list("title", flat=True)
    print("books by UK authors:", uk_titles)
    print("with tags:", await Book.filter(tags__name="war").values("title", "author__name"))
    print("books per author:", await Author.annotate(n=Count("books")).values_list("name", "n"))

    # Eager loading: statements depend on relations, not rows.
    with count_statements() as counter:
        books = await Book.all().select_related("author__country").prefetch_related("tags")
    for b in books:
        country = b.author.country.name if b.author.country else "?"
        print(f"  {b.title} by {b.author.name} ({country}) tags={[t.name for t in b.tags]}")
    print("statements for that:", counter.count)
    with count_statements() as counter:
        authors = await Author.all().prefetch_related(
            Prefetch("books", queryset=Book.filter(tags__name="romance"), to_attr="romances")
        )
    # ``to_attr`` stores a plain list under that attribute name.
    romances = {a.name: [b.title for b in getattr(a, "romances")] for a in authors}  # noqa: B009
    print("romances per author:", romances, "statements:", counter.count)

    # on_delete=RESTRICT is enforced by the database.
    try:
        await tolstoy.delete()
    except IntegrityError:
        print("cannot delete Tolstoy: his books RESTRICT it")

    # Nested transactions: the inner failure rolls back only the savepoint.
    async with in_transaction():
        on_commit(lambda: print("committed!"))
        await Book.create(title="Persuasion", author=austen)
        try:
            async with in_transaction():
                await Book.create(title="Ghost", author=austen)
                raise RuntimeError("undo the ghost")
        except RuntimeError:
            pass
    print("all titles:", await Book.all().values_list("title", flat=True))
    await YaraOrm.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp) / "relations.db"))
