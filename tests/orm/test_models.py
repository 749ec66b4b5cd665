"""Model declaration: _meta, inheritance, managers, validation of declarations."""

from __future__ import annotations

import pytest

from yara_orm import Model, fields
from yara_orm.exceptions import ConfigurationError

from .models import ActiveManager, Article, Person, Product, Row, Timestamped, Token


def test_meta_basics() -> None:
    meta = Row._meta
    assert meta.table == "orm_row"
    assert meta.pk_attr == "id" and isinstance(meta.pk, fields.IntField) and meta.pk.generated
    assert list(meta.fields_map) == ["id", "n", "label"]
    assert Token._meta.pk_attr == "id" and isinstance(Token._meta.pk, fields.UUIDField)
    assert not hasattr(Row, "n")  # fields live in _meta; instances hold plain values


def test_abstract_inheritance_copies_fields_and_options() -> None:
    meta = Article._meta
    assert list(meta.fields_map)[:2] == ["id", "created_at"]
    assert meta.fields_map["created_at"] is not Timestamped._meta.fields_map["created_at"]
    assert meta.fields_map["created_at"].model is Article
    assert meta.ordering == ("-id",)
    assert meta.unique_together == (("slug", "lang"),)
    assert meta.description == "An article (the docstring becomes the table comment)."
    # An abstract model builds in memory (Tortoise allows it); it has no table to save into.
    assert Timestamped().created_at is None


def test_custom_manager_is_bound() -> None:
    assert isinstance(Product._meta.manager, ActiveManager)
    assert Product._meta.manager.model is Product


def test_describe() -> None:
    info = Person.describe()
    assert info["table"] == "orm_person"
    assert info["pk_field"]["name"] == "id"
    names = [f["name"] for f in info["data_fields"]]
    assert names[:3] == ["name", "email", "age"]
    email = next(f for f in info["data_fields"] if f["name"] == "email")
    assert email["unique"] and email["nullable"]


def test_declaration_errors() -> None:
    with pytest.raises(ConfigurationError, match="exactly one primary key"):

        class TwoPks(Model):
            a = fields.IntField(primary_key=True)
            b = fields.IntField(primary_key=True)

    with pytest.raises(ConfigurationError, match="unknown option 'tabel'"):

        class BadMeta(Model):
            class Meta:
                tabel = "x"

    with pytest.raises(ConfigurationError, match="unknown field 'nope'"):

        class BadUnique(Model):
            a = fields.IntField()

            class Meta:
                unique_together = (("a", "nope"),)

    with pytest.raises(ConfigurationError, match="concrete model"):

        class FromConcrete(Row):
            pass

    with pytest.raises(ConfigurationError, match="cannot start with"):

        class Reserved(Model):
            save = fields.IntField()


def test_instances_coerce_and_repr() -> None:
    row = Row(n="5", label="x")
    assert row.n == 5 and row.pk is None
    assert repr(row) == "<Row>"  # unsaved: no key to show (Tortoise)
    row.pk = "7"
    assert row.id == 7
    custom_pk = Token(label="t")
    assert custom_pk.pk is not None


def test_meta_ordering_is_inherited_and_overridable() -> None:
    class _OrderedBase(Model):
        value = fields.IntField()

        class Meta:
            abstract = True
            ordering = ["-value"]

    class _Inherits(_OrderedBase):
        class Meta:
            abstract = True

    class _Empty(_OrderedBase):
        class Meta:
            abstract = True
            ordering = ()

    assert _Inherits._meta._default_ordering == _OrderedBase._meta.ordering == ("-value",)
    assert _Empty._meta._default_ordering == ()
