"""Managers: where a model's querysets come from (``Meta.manager`` customises it)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, TypeVar

from ..query.queryset import QuerySet, route_to_queryset

if TYPE_CHECKING:
    from .model import Model

M = TypeVar("M", bound="Model")


@route_to_queryset
class Manager(QuerySet[M]):
    """Override :meth:`get_queryset` to change every query of a model, e.g. to hide
    soft-deleted rows. A manager is a QuerySet whose methods all run on ``get_queryset()``."""

    def __init__(self, model: type[M] | None = None) -> None:
        self._model = model

    def _bind(self, model: type[M]) -> None:
        self._model = model

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Manager[M]:
        # A manager declared as a class attribute (``all_objects = Manager()``), possibly on an
        # abstract base: each model reading it gets a copy bound to itself.
        if owner is None or owner is self._model or not hasattr(owner, "_meta"):
            return self
        bound = copy.copy(self)
        bound._model = owner
        return bound

    @property
    def model(self) -> type[M]:  # type: ignore[override]
        if self._model is None:
            raise RuntimeError("this manager is not attached to a model")
        return self._model

    def get_queryset(self) -> QuerySet[M]:
        return QuerySet(self.model)

    def __getattr__(self, name: str) -> Any:
        # Methods a custom queryset class adds (``get_queryset()`` returning a subclass).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get_queryset(), name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._model.__name__ if self._model else 'no model'}>"
