"""Dialects by backend name, and ``register_dialect`` for third-party backends."""

from __future__ import annotations

from typing import Any

from ..exceptions import ConfigurationError
from .base import Dialect, escape_like
from .mysql import MySQLDialect
from .postgres import PostgresDialect
from .sqlite import SQLiteDialect

__all__ = [
    "Dialect",
    "MySQLDialect",
    "PostgresDialect",
    "SQLiteDialect",
    "escape_like",
    "get_dialect",
    "register_dialect",
]

_DIALECTS: dict[str, type[Dialect]] = {
    "mysql": MySQLDialect,
    "postgres": PostgresDialect,
    "sqlite": SQLiteDialect,
}


def register_dialect(backend: str, dialect: type[Dialect]) -> None:
    """Use ``dialect`` for pools whose ``backend`` is ``backend`` (e.g. a third-party engine)."""
    if not (isinstance(dialect, type) and issubclass(dialect, Dialect)):
        raise ConfigurationError("register_dialect needs a Dialect subclass")
    _DIALECTS[backend] = dialect


def get_dialect(backend: str, capabilities: dict[str, Any] | None = None) -> Dialect:
    try:
        cls = _DIALECTS[backend]
    except KeyError:
        raise ConfigurationError(
            f"no dialect registered for backend {backend!r} (known: {sorted(_DIALECTS)}); "
            "call yara_orm.register_dialect(name, DialectClass)"
        ) from None
    return cls(capabilities)
