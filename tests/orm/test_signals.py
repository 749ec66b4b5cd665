"""Signals around save/create/delete, in order; validators on save and create."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from yara_orm import Connection, Model, post_delete, post_save, pre_delete, pre_save, signals
from yara_orm.exceptions import ValidationError

from .rel_models import Member, Parent


@pytest.fixture
def log() -> Iterator[list[tuple[Any, ...]]]:
    events: list[tuple[Any, ...]] = []

    @pre_save(Parent)
    async def before_save(sender: type[Model], instance: Parent, using_db: Any, update_fields: Any) -> None:
        events.append(("pre_save", sender.__name__, instance.name, instance.pk))
        instance.name = instance.name.strip()

    @post_save(Parent)
    async def after_save(
        sender: type[Model], instance: Parent, created: bool, using_db: Any, update_fields: Any
    ) -> None:
        events.append(("post_save", instance.name, created, update_fields))

    @pre_delete(Parent)
    async def before_delete(sender: type[Model], instance: Parent, using_db: Any) -> None:
        events.append(("pre_delete", instance.pk is not None))

    @post_delete(Parent)
    async def after_delete(sender: type[Model], instance: Parent, using_db: Any) -> None:
        events.append(("post_delete", instance.name))

    @post_save()
    async def every_model(
        sender: type[Model], instance: Model, created: bool, using_db: Any, update_fields: Any
    ) -> None:
        events.append(("any", sender.__name__))

    yield events
    for name, handler in (
        ("pre_save", before_save),
        ("post_save", after_save),
        ("pre_delete", before_delete),
        ("post_delete", after_delete),
        ("post_save", every_model),
    ):
        signals.disconnect(name, handler)
    assert not signals.active


async def test_signal_order(rel_orm: Connection, log: list[tuple[Any, ...]]) -> None:
    parent = await Parent.create(name="  p  ")
    assert parent.name == "p"  # a pre_save handler can change the instance before the INSERT
    parent.name = "q"
    await parent.save(update_fields=["name"])
    await parent.delete()
    await Member.create(name="m")  # only the handler registered for every model sees it
    assert log == [
        ("pre_save", "Parent", "  p  ", None),
        ("post_save", "p", True, None),
        ("any", "Parent"),
        ("pre_save", "Parent", "q", parent.pk),
        ("post_save", "q", False, ["name"]),
        ("any", "Parent"),
        ("pre_delete", True),
        ("post_delete", "q"),
        ("any", "Member"),
    ]
    assert (await Parent.filter(name="p").count()) == 0


async def test_validators_run_on_save_and_create(rel_orm: Connection) -> None:
    from yara_orm import fields

    def no_x(value: Any) -> None:
        if "x" in str(value):
            raise ValidationError("no x allowed")

    field = Member._meta.fields_map["name"]
    field.validators.append(no_x)
    Member._meta.validated_fields = [f for f in Member._meta.fields if f.validators]
    try:
        with pytest.raises(ValidationError):
            await Member.create(name="xx")
        member = await Member.create(name="ok")
        member.name = "x"
        with pytest.raises(ValidationError):
            await member.save()
        # Bulk paths validate too (before any SQL).
        with pytest.raises(ValidationError):
            await Member.bulk_create([Member(name="fine"), Member(name="x")])
        assert await Member.all().values_list("name", flat=True) == ["ok"]
    finally:
        field.validators.remove(no_x)
        Member._meta.validated_fields = [f for f in Member._meta.fields if f.validators]
    assert fields is not None
