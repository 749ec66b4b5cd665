"""The shop's models (the second version: see README.md for the first)."""

from __future__ import annotations

from yara_orm import Model, fields
from yara_orm.models import Index


class Customer(Model):
    """People who buy things."""

    first_name = fields.CharField(max_length=50, default="")
    last_name = fields.CharField(max_length=50, default="")
    email = fields.CharField(max_length=200, null=True, unique=True)


class Order(Model):
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "shop.Customer", related_name="orders"
    )
    total = fields.DecimalField(max_digits=10, decimal_places=2)
    created = fields.DatetimeField(auto_now_add=True)

    class Meta:
        indexes = (Index("customer", "created"),)
