"""Several named databases in one process: PostgreSQL and SQLite together,
Meta.default_connection, using_db= on queries and writes, and a read/write router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from yara_orm import Model, YaraOrm, connections, fields, in_transaction, schema


class MdUser(Model):
    name = fields.CharField(max_length=30)

    class Meta:
        table = "md_user"


class MdLog(Model):
    message = fields.TextField()
    user: fields.ForeignKeyNullableRelation[MdUser] = fields.ForeignKeyField(
        MdUser, related_name="logs", null=True, db_constraint=False
    )

    class Meta:
        table = "md_log"
        default_connection = "logs"


class Router:
    def __init__(self) -> None:
        self.reads: list[str] = []

    def db_for_read(self, model: type[Model]) -> str | None:
        self.reads.append(model.__name__)
        return "logs" if model is MdUser else None

    def db_for_write(self, model: type[Model]) -> str | None:
        return "default"


def _config(pg_url: str, sqlite_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": pg_url, "logs": sqlite_url},
        "apps": {"models": {"models": [MdUser, MdLog], "default_connection": "default"}},
    }


@pytest.fixture
async def two_dbs(pg_url: str, sqlite_url: str) -> AsyncIterator[None]:
    await YaraOrm.init(_config(pg_url, sqlite_url))
    pg = connections.get("default")
    await pg.execute('DROP TABLE IF EXISTS "md_user" CASCADE')
    await YaraOrm.generate_schemas()
    # The same user table on SQLite too, for the using_db= and router tests.
    for statement in schema.table_statements(MdUser, connections.get("logs").dialect):
        await connections.get("logs").execute(statement)
    try:
        yield
    finally:
        await connections.get("default").execute('DROP TABLE IF EXISTS "md_user" CASCADE')
        await YaraOrm.close()


async def test_models_bound_to_their_connections(two_dbs: None) -> None:
    assert MdUser._meta.connection_name == "default" and MdUser._meta.db is not None
    assert MdUser._meta.db.backend == "postgres"
    assert MdLog._meta.db is not None and MdLog._meta.db.backend == "sqlite"
    user = await MdUser.create(name="ann")
    await MdLog.create(message="hello", user=user)
    assert await connections.get("default").fetch_all('SELECT name FROM "md_user"') == [("ann",)]
    assert await connections.get("logs").fetch_all('SELECT message, user_id FROM "md_log"') == [
        ("hello", user.pk)
    ]
    log = await MdLog.get(message="hello")
    user_of_log = log.user
    assert user_of_log is not None
    assert (await user_of_log).name == "ann"  # across databases: the related query goes to PostgreSQL


async def test_using_db_on_queries_and_writes(two_dbs: None) -> None:
    await MdUser.create(name="pg")
    local = await MdUser.create(name="lite", using_db="logs")
    assert await MdUser.all().values_list("name", flat=True) == ["pg"]
    assert await MdUser.all().using_db("logs").values_list("name", flat=True) == ["lite"]
    local.name = "lite2"
    await local.save(using_db="logs")
    assert await MdUser.filter(name="lite2").using_db("logs").count() == 1
    assert await MdUser.filter(name="lite2").using_db("logs").update(name="lite3") == 1
    await MdUser.bulk_create([MdUser(name="b1"), MdUser(name="b2")], using_db="logs")
    assert await MdUser.all().using_db("logs").count() == 3
    await local.delete(using_db="logs")
    assert await MdUser.all().using_db("logs").count() == 2
    assert await MdUser.all().count() == 1
    async with in_transaction("logs") as tx:
        await MdUser.create(name="in-tx", using_db=tx)
        await MdLog.create(message="in-tx")
    assert await MdUser.filter(name="in-tx").using_db("logs").exists()


async def test_router(pg_url: str, sqlite_url: str) -> None:
    router = Router()
    await YaraOrm.init({**_config(pg_url, sqlite_url), "routers": [router]})
    try:
        await connections.get("default").execute('DROP TABLE IF EXISTS "md_user" CASCADE')
        await YaraOrm.generate_schemas()
        for statement in schema.table_statements(MdUser, connections.get("logs").dialect):
            await connections.get("logs").execute(statement)
        user = await MdUser.create(name="written")  # writes go to PostgreSQL
        assert await connections.get("default").fetch_all('SELECT name FROM "md_user"') == [("written",)]
        assert await MdUser.all().count() == 0  # reads are routed to SQLite
        assert await MdUser.get_or_none(pk=user.pk) is None
        assert "MdUser" in router.reads
        await connections.get("logs").execute("INSERT INTO md_user (id, name) VALUES (1, 'replica')")
        assert (await MdUser.get(pk=1)).name == "replica"
    finally:
        await connections.get("default").execute('DROP TABLE IF EXISTS "md_user" CASCADE')
        await YaraOrm.close()
