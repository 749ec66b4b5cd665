"""The per-model statement cache (``Model._meta.statements``).

One bounded cache holds everything a model compiles once and reuses: single-row INSERT /
UPDATE / DELETE statements, the get-by-pk SELECT, COPY statements, multi-row VALUES inserts and
whole query shapes (SQL, parameter builders and decode plan). Keys are small named tuples, one
type per kind of entry; each ends with its :class:`StatementKind`, so two kinds whose other
fields happen to be equal never collide (named tuples compare as plain tuples).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ..fields.base import Field

# Entries per model. Generous for real applications (a few dozen shapes and statements per
# model); the bound exists for workloads that generate shapes, e.g. one VALUES statement per
# distinct bulk_create batch size.
STATEMENT_CACHE_LIMIT = 1024


# The mode enums on cache keys (this one, SelectKind, ResultMode) are str enums: hashing one is
# str's cached hash, where a plain Enum runs its Python __hash__ on every cache lookup.
class StatementKind(enum.StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    GET_PK = "get_pk"
    COPY = "copy"
    VALUES = "values"
    SHAPE = "shape"


class InsertKey(NamedTuple):
    """The one-row INSERT of ``fields`` (with RETURNING and an ON CONFLICT clause)."""

    dialect: str
    fields: tuple[Field[Any], ...]
    returning: tuple[Field[Any], ...]
    conflict: tuple[Any, Any] | None
    kind: StatementKind = StatementKind.INSERT


class UpdateKey(NamedTuple):
    """``UPDATE ... SET <fields> WHERE pk = ?``."""

    dialect: str
    fields: tuple[Field[Any], ...]
    kind: StatementKind = StatementKind.UPDATE


class DeleteKey(NamedTuple):
    """``DELETE ... WHERE pk = ?``."""

    dialect: str
    kind: StatementKind = StatementKind.DELETE


class GetPkKey(NamedTuple):
    """``SELECT <all columns> WHERE pk = ?`` and its row decoder."""

    dialect: str
    kind: StatementKind = StatementKind.GET_PK


class CopyKey(NamedTuple):
    """The bulk-load COPY of ``fields``."""

    dialect: str
    fields: tuple[Field[Any], ...]
    kind: StatementKind = StatementKind.COPY


class ValuesKey(NamedTuple):
    """A multi-row ``INSERT ... VALUES`` of ``rows`` rows (the SQL depends on the row count)."""

    dialect: str
    columns: tuple[str, ...]
    rows: int
    returning: bool
    kind: StatementKind = StatementKind.VALUES


class ShapeKey(NamedTuple):
    """A queryset shape: everything but its filter values, for rows, a count or an exists check."""

    dialect: str
    statement: enum.Enum  # build.SelectKind
    shape: Hashable
    kind: StatementKind = StatementKind.SHAPE


class StatementCache(dict[Hashable, Any]):
    """A dict bounded to ``limit`` entries: adding one to a full cache drops the oldest.

    Lookups are the plain C-level ``dict.get`` (they sit on the hottest paths); only
    :meth:`put` pays for the bound."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = STATEMENT_CACHE_LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Hashable, value: Any) -> Any:
        if key not in self and len(self) >= self.limit:
            # Insertion order is age: the first key is the oldest.
            del self[next(iter(self))]
        self[key] = value
        return value
