"""Yara ORM: a fast async Python ORM with a compiled Rust engine."""

from . import exceptions, fields, functions, signals
from .connection import Connection, connections
from .dialects import Dialect, PostgresDialect, SQLiteDialect, register_dialect
from .expressions import Case, Exists, F, OuterRef, Q, RawSQL, Subquery, Value, When
from .instrument import count_statements
from .models import Index, Manager, Model
from .orm import YaraOrm, run_async
from .pool import Pool, Transaction, connect
from .query.prefetch import Prefetch
from .query.queryset import QuerySet, ValuesQuery
from .query.single import QuerySetSingle
from .signals import post_delete, post_save, pre_delete, pre_save
from .transactions import atomic, current_transaction, in_transaction, on_commit, retry_transaction

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
    "Prefetch",
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
    "count_statements",
    "current_transaction",
    "exceptions",
    "fields",
    "functions",
    "in_transaction",
    "on_commit",
    "post_delete",
    "post_save",
    "pre_delete",
    "pre_save",
    "register_dialect",
    "retry_transaction",
    "run_async",
    "signals",
]
__version__ = "0.1.0"
