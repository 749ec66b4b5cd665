"""Renames on the command line: ``--rename`` entries must rename something, and without them a
terminal is asked."""

from __future__ import annotations

import io

import pytest

from .conftest import Proj

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
