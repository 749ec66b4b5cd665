"""Rows of raw SQL (``connections.get(name).fetch_all(...)``): tuples that also answer by column
name, like asyncpg's ``Record`` and sqlite3's ``Row``.

``row[0]``, ``row["name"]``, ``row.get("name")``, ``dict(row)``, ``row.keys()``, unpacking and
``row == (1, "a")`` all work. A record *is* a tuple (a subclass), so code that compared rows to
tuples keeps working. One subclass is made per column list and cached, so a fetch costs one
tuple construction per row. The ORM's own queries never build these: they decode rows
positionally straight into instances.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, SupportsIndex, overload

__all__ = ["Record", "record_type"]


class Record(tuple[Any, ...]):
    """A row: a tuple whose items can also be read by column name."""

    __slots__ = ()
    _columns: ClassVar[tuple[str, ...]] = ()
    _index: ClassVar[dict[str, int]] = {}

    @overload
    def __getitem__(self, key: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: SupportsIndex | slice | str) -> Any:
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self._columns

    def values(self) -> tuple[Any, ...]:
        return tuple(self)

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._columns, self, strict=True)

    def get(self, key: str, default: Any = None) -> Any:
        index = self._index.get(key)
        return default if index is None else tuple.__getitem__(self, index)

    def __contains__(self, key: object) -> bool:
        # Like a mapping (``"name" in row``), as asyncpg's and sqlite3's records behave for keys;
        # values are still reachable with ``in row.values()``.
        if isinstance(key, str) and key in self._index:
            return True
        return tuple.__contains__(self, key)

    def __repr__(self) -> str:
        inner = " ".join(f"{name}={value!r}" for name, value in zip(self._columns, self, strict=True))
        return f"<Record {inner}>"


@functools.lru_cache(maxsize=512)
def record_type(columns: tuple[str, ...]) -> type[Record]:
    """The Record subclass for one column list (the first of duplicate names wins a lookup)."""
    index: dict[str, int] = {}
    for i, name in enumerate(columns):
        index.setdefault(name, i)
    return type("Record", (Record,), {"__slots__": (), "_columns": columns, "_index": index})


def to_records(columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> list[Record]:
    cls = record_type(tuple(columns))
    return [cls(row) for row in rows]
