"""The field base class: options shared by every column type.

A field converts in three directions:

* ``to_python(value)`` coerces what a user assigns (``Model(x=...)``, ``update_from_dict``)
  to the canonical Python type, so ``create()`` returns the same types ``get()`` does;
* ``to_db(value)`` validates a value and turns it into what the engine binds;
* ``from_db`` (a converter or ``None``) turns what the engine decoded into the Python type.
  It is ``None`` for most fields: the engine already decodes by column type, and skipping the
  call per cell is what keeps fetches fast.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import enum
import inspect
import uuid
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, TypeVar, overload

from ..exceptions import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from typing import Self

    from ..models.model import Model

VT = TypeVar("VT")


class DatabaseDefault:
    """Tortoise's marker for "the database fills this column" (``db_default=``). Instances here
    hold ``None`` for such a field until the INSERT reads the value back; this is what
    :meth:`Field.get_db_default_value` returns for code that asks."""

    __slots__ = ("field",)

    def __init__(self, field: Field[Any]) -> None:
        self.field = field

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return "<DB_DEFAULT>"

    def __repr__(self) -> str:
        return f"DatabaseDefault({getattr(self.field, 'model_field_name', '') or '?'})"


class AsyncDefault:
    """An ``async def`` default (Tortoise allows them): the instance holds this until it is
    inserted, when the function is awaited and its result coerced."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory

    def __repr__(self) -> str:
        return f"<async default {getattr(self.factory, '__name__', self.factory)!r} (set on save)>"


# Tortoise's name for it here (``from tortoise.fields.base import StrEnum``).
StrEnum = enum.StrEnum

Validator = Callable[[Any], Any]


class _NoDefault:
    """Sentinel: the field has no default (distinct from ``default=None``)."""

    _instance: ClassVar[_NoDefault | None] = None

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()

# Defaults of these types are shared safely; anything else (lists, dicts...) is deep-copied
# per instance so one instance never mutates another's default.
_IMMUTABLE = (
    str,
    int,
    float,
    bool,
    bytes,
    tuple,
    frozenset,
    type(None),
    decimal.Decimal,
    uuid.UUID,
    dt.date,
    dt.time,
    dt.timedelta,
    enum.Enum,
)


class Field(Generic[VT]):
    """A column of a model.

    ``type_key`` names the column type in a dialect's type table; ``python_type`` is what
    values of the field are in Python.
    """

    type_key: ClassVar[str] = "text"
    python_type: ClassVar[type | tuple[type, ...]] = object
    # Whether the dialect can bind a Python list of these values as a typed array (UNNEST).
    array_safe: ClassVar[bool] = True
    # ``to_db`` returns its input unchanged for a value ``to_python`` already produced, so bulk
    # paths can skip the call for values that came through ``Model.__init__``.
    identity_db: ClassVar[bool] = True
    # Whether every value ``to_db`` returns can travel in PostgreSQL's binary COPY for this field's
    # column type (built-in fields: yes). A custom field that stores text into a non-text column
    # (an INET, say) sets False; bulk_create then binds arrays instead. The engine refuses such a
    # value loudly before sending anything.
    copy_safe: ClassVar[bool] = True

    def __init__(
        self,
        source_field: str | None = None,
        *,
        db_column: str | None = None,
        generated: bool = False,
        primary_key: bool | None = None,
        pk: bool | None = None,
        null: bool = False,
        default: Any = NO_DEFAULT,
        unique: bool = False,
        db_index: bool = False,
        index: bool = False,
        description: str | None = None,
        validators: Iterable[Validator] | None = None,
        db_default: Any = NO_DEFAULT,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise ConfigurationError(
                f"{type(self).__name__} got unknown option(s) {sorted(kwargs)}; valid options are "
                "source_field, db_column, primary_key, pk, null, default, unique, db_index, index, "
                "description, validators, db_default"
            )
        if db_default is NO_DEFAULT and callable(getattr(default, "to_sql", None)):
            # ``default=Now()`` / ``default=SqlDefault(...)``: the database computes it.
            default, db_default = NO_DEFAULT, default
        self.source_field: str | None = source_field or db_column
        if pk is not None:
            # Both anchors accept ``primary_key=`` (yara-orm 1.19 as the modern alias), so code
            # can move to it and keep working on either.
            warnings.warn(
                "`pk` is deprecated, please use `primary_key` instead", DeprecationWarning, stacklevel=3
            )
        if primary_key is not None and pk is not None and bool(primary_key) != bool(pk):
            raise ConfigurationError(
                f"{type(self).__name__}: pk={pk!r} contradicts primary_key={primary_key!r} "
                "(pk is the same option; give one of them)"
            )
        self.pk = bool(primary_key or pk)
        self.generated = generated
        self.null = null
        self.default = default
        self.unique = unique or self.pk
        self.index = bool(db_index or index)
        self.description = description
        self.validators: list[Validator] = list(validators or ())
        self.db_default = db_default
        self.model_field_name = ""
        self.model: type[Model] | None = None

    # -- naming -------------------------------------------------------------------------------

    def contribute(self, model: type[Model], name: str) -> None:
        """Bind the field to ``model`` under attribute ``name`` (called by the metaclass)."""
        self.model = model
        self.model_field_name = name
        if not self.source_field:
            self.source_field = name

    @property
    def column(self) -> str:
        return self.source_field or self.model_field_name

    def clone(self) -> Self:
        """A copy for a subclass inheriting this field from an abstract base."""
        new = copy.copy(self)
        new.validators = list(self.validators)
        new.model = None
        return new

    # -- defaults -----------------------------------------------------------------------------

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    def default_value(self) -> Any:
        """The value a new instance gets when none is given."""
        default = self.default
        if default is NO_DEFAULT:
            return None
        if callable(default):
            if inspect.iscoroutinefunction(default):
                return AsyncDefault(default)
            return self.to_python(default())
        if isinstance(default, _IMMUTABLE):
            return default
        return copy.deepcopy(default)

    def get_default(self) -> Any:
        """yara-orm 1.19's name for :meth:`default_value` (a mutable default is copied each time;
        None for a database-side default)."""
        return self.default_value()

    # -- conversion ---------------------------------------------------------------------------

    def to_python(self, value: Any) -> Any:
        """Coerce a user-supplied value; raise ValidationError when it cannot be."""
        if value is None:
            return None
        return self.coerce(value)

    def to_python_value(self, value: Any) -> Any:
        """Tortoise's name for :meth:`to_python`."""
        return self.to_python(value)

    def coerce(self, value: Any) -> Any:
        """Coerce a non-None value. Subclasses override this."""
        if not isinstance(value, self.python_type):
            self.fail(value)
        return value

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        """A Python expression, true when the value in variable ``var`` needs no ``coerce``
        (the generated ``__init__`` inlines it), or None to always coerce. Names the expression
        needs go into ``namespace`` under keys starting with ``tag``."""
        return None

    def to_db(self, value: Any) -> Any:
        """Validate ``value`` and return what the engine binds."""
        if value is None:
            if not self.null and not self.generated:
                raise ValidationError(f"{self.qualified_name}: this field is not nullable (got None)")
            return None
        return self.db_value(self.coerce(value))

    def db_value(self, value: Any) -> Any:
        """Turn a coerced value into the bound parameter (identity for most types)."""
        return value

    def lookup_value(self, value: Any) -> Any:
        """The bound form of a filter value compared against this column."""
        if value is None:
            return None
        return self.db_value(self.coerce(value))

    from_db: Callable[[Any], Any] | None = None

    def parse_raw(self, value: Any) -> Any:
        """Convert a value that came back without a declared column type (an expression on
        SQLite: a storage-class int/float/str/bytes) to this field's Python type."""
        if value is None:
            return None
        return self.coerce(value)

    def validate(self, value: Any) -> None:
        """Run the user's validators (on save). None in a nullable field is not validated;
        a ValidationError names the field (``"age: Value should be ..."``)."""
        if value is None and self.null:
            return
        for validator in self.validators:
            try:
                validator(value)
            except ValidationError as exc:
                raise ValidationError(f"{self.model_field_name}: {exc}") from exc

    def fail(self, value: Any, reason: str | None = None) -> NoReturn:
        expected = self.python_type
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else getattr(expected, "__name__", str(expected))
        )
        raise ValidationError(
            f"{self.qualified_name}: {reason or f'expected {names}'}, got {type(value).__name__} {value!r}"
        )

    @property
    def qualified_name(self) -> str:
        owner = self.model.__name__ if self.model is not None else "?"
        return f"{owner}.{self.model_field_name or '?'}"

    @property
    def required(self) -> bool:
        """Whether a new instance needs a value given (Tortoise's name): no default of any kind,
        not nullable, not generated."""
        return not (
            self.null or self.generated or self.default is not NO_DEFAULT or self.db_default is not NO_DEFAULT
        )

    def get_db_default_value(self) -> DatabaseDefault | None:
        """The marker of a database-side default, or None without one."""
        return DatabaseDefault(self) if self.db_default is not NO_DEFAULT else None

    @property
    def constraints(self) -> dict[str, Any]:
        """Tortoise's summary of what a value must satisfy (read by schema generators)."""
        out: dict[str, Any] = {}
        max_length = getattr(self, "max_length", None)
        if max_length is not None:
            out["max_length"] = max_length
        return out

    def describe(self, serializable: bool = True) -> dict[str, Any]:
        """The field as a dict (``serializable`` is Tortoise's flag: the output is always plain
        data here)."""
        return {
            "name": self.model_field_name,
            "field_type": type(self).__name__,
            "db_column": self.column,
            "python_type": getattr(self.python_type, "__name__", str(self.python_type)),
            "generated": self.generated,
            "nullable": self.null,
            "unique": self.unique,
            "indexed": self.index or self.unique,
            "default": None if self.default is NO_DEFAULT or callable(self.default) else self.default,
            "description": self.description,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.qualified_name}>"

    if TYPE_CHECKING:
        # Typing only: on an instance the attribute is the value, on the class the field. At
        # run time fields are moved into ``_meta`` and instances keep plain values in __dict__,
        # so attribute reads cost nothing extra.
        @overload
        def __get__(self, instance: None, owner: type) -> Self: ...
        @overload
        def __get__(self, instance: object, owner: type) -> VT: ...
        def __get__(self, instance: object | None, owner: type) -> Self | VT: ...
        def __set__(self, instance: object, value: VT) -> None: ...
