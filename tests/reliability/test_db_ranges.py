"""Database-side arithmetic cannot store what the field cannot hold, on SQLite as on PostgreSQL
(defect 6): the generated DDL carries the range checks PostgreSQL's types imply."""

from __future__ import annotations

import decimal

import pytest

from yara_orm import Connection, F, connect
from yara_orm.exceptions import DataError, OperationalError

from .._tables import fresh_orm
from . import models
from .models import Num


@pytest.mark.parametrize(
    ("field", "start", "delta"),
    [("i32", 1, 2**40), ("small", 1, 2**15), ("big", 2**62, 2**62), ("big", -(2**62), -(2**62) - 1)],
)
async def test_out_of_range_integer_arithmetic_is_refused(
    orm: Connection, field: str, start: int, delta: int
) -> None:
    obj = await Num.create(**{field: start})
    with pytest.raises(OperationalError):  # IntegrityError (CHECK) on SQLite, DataError on PostgreSQL
        await Num.filter(pk=obj.pk).update(**{field: F(field) + delta})
    assert getattr(await Num.get(pk=obj.pk), field) == start


async def test_out_of_range_decimal_arithmetic_is_refused(orm: Connection) -> None:
    obj = await Num.create(dec=decimal.Decimal("300.00"))
    with pytest.raises(OperationalError):
        await Num.filter(pk=obj.pk).update(dec=F("dec") * 1000)
    assert (await Num.get(pk=obj.pk)).dec == decimal.Decimal("300.00")
    # In range stays fine, to the edge.
    await Num.filter(pk=obj.pk).update(dec=F("dec") * 33)
    assert (await Num.get(pk=obj.pk)).dec == decimal.Decimal("9900.00")
    edge = await Num.create(dec=decimal.Decimal("-9999.99"), i32=2**31 - 1, small=-(2**15), big=2**63 - 1)
    fresh = await Num.get(pk=edge.pk)
    assert (fresh.dec, fresh.i32, fresh.small, fresh.big) == (
        decimal.Decimal("-9999.99"),
        2**31 - 1,
        -(2**15),
        2**63 - 1,
    )


# A value stored past the CHECK constraints (written outside the ORM, or into a table made
# before they existed), and the field whose range it breaks.
OUT_OF_RANGE = [
    ("i32", "1099511627776"),  # 2**40 in an IntField
    ("small", "40000"),
    ("big", "36893488147419103232.0"),  # a BigIntField overflow, stored as REAL
    ("dec", "300000.00"),  # a DecimalField(6, 2)
    ("i32", "'abc'"),  # text SQLite keeps as text in an INTEGER column
    ("small", "'12abc'"),
    ("big", "x'00ff'"),  # a blob
]


@pytest.mark.parametrize(("field", "raw"), OUT_OF_RANGE)
async def test_sqlite_reading_an_out_of_range_stored_value_is_a_data_error(
    sqlite_url: str, field: str, raw: str
) -> None:
    async with fresh_orm(sqlite_url, models, max_size=2) as orm:
        obj = await Num.create(label="x")
        # A connection of its own with the checks off, as another program might write.
        raw_pool = await connect(sqlite_url, max_size=1)
        try:
            await raw_pool.execute("PRAGMA ignore_check_constraints = ON")
            await raw_pool.execute(f"UPDATE rel_num SET {field} = {raw} WHERE id = ?", [obj.pk])
        finally:
            await raw_pool.close()
        with pytest.raises(DataError, match=f"Num.{field}.*outside what the field can hold"):
            await Num.get(pk=obj.pk)
        with pytest.raises(DataError):
            await Num.filter(pk=obj.pk).values_list(field, flat=True)
        with pytest.raises(DataError):
            await Num.filter(pk=obj.pk).values(field)
        # The row is still there to repair, and in-range rows read as before.
        await Num.filter(pk=obj.pk).update(**{field: None})
        assert getattr(await Num.get(pk=obj.pk), field) is None
        assert orm.backend == "sqlite"
