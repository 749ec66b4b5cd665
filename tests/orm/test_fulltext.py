"""Full-text indexes: ``FullTextIndex`` (``Index(kind="fulltext")``) makes MySQL/MariaDB's
FULLTEXT index that the ``search`` lookup (MATCH ... AGAINST) needs; where the database has no
such index (PostgreSQL's search needs none, SQLite has no search) none is made."""

from __future__ import annotations

import sys

import pytest

from yara_orm import FullTextIndex, Index, fields
from yara_orm.exceptions import ConfigurationError, UnSupportedError
from yara_orm.migrations.writer import _Imports, serialize
from yara_orm.models import Model

from .._tables import fresh_orm


class Note(Model):
    title = fields.CharField(max_length=100)
    body = fields.TextField()

    class Meta:
        table = "orm_ft_note"
        # MATCH (col) needs a FULLTEXT index over exactly its columns.
        indexes = (FullTextIndex("body", name="ft_note_body"), FullTextIndex("title", "body"))


ALL_MODELS = [Note]


async def test_search_through_the_full_text_index(db_url: str) -> None:
    async with fresh_orm(db_url, sys.modules[__name__], max_size=2) as conn:
        if conn.backend == "mysql":
            rows = await conn.pool.fetch(
                "SELECT INDEX_NAME, INDEX_TYPE FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY' "
                "GROUP BY INDEX_NAME, INDEX_TYPE ORDER BY INDEX_NAME",
                [Note._meta.table],
            )
            assert [r[1] for r in rows] == ["FULLTEXT", "FULLTEXT"]
            assert "ft_note_body" in [r[0] for r in rows]
        await Note.bulk_create(
            [
                Note(title="foxes", body="the quick brown fox jumps over the lazy dog"),
                Note(title="cats", body="a sleepy cat on a warm windowsill"),
            ]
        )
        if conn.backend == "sqlite":
            with pytest.raises(UnSupportedError, match="full-text"):
                await Note.filter(body__search="quick brown")
            return
        assert [n.title for n in await Note.filter(body__search="quick brown")] == ["foxes"]
        assert [n.title for n in await Note.filter(body__search="windowsill")] == ["cats"]


def test_index_kinds_are_checked_and_written_into_migrations() -> None:
    assert Index("body", kind="fulltext").kind == FullTextIndex("body").kind == "fulltext"
    with pytest.raises(ConfigurationError, match="unknown kind"):
        Index("body", kind="spatial-ish")
    with pytest.raises(ConfigurationError, match="cannot be unique"):
        FullTextIndex("body", unique=True)
    assert (
        serialize(FullTextIndex("body", name="ft"), _Imports()) == 'Index("body", name="ft", kind="fulltext")'
    )
