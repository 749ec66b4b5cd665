"""Managers: where a model's querysets come from (``Meta.manager`` customises it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..query.queryset import QuerySet

if TYPE_CHECKING:
    from .model import Model

M = TypeVar("M", bound="Model")


class Manager(Generic[M]):
    """Override :meth:`get_queryset` to change every query of a model, e.g. to hide
    soft-deleted rows. Other attributes are looked up on that queryset."""

    def __init__(self, model: type[M] | None = None) -> None:
        self._model = model

    def _bind(self, model: type[M]) -> None:
        self._model = model

    @property
    def model(self) -> type[M]:
        if self._model is None:
            raise RuntimeError("this manager is not attached to a model")
        return self._model

    def get_queryset(self) -> QuerySet[M]:
        return QuerySet(self.model)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get_queryset(), name)
