"""The autodetector over a sequence of model changes, with rows in the tables all along:
write the models, makemigrations, migrate, change, repeat. The migrated schema must equal what
``generate_schemas`` makes of the final models (both introspected), and reverting keeps data."""

from __future__ import annotations

import decimal
from pathlib import Path

import pytest

from .conftest import Proj, fresh_db, generated_index_names, generated_schema

V1 = '''
class Author(Model):
    """People who write."""
    name = fields.CharField(max_length=50)

class Tag(Model):
    label = fields.CharField(max_length=20, unique=True)

class Book(Model):
    title = fields.CharField(max_length=100, index=True)
    author = fields.ForeignKeyField("shop.Author", related_name="books")
    tags = fields.ManyToManyField("shop.Tag", related_name="books")

    class Meta:
        unique_together = (("title", "author"),)
'''

# alter max_length, table comment; add unique nullable column, NOT NULL column with a default,
# indexed column, a composite index
V2 = '''
class Author(Model):
    """People who write books."""
    name = fields.CharField(max_length=120)
    email = fields.CharField(max_length=100, null=True, unique=True)

class Tag(Model):
    label = fields.CharField(max_length=20, unique=True)

class Book(Model):
    title = fields.CharField(max_length=100, index=True)
    author = fields.ForeignKeyField("shop.Author", related_name="books")
    tags = fields.ManyToManyField("shop.Tag", related_name="books")
    price = fields.DecimalField(max_digits=8, decimal_places=2, default=decimal.Decimal("9.99"))
    isbn = fields.CharField(max_length=13, null=True, index=True)

    class Meta:
        unique_together = (("title", "author"),)
        indexes = (Index("isbn", "price"),)
'''

# rename model and field, retarget + alter on_delete, db_column change, drop an index, drop a
# many-to-many and its target model, add a nullable column
V3 = '''
class Writer(Model):
    """People who write books."""
    name = fields.CharField(max_length=120)
    email = fields.CharField(max_length=100, null=True, unique=True)

class Book(Model):
    headline = fields.CharField(max_length=100, index=True)
    author = fields.ForeignKeyField("shop.Writer", related_name="books", on_delete=fields.RESTRICT)
    price = fields.DecimalField(max_digits=8, decimal_places=2, default=decimal.Decimal("9.99"))
    isbn = fields.CharField(max_length=13, null=True, source_field="isbn_code")
    pages = fields.IntField(null=True)

    class Meta:
        unique_together = (("headline", "author"),)
        indexes = (Index("isbn", "price"),)
'''

# new model with a foreign key into it, type change, nullability change, drop unique_together,
# add unique, a db_default, a column comment, a one-to-one, a many-to-many through a model of
# its own
V4 = '''
class Writer(Model):
    """People who write books."""
    name = fields.CharField(max_length=120, null=True, description="pen name")
    email = fields.CharField(max_length=100, null=True, unique=True)

class Publisher(Model):
    name = fields.CharField(max_length=80, db_default="unknown")

class Profile(Model):
    writer = fields.OneToOneField("shop.Writer", related_name="profile")
    bio = fields.TextField(null=True)

class Book(Model):
    headline = fields.CharField(max_length=100, index=True)
    author = fields.ForeignKeyField("shop.Writer", related_name="books", on_delete=fields.RESTRICT)
    price = fields.DecimalField(max_digits=8, decimal_places=2, default=decimal.Decimal("9.99"))
    isbn = fields.CharField(max_length=13, null=True, source_field="isbn_code", unique=True)
    pages = fields.BigIntField(null=True)
    publisher = fields.ForeignKeyField("shop.Publisher", related_name="books", null=True,
                                       on_delete=fields.SET_NULL)
    shelves = fields.ManyToManyField("shop.Shelf", through="shop.Placement", related_name="books")

    class Meta:
        indexes = (Index("isbn", "price"),)

class Shelf(Model):
    code = fields.CharField(max_length=10)

class Placement(Model):
    book = fields.ForeignKeyField("shop.Book", related_name="placements")
    shelf = fields.ForeignKeyField("shop.Shelf", related_name="placements")
    position = fields.IntField(default=0)
'''


def _tables(p: Proj) -> set[str]:
    return set(p.schema())


def test_model_changes_migrate_with_data_and_match_generate_schemas(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    p.models(V1)
    out = p.ok("makemigrations", "--noinput")
    assert "0001_initial" in out
    p.ok("migrate")
    p.sql(
        "INSERT INTO author (name) VALUES ('Ann')",
        "INSERT INTO book (title, author_id) VALUES ('First', 1)",
        "INSERT INTO tag (label) VALUES ('sci-fi')",
        "INSERT INTO book_tag (book_id, tag_id) VALUES (1, 1)",
    )
    assert p.ok("makemigrations", "--noinput").strip() == "No changes detected."

    p.migrate_to(V2)
    assert p.sql("SELECT name FROM author") == [("Ann",)]
    # The existing row got the default once (the column has no database default afterwards).
    assert [decimal.Decimal(str(r[0])) for r in p.sql("SELECT price FROM book")] == [decimal.Decimal("9.99")]
    p.sql("UPDATE author SET email = 'ann@example.com'")

    p.models(V3)
    out = p.ok("makemigrations", "--noinput", "--rename", "Author:Writer", "--rename", "Book.title:headline")
    assert "Rename model Author to Writer" in out and "Rename field title on Book to headline" in out
    p.ok("migrate")
    assert p.sql("SELECT name, email FROM writer") == [("Ann", "ann@example.com")]
    assert p.sql("SELECT headline, author_id FROM book") == [("First", 1)]
    assert "tag" not in _tables(p) and "book_tag" not in _tables(p)
    p.sql("UPDATE book SET isbn_code = '978-1', pages = 320")

    p.migrate_to(V4)
    assert p.sql("SELECT headline, isbn_code, pages, publisher_id FROM book") == [
        ("First", "978-1", 320, None)
    ]
    p.sql("INSERT INTO publisher (name) VALUES ('P')", "UPDATE book SET publisher_id = 1")

    # The migrated schema is the schema generate_schemas makes of the final models.
    migrated = p.schema()
    fresh = generated_schema(fresh_db(request, p.backend, tmp_path), p.apps["shop"][0])
    assert migrated == fresh
    # The indexes have the names generate_schemas gives them (RemoveIndex and later renames
    # find them by name).
    assert p.index_names() == generated_index_names(fresh_db(request, p.backend, tmp_path), p.apps["shop"][0])
    if p.backend == "postgres":  # comments exist on PostgreSQL only
        assert migrated["writer"]["columns"]["name"][3] == "pen name"
        assert migrated["writer"]["comment"] == "People who write books."
    assert p.ok("check").count("agree") == 1
    assert p.ok("makemigrations", "--noinput", "--check").strip() == "No changes detected."

    # Back to 0002 with rows in the tables: renames undone, columns back, data kept.
    p.sql("DELETE FROM book WHERE publisher_id IS NULL")
    p.ok("migrate", "shop", "0002")
    assert p.sql("SELECT name, email FROM author") == [("Ann", "ann@example.com")]
    assert p.sql("SELECT title, isbn FROM book") == [("First", "978-1")]
    assert {"tag", "book_tag"} <= _tables(p)
    assert "publisher" not in _tables(p)

    # To zero and forward again: the same schema.
    p.ok("migrate", "shop", "zero")
    assert _tables(p) == set()
    p.ok("migrate")
    assert p.schema() == fresh
    applied = p.sql("SELECT name FROM yara_migrations ORDER BY id")
    assert [r[0][:4] for r in applied] == ["0001", "0002", "0003", "0004"]


USERS = """
class Member(Model):
    handle = fields.CharField(max_length=30, unique=True)
"""

SHOP = """
class Order(Model):
    buyer = fields.ForeignKeyField("users.Member", related_name="orders")
    total = fields.IntField(default=0)
"""


def test_apps_have_their_own_chains_and_cross_app_dependencies(proj: Proj) -> None:
    p = proj
    p.models(USERS, app="users")
    p.models(SHOP, app="shop")
    out = p.ok("makemigrations", "--noinput")
    assert "users: " in out and "shop: " in out
    shop_initial = p.migration_files("shop")[0].read_text()
    # The foreign key into the other app makes shop's migration depend on users' migration.
    assert '("users", "0001_initial")' in shop_initial
    p.ok("migrate")
    p.sql("INSERT INTO member (handle) VALUES ('ann')", 'INSERT INTO "order" (buyer_id, total) VALUES (1, 5)')
    shown = p.ok("showmigrations")
    assert "users\n  [X] 0001_initial" in shown and "shop\n  [X] 0001_initial" in shown
    # Unapplying users first unapplies the shop migration that depends on it.
    out = p.ok("migrate", "users", "zero")
    assert out.index("Reverting shop.0001_initial") < out.index("Reverting users.0001_initial")
    assert set(p.schema()) == set()
    p.ok("migrate", "shop")  # pulls in users.0001 first
    assert set(p.schema()) == {"member", "order"}


M2M_V1 = """
class Label(Model):
    text = fields.CharField(max_length=20)

class Post(Model):
    title = fields.CharField(max_length=50)
    labels = fields.ManyToManyField("shop.Label", related_name="posts")
"""

# Both ends of the many-to-many renamed: the join table and its columns follow.
M2M_V2 = """
class Tag(Model):
    text = fields.CharField(max_length=20)

class Article(Model):
    title = fields.CharField(max_length=50)
    labels = fields.ManyToManyField("shop.Tag", related_name="articles")
"""


def test_renaming_models_of_a_many_to_many_keeps_the_join_rows(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    p.migrate_to(M2M_V1)
    p.sql(
        "INSERT INTO label (text) VALUES ('a'), ('b')",
        "INSERT INTO post (title) VALUES ('p')",
        "INSERT INTO post_label (post_id, label_id) VALUES (1, 1), (1, 2)",
    )
    module = p.models(M2M_V2)
    p.ok("makemigrations", "--noinput", "--rename", "Label:Tag", "--rename", "Post:Article")
    p.ok("migrate")
    assert p.sql("SELECT article_id, tag_id FROM article_tag ORDER BY tag_id") == [(1, 1), (1, 2)]
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), module)
    p.ok("migrate", "shop", "0001")
    assert p.sql("SELECT post_id, label_id FROM post_label ORDER BY label_id") == [(1, 1), (1, 2)]


TYPES = """
import uuid


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 2


class Everything(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    small = fields.SmallIntField(default=1)
    big = fields.BigIntField(null=True)
    ratio = fields.FloatField(default=0.5)
    amount = fields.DecimalField(max_digits=12, decimal_places=3, default=decimal.Decimal("1.250"))
    text = fields.TextField(null=True)
    blob = fields.BinaryField(null=True)
    flag = fields.BooleanField(default=False)
    day = fields.DateField(null=True)
    at = fields.TimeField(null=True)
    created = fields.DatetimeField(auto_now_add=True)
    changed = fields.DatetimeField(auto_now=True)
    span = fields.TimeDeltaField(null=True)
    data = fields.JSONField(default=dict)
    colour = fields.CharEnumField(Colour, default=Colour.RED)
    size = fields.IntEnumField(Size, null=True)
    code = fields.CharField(max_length=8, db_default="none")
"""


def test_every_field_type_round_trips_through_a_migration_file(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    module = p.models(TYPES)
    p.ok("makemigrations", "--noinput")
    text = p.migration_files()[0].read_text()
    assert f"enum_type={module}.Colour" in text and "default=uuid.uuid4" in text and "default=dict" in text
    p.ok("migrate")
    assert p.ok("makemigrations", "--noinput", "--check").strip() == "No changes detected."
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), module)
    assert "agree" in p.ok("check")
