"""Column defaults computed by the database: ``fields.DatetimeField(default=Now())``,
``fields.IntField(db_default=SqlDefault("7"))``.

A field whose ``default`` (or ``db_default``) is one of these gets ``DEFAULT <sql>`` in its DDL;
an insert that leaves the attribute ``None`` omits the column and reads the value the database
chose back (``RETURNING``), so the instance holds it after ``create()``/``save()``.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from ..exceptions import ConfigurationError

if TYPE_CHECKING:
    from ..dialects.base import Dialect

__all__ = ["DatabaseDefault", "Now", "RandomHex", "SqlDefault"]


class DatabaseDefault(abc.ABC):
    """A database-side default; ``to_sql`` renders it for the dialect's DDL."""

    @abc.abstractmethod
    def to_sql(self, dialect: Dialect) -> str: ...


class SqlDefault(DatabaseDefault):
    """A verbatim SQL expression (``SqlDefault("CURRENT_TIMESTAMP")``); never user input."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def to_sql(self, dialect: Dialect) -> str:
        return self.sql

    def __repr__(self) -> str:
        return f"SqlDefault({self.sql!r})"


class RandomHex(DatabaseDefault):
    """``size`` random bytes as lower-case hex text (not for secrets: the database's PRNG)."""

    def __init__(self, size: int = 16) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1024:
            raise ConfigurationError(f"RandomHex(size) needs 1..1024 bytes, got {size!r}")
        self.size = size

    def to_sql(self, dialect: Dialect) -> str:
        if dialect.name == "postgres":
            # md5 gives 16 bytes per call; enough calls concatenated, then cut to size.
            calls = -(-self.size // 16)
            parts = " || ".join("md5(random()::text)" for _ in range(calls))
            return f"(substr({parts}, 1, {2 * self.size}))"
        return f"(lower(hex(randomblob({self.size}))))"

    def __repr__(self) -> str:
        return f"RandomHex({self.size})"


class Now(DatabaseDefault):
    """The current timestamp (``CURRENT_TIMESTAMP``). ``yara_orm.functions.Now()``, the query
    function, works as a default too."""

    def to_sql(self, dialect: Dialect) -> str:
        return "CURRENT_TIMESTAMP"

    def __repr__(self) -> str:
        return "Now()"
