"""Instance and bulk writes, and the race-safe get_or_create/update_or_create."""

from __future__ import annotations

import asyncio
import decimal
from typing import Any

import pytest

from yara_orm import Connection, F, count_statements, in_transaction
from yara_orm.exceptions import (
    DoesNotExist,
    FieldError,
    IntegrityError,
    OperationalError,
    ParamsError,
    ValidationError,
)

from .models import Article, Counter, Person, Product, Row, Token


async def test_create_save_update_fields_delete(orm: Connection) -> None:
    p = await Person.create(name="a", age=3)
    assert p.pk is not None and p._saved_in_db
    p.name, p.age = "b", 4
    await p.save(update_fields=["name"])
    fresh = await Person.get(pk=p.pk)
    assert (fresh.name, fresh.age) == ("b", 3)
    await p.save()
    assert (await Person.get(pk=p.pk)).age == 4
    new = Person(name="c")
    assert not new._saved_in_db
    await new.save()
    assert await Person.all().count() == 2
    await new.delete()
    assert await Person.all().count() == 1
    with pytest.raises(OperationalError, match="never saved"):  # Tortoise's exception class
        await Person(name="x").delete()
    with pytest.raises(FieldError):
        await p.save(update_fields=["nope"])


async def test_save_after_row_deleted(orm: Connection) -> None:
    p = await Person.create(name="gone")
    await Person.filter(pk=p.pk).delete()
    with pytest.raises(DoesNotExist):
        await p.save(update_fields=["name"])
    await p.save()  # no row was updated: the instance is inserted again
    assert await Person.filter(pk=p.pk).exists()


async def test_refresh_update_from_dict_clone(orm: Connection) -> None:
    p = await Person.create(name="a", age=1)
    await Person.filter(pk=p.pk).update(age=10, name="z")
    await p.refresh_from_db(fields=["age"])
    assert (p.age, p.name) == (10, "a")
    await p.refresh_from_db()
    assert p.name == "z"
    p.update_from_dict({"age": "12", "score": 2})
    assert p.age == 12 and p.score == 2.0
    with pytest.raises(FieldError):
        p.update_from_dict({"nope": 1})
    twin = p.clone()
    assert twin.pk is None and not twin._saved_in_db
    twin.email = None
    await twin.save()
    assert twin.pk != p.pk and await Person.all().count() == 2


async def test_equality_and_hash(orm: Connection) -> None:
    a = await Row.create(n=1, label="a")
    b = await Row.get(pk=a.pk)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != await Row.create(n=1, label="a")
    unsaved = Row(n=1, label="x")
    assert unsaved != Row(n=1, label="x")
    with pytest.raises(TypeError):
        hash(unsaved)


async def test_unique_violation_is_integrity_error(orm: Connection) -> None:
    await Person.create(name="a", email="same@x")
    with pytest.raises(IntegrityError):
        await Person.create(name="b", email="same@x")
    await Article.create(title="t", slug="s", lang="en")
    await Article.create(title="t", slug="s", lang="fr")
    with pytest.raises(IntegrityError):
        await Article.create(title="t", slug="s", lang="en")


async def test_bulk_create_batches_and_pks(orm: Connection) -> None:
    objs = [Row(n=i, label=f"r{i}") for i in range(2500)]
    created = await Row.bulk_create(objs, batch_size=1000)
    assert created is not None and len(created) == 2500
    assert await Row.all().count() == 2500
    assert all(o.pk is not None and o._saved_in_db for o in objs)
    assert len({o.pk for o in objs}) == 2500
    fetched = await Row.in_bulk([objs[0].pk, objs[-1].pk])
    assert fetched[objs[-1].pk].n == 2499
    tokens = await Token.bulk_create([Token(label=f"t{i}") for i in range(5)])
    assert await Token.filter(id__in=[t.pk for t in tokens]).count() == 5


async def test_bulk_create_respects_bind_param_limit(orm: Connection) -> None:
    dialect = orm.dialect
    saved = dialect.max_bind_params
    dialect.max_bind_params = 7  # 2 columns per row: batches of 3 rows
    statements: list[str] = []
    original = orm.pool._engine_executor

    def spy() -> Any:
        runner = original()

        class Spy:
            async def execute(self, sql: str, params: Any = None) -> int:
                statements.append(sql)
                return await runner.execute(sql, params)

            async def fetch(self, sql: str, params: Any = None) -> Any:
                statements.append(sql)
                return await runner.fetch(sql, params)

        return Spy()

    orm.pool._engine_executor = spy  # type: ignore[method-assign]
    try:
        await Row.bulk_create([Row(n=i, label="x") for i in range(10)])
    finally:
        orm.pool._engine_executor = original  # type: ignore[method-assign]
        dialect.max_bind_params = saved
    assert await Row.all().count() == 10
    if orm.backend == "postgres":
        assert len(statements) == 1 and "UNNEST" in statements[0]
    else:
        assert len(statements) == 4 and all(s.count("(?") <= 3 for s in statements)


async def test_bulk_create_ignore_conflicts_and_upsert(orm: Connection) -> None:
    await Counter.bulk_create([Counter(key="a", value=1), Counter(key="b", value=2)])
    await Counter.bulk_create([Counter(key="a", value=100), Counter(key="c", value=3)], ignore_conflicts=True)
    assert dict(await Counter.all().values_list("key", "value")) == {"a": 1, "b": 2, "c": 3}
    await Counter.bulk_create(
        [Counter(key="b", value=20), Counter(key="d", value=4)], update_fields=["value"], on_conflict=["key"]
    )
    assert dict(await Counter.all().values_list("key", "value")) == {"a": 1, "b": 20, "c": 3, "d": 4}
    with pytest.raises(IntegrityError):
        await Counter.bulk_create([Counter(key="a")])
    # Without on_conflict the primary key is the conflict target: an existing pk is updated.
    a = await Counter.get(key="a")
    await Counter.bulk_create([Counter(id=a.id, key="a", value=100)], update_fields=["value"])
    assert (await Counter.get(key="a")).value == 100
    with pytest.raises(ValidationError):
        await Person.bulk_create([Person(name="ok"), Person(name=None)])
    assert await Person.all().count() == 0


async def test_bulk_update(orm: Connection) -> None:
    rows = await Row.bulk_create([Row(n=i, label="old") for i in range(20)])
    for r in rows:
        r.n = r.n * 2
        r.label = f"new{r.n}"
    assert await Row.bulk_update(rows, ["n", "label"], batch_size=7) == 20
    assert sorted(await Row.all().values_list("n", flat=True)) == [i * 2 for i in range(20)]
    assert await Row.filter(label="new10").count() == 1
    products = [await Product.create(code=f"p{i}", price=1) for i in range(3)]
    for i, p in enumerate(products):
        p.price = decimal.Decimal(f"{i}.25")
    await Product.bulk_update(products, ["price"])
    assert sorted(await Product.all().values_list("price", flat=True)) == [
        decimal.Decimal("0.25"),
        decimal.Decimal("1.25"),
        decimal.Decimal("2.25"),
    ]
    with pytest.raises(ParamsError):
        await Row.bulk_update(rows, ["id"])


async def test_get_or_create_and_update_or_create(orm: Connection) -> None:
    c, created = await Counter.get_or_create(key="k", defaults={"value": 5})
    assert created and c.value == 5
    again, created = await Counter.get_or_create(key="k", defaults={"value": 9})
    assert not created and again.pk == c.pk and again.value == 5
    upd, created = await Counter.update_or_create(key="k", defaults={"value": 7})
    assert not created and upd.value == 7 and (await Counter.get(key="k")).value == 7
    new, created = await Counter.update_or_create(key="n", defaults={"value": 1})
    assert created and new.value == 1
    await Person.create(name="p1", email="taken@x")
    with pytest.raises(IntegrityError):
        await Person.get_or_create(name="p2", defaults={"email": "taken@x"})


async def test_transactions_roll_back(orm: Connection) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await Row.create(n=1, label="x")
            raise RuntimeError("boom")
    assert await Row.all().count() == 0
    async with in_transaction():
        await Row.create(n=2, label="y")
        await Row.filter(n=2).update(n=F("n") + 1)
    assert (await Row.get(label="y")).n == 3


async def test_race_safe_get_or_create(pg_orm: Connection) -> None:
    """Many real concurrent tasks on one key: exactly one row, no IntegrityError escapes."""

    async def worker(i: int) -> tuple[int, bool]:
        obj, created = await Counter.get_or_create(key="hot", defaults={"value": i})
        return obj.pk, created

    for _round in range(3):
        await Counter.filter(key="hot").delete()
        results = await asyncio.gather(*(worker(i) for i in range(40)))
        assert await Counter.filter(key="hot").count() == 1
        assert sum(created for _, created in results) == 1
        assert len({pk for pk, _ in results}) == 1


async def test_race_safe_update_or_create(pg_orm: Connection) -> None:
    async def worker(i: int) -> bool:
        _obj, created = await Counter.update_or_create(key="hot2", defaults={"value": i})
        return created

    results = await asyncio.gather(*(worker(i) for i in range(30)))
    assert sum(results) == 1
    assert await Counter.filter(key="hot2").count() == 1
    assert (await Counter.get(key="hot2")).value in range(30)


async def test_race_safe_get_or_create_sqlite(orm: Connection) -> None:
    results = await asyncio.gather(
        *(Counter.get_or_create(key="s", defaults={"value": i}) for i in range(10))
    )
    assert sum(created for _, created in results) == 1
    assert await Counter.filter(key="s").count() == 1


async def test_db_default_is_filled_in_by_the_database(orm: Connection) -> None:
    c = await Counter.create(key="d")
    assert c.state == "new"
    assert (await Counter.get(key="d")).state == "new"
    explicit = await Counter.create(key="e", state="set")
    assert (await Counter.get(pk=explicit.pk)).state == "set"
    await Counter.bulk_create([Counter(key="f"), Counter(key="g")])
    assert await Counter.filter(state="new").count() == 3


async def test_bulk_create_of_many_rows_with_pks_is_one_bulk_statement(orm: Connection) -> None:
    objs = [Row(id=i, n=i, label=f"r{i}") for i in range(1, 301)]
    with count_statements() as counter:
        await Row.bulk_create(objs)
    (sql,) = counter.statements
    if orm.backend == "postgres":
        assert sql.startswith('COPY "')
    elif orm.backend == "mysql":
        # One multi-row VALUES statement (a statement per row would cost a round trip each).
        assert sql.startswith("INSERT") and sql.count("(?, ?, ?)") == 300
    else:
        # One prepared one-row INSERT, stepped once per row in one transaction.
        assert sql.startswith("INSERT") and sql.count("(?") == 1
    assert all(o._saved_in_db for o in objs)
    assert await Row.all().order_by("id").values_list("id", "n", "label") == [
        (i, i, f"r{i}") for i in range(1, 301)
    ]
    # A duplicate key fails the whole load: nothing of the second batch is stored.
    with pytest.raises(IntegrityError):
        await Row.bulk_create([Row(id=i, n=0, label="dup") for i in range(300, 700)])
    assert await Row.all().count() == 300


async def test_bulk_create_uses_copy_only_where_it_can(pg_orm: Connection) -> None:
    async def statements_of(objs: list[Row], **kwargs: Any) -> list[str]:
        with count_statements() as counter:
            await Row.bulk_create(objs, **kwargs)
        return counter.statements

    # Without pks the ids come back through RETURNING: one UNNEST statement.
    (sql,) = await statements_of([Row(n=i, label="a") for i in range(200)])
    assert "UNNEST" in sql and "RETURNING" in sql
    # ON CONFLICT is not available to COPY.
    (sql,) = await statements_of(
        [Row(id=10_000 + i, n=i, label="b") for i in range(200)], ignore_conflicts=True
    )
    assert "UNNEST" in sql and "ON CONFLICT" in sql
    # Too few rows to pay for COPY's extra round trip.
    (sql,) = await statements_of([Row(id=20_000 + i, n=i, label="c") for i in range(5)])
    assert "UNNEST" in sql
    # A field whose values binary COPY cannot carry opts out.
    label = Row._meta.fields_map["label"]
    label.copy_safe = False  # type: ignore[misc]
    try:
        (sql,) = await statements_of([Row(id=30_000 + i, n=i, label="d") for i in range(200)])
    finally:
        del label.copy_safe
    assert "UNNEST" in sql
    # batch_size still splits a load, down to a small last batch.
    statements = await statements_of([Row(id=40_000 + i, n=i, label="e") for i in range(250)], batch_size=120)
    assert [s.split(" ", 1)[0] for s in statements] == ["COPY", "COPY", "COPY"]
    assert await Row.all().count() == 855
