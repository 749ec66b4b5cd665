"""Models written the way yara-orm 1.19 and Tortoise users write them (no ``from __future__``
import here on purpose: the relation annotations are evaluated at class creation)."""

from yara_orm import Model, fields
from yara_orm.fields.db_defaults import SqlDefault
from yara_orm.validators import (
    CommaSeparatedIntegerListValidator,
    MaxLengthValidator,
    MinValueValidator,
    RegexValidator,
    validate_ipv46_address,
)


class CpAuthor(Model):
    name = fields.CharField(max_length=50)


class CpTag(Model):
    name = fields.CharField(max_length=20)


class CpBook(Model):
    title = fields.CharField(max_length=100)
    rank = fields.IntField(null=True)
    author: fields.ForeignKeyRelation[CpAuthor] = fields.ForeignKeyField(
        "models.CpAuthor", related_name="books"
    )
    editor: fields.ForeignKeyNullableRelation[CpAuthor] = fields.ForeignKeyField(
        "models.CpAuthor", related_name="edited", null=True
    )
    tags: fields.ManyToManyRelation[CpTag] = fields.ManyToManyField(
        "models.CpTag", related_name="books", through="cp_book_tag", forward_key="tag", backward_key="book"
    )

    class Meta:
        table = "cp_book"


async def _async_greeting() -> str:
    return "hello"


class CpChecked(Model):
    age = fields.IntField(null=True, validators=[MinValueValidator(0)])
    code = fields.CharField(max_length=20, null=True, validators=[RegexValidator(r"^[A-Z]+$")])
    nick = fields.CharField(max_length=20, null=True, validators=[MaxLengthValidator(3)])
    ids = fields.CharField(max_length=50, null=True, validators=[CommaSeparatedIntegerListValidator()])
    ip = fields.CharField(max_length=50, null=True, validators=[validate_ipv46_address])
    flag = fields.BooleanField(default=False)
    day = fields.DateField(null=True)
    seven = fields.IntField(default=SqlDefault("7"))
    data = fields.JSONField(null=True)
    greeting = fields.CharField(max_length=20, default=_async_greeting)


class CpCountry(Model):
    name = fields.CharField(max_length=20)
    code = fields.CharField(max_length=5, null=True)


class CpContact(Model):
    name = fields.CharField(max_length=20, null=True)
    props = fields.JSONField(null=True)
    country: fields.ForeignKeyNullableRelation[CpCountry] = fields.ForeignKeyField(
        "models.CpCountry", related_name="contacts", null=True
    )


class CpCall(Model):
    note = fields.CharField(max_length=20, null=True)
    contact: fields.ForeignKeyNullableRelation[CpContact] = fields.ForeignKeyField(
        "models.CpContact", related_name="calls", null=True
    )


class CpStamped(Model):
    name = fields.CharField(max_length=10)
    created = fields.DatetimeField(auto_now_add=True)


class CpTouched(Model):
    name = fields.CharField(max_length=10)
    touched = fields.DatetimeField(auto_now=True)

    class Meta:
        extra_kwargs = "store"
