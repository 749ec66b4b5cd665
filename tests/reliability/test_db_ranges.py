"""Database-side arithmetic cannot store what the field cannot hold, on SQLite as on PostgreSQL
(defect 6): the generated DDL carries the range checks PostgreSQL's types imply."""

from __future__ import annotations

import decimal

import pytest

from yara_orm import Connection, F
from yara_orm.exceptions import OperationalError

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
