"""Models of the reliability tests."""

from __future__ import annotations

import decimal

from yara_orm import Model, fields


class Num(Model):
    """One column per integer width and a decimal, all bounded by their type."""

    small = fields.SmallIntField(null=True)
    i32 = fields.IntField(null=True)
    big = fields.BigIntField(null=True)
    dec = fields.DecimalField(max_digits=6, decimal_places=2, null=True)
    label = fields.CharField(max_length=50, null=True)

    class Meta:
        table = "rel_num"


class Rounded(Model):
    """A decimal that rounds on purpose (the explicit option)."""

    dec = fields.DecimalField(max_digits=6, decimal_places=2, rounding=decimal.ROUND_HALF_UP)

    class Meta:
        table = "rel_rounded"


class Unique(Model):
    code = fields.IntField(unique=True)

    class Meta:
        table = "rel_unique"


ALL_MODELS: list[type[Model]] = [Num, Rounded, Unique]
