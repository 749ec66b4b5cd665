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
    "BinaryField",
    "BooleanField",
    "CharEnumField",
    "CharEnumFieldInstance",
    "CharField",
    "DateField",
    "DatetimeField",
    "DecimalField",
    "Field",
    "FloatField",
    "ForeignKeyField",
    "ForeignKeyFieldInstance",
    "ForeignKeyNullableRelation",
    "ForeignKeyRelation",
    "IntEnumField",
    "IntEnumFieldInstance",
    "IntField",
    "JSONField",
    "ManyToManyField",
    "ManyToManyFieldInstance",
    "ManyToManyRelation",
    "OnDelete",
    "OneToOneField",
    "OneToOneFieldInstance",
    "OneToOneNullableRelation",
    "OneToOneRelation",
    "RelationIdField",
    "ReverseRelation",
    "SmallIntField",
    "TextField",
    "TimeDeltaField",
    "TimeField",
    "UUIDField",
]
