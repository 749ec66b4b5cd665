"""Model fields: ``from yara_orm import fields`` then ``fields.IntField(...)``."""

from typing import TYPE_CHECKING, Any

from . import relational
from .base import NO_DEFAULT, Field
from .data import (
    BigIntField,
    BinaryField,
    BooleanField,
    CharEnumField,
    CharEnumFieldInstance,
    CharField,
    DateField,
    DatetimeField,
    DecimalField,
    FloatField,
    IntEnumField,
    IntEnumFieldInstance,
    IntField,
    JSONField,
    SmallIntField,
    TextField,
    TimeDeltaField,
    TimeField,
    UUIDField,
)
from .db_defaults import Now, RandomHex, SqlDefault
from .relational import (
    CASCADE,
    NO_ACTION,
    RESTRICT,
    SET_DEFAULT,
    SET_NULL,
    BackwardOneToOneRelation,
    ForeignKeyField,
    ForeignKeyFieldInstance,
    ForeignKeyNullableRelation,
    ForeignKeyRelation,
    ManyToManyField,
    ManyToManyFieldInstance,
    OnDelete,
    OneToOneField,
    OneToOneFieldInstance,
    OneToOneNullableRelation,
    OneToOneRelation,
    RelationIdField,
)

# Django-style spellings Tortoise also exports.
IntegerField = IntField
SmallIntegerField = SmallIntField
BigIntegerField = BigIntField
DurationField = TimeDeltaField
DateTimeField = DatetimeField
ForeignKey = ForeignKeyField

if TYPE_CHECKING:
    from .relational import BackwardFKRelation, ManyToManyRelation, ReverseRelation


def __getattr__(name: str) -> Any:
    # The manager aliases need the model layer, which imports this package: built on first use.
    return getattr(relational, name)


__all__ = [
    "CASCADE",
    "NO_ACTION",
    "NO_DEFAULT",
    "RESTRICT",
    "SET_DEFAULT",
    "SET_NULL",
    "BackwardFKRelation",
    "BackwardOneToOneRelation",
    "BigIntField",
    "BigIntegerField",
    "BinaryField",
    "BooleanField",
    "CharEnumField",
    "CharEnumFieldInstance",
    "CharField",
    "DateField",
    "DateTimeField",
    "DatetimeField",
    "DecimalField",
    "DurationField",
    "Field",
    "FloatField",
    "ForeignKey",
    "ForeignKeyField",
    "ForeignKeyFieldInstance",
    "ForeignKeyNullableRelation",
    "ForeignKeyRelation",
    "IntEnumField",
    "IntEnumFieldInstance",
    "IntField",
    "IntegerField",
    "JSONField",
    "ManyToManyField",
    "ManyToManyFieldInstance",
    "ManyToManyRelation",
    "Now",
    "OnDelete",
    "OneToOneField",
    "OneToOneFieldInstance",
    "OneToOneNullableRelation",
    "OneToOneRelation",
    "RandomHex",
    "RelationIdField",
    "ReverseRelation",
    "SmallIntField",
    "SmallIntegerField",
    "SqlDefault",
    "TextField",
    "TimeDeltaField",
    "TimeField",
    "UUIDField",
]
