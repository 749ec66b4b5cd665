"""More of the autodetector's changes, each migrated with rows in the tables and compared with
``generate_schemas`` of the same models (introspected), on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Proj, fresh_db, generated_index_names, generated_schema

S1 = '''
class Owner(Model):
    """Owners."""
    name = fields.CharField(max_length=40)
    rank = fields.IntField(default=1)
    code = fields.CharField(max_length=8, unique=True)
    note = fields.CharField(max_length=20, db_default="n/a")

class Item(Model):
    owner = fields.OneToOneField("shop.Owner", related_name="item")
    label = fields.CharField(max_length=20)
    colour = fields.CharField(max_length=10, null=True)
    tags = fields.ManyToManyField("shop.Owner", related_name="tagged")
'''

# alter a Python default (no DDL), a db_default, drop unique, add index by AlterField, O2O ->
# nullable FK, a many-to-many to another model (its join table recreated), a new
# unique_together on an existing table, the table comment removed, the table renamed
S2 = """
class Owner(Model):
    name = fields.CharField(max_length=40, index=True)
    rank = fields.IntField(default=5)
    code = fields.CharField(max_length=8)
    note = fields.CharField(max_length=20, db_default="none")

class Label(Model):
    text = fields.CharField(max_length=10)

class Item(Model):
    owner = fields.ForeignKeyField("shop.Owner", related_name="items", null=True, on_delete=fields.SET_NULL)
    label = fields.CharField(max_length=20)
    colour = fields.CharField(max_length=10, null=True)
    tags = fields.ManyToManyField("shop.Label", related_name="items")

    class Meta:
        table = "items"
        unique_together = (("label", "colour"),)
"""


def test_more_changes_migrate_with_rows_and_match_generate_schemas(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    p.migrate_to(S1)
    p.sql(
        "INSERT INTO owner (name, rank, code) VALUES ('o', 1, 'c1'), ('p', 2, 'c2')",
        "INSERT INTO item (owner_id, label, colour) VALUES (1, 'a', 'red'), (2, 'b', NULL)",
        "INSERT INTO item_owner (item_id, owner_id) VALUES (1, 1)",
    )
    module = p.models(S2)
    out = p.ok("makemigrations", "--noinput")
    for change in (
        "Alter field rank on Owner",
        "Alter field note on Owner",
        "Alter field code on Owner",
        "Alter field name on Owner",
        "Alter field owner on Item",
        "Rename table of Item to items",
        "Add unique constraint on Item(label, colour)",
        "Change the table comment of Owner",
    ):
        assert change in out, out
    sql = p.ok("sqlmigrate", "shop", p.migration_files()[-1].stem[:4])
    assert "DEFAULT 5" not in sql  # a Python default is not in the database
    p.ok("migrate")
    assert p.sql("SELECT owner_id, label, colour FROM items ORDER BY id") == [(1, "a", "red"), (2, "b", None)]
    assert p.sql("SELECT name, code, note FROM owner ORDER BY id") == [("o", "c1", "n/a"), ("p", "c2", "n/a")]
    p.sql("INSERT INTO owner (name, rank, code) VALUES ('q', 1, 'c1')")  # code is no longer unique
    assert p.sql("SELECT note FROM owner WHERE name = 'q'") == [("none",)]
    migrated = p.schema()
    assert migrated == generated_schema(fresh_db(request, p.backend, tmp_path), module)
    assert p.ok("check").count("agree") == 1
    # And back, with the rows.
    p.sql("DELETE FROM owner WHERE name = 'q'")
    p.ok("migrate", "shop", "0001")
    assert p.sql("SELECT owner_id, label, colour FROM item ORDER BY id") == [(1, "a", "red"), (2, "b", None)]
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), p.models(S1))


N1 = """
class Book(Model):
    isbn = fields.CharField(max_length=13, null=True, index=True)
    price = fields.IntField(default=0)

    class Meta:
        indexes = (Index("isbn", "price"),)
"""

# The column renamed and its own index dropped in one AlterField: the composite index on it
# must get the name generate_schemas gives it now...
N2 = N1.replace("null=True, index=True", 'null=True, source_field="isbn_code"')
# ...so that removing it later finds it.
N3 = N2.replace('indexes = (Index("isbn", "price"),)', "pass")


def test_an_index_on_a_renamed_column_keeps_the_name_later_migrations_look_for(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    for version in (N1, N2, N3):
        module = p.migrate_to(version)
        assert p.index_names() == generated_index_names(fresh_db(request, p.backend, tmp_path), module)
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), module)
    p.ok("migrate", "shop", "0001")
    assert p.index_names() == generated_index_names(fresh_db(request, p.backend, tmp_path), p.models(N1))


# Shapes MariaDB needs care with: an index on a TEXT column (a key prefix there), a foreign key
# whose own index is dropped (the key needs one) and which then stops being a key (its implicit
# index must go too), a single-column UNIQUE dropped by column, a column comment changed.
K1 = """
class Author(Model):
    name = fields.CharField(max_length=20)

class Post(Model):
    body = fields.TextField(index=True)
    slug = fields.CharField(max_length=20, unique=True)
    note = fields.CharField(max_length=20, description="first")
    author = fields.ForeignKeyField("shop.Author", related_name="posts", index=True)
"""
K2 = (
    K1.replace("TextField(index=True)", "TextField()")
    .replace("unique=True", "unique=False")
    .replace('"first"', '"second"')
    .replace('related_name="posts", index=True', 'related_name="posts"')
)
K3 = K2.replace('related_name="posts"', 'related_name="posts", db_constraint=False')


def test_text_indexes_key_indexes_uniques_and_comments_change_and_match_generate_schemas(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    module = p.migrate_to(K1)
    p.sql(
        "INSERT INTO author (name) VALUES ('a')",
        "INSERT INTO post (body, slug, note, author_id) VALUES ('b', 's', 'n', 1)",
    )
    for version in (K2, K3):
        assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), module)
        assert p.cli("check")[0] == 0, p.cli("check")[1]
        module = p.migrate_to(version)
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), module)
    assert p.cli("check")[0] == 0, p.cli("check")[1]
    assert p.sql("SELECT body, slug, author_id FROM post") == [("b", "s", 1)]
    p.ok("migrate", "shop", "0001")
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), p.models(K1))
    assert p.sql("SELECT body, slug, author_id FROM post") == [("b", "s", 1)]


def test_a_foreign_key_replaced_by_a_plain_column_of_its_name(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """``author`` (column author_id) becomes ``author_id = IntField()``: the key is removed
    before the new field takes its name (the other order made an invalid state)."""
    p = proj
    p.migrate_to(K2)
    module = p.models(
        K2.replace(
            'author = fields.ForeignKeyField("shop.Author", related_name="posts")',
            "author_id = fields.IntField()",
        )
    )
    out = p.ok("makemigrations", "--noinput")
    assert out.index("Remove field author from Post") < out.index("Add field author_id to Post"), out
    p.ok("migrate")
    assert p.schema() == generated_schema(fresh_db(request, p.backend, tmp_path), module)
