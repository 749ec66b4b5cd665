"""Every public QuerySet method is reachable, with the same signature, from the objects that
stand for a queryset: ``Model`` (classmethods), its manager, related managers and values
querysets. The API is defined once, on QuerySet; nothing is forwarded by hand."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from yara_orm import Connection, Manager, Model, QuerySet, ValuesQuery
from yara_orm.models.related import ManyToManyManager, ReverseManager
from yara_orm.query.queryset import QUERYSET_API

from .models import Product
from .rel_models import Author, Book

# Model methods that keep their own, Tortoise-compatible signatures: they accept every
# parameter the QuerySet method takes, plus their own (``using_db``, filter arguments).
MODEL_OWN = {"all", "filter", "exclude", "annotate", "first", "last", "exists", "count", "get", "get_or_none"}
MODEL_OWN |= {"select_for_update"}
# Not classmethods on Model: ``delete`` is the instance's own delete, and ``update`` would update
# every row if called on an instance (``obj.update(...)``); both stay on ``Model.all()``.
MODEL_NOT_ROUTED = {"delete", "update"}
# ValuesQuery narrows these return types (dicts/tuples instead of instances); same parameters.
VALUES_TYPED = {"first", "get", "get_or_none", "iterator"}


def _params(func: Any) -> list[inspect.Parameter]:
    params = list(inspect.signature(func).parameters.values())
    # Drop self / cls.
    return params[1:] if params and params[0].name in ("self", "cls", "owner") else params


def _qs_params(name: str) -> list[inspect.Parameter]:
    return _params(getattr(QuerySet, name))


def test_the_api_is_not_empty() -> None:
    for name in ("filter", "order_by", "values", "values_list", "count", "update", "delete", "iterator"):
        assert name in QUERYSET_API


@pytest.mark.parametrize("cls", [Manager, ReverseManager, ManyToManyManager, ValuesQuery])
def test_stand_ins_derive_from_queryset_with_the_same_signatures(cls: type) -> None:
    assert issubclass(cls, QuerySet)
    for name in QUERYSET_API:
        method = getattr(cls, name)
        if cls is ValuesQuery and name in VALUES_TYPED:
            assert [p.name for p in _params(method)] == [p.name for p in _qs_params(name)], name
            continue
        assert inspect.signature(method) == inspect.signature(getattr(QuerySet, name)), (cls, name)


def test_model_reaches_every_queryset_method() -> None:
    for name in QUERYSET_API:
        if name in MODEL_NOT_ROUTED:
            assert name not in Model._queryset_routes
            continue
        method = getattr(Model, name)
        if name in MODEL_OWN:
            mine = {p.name: p.kind for p in _params(method)}
            for param in _qs_params(name):
                assert mine.get(param.name) == param.kind, (name, param)
        else:
            assert _params(method) == _qs_params(name), name


def test_model_classmethods_run_on_the_default_queryset(offline: str) -> None:
    # The custom manager of Product hides deleted rows: generated classmethods go through it.
    assert Product.order_by("code").sql() == Product.all().order_by("code").sql()
    assert '"deleted"' in Product.values_list("code", flat=True).sql()
    assert isinstance(Product.values("code"), ValuesQuery)


async def test_related_managers_chain_like_querysets(rel_orm: Connection) -> None:
    author = await Author.create(name="a")
    await Book.create(title="t2", author=author)
    await Book.create(title="t1", author=author)
    other = await Author.create(name="b")
    await Book.create(title="x", author=other)
    titles = await author.books.order_by("title").values_list("title", flat=True)
    assert titles == ["t1", "t2"]
    assert await author.books.limit(1).count() == 1
    assert [b.title for b in await author.books.order_by("-title").offset(1)] == ["t1"]
