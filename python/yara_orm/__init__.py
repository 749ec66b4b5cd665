"""Yara ORM: a fast async Python ORM with a compiled Rust engine."""

from . import exceptions, fields, functions, signals, timezone, validators
from .connection import Connection, connections
from .db_defaults import DatabaseDefault, RandomHex, SqlDefault
from .dialects import Dialect, PostgresDialect, SQLiteDialect, register_dialect
from .exceptions import (
    BaseORMException,
    ConfigurationError,
    DBConnectionError,
    DoesNotExist,
    FieldError,
    IncompleteInstanceError,
    IntegrityError,
    MultipleObjectsReturned,
    NotExistOrMultiple,
    NoValuesFetched,
    ObjectDoesNotExistError,
    OperationalError,
    ORMError,
    ParamsError,
    TransactionManagementError,
    UnSupportedError,
    ValidationError,
)
from .expressions import Array, Case, Exists, F, OuterRef, Q, RawSQL, Subquery, Value, When
from .fields import (
    BackwardFKRelation,
    BackwardOneToOneRelation,
    ForeignKeyFieldInstance,
    ManyToManyFieldInstance,
    OneToOneFieldInstance,
)
from .functions import (
    Aggregate,
    Avg,
    Coalesce,
    Concat,
    Count,
    Length,
    Lower,
    Max,
    Min,
    Now,
    Random,
    Sum,
    Trim,
    Upper,
)
from .instrument import count_statements
from .models import FullTextIndex, Index, Manager, Model
from .orm import YaraOrm, run_async
from .pool import Pool, Transaction, connect
from .query.prefetch import Prefetch
from .query.queryset import QuerySet, ValuesQuery
from .query.single import QuerySetSingle
from .signals import Signals, post_delete, post_save, pre_delete, pre_save
from .transactions import (
    IsolationLevel,
    atomic,
    current_transaction,
    in_transaction,
    on_commit,
    retry_transaction,
)

# Names yara-orm 1.19 and Tortoise users import under their own spelling.
BaseDialect = Dialect
SqliteDialect = SQLiteDialect
BaseDBAsyncClient = Connection

__all__ = [
    "Aggregate",
    "Array",
    "Avg",
    "BackwardFKRelation",
    "BackwardOneToOneRelation",
    "BaseDBAsyncClient",
    "BaseDialect",
    "BaseORMException",
    "Case",
    "Coalesce",
    "Concat",
    "ConfigurationError",
    "Connection",
    "Count",
    "DBConnectionError",
    "DatabaseDefault",
    "Dialect",
    "DoesNotExist",
    "Exists",
    "F",
    "FieldError",
    "ForeignKeyFieldInstance",
    "FullTextIndex",
    "IncompleteInstanceError",
    "Index",
    "IntegrityError",
    "IsolationLevel",
    "Length",
    "Lower",
    "Manager",
    "ManyToManyFieldInstance",
    "Max",
    "Min",
    "Model",
    "MultipleObjectsReturned",
    "NoValuesFetched",
    "NotExistOrMultiple",
    "Now",
    "ORMError",
    "ObjectDoesNotExistError",
    "OneToOneFieldInstance",
    "OperationalError",
    "OuterRef",
    "ParamsError",
    "Pool",
    "PostgresDialect",
    "Prefetch",
    "Q",
    "QuerySet",
    "QuerySetSingle",
    "Random",
    "RandomHex",
    "RawSQL",
    "SQLiteDialect",
    "Signals",
    "SqlDefault",
    "SqliteDialect",
    "Subquery",
    "Sum",
    "Transaction",
    "TransactionManagementError",
    "Trim",
    "UnSupportedError",
    "Upper",
    "ValidationError",
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
    "migrations",  # a subpackage: ``from yara_orm import *`` imports it
    "on_commit",
    "post_delete",
    "post_save",
    "pre_delete",
    "pre_save",
    "register_dialect",
    "retry_transaction",
    "run_async",
    "signals",
    "timezone",
    "validators",
]
__version__ = "0.1.0"
