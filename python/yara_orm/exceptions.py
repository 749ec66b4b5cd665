"""The exception hierarchy of Yara ORM.

Everything the library raises on purpose derives from :class:`BaseORMException`.
Database errors carry the structured fields the server reported (``sqlstate``,
``constraint``, ``table``, ``column``, ``detail``) so callers never parse messages.
"""

from __future__ import annotations

from typing import Any


class BaseORMException(Exception):
    """Root of every exception Yara ORM raises on purpose."""


# yara-orm 1.19's name for the root exception.
ORMError = BaseORMException


class ConfigurationError(BaseORMException):
    """The library is misconfigured: a bad URL, an unknown option, a model used before init."""


class ConnectionConfigError(ConfigurationError, ValueError):
    """A connection's URL, options or credentials are invalid (an unknown option, a malformed
    value, a URL without a scheme): a ConfigurationError, and a ValueError as yara-orm 1.19
    raises for a bad URL. Other configuration errors (the engine runtime's settings, a model
    used before init) are plain ConfigurationErrors."""


class FieldError(BaseORMException):
    """A field or lookup name that does not exist, or a field declared wrongly."""


class FieldNotLoadedError(FieldError, AttributeError):
    """Reading a field an instance was loaded without (``only()``/``defer()``). A FieldError as
    yara-orm 1.19 raises, and an AttributeError as Tortoise raises (so ``getattr(obj, name,
    default)`` and ``hasattr`` keep working)."""


class UnknownArgumentError(FieldError, TypeError):
    """A model constructor got a name that is no field of the model (a TypeError too, as for
    any Python call with an unexpected keyword argument)."""


class ParamsError(FieldError, ValueError):
    """A query method was called with arguments that cannot work together (a ValueError too, as
    yara-orm 1.19 code catches it)."""


class ValidationError(FieldError, ValueError):
    """A value failed a field's type check or validators before any SQL ran (a ValueError too,
    as yara-orm 1.19 code catches bad values)."""


class UnSupportedError(BaseORMException):
    """The backend cannot do what was asked (declared by its capabilities)."""


class NoValuesFetched(BaseORMException):
    """A relation was read synchronously before it was fetched."""


class OperationalError(BaseORMException):
    """An error reported by the database or the driver while running a statement.

    The structured attributes are ``None`` when the server did not report them.
    """

    def __init__(
        self,
        message: str = "",
        *,
        sqlstate: str | None = None,
        constraint: str | None = None,
        table: str | None = None,
        column: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.constraint = constraint
        self.table = table
        self.column = column
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "sqlstate": self.sqlstate,
                    "constraint": self.constraint,
                    "table": self.table,
                    "column": self.column,
                    "detail": self.detail,
                },
            ),
        )


def _rebuild(cls: type[OperationalError], message: str, fields: dict[str, Any]) -> OperationalError:
    return cls(message, **fields)


class IntegrityError(OperationalError):
    """A unique, foreign-key, not-null or check constraint was violated."""


class RetryableError(OperationalError):
    """A transient conflict: retrying the whole transaction may succeed."""


class SerializationError(RetryableError):
    """Serialization failure (SQLSTATE 40001) under REPEATABLE READ or SERIALIZABLE."""


class DeadlockError(RetryableError):
    """The server broke a deadlock by aborting this transaction (SQLSTATE 40P01)."""


class DBConnectionError(OperationalError):
    """The connection to the database could not be made or was lost."""


class PoolTimeoutError(DBConnectionError):
    """No connection became free within the pool's acquire timeout."""


class QueryTimeoutError(OperationalError):
    """The statement ran longer than the statement timeout and was cancelled."""


class DataError(OperationalError):
    """A value the database (or the engine) cannot store in the target type: out of range, malformed."""


class ProgrammingError(OperationalError):
    """Malformed SQL, an unknown table or column, or a wrong number of parameters."""


class TransactionManagementError(OperationalError):
    """A transaction was used wrongly: after commit, from another task, or nested badly."""


class NotExistOrMultiple(OperationalError):
    """``get()`` found no row or more than one: the base of the two exceptions below."""


class DoesNotExist(NotExistOrMultiple):
    """``get()`` found no row."""


class MultipleObjectsReturned(NotExistOrMultiple):
    """``get()`` found more than one row."""


class NoRowAtIndexError(DoesNotExist, IndexError):
    """``await qs[i]`` past the last row (an IndexError too, as for a list)."""


class ObjectDoesNotExistError(DoesNotExist, KeyError):
    """``await Model[pk]`` found no row (a ``KeyError`` too, as for a mapping)."""

    def __init__(self, model: Any = None, pk_name: str = "pk", pk_val: Any = None) -> None:
        name = getattr(model, "__name__", str(model))
        super().__init__(f"{name} has no object with {pk_name}={pk_val}")
        self.model = model
        self.pk_name = pk_name
        self.pk_val = pk_val

    def __str__(self) -> str:
        # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class RelationInitError(ConfigurationError, TypeError):
    """A reverse or many-to-many relation given to a model's constructor (set it from the other
    side, or through the manager once saved); a TypeError too, as in yara-orm 1.19."""


class ParamsTypeError(ParamsError, TypeError):
    """An argument of the wrong type: an instance of another model where a relation's target was
    expected, a queryset index that is not an int or a slice (a TypeError too, as the anchors
    raise)."""


class UnsavedRelatedError(OperationalError, ValueError):
    """An unsaved instance (no primary key yet) was given as the target of a relation (a
    ValueError too, as yara-orm 1.19 raises; Tortoise raises OperationalError)."""


class IncompleteInstanceError(OperationalError):
    """An operation needs fields the instance was loaded without (``only``/``defer``)."""


class MigrationError(BaseORMException):
    """A migration cannot be loaded, planned or applied; the message says what to do."""


class IrreversibleError(MigrationError):
    """A migration has an operation that cannot be reverted (``RunSQL``/``RunPython`` without
    a backward part)."""
