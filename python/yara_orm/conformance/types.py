"""The field types the kit round-trips: how to declare each, its hypothesis strategy, its edge
values and how two values of it compare.

Every range comes from the backend's capability manifest and is built into the strategy
(values are mapped into range, never filtered out), so the search never wastes examples.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from .. import fields
from ..fields.base import Field

Caps = dict[str, Any]


class Colour(enum.IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 300


class Mood(enum.StrEnum):
    HAPPY = "happy"
    GRUMPY = "grumpy"
    EMPTY = ""


@dataclass(frozen=True)
class TypeCase:
    """One field type: ``field(caps, null)`` declares a column of it."""

    name: str
    field: Callable[[Caps, bool], Field[Any]]
    strategy: Callable[[Caps], st.SearchStrategy[Any]]
    edges: Callable[[Caps], list[Any]]
    requires: str | None = None


# -- capability helpers -------------------------------------------------------------------------


def decimal_shape(caps: Caps) -> tuple[int, int]:
    """``(max_digits, decimal_places)`` of the kit's DecimalField: as wide as the backend allows,
    capped at 38 digits so the ORM's arithmetic context stays cheap."""
    digits = max(1, min(int(caps.get("numeric_max_digits") or 15), 38))
    return digits, digits // 3


def date_bounds(caps: Caps) -> tuple[dt.date, dt.date]:
    lo, hi = caps.get("date_range") or (1, 9999)
    return dt.date(max(1, int(lo)), 1, 1), dt.date(min(9999, int(hi)), 12, 31)


def _precision(caps: Caps) -> int:
    return max(1, int(caps.get("timestamp_precision_us") or 1))


def _text_chars(caps: Caps, *, json_text: bool = False) -> st.SearchStrategy[str]:
    # Lone surrogates cannot be encoded by any driver: that is a clear error, tested elsewhere.
    exclude = "" if caps.get("text_allows_nul") and not json_text else "\x00"
    return st.characters(codec="utf-8", exclude_characters=exclude)


def _float_strategy(caps: Caps) -> st.SearchStrategy[float]:
    base = st.floats(allow_nan=bool(caps.get("float_nan")), allow_infinity=bool(caps.get("float_infinity")))
    if caps.get("float_signed_zero"):
        return base
    # -0.0 + 0.0 is 0.0: map the unsupported signed zero onto the supported one.
    return base.map(lambda x: x + 0.0)


def scaled(unscaled: int, places: int) -> decimal.Decimal:
    """``unscaled * 10**-places`` exactly (no context rounding, whatever the digit count)."""
    sign = 1 if unscaled < 0 else 0
    return decimal.Decimal((sign, tuple(int(d) for d in str(abs(unscaled))), -places))


def _decimal_strategy(caps: Caps) -> st.SearchStrategy[decimal.Decimal]:
    digits, places = decimal_shape(caps)
    bound = 10**digits - 1
    return st.integers(-bound, bound).map(lambda i: scaled(i, places))


def _time_strategy(caps: Caps) -> st.SearchStrategy[dt.time]:
    p = _precision(caps)
    return st.times().map(lambda t: t.replace(microsecond=t.microsecond - t.microsecond % p))


_ODD_ZONES = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(-dt.timedelta(hours=3, minutes=17, seconds=7)),
    dt.timezone(dt.timedelta(hours=14)),
]


def _datetime_strategy(caps: Caps) -> st.SearchStrategy[dt.datetime]:
    lo, hi = date_bounds(caps)
    # One day of margin so that any offset stays inside the range once converted to UTC.
    lo_dt = dt.datetime.combine(lo + dt.timedelta(days=1), dt.time())
    hi_dt = dt.datetime.combine(hi - dt.timedelta(days=1), dt.time())
    p = _precision(caps)
    zones: Any = st.one_of(st.none(), st.sampled_from(_ODD_ZONES))
    return st.datetimes(lo_dt, hi_dt, timezones=zones).map(
        lambda d: d.replace(microsecond=d.microsecond - d.microsecond % p)
    )


_MAX_DELTA = dt.timedelta(days=1_000_000)


def _json_strategy(caps: Caps) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        # Below 1e16 Python writes integral floats as "3.0", not "1e+16": a server that stores
        # numbers in decimal (jsonb) then gives back the same text, so the type survives.
        st.floats(-1e15, 1e15, allow_nan=False).map(lambda x: x + 0.0),
        st.text(_text_chars(caps, json_text=True), max_size=20),
    )
    keys = st.text(_text_chars(caps, json_text=True), max_size=10)
    documents = st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=12,
    )
    # A top-level None is SQL NULL to the ORM, not JSON null: map it to a document holding null.
    return documents.map(lambda d: [None] if d is None else d)


def _edges_datetime(caps: Caps) -> list[Any]:
    lo, hi = date_bounds(caps)
    p = _precision(caps)
    micro = 999_999 - 999_999 % p
    return [
        dt.datetime(2024, 2, 29, 23, 59, 59, micro, tzinfo=dt.UTC),
        dt.datetime(2001, 9, 9, 1, 46, 40, p, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, micro, tzinfo=dt.UTC),
        dt.datetime.combine(lo + dt.timedelta(days=1), dt.time(0, 0, 0, p), tzinfo=dt.UTC),
        dt.datetime.combine(hi - dt.timedelta(days=1), dt.time(23, 59, 59, micro), tzinfo=dt.UTC),
        dt.datetime(2021, 3, 28, 1, 30, tzinfo=_ODD_ZONES[2]),
        dt.datetime(2024, 6, 1, 12, 0, 0, 123_456 - 123_456 % p),
    ]


def _edges_float(caps: Caps) -> list[Any]:
    out: list[float] = [0.0, 1.0, -1.0, 1.5e-300, 5e-324, -5e-324, 1.7976931348623157e308, 0.1, 1 / 3]
    if caps.get("float_signed_zero"):
        out.append(-0.0)
    if caps.get("float_infinity"):
        out += [math.inf, -math.inf]
    if caps.get("float_nan"):
        out.append(math.nan)
    return out


def _edges_decimal(caps: Caps) -> list[Any]:
    digits, places = decimal_shape(caps)
    # Built exactly: unary minus would round to the default context's 28 digits.
    big = 10**digits - 1
    return [
        decimal.Decimal(0),
        decimal.Decimal("1.000"),
        scaled(big, places),
        scaled(-big, places),
        scaled(1, places),
        scaled(-1, places),
        decimal.Decimal("-0"),
    ]


def _edges_text(caps: Caps, limit: int) -> list[Any]:
    out = [
        "",
        " ",
        "'",
        '"',
        "\\",
        "%",
        "_",
        "a%b_c\\d",
        "émoji 🐍 \U0001f600",
        "\u00e9\u0301",
        "line\nbreak\t",
    ]
    if caps.get("text_allows_nul"):
        out.append("nul\x00inside")
    out.append("x" * limit)
    return out


def _int_case(name: str, factory: Callable[..., Field[Any]], lo: int, hi: int) -> TypeCase:
    return TypeCase(
        name,
        lambda caps, null: factory(null=null),
        lambda caps: st.integers(lo, hi),
        lambda caps: [0, 1, -1, lo, hi, lo + 1, hi - 1],
    )


def _char_field(caps: Caps, null: bool) -> Field[Any]:
    return fields.CharField(max_length=64, null=null)


def _decimal_field(caps: Caps, null: bool) -> Field[Any]:
    digits, places = decimal_shape(caps)
    return fields.DecimalField(max_digits=digits, decimal_places=places, null=null)


TYPE_CASES: list[TypeCase] = [
    _int_case("SmallIntField", fields.SmallIntField, -(2**15), 2**15 - 1),
    _int_case("IntField", fields.IntField, -(2**31), 2**31 - 1),
    _int_case("BigIntField", fields.BigIntField, -(2**63), 2**63 - 1),
    TypeCase("FloatField", lambda c, n: fields.FloatField(null=n), _float_strategy, _edges_float),
    TypeCase("DecimalField", _decimal_field, _decimal_strategy, _edges_decimal),
    TypeCase(
        "CharField",
        _char_field,
        lambda c: st.text(_text_chars(c), max_size=64),
        lambda c: _edges_text(c, 64),
    ),
    TypeCase(
        "TextField",
        lambda c, n: fields.TextField(null=n),
        lambda c: st.text(_text_chars(c), max_size=200),
        # Around 64 KiB (a 16-bit length somewhere cuts there), and 1 MiB.
        lambda c: [*_edges_text(c, 10), "y" * 65_535, "é" * 32_768, "q" * 65_537, "y" * (1 << 20)],
    ),
    TypeCase(
        "BinaryField",
        lambda c, n: fields.BinaryField(null=n),
        lambda c: st.binary(max_size=200),
        lambda c: [
            b"",
            b"\x00",
            bytes(range(256)),
            b"\xff" * 1024,
            b"\x00" * 65_536,
            b"w" * 65_537,
            b"z" * (1 << 20),
        ],
    ),
    TypeCase(
        "BooleanField",
        lambda c, n: fields.BooleanField(null=n),
        lambda c: st.booleans(),
        lambda c: [True, False],
    ),
    TypeCase(
        "DateField",
        lambda c, n: fields.DateField(null=n),
        lambda c: st.dates(*date_bounds(c)),
        lambda c: [*date_bounds(c), dt.date(1582, 10, 15), dt.date(2000, 2, 29), dt.date(1970, 1, 1)],
    ),
    TypeCase(
        "TimeField",
        lambda c, n: fields.TimeField(null=n),
        _time_strategy,
        lambda c: [
            dt.time(0, 0),
            dt.time(23, 59, 59, 999_999 - 999_999 % _precision(c)),
            dt.time(12, 0, 0, 1),
        ],
    ),
    TypeCase("DatetimeField", lambda c, n: fields.DatetimeField(null=n), _datetime_strategy, _edges_datetime),
    TypeCase(
        "TimeDeltaField",
        lambda c, n: fields.TimeDeltaField(null=n),
        lambda c: st.timedeltas(-_MAX_DELTA, _MAX_DELTA),
        lambda c: [
            dt.timedelta(0),
            dt.timedelta(microseconds=1),
            dt.timedelta(microseconds=-1),
            dt.timedelta(days=-1, seconds=5),
            dt.timedelta(days=999_999, microseconds=999_999),
            -_MAX_DELTA,
        ],
        requires="interval",
    ),
    TypeCase(
        "UUIDField",
        lambda c, n: fields.UUIDField(null=n),
        lambda c: st.uuids(),
        lambda c: [
            uuid.UUID(int=0),
            uuid.UUID(int=2**128 - 1),
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ],
    ),
    TypeCase(
        "JSONField",
        lambda c, n: fields.JSONField(null=n),
        _json_strategy,
        lambda c: [
            {},
            [],
            0,
            "",
            True,
            {"nested": {"deeper": [1, 2.5, None, {"k": "v"}]}},
            {"ключ": "значение", "🔑": ["🐍"]},
            [None],
            2**53,
            -(2**53),
            3,
            3.0,
            -0.5,
            1e-7,
            {"int": 3, "float": 3.0, "neg": -1, "frac": 0.1},
            [1, 1.0, True, None, "1"],
            {"big": list(range(2000))},
        ],
        requires="json",
    ),
    TypeCase(
        "IntEnumField",
        lambda c, n: fields.IntEnumField(Colour, null=n),
        lambda c: st.sampled_from(Colour),
        lambda c: list(Colour),
    ),
    TypeCase(
        "CharEnumField",
        lambda c, n: fields.CharEnumField(Mood, null=n),
        lambda c: st.sampled_from(Mood),
        lambda c: list(Mood),
    ),
]

CASES_BY_NAME = {case.name: case for case in TYPE_CASES}


# -- comparison ---------------------------------------------------------------------------------


def same(expected: Any, got: Any) -> bool:
    """Equality that a round-trip must keep: NaN equals NaN, the sign of zero counts, datetimes
    compare as instants but must stay aware, decimals compare by value, JSON deeply."""
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, float):
        if not isinstance(got, float):
            return False
        if math.isnan(expected):
            return math.isnan(got)
        return expected == got and math.copysign(1.0, expected) == math.copysign(1.0, got)
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, dt.datetime):
        if not isinstance(got, dt.datetime) or (expected.tzinfo is None) != (got.tzinfo is None):
            return False
        return expected == got
    if isinstance(expected, dict | list):
        return _json_same(expected, got)
    if isinstance(expected, enum.Enum):
        return bool(expected == got) and isinstance(got, type(expected))
    return type(got) is type(expected) and bool(expected == got)


def _json_same(expected: Any, got: Any) -> bool:
    # Numbers keep their type: 3 must not come back as 3.0 (nor 3.0 as 3), which users see.
    # Key order may differ (jsonb sorts keys); values compare exactly.
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        if type(got) is not type(expected):
            return False
        return same(expected, got)
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(expected) == set(got)
            and all(_json_same(expected[k], got[k]) for k in expected)
        )
    if isinstance(expected, list):
        return isinstance(got, list) and len(expected) == len(got) and all(map(_json_same, expected, got))
    return same(expected, got)


def expected_value(field: Field[Any], value: Any, caps: Caps) -> Any:
    """What reading ``value`` back must give: the ORM's own coercion of it (decimals quantised,
    naive datetimes made aware, enums resolved), and NULL for '' where the backend says so."""
    if value is None:
        return None
    out = field.to_python(value)
    if out == "" and caps.get("empty_string_is_null"):
        return None
    return out


def show(value: Any, limit: int = 160) -> str:
    """A repr short enough for a failure message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 30]}...<{len(text)} chars>"


def same_for(field: Field[Any], expected: Any, got: Any) -> bool:
    """:func:`same`, with JSON numbers compared as numbers (``1e16`` may come back as an int)."""
    if field.type_key == "json":
        return _json_same(expected, got)
    return same(expected, got)
