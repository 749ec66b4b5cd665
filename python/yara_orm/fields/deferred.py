"""The guard that makes reading a field an instance was loaded without raise a clear error.

Instances keep field values as plain entries of ``__dict__`` and the class holds no attribute of
the field's name, so reads are CPython's fastest attribute load. An instance loaded with
``only()``/``defer()`` lacks some entries; reading one must raise
:class:`~yara_orm.exceptions.FieldNotLoadedError`, not a bare AttributeError.

The guard is a *non-data* descriptor (``__get__`` only) put on the model class under each field's
name: an entry in the instance ``__dict__`` still wins, so it runs only for a missing field.
CPython 3.11 does not specialise an instance attribute load when the class has a descriptor of
that name, though (a read costs about 4x as much), so the guards are installed lazily, the first
time a query loads a model partially: models never loaded partially keep the fast reads.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import FieldNotLoadedError
from .base import Field


class Unloaded:
    """Class attribute guarding one field: the field itself on class access, an error on an
    instance that does not hold the field."""

    __slots__ = ("field",)

    def __init__(self, field: Field[Any]) -> None:
        self.field = field

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self.field
        raise FieldNotLoadedError(
            f"Field {self.field.model_field_name!r} was not loaded on this "
            f"{type(instance).__name__} instance (deferred via only()/defer()); "
            "re-fetch without deferring it to read it"
        )


def guard_unloaded_fields(model: Any) -> None:
    """Install the guards on ``model`` (once): called when a query is about to load instances
    of it without some fields."""
    meta = model._meta
    if meta.unloaded_guards:
        return
    for field in meta.fields:
        name = field.model_field_name
        # A name the class (or a base) already defines keeps its meaning; a field declared on a
        # plain mixin class is still there as the Field, which the guard replaces.
        if not hasattr(model, name) or isinstance(getattr(model, name), Field):
            setattr(model, name, Unloaded(field))
    meta.unloaded_guards = True
