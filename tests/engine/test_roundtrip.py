"""Every Value variant round-trips through every backend, NULL included, with the edge values of
../shared/design/conformance.md: a value bound as a parameter into a typed column comes back
equal (and of the same Python type); values a backend cannot store fail loudly."""

from __future__ import annotations

import gc
import math
import pickle
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from yara_orm import Pool, connect
from yara_orm._engine import Json
from yara_orm.exceptions import DataError, ParamsError

from ._util import create_table, ph, xfail_on_mysql

NEW_YORK = ZoneInfo("America/New_York")
MIB = 1 << 20

# Column type per logical type: (PostgreSQL DDL, SQLite DDL or None when unsupported there).
TYPES: dict[str, tuple[str, str | None]] = {
    "bool": ("boolean", "BOOLEAN"),
    "int2": ("smallint", "SMALLINT"),
    "int4": ("integer", "INTEGER"),
    "int8": ("bigint", "BIGINT"),
    "float8": ("double precision", "DOUBLE PRECISION"),
    "numeric": ("numeric", "NUMERIC"),
    "numeric(10,3)": ("numeric(10,3)", "DECIMAL(10,3)"),
    "numeric(20,8)": ("numeric(20,8)", "DECIMAL(20,8)"),
    "text": ("text", "TEXT"),
    "bytea": ("bytea", "BLOB"),
    "date": ("date", "DATE"),
    "time": ("time", "TIME"),
    "timestamp": ("timestamp", "TIMESTAMP"),
    "timestamptz": ("timestamptz", "TIMESTAMPTZ"),
    "interval": ("interval", "INTERVAL"),
    "uuid": ("uuid", "UUID"),
    # On SQLite a column declared plain JSON has NUMERIC affinity, which would turn a top-level
    # number into a REAL; TEXT affinity (the second word) keeps documents exact.
    "json": ("json", "JSON TEXT"),
    "jsonb": ("jsonb", "JSONB TEXT"),
    "int4[]": ("integer[]", None),
    "int8[]": ("bigint[]", None),
    "text[]": ("text[]", None),
    "bool[]": ("boolean[]", None),
    "float8[]": ("double precision[]", None),
    "numeric[]": ("numeric[]", None),
    "uuid[]": ("uuid[]", None),
    "timestamptz[]": ("timestamptz[]", None),
    "bytea[]": ("bytea[]", None),
    "int4[][]": ("integer[][]", None),
}

_MISSING: Any = object()


@dataclass(frozen=True)
class Case:
    id: str
    type: str
    value: Any
    expected: Any = _MISSING
    only: str | None = None  # "postgres" or "sqlite" when the case applies to one backend

    def want(self) -> Any:
        return self.value if self.expected is _MISSING else self.expected


def _cases() -> list[Case]:
    big_text = "0123456789abcdef" * (MIB // 16)
    multibyte = ("é中😀" * (MIB // 9 + 1))[: MIB // 3]
    all_bytes = bytes(range(256))
    aware = datetime(2024, 3, 10, 12, 34, 56, 789012, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    cases = [
        # Booleans, nullable.
        Case("true", "bool", True),
        Case("false", "bool", False),
        # Integers: exact min/max of int2/int4/int8, 0 and +-1.
        *[
            Case(f"{t}_{v}", t, v)
            for t, bits in (("int2", 16), ("int4", 32), ("int8", 64))
            for v in (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, 0, 1, -1)
        ],
        Case("int8_2^31", "int8", 2**31),
        Case("int8_-2^31-1", "int8", -(2**31) - 1),
        # Python ints beyond int64 go exactly into NUMERIC (PostgreSQL).
        *[
            Case(f"numeric_bigint_{i}", "numeric", v, Decimal(v), only="postgres")
            for i, v in enumerate((2**63, -(2**63) - 1, 2**64, 10**40, -(10**40) - 7))
        ],
        Case("numeric_int", "numeric", 5, Decimal(5)),
        # MySQL's BIGINT UNSIGNED beyond int64 reads back as an int, not a Decimal.
        *[Case(f"uint8_{v}", "uint8", v, only="mysql") for v in (2**64 - 1, 2**63, 0, 7)],
        # Floats: signed zero, subnormal, extremes, infinities; NaN where the backend stores it.
        Case("float_zero", "float8", 0.0),
        Case("float_neg_zero", "float8", -0.0, only="postgres"),
        # SQLite stores a REAL that is a whole number as an integer, so -0.0 reads back as 0.0;
        # its capabilities say so (float_signed_zero=False, checked below).
        Case("float_neg_zero_unsigned", "float8", -0.0, 0.0, only="sqlite"),
        Case("float_1.5", "float8", 1.5),
        Case("float_0.1", "float8", 0.1),
        Case("float_subnormal_min", "float8", 5e-324),
        Case("float_subnormal", "float8", 2.5e-310),
        Case("float_min_normal", "float8", 2.2250738585072014e-308),
        Case("float_max", "float8", 1.7976931348623157e308),
        Case("float_neg_tiny", "float8", -1e-300),
        Case("float_inf", "float8", math.inf),
        Case("float_neg_inf", "float8", -math.inf),
        Case("float_nan", "float8", math.nan, only="postgres"),
        Case("float_from_int", "float8", 3, 3.0),
        # Decimals: many digits (PostgreSQL), kept scale, tiny values, E-notation, specials.
        Case("dec_scale_kept", "numeric(10,3)", Decimal("1.000")),
        Case("dec_scale_padded", "numeric(10,3)", Decimal("1.5"), Decimal("1.500")),
        Case("dec_scale_negative", "numeric(10,3)", Decimal("-1234567.125")),
        Case("dec_tiny", "numeric(20,8)", Decimal("0.00000001")),
        Case("dec_14_digits", "numeric(20,8)", Decimal("123456.12345678")),
        Case("dec_plain", "numeric", Decimal("-2.25")),
        Case("dec_15_digits", "numeric", Decimal("123456789012345")),
        Case(
            "dec_many_digits",
            "numeric",
            Decimal("12345678901234567890.12345678901234567890"),
            only="postgres",
        ),
        Case(
            "dec_40_digits", "numeric", Decimal("-9876543210987654321098765432109876543.21"), only="postgres"
        ),
        Case("dec_beyond_96_bit", "numeric", Decimal("79228162514264337593543950336"), only="postgres"),
        Case("dec_tiny_30", "numeric", Decimal("0.000000000000000000000000000001"), only="postgres"),
        Case("dec_scale_kept_numeric", "numeric", Decimal("1.000"), only="postgres"),
        Case("dec_e_notation", "numeric", Decimal("1E+3"), Decimal("1000"), only="postgres"),
        Case("dec_e_notation_neg", "numeric", Decimal("1.5E-7"), Decimal("0.00000015"), only="postgres"),
        Case("dec_neg_zero", "numeric", Decimal("-0"), Decimal("0"), only="postgres"),
        Case("dec_nan", "numeric", Decimal("NaN"), only="postgres"),
        Case("dec_inf", "numeric", Decimal("Infinity"), only="postgres"),
        Case("dec_neg_inf", "numeric", Decimal("-Infinity"), only="postgres"),
        # Text: empty (not NULL), emoji/astral, quoting characters, 1 MiB; NUL where allowed.
        Case("text_empty", "text", ""),
        Case("text_emoji", "text", "emoji 😀🎉 👩‍👩‍👧 \U0010fffd"),
        Case("text_quotes", "text", 'it\'s "quoted" \\ back\\slash % and _ 100%_done'),
        Case("text_unicode", "text", "Ünïcödé 中文 עברית"),
        Case("text_1mib", "text", big_text),
        Case("text_1mib_multibyte", "text", multibyte),
        Case("text_nul", "text", "a\x00b", only="sqlite"),
        # Bytes: all 256 values, empty, 1 MiB, and the other buffer types.
        Case("bytes_all", "bytea", all_bytes),
        Case("bytes_empty", "bytea", b""),
        Case("bytes_1mib", "bytea", all_bytes * (MIB // 256)),
        Case("bytearray", "bytea", bytearray(b"\x00\xffab"), b"\x00\xffab"),
        Case("memoryview", "bytea", memoryview(b"\x01\x02\x03"), b"\x01\x02\x03"),
        # Dates and times: year 1 and 9999, historic dates, microseconds.
        Case("date_min", "date", date(1, 1, 1)),
        Case("date_max", "date", date(9999, 12, 31)),
        Case("date_julian_edge", "date", date(1582, 10, 4)),
        Case("date_leap", "date", date(2000, 2, 29)),
        Case("time_min", "time", time(0, 0)),
        Case("time_max", "time", time(23, 59, 59, 999999)),
        Case("time_micro", "time", time(12, 0, 0, 1)),
        Case("ts_min", "timestamp", datetime(1, 1, 1)),
        Case("ts_max", "timestamp", datetime(9999, 12, 31, 23, 59, 59, 999999)),
        Case("ts_micro", "timestamp", datetime(2024, 2, 29, 12, 34, 56, 789012)),
        Case("ts_epoch", "timestamp", datetime(1970, 1, 1)),
        Case("ts_historic", "timestamp", datetime(1066, 10, 14, 9, 0)),
        # Aware datetimes come back normalised to UTC (same instant).
        Case("tstz_utc", "timestamptz", datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
        Case("tstz_offset", "timestamptz", aware),
        Case(
            "tstz_negative_offset",
            "timestamptz",
            datetime(1999, 12, 31, 23, 0, tzinfo=timezone(-timedelta(hours=8))),
        ),
        Case(
            "tstz_odd_seconds_offset",
            "timestamptz",
            datetime(2020, 6, 1, 12, 0, 0, 500, tzinfo=timezone(timedelta(hours=1, minutes=2, seconds=3))),
        ),
        Case("tstz_zoneinfo", "timestamptz", datetime(2024, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))),
        Case("tstz_dst_fold_0", "timestamptz", datetime(2021, 11, 7, 1, 30, tzinfo=NEW_YORK)),
        Case("tstz_dst_fold_1", "timestamptz", datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK)),
        Case("tstz_dst_gap", "timestamptz", datetime(2021, 3, 14, 2, 30, tzinfo=NEW_YORK)),
        Case("tstz_max", "timestamptz", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        Case("tstz_min", "timestamptz", datetime(1, 1, 1, tzinfo=UTC)),
        # Intervals: zero, microseconds, negative, large.
        Case("interval_zero", "interval", timedelta(0)),
        Case("interval_micro", "interval", timedelta(microseconds=1)),
        Case("interval_neg_micro", "interval", timedelta(microseconds=-1)),
        Case("interval_neg_day", "interval", timedelta(days=-1)),
        Case("interval_mixed_negative", "interval", timedelta(days=-3, hours=4, microseconds=5)),
        Case("interval_large", "interval", timedelta(days=100_000, microseconds=999_999)),
        Case("interval_large_negative", "interval", timedelta(days=-100_000, seconds=1)),
        # UUIDs, nil included.
        Case("uuid_nil", "uuid", uuid.UUID(int=0)),
        Case("uuid_max", "uuid", uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")),
        Case("uuid_v4", "uuid", uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")),
    ]
    # JSON documents, in every JSON column type.
    docs: list[tuple[str, Any, Any]] = [
        ("dict", {"a": 1, "b": "two"}, {"a": 1, "b": "two"}),
        ("empty_dict", {}, {}),
        (
            "nested",
            {"a": {"b": [1, 2.5, None, True, "x", {"c": []}]}},
            {"a": {"b": [1, 2.5, None, True, "x", {"c": []}]}},
        ),
        ("unicode_keys", {"ключ": "значение", "😀": ["é", "中"]}, {"ключ": "значение", "😀": ["é", "中"]}),
        ("list", Json([1, "two", None, False]), [1, "two", None, False]),
        ("string", Json("a string"), "a string"),
        ("number", Json(42), 42),
        ("float", Json(0.1), 0.1),
        ("big_int", Json(12345678901234567890123), 12345678901234567890123),
        ("raw", Json('{"raw": [true, null]}', raw=True), {"raw": [True, None]}),
        (
            "large",
            {f"key{i}": [i, str(i)] for i in range(5000)},
            {f"key{i}": [i, str(i)] for i in range(5000)},
        ),
    ]
    for json_type in ("json", "jsonb"):
        cases += [Case(f"{json_type}_{name}", json_type, value, want) for name, value, want in docs]
    # Arrays (PostgreSQL): empty, with NULLs, of several member types.
    cases += [
        Case("arr_int_empty", "int4[]", [], only="postgres"),
        Case("arr_int", "int4[]", [1, 2, 3], only="postgres"),
        Case("arr_int_nulls", "int4[]", [1, None, 3, None], only="postgres"),
        Case("arr_int_all_null", "int4[]", [None], only="postgres"),
        Case("arr_int_edges", "int4[]", [-(2**31), 2**31 - 1], only="postgres"),
        Case("arr_int8_tuple", "int8[]", (2**63 - 1, -(2**63)), [2**63 - 1, -(2**63)], only="postgres"),
        Case("arr_text", "text[]", ["a", "", None, 'q"uo,te\\', "{braces}", "😀", "NULL"], only="postgres"),
        Case("arr_text_empty", "text[]", [], only="postgres"),
        Case("arr_bool", "bool[]", [True, None, False], only="postgres"),
        Case("arr_float", "float8[]", [1.5, -0.0, math.inf, None], only="postgres"),
        Case(
            "arr_numeric",
            "numeric[]",
            [Decimal("1.10"), None, Decimal("-99999999999999999999.5")],
            only="postgres",
        ),
        Case("arr_uuid", "uuid[]", [uuid.UUID(int=0), None, uuid.UUID(int=1)], only="postgres"),
        Case("arr_tstz", "timestamptz[]", [aware, None], only="postgres"),
        Case("arr_bytea", "bytea[]", [b"", all_bytes, None], only="postgres"),
        Case("arr_2d", "int4[][]", [[1, 2], [3, None]], only="postgres"),
    ]
    return cases


CASES = _cases()
# Cases of a type MariaDB has whose value it cannot hold, each refused loudly instead (REFUSED)
# or outside its documented range, with the reason.
MYSQL_CANNOT: dict[str, str] = {
    "float_inf": "no infinity in DOUBLE (refused: REFUSED float_inf_mysql)",
    "float_neg_inf": "no infinity in DOUBLE (refused: REFUSED float_inf_mysql)",
}
# Every type also round-trips NULL.
NULL_CASES = [
    Case(f"null_{t}", t, None, only=None if sqlite else "postgres") for t, (_, sqlite) in TYPES.items()
]


def assert_same(got: Any, want: Any, path: str = "value") -> None:
    """Equal and of the same type, with NaN equal to itself, the sign of zero checked, decimals
    compared digit for digit and aware datetimes compared as instants (and required in UTC)."""
    if want is None:
        assert got is None, f"{path}: expected None, got {got!r}"
        return
    if isinstance(want, bool):
        assert got is want, f"{path}: expected {want!r}, got {got!r}"
        return
    assert type(got) is type(want), (
        f"{path}: expected {type(want).__name__}, got {type(got).__name__} {got!r}"
    )
    if isinstance(want, float):
        if math.isnan(want):
            assert math.isnan(got), f"{path}: expected NaN, got {got!r}"
        else:
            assert got == want, f"{path}: expected {want!r}, got {got!r}"
            assert math.copysign(1.0, got) == math.copysign(1.0, want), (
                f"{path}: sign of {want!r} lost: {got!r}"
            )
    elif isinstance(want, Decimal):
        if want.is_nan():
            assert got.is_nan(), f"{path}: expected NaN, got {got!r}"
        else:
            assert got == want and str(got) == str(want), f"{path}: expected {want!r}, got {got!r}"
    elif isinstance(want, datetime):
        if want.tzinfo is None:
            assert got.tzinfo is None, f"{path}: a naive datetime came back aware: {got!r}"
            assert got == want, f"{path}: expected {want!r}, got {got!r}"
        else:
            assert got.tzinfo is not None, f"{path}: an aware datetime came back naive: {got!r}"
            assert got.utcoffset() == timedelta(0), f"{path}: not normalised to UTC: {got!r}"
            # Compare instants in UTC (inter-zone comparison is unreliable around DST folds).
            assert got == want.astimezone(UTC), (
                f"{path}: expected the instant {want.astimezone(UTC)}, got {got!r}"
            )
    elif isinstance(want, uuid.UUID):
        assert got == want and hash(got) == hash(want) and str(got) == str(want), f"{path}: {got!r}"
        # Built without __init__ and left untracked by the cyclic collector (it cannot be in a
        # cycle); it must still behave as any UUID.
        assert not gc.is_tracked(got), f"{path}: a decoded UUID is tracked by the collector"
        assert pickle.loads(pickle.dumps(got)) == want and got.is_safe is uuid.SafeUUID.unknown
    elif isinstance(want, list):
        assert len(got) == len(want), f"{path}: expected {len(want)} items, got {got!r}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), f"{path}: keys differ: {sorted(got)[:5]} vs {sorted(want)[:5]}"
        for k, w in want.items():
            assert_same(got[k], w, f"{path}[{k!r}]")
    else:
        assert got == want, f"{path}: expected {want!r}, got {got!r}"[:500]


# The logical types as MySQL/MariaDB declares them (the ORM's column types). Left out: the
# unconstrained NUMERIC (MySQL's DECIMAL has a fixed scale), naive TIMESTAMP (DATETIME holds the
# UTC wall time of an instant and reads back aware, as timestamptz), INTERVAL (bound as integer
# microseconds into a BIGINT), JSONB and arrays (none).
MYSQL_TYPES: dict[str, str] = {
    "bool": "BOOL",
    "int2": "SMALLINT",
    "int4": "INT",
    "int8": "BIGINT",
    "uint8": "BIGINT UNSIGNED",
    "float8": "DOUBLE",
    "numeric(10,3)": "DECIMAL(10,3)",
    "numeric(20,8)": "DECIMAL(20,8)",
    "text": "MEDIUMTEXT",
    "bytea": "LONGBLOB",
    "date": "DATE",
    "time": "TIME(6)",
    "timestamptz": "DATETIME(6)",
    "uuid": "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin",
    "json": "JSON",
}
BACKENDS = ("sqlite", "postgres", "mysql")  # every backend has DDL in the table


def _applies(case: Any, backend: str) -> bool:
    only = getattr(case, "only", None)
    if only not in (None, backend):
        return False
    if backend == "mysql":
        return getattr(case, "type", getattr(case, "column", None)) in MYSQL_TYPES and (
            case.id not in MYSQL_CANNOT or only == "mysql"
        )
    return True


def _column(pool: Pool, type_name: str) -> str:
    if pool.backend == "mysql":
        return MYSQL_TYPES[type_name]
    pg, sqlite = TYPES[type_name]
    ddl = pg if pool.backend == "postgres" else sqlite
    assert ddl is not None
    return ddl


@pytest.fixture(scope="module")
def roundtrip_urls(pg_url: str, mysql_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        "postgres": pg_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('roundtrip') / 'rt.db'}",
    }


@pytest.fixture(scope="module")
async def roundtrip_pools(roundtrip_urls: dict[str, str]) -> AsyncIterator[dict[str, Pool]]:
    """One pool per backend for the whole table of cases (each case uses its own table)."""
    pools = {backend: await connect(url, max_size=2) for backend, url in roundtrip_urls.items()}
    try:
        yield pools
    finally:
        for pool in pools.values():
            await pool.close()


@pytest.fixture
def rt_pool(roundtrip_pools: dict[str, Pool], backend: str) -> Pool:
    return roundtrip_pools[backend]


def _per_backend(cases: list[Any]) -> list[Any]:
    """(backend, case) pairs for the backends each case applies to."""
    return [
        pytest.param(backend, case, id=f"{backend}-{case.id}")
        for case in cases
        for backend in BACKENDS
        if _applies(case, backend)
    ]


async def _roundtrip(pool: Pool, case: Case) -> None:
    table = await create_table(pool, f"id INTEGER PRIMARY KEY, v {_column(pool, case.type)}")
    try:
        inserted = await pool.execute(f"INSERT INTO {table} (id, v) VALUES (1, {ph(pool, 1)})", [case.value])
        assert inserted == 1
        row = await pool.fetch_one(f"SELECT v, v IS NULL FROM {table} WHERE id = 1")
        assert row is not None
        assert_same(row[0], case.want())
        # SQL NULL only for None (JSON null and the empty string are values).
        assert bool(row[1]) is (case.value is None)  # SQLite has no boolean: 0/1
        # The same value through fetch (all rows) decodes identically.
        rows = await pool.fetch(f"SELECT v FROM {table}")
        assert len(rows) == 1 and type(rows[0]) is tuple
        assert_same(rows[0][0], case.want())
    finally:
        await pool.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize(("backend", "case"), _per_backend(CASES + NULL_CASES))
async def test_roundtrip(rt_pool: Pool, case: Case) -> None:
    await _roundtrip(rt_pool, case)


@pytest.mark.parametrize("case", [c for c in CASES if c.only in (None, "postgres")], ids=lambda c: c.id)
async def test_roundtrip_as_bound_expression_postgres(roundtrip_pools: dict[str, Pool], case: Case) -> None:
    """PostgreSQL infers the parameter type from a cast: ``SELECT $1::type`` returns the value."""
    pg_pool = roundtrip_pools["postgres"]
    row = await pg_pool.fetch_one(f"SELECT $1::{_column(pg_pool, case.type)}", [case.value])
    assert row is not None
    assert_same(row[0], case.want())


async def test_signed_zero_capability_matches_storage(pool: Pool) -> None:
    table = await create_table(pool, f"id INTEGER PRIMARY KEY, v {_column(pool, 'float8')}")
    await pool.execute(f"INSERT INTO {table} (id, v) VALUES (1, {ph(pool, 1)})", [-0.0])
    row = await pool.fetch_one(f"SELECT v FROM {table}")
    assert row is not None and row[0] == 0.0
    assert (math.copysign(1.0, row[0]) < 0) is pool.capabilities()["float_signed_zero"]


async def test_json_null_is_not_sql_null(pool: Pool) -> None:
    table = await create_table(pool, f"id INTEGER PRIMARY KEY, v {_column(pool, 'json')}")
    await pool.execute(f"INSERT INTO {table} (id, v) VALUES (1, {ph(pool, 1)})", [Json(None)])
    await pool.execute(f"INSERT INTO {table} (id, v) VALUES (2, {ph(pool, 1)})", [None])
    rows = await pool.fetch(f"SELECT id, v, v IS NULL FROM {table} ORDER BY id")
    assert rows == [(1, None, False), (2, None, True)]


async def test_empty_string_is_not_null(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, v TEXT")
    await pool.execute_many(
        f"INSERT INTO {table} (id, v) VALUES ({ph(pool, 1)}, {ph(pool, 2)})", [[1, ""], [2, None]]
    )
    assert await pool.fetch(f"SELECT id, v, v IS NULL FROM {table} ORDER BY id") == [
        (1, "", False),
        (2, None, True),
    ]


async def test_naive_datetime_into_timestamptz_is_taken_as_utc(pool: Pool) -> None:
    """The same on both backends: sessions run in UTC, so a naive value names a UTC instant."""
    table = await create_table(pool, f"id INTEGER PRIMARY KEY, v {_column(pool, 'timestamptz')}")
    await pool.execute(
        f"INSERT INTO {table} (id, v) VALUES (1, {ph(pool, 1)})", [datetime(2024, 5, 6, 7, 8, 9, 10)]
    )
    row = await pool.fetch_one(f"SELECT v FROM {table}")
    assert row is not None
    assert_same(row[0], datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC))


async def test_aware_datetime_into_naive_timestamp_reads_back_as_utc_wall_time(
    pool: Pool, request: pytest.FixtureRequest
) -> None:
    """Writing an aware value into a timestamp (without time zone) column stores its UTC wall
    time; it must read back (as a naive value) on both backends, not fail on read."""
    xfail_on_mysql(
        pool,
        request,
        "MySQL has no zone-aware timestamp type: DATETIME holds UTC wall times (sessions run at "
        "+00:00) and reads back aware, so there is no naive timestamp column to test",
    )
    table = await create_table(pool, f"id INTEGER PRIMARY KEY, v {_column(pool, 'timestamp')}")
    value = datetime(2024, 5, 6, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    await pool.execute(f"INSERT INTO {table} (id, v) VALUES (1, {ph(pool, 1)})", [value])
    row = await pool.fetch_one(f"SELECT v FROM {table}")
    assert row is not None
    assert_same(row[0], datetime(2024, 5, 6, 10, 0))


async def test_postgres_intervals_with_days_and_months(pg_pool: Pool) -> None:
    row = await pg_pool.fetch_one("SELECT interval '1 day 2 hours 3 microseconds', interval '-36 hours'")
    assert row == (timedelta(days=1, hours=2, microseconds=3), timedelta(hours=-36))
    with pytest.raises(DataError, match="month"):
        await pg_pool.fetch_one("SELECT interval '1 month'")


async def test_postgres_timestamps_beyond_pythons_years_are_data_errors(pg_pool: Pool) -> None:
    # PostgreSQL holds years up to 294276 and before year 1; Python's datetime does not.
    for sql in (
        "SELECT timestamptz '10000-01-01 00:00:00+00'",
        "SELECT timestamp '10000-01-01 00:00:00'",
        "SELECT timestamptz '0001-01-01 00:00:00+00' - interval '1 day'",
    ):
        with pytest.raises(DataError, match="outside Python's range"):
            await pg_pool.fetch_one(sql)
    # The edges themselves decode, aware in UTC or naive.
    row = await pg_pool.fetch_one(
        "SELECT timestamptz '9999-12-31 23:59:59.999999+00', timestamp '0001-01-01 00:00:00'"
    )
    assert row is not None
    assert_same(row[0], datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert_same(row[1], datetime(1, 1, 1))


# Values a backend cannot store: a clear error naming the problem, never silent wrapping/rounding.
@dataclass(frozen=True)
class Refused:
    id: str
    only: str | None  # "postgres" or "sqlite" when the case applies to one backend
    column: str
    value: Any
    error: type[Exception]
    match: str


REFUSED = [
    # PostgreSQL: out-of-range integers name the value.
    Refused("int2_over", "postgres", "int2", 70000, DataError, "70000"),
    Refused("int2_under", "postgres", "int2", -32769, DataError, "-32769"),
    Refused("int4_over", "postgres", "int4", 2**31, DataError, "2147483648"),
    Refused("int4_under", "postgres", "int4", -(2**31) - 1, DataError, "-2147483649"),
    Refused("int8_over", "postgres", "int8", 2**63, DataError, "9223372036854775808"),
    Refused("int8_under", "postgres", "int8", -(2**63) - 1, DataError, "-9223372036854775809"),
    Refused("numeric_overflow", "postgres", "numeric(10,3)", Decimal("12345678.5"), DataError, "overflow"),
    Refused("text_nul", "postgres", "text", "a\x00b", DataError, "NUL"),
    Refused("json_nul", "postgres", "jsonb", {"k": "a\x00b"}, DataError, r"\\u0000|NUL"),
    Refused("text_into_int", "postgres", "int4", "abc", DataError, "abc"),
    Refused("bool_into_int", "postgres", "int4", True, DataError, "bool"),
    # SQLite: integers beyond int64, decimals beyond 15 digits, NaN, arrays.
    Refused("int_beyond_int64", "sqlite", "int8", 2**63, DataError, "9223372036854775808"),
    Refused("int_beyond_int64_numeric", "sqlite", "numeric", -(2**70), DataError, str(-(2**70))),
    Refused(
        "dec_many_digits",
        "sqlite",
        "numeric",
        Decimal("12345678901234567890.123"),
        DataError,
        "12345678901234567890.123",
    ),
    Refused("dec_nan", "sqlite", "numeric", Decimal("NaN"), DataError, "NaN"),
    Refused("float_nan", "sqlite", "float8", math.nan, DataError, "NaN"),
    Refused("array", "sqlite", "text", [1, 2], ParamsError, "array"),
    # MariaDB (strict sql_mode): out-of-range values are errors, not clipped; no NaN/infinity.
    Refused("int2_over_mysql", "mysql", "int2", 70000, DataError, "[Oo]ut of range"),
    Refused("int4_under_mysql", "mysql", "int4", -(2**31) - 1, DataError, "[Oo]ut of range"),
    Refused(
        "numeric_overflow_mysql",
        "mysql",
        "numeric(10,3)",
        Decimal("12345678.5"),
        DataError,
        "[Oo]ut of range",
    ),
    Refused("float_inf_mysql", "mysql", "float8", math.inf, DataError, "infinity"),
    Refused("float_nan_mysql", "mysql", "float8", math.nan, DataError, "NaN"),
    Refused("text_into_int_mysql", "mysql", "int4", "abc", DataError, "abc|[Ii]ncorrect"),
    # Both: values no database can take are refused before anything runs.
    Refused("lone_surrogate", None, "text", "a\ud800b", ParamsError, "surrogate|UTF-8"),
    Refused("json_nan", None, "json", {"x": math.nan}, ParamsError, "JSON"),
    Refused("timedelta_max", None, "interval", timedelta.max, ParamsError, "timedelta"),
    Refused("aware_time", None, "time", time(1, 2, tzinfo=UTC), ParamsError, "tzinfo"),
    Refused("unbindable", None, "text", object(), ParamsError, "parameter 1 .*object"),
]


@pytest.mark.parametrize(("backend", "refused"), _per_backend(REFUSED))
async def test_unstorable_values_fail_loudly(rt_pool: Pool, refused: Refused) -> None:
    pool = rt_pool
    table = await create_table(pool, f"id INTEGER PRIMARY KEY, v {_column(pool, refused.column)}")
    with pytest.raises(refused.error) as caught:
        await pool.execute(f"INSERT INTO {table} (id, v) VALUES (1, {ph(pool, 1)})", [refused.value])
    # The message (or the server's detail) names the value or the problem.
    text = f"{caught.value} {getattr(caught.value, 'detail', None) or ''}"
    assert re.search(refused.match, text), text
    # Nothing was stored, and the pool is still usable.
    assert await pool.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    await pool.execute(f"DROP TABLE {table}")
