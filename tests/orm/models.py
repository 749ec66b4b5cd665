"""Models shared by the ORM tests."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from typing import Any

from yara_orm import Manager, Model, QuerySet, fields
from yara_orm.exceptions import ValidationError
from yara_orm.models import Index


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 3


class Mood(enum.StrEnum):
    HAPPY = "happy"
    GRUMPY = "grumpy"


def positive(value: Any) -> None:
    if value is not None and value < 0:
        raise ValidationError(f"{value} is negative")


class Every(Model):
    """One column of every type (all nullable, so NULL round-trips too)."""

    small = fields.SmallIntField(null=True)
    integer = fields.IntField(null=True)
    big = fields.BigIntField(null=True)
    flt = fields.FloatField(null=True)
    dec = fields.DecimalField(max_digits=12, decimal_places=4, null=True)
    char = fields.CharField(max_length=20, null=True)
    text = fields.TextField(null=True)
    binary = fields.BinaryField(null=True)
    boolean = fields.BooleanField(null=True)
    date = fields.DateField(null=True)
    time = fields.TimeField(null=True)
    datetime = fields.DatetimeField(null=True)
    delta = fields.TimeDeltaField(null=True)
    uuid = fields.UUIDField(null=True)
    json = fields.JSONField(null=True)
    color = fields.IntEnumField(Color, null=True)
    mood = fields.CharEnumField(Mood, null=True)

    class Meta:
        table = "orm_every"


class Person(Model):
    name = fields.CharField(max_length=50)
    email = fields.CharField(max_length=100, unique=True, null=True)
    age = fields.IntField(default=0, validators=[positive])
    score = fields.FloatField(default=0.0)
    balance = fields.DecimalField(max_digits=10, decimal_places=2, default=decimal.Decimal("0"))
    active = fields.BooleanField(default=True)
    born = fields.DateField(null=True)
    seen = fields.DatetimeField(null=True)
    tags = fields.JSONField(default=list)
    created = fields.DatetimeField(auto_now_add=True)
    updated = fields.DatetimeField(auto_now=True)
    bio = fields.TextField(null=True)

    class Meta:
        table = "orm_person"


class Timestamped(Model):
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ("-id",)


class Article(Timestamped):
    """An article (the docstring becomes the table comment)."""

    title = fields.CharField(max_length=100, description="headline")
    slug = fields.CharField(max_length=100, db_index=True)
    lang = fields.CharField(max_length=5, default="en")
    views = fields.IntField(default=0)

    class Meta:
        table = "orm_article"
        unique_together = (("slug", "lang"),)
        indexes = (("lang", "views"), Index("title", name="orm_article_title_idx"))


class Token(Model):
    id = fields.UUIDField(primary_key=True)
    label = fields.CharField(max_length=30, unique=True)

    class Meta:
        table = "orm_token"


class ActiveManager(Manager["Product"]):
    def get_queryset(self) -> QuerySet[Product]:
        return super().get_queryset().filter(deleted=False)


class Product(Model):
    code = fields.CharField(max_length=20, unique=True)
    price = fields.DecimalField(max_digits=10, decimal_places=2)
    stock = fields.IntField(default=0)
    deleted = fields.BooleanField(default=False)

    class Meta:
        table = "orm_product"
        manager = ActiveManager()


def _encode(value: Any) -> str:
    return json.dumps({"wrapped": value})


def _decode(text: str) -> Any:
    return json.loads(text)["wrapped"]


class Doc(Model):
    body = fields.JSONField(encoder=_encode, decoder=_decode, null=True)
    plain = fields.JSONField(default=dict)
    when = fields.DatetimeField(default=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    ref = fields.UUIDField(default=uuid.uuid4)

    class Meta:
        table = "orm_doc"


class Counter(Model):
    key = fields.CharField(max_length=40, unique=True)
    value = fields.IntField(default=0)
    state = fields.CharField(max_length=10, db_default="new")

    class Meta:
        table = "orm_counter"


class Row(Model):
    n = fields.IntField()
    label = fields.CharField(max_length=30)

    class Meta:
        table = "orm_row"


class Typed(Model):
    """Only column types PostgreSQL bulk-inserts through UNNEST arrays."""

    small = fields.SmallIntField(null=True)
    big = fields.BigIntField(null=True)
    flt = fields.FloatField(null=True)
    dec = fields.DecimalField(max_digits=12, decimal_places=4, null=True)
    char = fields.CharField(max_length=20, null=True)
    boolean = fields.BooleanField(null=True)
    date = fields.DateField(null=True)
    time = fields.TimeField(null=True)
    datetime = fields.DatetimeField(null=True)
    delta = fields.TimeDeltaField(null=True)
    uuid = fields.UUIDField(null=True)
    color = fields.IntEnumField(Color, null=True)
    mood = fields.CharEnumField(Mood, null=True)

    class Meta:
        table = "orm_typed"


ALL_MODELS: list[type[Model]] = [Every, Person, Article, Token, Product, Doc, Counter, Row, Typed]
