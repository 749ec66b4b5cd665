"""Single results: the awaitables ``get``, ``get_or_none``, ``first``, ``qs[i]``... return.

They stay refinable (``Book.get(pk=1).only("title")``) until awaited; awaiting runs the wrapped
queryset (with LIMIT 2 for ``get``, to detect a second row) and applies the mode's promise.
"""

from __future__ import annotations

import enum
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..exceptions import DoesNotExist, MultipleObjectsReturned, NoRowAtIndexError

if TYPE_CHECKING:
    from .queryset import QuerySet, ValuesQuery

T = TypeVar("T")


class SingleMode(enum.StrEnum):
    """What awaiting a single-result queryset (``get``, ``first``, ``qs[3]``...) promises."""

    GET = "get"  # exactly one row, else DoesNotExist / MultipleObjectsReturned
    GET_OR_NONE = "get_or_none"  # one row or None; MultipleObjectsReturned for more
    FIRST = "first"  # the first row or None
    FIRST_OF_SLICE = "first_of_slice"  # ``qs[i]``: the row, else DoesNotExist


_EXACTLY_ONE = (SingleMode.GET, SingleMode.GET_OR_NONE)


class QuerySetSingle(Generic[T]):
    """An awaitable single result (``get``, ``first``...) that can still be refined."""

    __slots__ = ("_mode", "_qs")

    def __init__(self, qs: QuerySet[Any], mode: SingleMode) -> None:
        self._qs = qs
        self._mode = mode

    def __await__(self) -> Generator[Any, None, T]:
        return self._run().__await__()

    async def _run(self) -> Any:
        qs = self._qs
        if self._mode in _EXACTLY_ONE:
            if qs._limit is None:
                qs = qs.limit(2)
            return _exactly_one(await qs._fetch(), self._mode, qs.model)
        rows = await qs._fetch()
        if not rows:
            if self._mode is SingleMode.FIRST_OF_SLICE:
                raise NoRowAtIndexError(f"no {qs.model.__name__} at that index")
            return None
        return rows[0]

    def _wrap(self, qs: QuerySet[Any]) -> QuerySetSingle[T]:
        return QuerySetSingle(qs, self._mode)

    def only(self, *fields: str) -> QuerySetSingle[T]:
        return self._wrap(self._qs.only(*fields))

    def defer(self, *fields: str) -> QuerySetSingle[T]:
        return self._wrap(self._qs.defer(*fields))

    def annotate(self, **annotations: Any) -> QuerySetSingle[T]:
        return self._wrap(self._qs.annotate(**annotations))

    def using_db(self, db: Any) -> QuerySetSingle[T]:
        return self._wrap(self._qs.using_db(db))

    def select_related(self, *relations: str) -> QuerySetSingle[T]:
        return self._wrap(self._qs.select_related(*relations))

    def prefetch_related(self, *lookups: Any) -> QuerySetSingle[T]:
        return self._wrap(self._qs.prefetch_related(*lookups))

    def select_for_update(
        self, nowait: bool = False, skip_locked: bool = False, of: Iterable[str] = ()
    ) -> QuerySetSingle[T]:
        return self._wrap(self._qs.select_for_update(nowait, skip_locked, of))

    def values(self, *fields: str, **aliases: str) -> ValuesSingle[dict[str, Any]]:
        return ValuesSingle(self._qs.values(*fields, **aliases), self._mode)

    def values_list(self, *fields: str, flat: bool = False) -> ValuesSingle[Any]:
        return ValuesSingle(self._qs.values_list(*fields, flat=flat), self._mode)  # type: ignore[call-overload]

    def sql(self) -> str:
        qs = self._qs if self._mode not in _EXACTLY_ONE or self._qs._limit is not None else self._qs.limit(2)
        return qs.sql()


class ValuesSingle(Generic[T]):
    __slots__ = ("_mode", "_values")

    def __init__(self, values: ValuesQuery[Any], mode: SingleMode) -> None:
        self._values = values
        self._mode = mode

    def __await__(self) -> Generator[Any, None, T]:
        return self._run().__await__()

    async def _run(self) -> Any:
        qs = self._values
        if self._mode in _EXACTLY_ONE and qs._limit is None:
            qs = qs.limit(2)
        rows = await qs._fetch()
        if self._mode is SingleMode.FIRST:
            return rows[0] if rows else None
        return _exactly_one(rows, self._mode, qs.model)


def _exactly_one(rows: list[Any], mode: SingleMode, model: type) -> Any:
    """The one row ``get``/``get_or_none`` promise (fetched with LIMIT 2 to detect a second)."""
    if len(rows) == 1:
        return rows[0]
    if not rows:
        if mode is SingleMode.GET_OR_NONE:
            return None
        raise DoesNotExist(f"{model.__name__} matching the query does not exist")
    raise MultipleObjectsReturned(f"more than one {model.__name__} matches the query")
