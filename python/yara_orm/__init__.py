"""Yara ORM: a fast async Python ORM with a compiled Rust engine."""

from . import exceptions, fields, functions
from .connection import Connection, connections
from .dialects import Dialect, PostgresDialect, SQLiteDialect, register_dialect
from .expressions import Case, Exists, F, OuterRef, Q, RawSQL, Subquery, Value, When
from .models import Index, Manager, Model
from .orm import YaraOrm, run_async
from .pool import Pool, Transaction, connect
from .query.queryset import QuerySet, QuerySetSingle, ValuesQuery
from .transactions import atomic, in_transaction

__all__ = [
    "Case",
    "Connection",
    "Dialect",
    "Exists",
    "F",
    "Index",
    "Manager",
    "Model",
    "OuterRef",
    "Pool",
    "PostgresDialect",
    "Q",
    "QuerySet",
    "QuerySetSingle",
    "RawSQL",
    "SQLiteDialect",
    "Subquery",
    "Transaction",
    "Value",
    "ValuesQuery",
    "When",
    "YaraOrm",
    "atomic",
    "connect",
    "connections",
    "exceptions",
    "fields",
    "functions",
    "in_transaction",
    "register_dialect",
    "run_async",
]
__version__ = "0.1.0"
