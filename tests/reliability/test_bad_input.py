"""Bad input through the raw API and the ORM: a clear yara_orm exception before anything runs,
on every backend (defects 2, 3 and 9 of the reliability campaign)."""

from __future__ import annotations

import decimal
from typing import Any

import pytest

from yara_orm import Connection, Pool, connect
from yara_orm.exceptions import BaseORMException, FieldError, ProgrammingError, ValidationError
from yara_orm.functions import Count

from .models import Num, Rounded


def ph(pool: Pool, n: int) -> str:
    """The n-th placeholder in the backend's style."""
    return f"${n}" if pool.backend == "postgres" else "?"


@pytest.fixture
async def pool(db_url: str) -> Any:
    p = await connect(db_url, max_size=2)
    await p.execute("DROP TABLE IF EXISTS rel_t")
    await p.execute("CREATE TABLE rel_t (v INTEGER)")
    await p.execute_many(f"INSERT INTO rel_t (v) VALUES ({ph(p, 1)})", [[1], [2], [3]])
    try:
        yield p
    finally:
        await p.execute("DROP TABLE IF EXISTS rel_t")
        await p.close()


async def rows(pool: Pool) -> int:
    row = await pool.fetch_one("SELECT count(*) FROM rel_t")
    assert row is not None
    return int(row[0])


NUL_SQL = [
    "DELETE FROM rel_t\x00 WHERE v = -1",
    "SELECT 1\x00; DELETE FROM rel_t",
    "\x00DELETE FROM rel_t",
]


@pytest.mark.parametrize("sql", NUL_SQL)
@pytest.mark.parametrize("method", ["execute", "fetch", "fetch_one", "fetch_with_columns"])
async def test_nul_in_sql_is_refused_before_anything_runs(pool: Pool, sql: str, method: str) -> None:
    with pytest.raises(ProgrammingError, match="NUL"):
        await getattr(pool, method)(sql)
    assert await rows(pool) == 3


async def test_nul_in_sql_is_refused_in_execute_many_and_transactions(pool: Pool) -> None:
    with pytest.raises(ProgrammingError, match="NUL"):
        await pool.execute_many("DELETE FROM rel_t\x00 WHERE v = -1", [[], []])
    async with pool.transaction() as tx:
        with pytest.raises(ProgrammingError, match="NUL"):
            await tx.execute("DELETE FROM rel_t\x00 WHERE v = -1")
    assert await rows(pool) == 3


async def test_trailing_statement_after_a_parameterised_one_is_refused(pool: Pool) -> None:
    with pytest.raises(ProgrammingError):
        await pool.execute(f"UPDATE rel_t SET v = v WHERE v = {ph(pool, 1)}; DELETE FROM rel_t", [1])
    with pytest.raises(ProgrammingError):
        await pool.fetch(f"SELECT v FROM rel_t WHERE v = {ph(pool, 1)}; DELETE FROM rel_t", [1])
    with pytest.raises(ProgrammingError):
        await pool.fetch("SELECT v FROM rel_t; DELETE FROM rel_t")
    assert await rows(pool) == 3


async def test_lone_surrogate_in_sql_is_a_programming_error(pool: Pool) -> None:
    for method in ("execute", "fetch", "fetch_one"):
        with pytest.raises(ProgrammingError, match="surrogate"):
            await getattr(pool, method)("SELECT '\ud800'")
    async with pool.transaction() as tx:
        with pytest.raises(ProgrammingError):
            await tx.execute("DELETE FROM rel_t WHERE v = 1 OR '\udfff' = ''")
    assert await rows(pool) == 3


async def test_lone_surrogate_in_an_annotation_name_is_a_field_error(orm: Connection) -> None:
    with pytest.raises(FieldError):
        await Num.annotate(**{"n\ud800": Count("id")}).values("n\ud800")


async def test_lone_surrogate_in_a_value_is_a_yara_orm_error(orm: Connection) -> None:
    with pytest.raises(BaseORMException):
        await Num.create(label="a\ud800b")
    assert await Num.all().count() == 0


# -- decimals ------------------------------------------------------------------------------------


async def test_decimal_with_too_many_places_is_refused(orm: Connection) -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        await Num.create(dec=decimal.Decimal("1.005"))
    obj = Num(dec=decimal.Decimal("1.25"))
    obj.dec = decimal.Decimal("1.251")
    with pytest.raises(ValidationError, match="decimal places"):
        await obj.save()
    with pytest.raises(ValidationError, match="decimal places"):
        await Num.bulk_create([Num(dec=decimal.Decimal("2.50")), obj])
    assert await Num.all().count() == 0
    # Trailing zeros are no extra precision.
    ok = await Num.create(dec=decimal.Decimal("1.500"))
    assert (await Num.get(pk=ok.pk)).dec == decimal.Decimal("1.50")


async def test_decimal_rounds_only_with_the_explicit_option(orm: Connection) -> None:
    r = await Rounded.create(dec=decimal.Decimal("1.005"))
    assert r.dec == decimal.Decimal("1.01")
    assert (await Rounded.get(pk=r.pk)).dec == decimal.Decimal("1.01")


# -- bulk_create validates what save() validates ----------------------------------------------------


@pytest.mark.parametrize(
    ("attr", "value"),
    [("i32", "abc"), ("i32", {"a": 1}), ("big", 1.5), ("small", 2**15), ("i32", [1]), ("dec", "x")],
)
async def test_bulk_create_validates_values_assigned_after_construction(
    orm: Connection, attr: str, value: Any
) -> None:
    good = Num(i32=1)
    bad = Num(i32=2)
    setattr(bad, attr, value)
    with pytest.raises(ValidationError):
        await bad.save()
    with pytest.raises(ValidationError):
        await Num.bulk_create([good, bad])
    # Enough rows for the bulk-load path (COPY on PostgreSQL) too.
    many = [Num(i32=i) for i in range(150)]
    setattr(many[120], attr, value)
    with pytest.raises(ValidationError):
        await Num.bulk_create(many)
    assert await Num.all().count() == 0


async def test_bulk_create_coerces_assigned_values_like_save(orm: Connection) -> None:
    a, b = Num(), Num()
    a.i32 = "12"  # type: ignore[assignment]
    b.i32 = "12"  # type: ignore[assignment]
    await a.save()
    await Num.bulk_create([b])
    values = sorted(await Num.all().values_list("i32", flat=True))
    assert values == [12, 12] and all(type(v) is int for v in values)
