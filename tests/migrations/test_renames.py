"""Renames on the command line: ``--rename`` entries must rename something, and without them a
terminal is asked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from .conftest import Proj, fresh_db, generated_schema

V1 = """
class Author(Model):
    name = fields.CharField(max_length=50)
"""


def test_a_rename_that_matches_nothing_is_an_error_not_a_drop_and_add(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    p.models(V1.replace("name =", "full_name ="))
    # A typo in the old name: without the check this wrote RemoveField + AddField (data loss).
    code, out = p.cli("makemigrations", "--noinput", "--rename", "Author.nmae:full_name")
    assert code == 2 and "Author.nmae:full_name matched nothing" in out and "spelling" in out
    assert len(p.migration_files()) == 1
    out = p.ok("makemigrations", "--noinput", "--rename", "Author.name:full_name")
    assert "Rename field name on Author to full_name" in out and "Remove field" not in out


def test_a_field_of_a_renamed_model_is_named_by_either_model_name(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    p.models("class Writer(Model):\n    pen_name = fields.CharField(max_length=50)\n")
    out = p.ok("makemigrations", "--noinput", "--rename", "Author:Writer", "--rename", "Author.name:pen_name")
    assert "Rename model Author to Writer" in out and "Rename field name on Writer to pen_name" in out
    p.ok("migrate")
    assert set(p.schema()["writer"]["columns"]) == {"id", "pen_name"}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_makemigrations_asks_about_renames_on_a_terminal(
    sqlite_proj: Proj, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = sqlite_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    p.models(V1.replace("name =", "label ="))
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    out = p.ok("makemigrations", "--dry-run")
    assert "Was shop.Author.name renamed to label? [y/N]" in out
    assert "Rename field name on Author to label" in out
    # "no" (or just Enter) keeps it a drop and an add.
    monkeypatch.setattr("sys.stdin", _Terminal("\n"))
    out = p.ok("makemigrations", "--dry-run")
    assert "Remove field name from Author" in out and "Add field label to Author" in out
    # --noinput never asks, even on a terminal.
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    out = p.ok("makemigrations", "--dry-run", "--noinput")
    assert "renamed to" not in out and "Remove field name from Author" in out


RENAMED_BOOK = """
class Author(Model):
    name = fields.CharField(max_length=20)

class Book(Model):
    isbn = fields.CharField(max_length=13, unique=True)
    author = fields.ForeignKeyField("shop.Author", related_name="books")
"""


def test_a_renamed_model_s_server_named_keys_and_sequence_follow_on_postgres(
    pg_proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """PostgreSQL names inline keys and the identity sequence after the table (book_pkey,
    book_isbn_key, book_author_id_fkey, book_id_seq): after the rename they are novel_*, as
    generate_schemas names them, and book_* again when reverted."""
    p = pg_proj
    names = (
        "SELECT conname FROM pg_constraint WHERE conrelid = '{0}'::regclass UNION ALL "
        "SELECT relname FROM pg_class WHERE relkind = 'S' AND relname NOT LIKE 'yara%'"
    )
    p.migrate_to(RENAMED_BOOK)
    before = {r[0] for r in p.sql(names.format("book"))}
    module = p.models(RENAMED_BOOK.replace("class Book", "class Novel"))
    p.ok("makemigrations", "--noinput", "--rename", "Book:Novel")
    p.ok("migrate")
    fresh = fresh_db(request, "postgres", tmp_path)
    generated_schema(fresh, module)
    expected = {r[0] for r in Proj(tmp_path / "fresh", fresh).sql(names.format("novel"))}
    assert {r[0] for r in p.sql(names.format("novel"))} == expected
    assert "novel_isbn_key" in expected and "novel_id_seq" in expected
    p.ok("migrate", "shop", "0001")
    assert {r[0] for r in p.sql(names.format("book"))} == before
