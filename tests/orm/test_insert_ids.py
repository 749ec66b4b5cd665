"""Generated keys without ``INSERT ... RETURNING``, as on MySQL: LAST_INSERT_ID for create() and
bulk_create(). Run on MariaDB with RETURNING switched off (the ``returning=false`` URL option,
how a test or the conformance kit says "this server is MySQL-like"), so the MySQL path runs
wherever MariaDB does."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from yara_orm import Connection, in_transaction
from yara_orm.instrument import count_statements

from .._tables import fresh_orm
from . import models
from .models import Counter, Row


@pytest.fixture
async def mysql_like(mysql_url: str) -> AsyncIterator[Connection]:
    async with fresh_orm(f"{mysql_url}?returning=false", models, max_size=4) as conn:
        features = conn.pool.features
        assert not features.returning and features.execute_insert
        yield conn


async def test_the_option_switches_returning_off_and_reports_the_key_step(
    mysql_url: str, mysql_like: Connection
) -> None:
    features = mysql_like.pool.features
    # MariaDB's default innodb_autoinc_lock_mode (1) hands one INSERT consecutive keys.
    assert features.insert_id_step == 1
    assert mysql_like.capabilities()["last_insert_id"] is True


async def test_create_learns_its_key(mysql_like: Connection) -> None:
    first = await Row.create(n=1, label="a")
    second = await Row.create(n=2, label="b")
    assert isinstance(first.pk, int) and second.pk == first.pk + 1
    assert (await Row.get(pk=second.pk)).label == "b"
    async with in_transaction():
        third = await Row.create(n=3, label="c")
    assert third.pk == second.pk + 1
    assert (await Row.get(pk=third.pk)).n == 3


async def test_database_defaults_are_read_back_by_the_new_key(mysql_like: Connection) -> None:
    counter = await Counter.create(key="k")
    assert counter.state == "new"
    assert (await Counter.get(pk=counter.pk)).state == "new"


async def test_get_or_create_tells_a_conflict_from_an_insert(mysql_like: Connection) -> None:
    made, created = await Counter.get_or_create(key="x", defaults={"value": 5})
    assert created and made.pk is not None
    again, created_again = await Counter.get_or_create(key="x", defaults={"value": 9})
    assert not created_again and again.pk == made.pk and again.value == 5


async def test_bulk_create_assigns_every_key_from_one_statement(mysql_like: Connection) -> None:
    await Row.create(n=-1, label="before")  # the keys do not start at 1
    objs = [Row(n=i, label=f"r{i}") for i in range(300)]
    with count_statements() as counter:
        await Row.bulk_create(objs)
    assert counter.count == 1
    stored = {r.pk: r.n for r in await Row.filter(n__gte=0)}
    assert {o.pk: o.n for o in objs} == stored
    assert len({o.pk for o in objs}) == 300


async def test_bulk_create_goes_row_by_row_when_keys_may_interleave(mysql_like: Connection) -> None:
    # innodb_autoinc_lock_mode = 2 (MySQL 8's default) does not promise one statement consecutive
    # keys: the step is 0 and every row is its own INSERT.
    pool = mysql_like.pool
    pool._features = dataclasses.replace(pool.features, insert_id_step=0)
    objs = [Row(n=i, label=f"s{i}") for i in range(5)]
    with count_statements() as counter:
        await Row.bulk_create(objs)
    assert counter.count == 5
    assert {o.pk: o.n for o in objs} == {r.pk: r.n for r in await Row.all()}
