"""``squash``: one migration for an app's history, used where none of it ran, recorded where
all of it ran, and the originals finishing the job where only some did."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Proj, new_db
from .test_sequence import V1, V2, V3


def _twin(p: Proj, url: str) -> Proj:
    """The same project (models, migration files) on another database."""
    other = Proj(p.root, url)
    other.apps = dict(p.apps)
    other._write_config()
    return other


def test_squash_replaces_history_on_every_kind_of_database(
    sqlite_proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = sqlite_proj
    partial = _twin(p, new_db(request, "sqlite", tmp_path))
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    partial = _twin(p, partial.url)
    partial.ok("migrate")  # this database stops at 0001
    p.models(V2)
    p.ok("makemigrations", "--noinput")
    p.models(V3)
    p.ok("makemigrations", "--noinput", "--rename", "Author:Writer", "--rename", "Book.title:headline")
    p.ok("migrate")
    full_schema = p.schema()

    third = p.migration_files()[-1].stem
    out = p.ok("squash", "shop", third[:4])
    assert "replaces 3 migrations" in out
    squashed = next(f for f in p.migration_files() if "squashed" in f.stem)
    text = squashed.read_text()
    assert "replaces = [" in text and "RenameModel" not in text and "CreateModel" in text

    # Everything it replaces ran here: recorded as applied, nothing else happens.
    out = p.ok("migrate")
    assert "recorded: every migration it replaces was applied" in out and "Applying" not in out
    assert p.schema() == full_schema
    assert "agree" in p.ok("check")

    # A fresh database runs only the squashed migration, and ends with the same schema.
    fresh = _twin(p, new_db(request, "sqlite", tmp_path))
    out = fresh.ok("migrate")
    assert out.count("Applying") == 1 and squashed.stem in out
    assert fresh.schema() == full_schema
    assert fresh.sql("SELECT name FROM yara_migrations") == [(squashed.stem,)]

    # Half way: the originals finish, then the squashed one counts as applied.
    partial = _twin(p, partial.url)
    out = partial.ok("migrate")
    assert "Applying" in out and squashed.stem not in out.split("Applying", 1)[1].split("\n")[0]
    assert partial.schema() == full_schema
    assert "recorded" in partial.ok("migrate")

    # New migrations follow the squashed one; reverting it reverts everything it stands for.
    p.models(
        V3.replace("pages = fields.IntField(null=True)", "pages = fields.IntField(null=True, index=True)")
    )
    p.ok("makemigrations", "--noinput")
    assert f'("shop", "{squashed.stem}")' in p.migration_files()[-1].read_text()
    fresh = _twin(p, fresh.url)
    fresh.ok("migrate")
    fresh.ok("migrate", "shop", "zero")
    assert fresh.schema() == {}
    assert fresh.sql("SELECT COUNT(*) FROM yara_migrations") == [(0,)]


def test_squash_refuses_data_migrations(sqlite_proj: Proj) -> None:
    from .test_operations import write

    p = sqlite_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    first = p.migration_files()[0].stem
    write(
        p,
        "0002_data",
        f'dependencies = [("shop", "{first}")]\noperations = [ops.RunSQL("SELECT 1", backward=[])]\n',
    )
    code, out = p.cli("squash", "shop", "0002")
    assert code == 2 and "Raw SQL" in out and "squash keeps schema operations only" in out
