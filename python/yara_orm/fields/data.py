"""The column types: numbers, text, binary, booleans, dates and times, UUID, JSON, enums."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

if TYPE_CHECKING:
    from typing import Self

from .. import _engine
from ..exceptions import ConfigurationError, ValidationError
from ..timezone import localtime, to_utc
from .base import Field

__all__ = [
    "BigIntField",
    "BinaryField",
    "BooleanField",
    "CharEnumField",
    "CharField",
    "DateField",
    "DatetimeField",
    "DecimalField",
    "FloatField",
    "IntEnumField",
    "IntField",
    "JSONField",
    "SmallIntField",
    "TextField",
    "TimeDeltaField",
    "TimeField",
    "UUIDField",
]


# -- numbers --------------------------------------------------------------------------------------


class IntField(Field[int]):
    """A 32-bit integer. ``primary_key=True`` makes it a database-generated id by default."""

    type_key = "int"
    python_type = int
    min_value: ClassVar[int] = -(2**31)
    max_value: ClassVar[int] = 2**31 - 1

    def __init__(self, primary_key: bool | None = None, **kwargs: Any) -> None:
        is_pk = bool(primary_key) or bool(kwargs.get("pk"))
        kwargs.setdefault("generated", is_pk)
        super().__init__(primary_key=primary_key, **kwargs)

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        return f"type({var}) is int and {self.min_value} <= {var} <= {self.max_value}"

    def coerce(self, value: Any) -> int:
        if type(value) is int:
            result = value
        elif isinstance(value, bool) or (isinstance(value, enum.Enum) and not isinstance(value, int)):
            return self.fail(value)
        elif (
            isinstance(value, int)
            or (isinstance(value, float) and value.is_integer())
            or (isinstance(value, decimal.Decimal) and value == value.to_integral_value())
        ):
            result = int(value)
        elif isinstance(value, str):
            try:
                result = int(value.strip())
            except ValueError:
                return self.fail(value)
        else:
            return self.fail(value)
        if not self.min_value <= result <= self.max_value:
            raise ValidationError(
                f"{self.qualified_name}: {result} is out of range for {type(self).__name__} "
                f"[{self.min_value}, {self.max_value}]"
            )
        return result


class SmallIntField(IntField):
    """A 16-bit integer."""

    type_key = "smallint"
    min_value = -(2**15)
    max_value = 2**15 - 1


class BigIntField(IntField):
    """A 64-bit integer."""

    type_key = "bigint"
    min_value = -(2**63)
    max_value = 2**63 - 1


class FloatField(Field[float]):
    """A double-precision float."""

    type_key = "float"
    python_type = float

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        return f"type({var}) is float"

    def coerce(self, value: Any) -> float:
        if type(value) is float:
            return value
        if isinstance(value, bool):
            return self.fail(value)
        if isinstance(value, int | float | decimal.Decimal):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return self.fail(value)
        return self.fail(value)


class DecimalField(Field[decimal.Decimal]):
    """An exact decimal with ``max_digits`` digits, ``decimal_places`` of them after the point.

    A value with more decimal places than the column keeps is refused (ValidationError): storing
    ``Decimal("1.005")`` as ``1.00`` would lose money silently. ``rounding=`` one of the
    ``decimal`` module's modes (``decimal.ROUND_HALF_EVEN``, ``ROUND_HALF_UP``...) rounds such
    values with that mode instead. Trailing zeros (``Decimal("1.500")``) are not extra places.
    """

    type_key = "decimal"
    python_type = decimal.Decimal
    _ROUNDINGS = frozenset(getattr(decimal, name) for name in dir(decimal) if name.startswith("ROUND_"))

    def __init__(
        self, max_digits: int, decimal_places: int, rounding: str | None = None, **kwargs: Any
    ) -> None:
        if max_digits < 1 or decimal_places < 0 or decimal_places > max_digits:
            raise ConfigurationError(
                "DecimalField needs max_digits >= 1 and 0 <= decimal_places <= max_digits"
            )
        if rounding is not None and rounding not in self._ROUNDINGS:
            raise ConfigurationError(
                f"DecimalField rounding must be one of {', '.join(sorted(self._ROUNDINGS))}, got {rounding!r}"
            )
        self.rounding = rounding
        super().__init__(**kwargs)
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self._quantum = decimal.Decimal(1).scaleb(-decimal_places)
        self._context = decimal.Context(prec=max(max_digits, 28) + 2)

    def coerce(self, value: Any) -> decimal.Decimal:
        if isinstance(value, decimal.Decimal):
            result = value
        elif isinstance(value, bool):
            return self.fail(value)
        elif isinstance(value, int):
            result = decimal.Decimal(value)
        elif isinstance(value, float):
            result = decimal.Decimal(repr(value))
        elif isinstance(value, str):
            try:
                result = decimal.Decimal(value.strip())
            except decimal.InvalidOperation:
                return self.fail(value)
        else:
            return self.fail(value)
        if not result.is_finite():
            raise ValidationError(f"{self.qualified_name}: {result} is not a finite decimal")
        try:
            quantised = result.quantize(
                self._quantum, rounding=self.rounding or decimal.ROUND_HALF_EVEN, context=self._context
            )
        except decimal.InvalidOperation:  # far too many digits for the arithmetic context
            quantised = None
        if self.rounding is None and quantised is not None and quantised != result:
            raise ValidationError(
                f"{self.qualified_name}: {result} has more than {self.decimal_places} decimal places "
                "(give the field rounding=decimal.ROUND_HALF_EVEN, say, to round instead)"
            )
        if quantised is None or quantised.adjusted() + 1 > self.max_digits - self.decimal_places:
            raise ValidationError(
                f"{self.qualified_name}: {result} has more than {self.max_digits - self.decimal_places} "
                f"digit(s) before the point (max_digits={self.max_digits}, "
                f"decimal_places={self.decimal_places})"
            )
        return quantised

    def parse_raw(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            value = repr(value)
        return decimal.Decimal(value).quantize(self._quantum, context=self._context)


# -- text and bytes -------------------------------------------------------------------------------


class CharField(Field[str]):
    """Text of at most ``max_length`` characters (checked before SQL on every backend)."""

    type_key = "varchar"
    python_type = str

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        if int(max_length) < 1:
            raise ConfigurationError("CharField needs max_length >= 1")
        super().__init__(**kwargs)
        self.max_length = int(max_length)

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        return f"type({var}) is str and len({var}) <= {self.max_length}"

    def coerce(self, value: Any) -> str:
        if type(value) is not str:
            value = _text(self, value)
        if len(value) > self.max_length:
            raise ValidationError(
                f"{self.qualified_name}: {len(value)} characters is longer than max_length={self.max_length}"
            )
        return str(value)


class TextField(Field[str]):
    """Unbounded text."""

    type_key = "text"
    python_type = str

    def __init__(self, primary_key: bool | None = None, *, pk: bool | None = None, **kwargs: Any) -> None:
        if primary_key or pk:
            # MariaDB cannot index an unbounded TEXT as a key; CharField says how long keys are.
            warnings.warn(
                "TextField as a PrimaryKey is Deprecated, use CharField instead",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(primary_key=primary_key, pk=pk, **kwargs)

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        return f"type({var}) is str"

    def coerce(self, value: Any) -> str:
        if type(value) is str:
            return value
        return _text(self, value)


def _text(field: Field[str], value: Any) -> str:
    """What the anchors store for a non-``str`` text value: a str enum's value, a str
    subclass as plain str, an integer in decimal (``CharField`` primary keys given as ``17``);
    a UUID in its hyphenated form; anything else is refused rather than stringified."""
    if isinstance(value, enum.Enum):
        if isinstance(value.value, str):
            return value.value
        return field.fail(value)
    if isinstance(value, str):
        return str(value)
    if (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, uuid.UUID):
        return str(value)
    return field.fail(value)


class BinaryField(Field[bytes]):
    """Raw bytes (BYTEA / BLOB)."""

    type_key = "binary"
    python_type = bytes
    array_safe = False

    def coerce(self, value: Any) -> bytes:
        if type(value) is bytes:
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        return self.fail(value)


class BooleanField(Field[bool]):
    """True or False."""

    type_key = "bool"
    python_type = bool

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        return f"({var} is True or {var} is False)"

    def coerce(self, value: Any) -> bool:
        if value is True or value is False:
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            # Form and query-string input: bool("false") would be True, so spell it out.
            text = value.strip().lower()
            if text in _TRUE_STRINGS:
                return True
            if text in _FALSE_STRINGS:
                return False
        return self.fail(value)


_TRUE_STRINGS = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE_STRINGS = frozenset({"false", "f", "0", "no", "n", "off"})


# -- dates and times ------------------------------------------------------------------------------


class DateField(Field[dt.date]):
    """A calendar date."""

    type_key = "date"
    python_type = dt.date

    def coerce(self, value: Any) -> dt.date:
        if type(value) is dt.date:
            return value
        if isinstance(value, dt.date):
            # A datetime narrows to its calendar date (as both anchors take it).
            return dt.date(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
            try:
                return dt.datetime.fromisoformat(value).date()  # "2026-07-01T10:20:30"
            except ValueError:
                return self.fail(value)
        return self.fail(value)


class _AutoNow:
    """``auto_now`` (set on every save) and ``auto_now_add`` (set when the row is created) for
    the date/time fields; the writes stamp them through ``auto_value``."""

    auto_now: bool
    auto_now_add: bool

    def _init_auto(self, auto_now: bool, auto_now_add: bool) -> None:
        if auto_now and auto_now_add:
            raise ConfigurationError(
                f"You can choose only 'auto_now' or 'auto_now_add' ({type(self).__name__}: auto_now "
                "also stamps new rows)"
            )
        self.auto_now = auto_now
        self.auto_now_add = auto_now_add

    def _auto_constraints(self, out: dict[str, Any]) -> dict[str, Any]:
        if self.auto_now or self.auto_now_add:
            out["readOnly"] = True  # set by the ORM, not by the application
        return out

    def _auto_describe(self, out: dict[str, Any]) -> dict[str, Any]:
        out["auto_now"] = self.auto_now
        out["auto_now_add"] = self.auto_now_add
        return out


class TimeField(_AutoNow, Field[dt.time]):
    """A time of day (without a date); ``auto_now``/``auto_now_add`` stamp the current time of
    day in the configured timezone."""

    type_key = "time"
    python_type = dt.time

    def __init__(self, auto_now: bool = False, auto_now_add: bool = False, **kwargs: Any) -> None:
        self._init_auto(auto_now, auto_now_add)
        super().__init__(**kwargs)

    def auto_value(self, stamp: dt.datetime) -> dt.time:
        return localtime(stamp).time()

    @property
    def constraints(self) -> dict[str, Any]:
        return self._auto_constraints(super().constraints)

    def describe(self, serializable: bool = True) -> dict[str, Any]:
        return self._auto_describe(super().describe(serializable))

    def coerce(self, value: Any) -> dt.time:
        if type(value) is dt.time:
            return value
        if isinstance(value, dt.time):
            return value.replace()
        if isinstance(value, dt.datetime):
            return value.timetz()  # its time of day
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                return self.fail(value)
        return self.fail(value)


class DatetimeField(_AutoNow, Field[dt.datetime]):
    """An instant, stored timezone-aware. Values read back are aware UTC datetimes; naive values
    assigned are taken to be in ``YaraOrm.init(timezone=...)`` (UTC by default).

    ``auto_now`` sets it on every save, ``auto_now_add`` when the row is created."""

    type_key = "datetime"
    python_type = dt.datetime
    array_safe = True

    def __init__(self, auto_now: bool = False, auto_now_add: bool = False, **kwargs: Any) -> None:
        self._init_auto(auto_now, auto_now_add)
        super().__init__(**kwargs)

    def auto_value(self, stamp: dt.datetime) -> dt.datetime:
        return stamp

    @property
    def constraints(self) -> dict[str, Any]:
        return self._auto_constraints(super().constraints)

    def describe(self, serializable: bool = True) -> dict[str, Any]:
        return self._auto_describe(super().describe(serializable))

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        namespace[f"{tag}_datetime"], namespace[f"{tag}_utc"] = dt.datetime, dt.UTC
        return f"type({var}) is {tag}_datetime and {var}.tzinfo is {tag}_utc"

    def coerce(self, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            if value.tzinfo is dt.UTC:
                return value
            return to_utc(value)
        if isinstance(value, dt.date):
            # A bare date means its midnight (in the configured timezone), as in the anchors.
            return to_utc(dt.datetime.combine(value, dt.time()))
        if isinstance(value, str):
            try:
                return to_utc(dt.datetime.fromisoformat(value))
            except ValueError:
                return self.fail(value)
        return self.fail(value)

    def parse_raw(self, value: Any) -> Any:
        if value is None or isinstance(value, dt.datetime):
            return value if value is None else to_utc(value)
        text = str(value)
        return to_utc(dt.datetime.fromisoformat(text))


class TimeDeltaField(Field[dt.timedelta]):
    """A duration (INTERVAL on PostgreSQL, integer microseconds on SQLite)."""

    type_key = "interval"
    python_type = dt.timedelta

    def parse_raw(self, value: Any) -> Any:
        if value is None or isinstance(value, dt.timedelta):
            return value
        if isinstance(value, dt.time):
            # MySQL's TIME holds both; the engine reads a non-negative value under a day as a
            # time of day.
            return dt.timedelta(
                hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
            )
        return dt.timedelta(microseconds=int(value))

    def from_db(self, value: Any) -> Any:
        return value if value is None or type(value) is dt.timedelta else self.parse_raw(value)

    def coerce(self, value: Any) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            # Integer microseconds, the anchors' storage form for durations.
            return dt.timedelta(microseconds=value)
        return self.fail(value)


class UUIDField(Field[uuid.UUID]):
    """A UUID (native on PostgreSQL, 36-character text on SQLite).

    As a primary key it defaults to ``uuid.uuid4``."""

    type_key = "uuid"
    python_type = uuid.UUID

    def __init__(self, **kwargs: Any) -> None:
        if (kwargs.get("primary_key") or kwargs.get("pk")) and "default" not in kwargs:
            kwargs["default"] = uuid.uuid4
        super().__init__(**kwargs)

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        namespace[f"{tag}_uuid"] = uuid.UUID
        return f"type({var}) is {tag}_uuid"

    def coerce(self, value: Any) -> uuid.UUID:
        if type(value) is uuid.UUID:
            return value
        if isinstance(value, uuid.UUID):
            return uuid.UUID(int=value.int)
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                return self.fail(value)
        if isinstance(value, bytes) and len(value) == 16:
            return uuid.UUID(bytes=value)
        return self.fail(value)


# -- JSON -----------------------------------------------------------------------------------------


def _default_encoder(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class JSONField(Field[Any]):
    """A JSON document (JSONB on PostgreSQL). ``encoder``/``decoder`` customise the text form:
    with a custom decoder the column is read as text and decoded by it."""

    if not TYPE_CHECKING:
        # Tortoise code writes ``fields.JSONField[dict](...)``; the document type is not
        # tracked here, so the subscript is the field class itself.
        def __class_getitem__(cls, item):
            return cls

    type_key = "json"
    python_type = object
    array_safe = False
    identity_db = False

    def __init__(
        self,
        encoder: Callable[[Any], str] | None = None,
        decoder: Callable[[str], Any] | None = None,
        field_type: type | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder or _default_encoder
        self.decoder = decoder
        self.custom_decoder = decoder is not None
        # A pydantic model class (``field_type=Schema``): documents are read back as instances
        # of it and instances are stored as their JSON.
        self.field_type = field_type
        if decoder is not None or field_type is not None:
            self.from_db = self._decode

    def _decode(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bytes | str) and self.decoder is not None:
            value = self.decoder(value if isinstance(value, str) else value.decode())
        validate = getattr(self.field_type, "model_validate", None)
        return validate(value) if validate is not None else value

    def coerce(self, value: Any) -> Any:
        return value

    def encode(self, value: Any) -> str:
        dump = getattr(value, "model_dump", None)
        if callable(dump):  # a pydantic model instance
            value = dump(mode="json")
        try:
            return self.encoder(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{self.qualified_name}: value is not JSON serialisable: {exc}") from exc

    def db_value(self, value: Any) -> Any:
        return _engine.Json(self.encode(value), raw=True)

    def parse_raw(self, value: Any) -> Any:
        if isinstance(value, str | bytes):
            return (self.decoder or json.loads)(value if isinstance(value, str) else value.decode())
        return value


# -- enums ----------------------------------------------------------------------------------------

IE = TypeVar("IE", bound=enum.IntEnum)
CE = TypeVar("CE", bound=enum.Enum)


class _EnumMixin:
    enum_type: type[enum.Enum]

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        namespace[f"{tag}_enum"] = self.enum_type
        return f"type({var}) is {tag}_enum"

    def to_db(self, value: Any) -> Any:
        # A member's stored value is its ``_value_`` (str or int, checked when the field was
        # declared): no coercion or property lookup per value in bulk writes.
        if type(value) is self.enum_type:
            return value._value_
        return super().to_db(value)  # type: ignore[misc]

    def _member_lookup(self) -> Callable[[Any], Any]:
        """Decoding as a table lookup (stored value -> member), which the engine runs without
        calling Python; a stored value the enum lacks raises ValidationError naming the valid
        ones."""
        return _engine.TableConverter({member.value: member for member in self.enum_type}, self._member)

    def _member(self, value: Any) -> Any:
        try:
            return self.enum_type(value)
        except ValueError:
            valid = ", ".join(repr(m.value) for m in self.enum_type)
            raise ValidationError(
                f"{self.qualified_name}: {value!r} is not a valid {self.enum_type.__name__} (valid: {valid})"  # type: ignore[attr-defined]
            ) from None


class IntEnumFieldInstance(_EnumMixin, SmallIntField, Generic[IE]):
    """A ``enum.IntEnum`` stored as a small integer."""

    identity_db = False

    def __init__(self, enum_type: type[IE], **kwargs: Any) -> None:
        if not issubclass(enum_type, enum.IntEnum):
            raise ConfigurationError("IntEnumField needs an enum.IntEnum subclass")
        super().__init__(**kwargs)
        self.enum_type = enum_type
        self.from_db = self._member_lookup()

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type) -> Self: ...
        @overload
        def __get__(self, instance: object, owner: type) -> IE: ...
        def __get__(self, instance: object | None, owner: type) -> Self | IE: ...
        def __set__(self, instance: object, value: IE) -> None: ...  # type: ignore[override]

    def coerce(self, value: Any) -> Any:
        if type(value) is self.enum_type:
            return value
        if isinstance(value, bool) or not isinstance(value, int | str):
            return self.fail(value, f"expected {self.enum_type.__name__}")
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                return self.fail(value, f"expected {self.enum_type.__name__}")
        return self._member(value)

    def db_value(self, value: Any) -> Any:
        return int(value)

    def parse_raw(self, value: Any) -> Any:
        return None if value is None else self.enum_type(int(value))


class CharEnumFieldInstance(_EnumMixin, CharField, Generic[CE]):
    """An enum whose values are strings, stored as VARCHAR."""

    identity_db = False

    def __init__(self, enum_type: type[CE], max_length: int = 0, **kwargs: Any) -> None:
        if not issubclass(enum_type, enum.Enum) or not all(isinstance(m.value, str) for m in enum_type):
            raise ConfigurationError("CharEnumField needs an enum whose values are all strings")
        longest = max((len(m.value) for m in enum_type), default=1)
        super().__init__(max_length=max(max_length, longest, 1), **kwargs)
        self.enum_type = enum_type
        self.from_db = self._member_lookup()

    if TYPE_CHECKING:

        @overload  # type: ignore[override]
        def __get__(self, instance: None, owner: type) -> Self: ...
        @overload
        def __get__(self, instance: object, owner: type) -> CE: ...
        def __get__(self, instance: object | None, owner: type) -> Self | CE: ...
        def __set__(self, instance: object, value: CE) -> None: ...  # type: ignore[override]

    def coerce(self, value: Any) -> Any:
        if type(value) is self.enum_type:
            return value
        if isinstance(value, self.enum_type):
            return value
        if not isinstance(value, str):
            return self.fail(value, f"expected {self.enum_type.__name__}")
        return self._member(value)

    def db_value(self, value: Any) -> Any:
        return str(value.value)

    def parse_raw(self, value: Any) -> Any:
        return None if value is None else self.enum_type(value)


def IntEnumField(enum_type: type[IE], **kwargs: Any) -> IntEnumFieldInstance[IE]:
    """An ``enum.IntEnum`` field (Tortoise spelling)."""
    return IntEnumFieldInstance(enum_type, **kwargs)


def CharEnumField(enum_type: type[CE], max_length: int = 0, **kwargs: Any) -> CharEnumFieldInstance[CE]:
    """A string enum field (Tortoise spelling)."""
    return CharEnumFieldInstance(enum_type, max_length, **kwargs)
