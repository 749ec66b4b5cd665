"""Positional vs dict decoding: the same query through the same engine, decoded two ways.

* positional: ``engine.fetch`` rows (tuples) + a decode plan computed once per query shape;
  instances are made with ``cls.__new__`` and a ``__dict__`` update from
  ``zip(field_names, row)``, converting only the columns that need a conversion.
* dict: ``engine.fetch_with_columns`` rows turned into dicts keyed by column name, instances
  built from them the way dict-row ORMs do: ``cls(**row_dict)`` through an ``__init__`` that
  sets each attribute (converting the same columns).
* orm (when the ORM's model API works): ``await Item.all()``.

Each is timed end to end (query + decode) and, on pre-fetched rows, decode only. Contenders are
interleaved and compared by their medians.

    .venv/bin/python perf/decode.py [--rows 10000] [--rounds 9] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from common import (
    ITEM_COLUMNS,
    PostgresMissing,
    Samples,
    Status,
    connect_engine,
    interleaved,
    item_ddl,
    item_insert_sql,
    item_row,
    machine_note,
    md_table,
    paired_ratio,
    scratch_postgres,
    scratch_sqlite,
    sqlite_url,
)
from orm_adapter import describe_error
from orm_adapter import load as load_orm

Converter = Callable[[Any], Any]

# The one column whose Python value differs from what the engine returns: text -> Status enum.
CONVERTERS: dict[str, Converter] = {"status": Status}


class PositionalItem:
    """Target class of the positional path: instances never run ``__init__``."""


class DictItem:
    """Target class of the dict baseline: an ``__init__`` that sets every attribute."""

    def __init__(self, **kwargs: Any) -> None:
        converters = CONVERTERS
        for name, value in kwargs.items():
            conv = converters.get(name)
            setattr(self, name, value if conv is None or value is None else conv(value))


class DecodePlan:
    """Computed once per query shape: field names and the (index, converter) pairs needed."""

    def __init__(self, cls: type, columns: Sequence[str], converters: dict[str, Converter]) -> None:
        self.cls = cls
        self.names = tuple(columns)
        self.converted = tuple((i, converters[c]) for i, c in enumerate(columns) if c in converters)

    def __call__(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        cls, names, new = self.cls, self.names, self.cls.__new__
        out: list[Any] = []
        append = out.append
        if not self.converted:
            for row in rows:
                obj = new(cls)
                obj.__dict__.update(zip(names, row, strict=False))
                append(obj)
            return out
        converted = self.converted
        for row in rows:
            values = list(row)
            for i, conv in converted:
                v = values[i]
                if v is not None:
                    values[i] = conv(v)
            obj = new(cls)
            obj.__dict__.update(zip(names, values, strict=False))
            append(obj)
        return out


_PLANS: dict[tuple[type, str], DecodePlan] = {}


def plan_for(cls: type, sql: str, columns: Sequence[str]) -> DecodePlan:
    key = (cls, sql)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = DecodePlan(cls, columns, CONVERTERS)
    return plan


def dict_decode(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[Any]:
    return [DictItem(**dict(zip(columns, row, strict=False))) for row in rows]


SELECT_SQL = f"SELECT {', '.join(ITEM_COLUMNS)} FROM item"


@dataclass
class DecodeResult:
    backend: str
    rows: int
    end_to_end: dict[str, Samples]
    decode_only: dict[str, Samples]
    orm_status: str

    def ratio(self, which: str = "end_to_end") -> float:
        """dict / positional: the median of the per-round paired ratios."""
        s = self.end_to_end if which == "end_to_end" else self.decode_only
        return paired_ratio(s["dict"], s["positional"])


async def load_items(engine: Any, backend: str, n: int) -> None:
    await engine.execute(item_ddl(backend))
    await engine.execute_many(item_insert_sql(backend), [item_row(i) for i in range(1, n + 1)])


async def measure(backend: str, url: str, rows: int, rounds: int, with_orm: bool = True) -> DecodeResult:
    engine = await connect_engine(url)
    try:
        await load_items(engine, backend, rows)

        async def positional() -> None:
            fetched = await engine.fetch(SELECT_SQL)
            objs = plan_for(PositionalItem, SELECT_SQL, ITEM_COLUMNS)(fetched)
            assert len(objs) == rows

        async def dict_based() -> None:
            columns, fetched = await engine.fetch_with_columns(SELECT_SQL)
            objs = dict_decode(columns, fetched)
            assert len(objs) == rows

        # Both paths must build the same objects.
        columns, fetched = await engine.fetch_with_columns(SELECT_SQL)
        a = plan_for(PositionalItem, SELECT_SQL, ITEM_COLUMNS)(fetched[:50])
        b = dict_decode(columns, fetched[:50])
        assert [vars(x) for x in a] == [vars(y) for y in b], "positional and dict decoding disagree"

        contenders: list[tuple[str, Any, Any]] = [
            ("positional", positional, None),
            ("dict", dict_based, None),
        ]
        orm_status = "not measured"
        orm = None
        if with_orm:
            loaded = await load_orm(url)
            if isinstance(loaded, str):
                orm_status = f"not available yet ({loaded})"
            else:
                orm = loaded
                try:
                    got = await orm.Item.all()
                    assert len(got) == rows, f"ORM fetched {len(got)} rows, expected {rows}"
                    item_cls = orm.Item

                    async def orm_fetch() -> None:
                        objs = await item_cls.all()
                        assert len(objs) == rows

                    contenders.append(("orm", orm_fetch, None))
                    orm_status = "measured"
                except Exception as exc:
                    orm_status = f"not available yet ({describe_error(exc)})"
        try:
            end_to_end = await interleaved(contenders, rounds)
        finally:
            if orm is not None:
                await orm.close()

        fixed_rows = fetched
        fixed_columns = columns

        async def positional_decode() -> None:
            plan_for(PositionalItem, SELECT_SQL, ITEM_COLUMNS)(fixed_rows)

        async def dict_decode_only() -> None:
            dict_decode(fixed_columns, fixed_rows)

        # Pure-Python CPU work on one thread: thread CPU time, so being descheduled on the shared
        # machine is not counted.
        decode_only = await interleaved(
            [("positional", positional_decode, None), ("dict", dict_decode_only, None)],
            rounds,
            clock=time.thread_time,
        )
        return DecodeResult(backend, rows, end_to_end, decode_only, orm_status)
    finally:
        await engine.close()


async def measure_backend(backend: str, rows: int, rounds: int, with_orm: bool = True) -> DecodeResult:
    if backend == "postgres":
        async with scratch_postgres() as url:
            return await measure(backend, url, rows, rounds, with_orm)
    async with scratch_sqlite() as path:
        return await measure(backend, sqlite_url(path), rows, rounds, with_orm)


def report(results: Sequence[DecodeResult]) -> str:
    table_rows = []
    for r in results:
        e, d = r.end_to_end, r.decode_only
        orm_ms = f"{e['orm'].median_ms:.1f}" if "orm" in e else "n/a"
        table_rows.append(
            [
                r.backend,
                r.rows,
                e["positional"].median_ms,
                e["dict"].median_ms,
                f"{r.ratio('end_to_end'):.2f}x",
                d["positional"].median_ms,
                d["dict"].median_ms,
                f"{r.ratio('decode_only'):.2f}x",
                orm_ms,
            ]
        )
    lines = [
        md_table(
            [
                "backend",
                "rows",
                "positional ms (query+decode)",
                "dict ms (query+decode)",
                "dict/positional",
                "positional decode-only CPU ms",
                "dict decode-only CPU ms",
                "dict/positional decode-only",
                "orm `Item.all()` ms",
            ],
            table_rows,
        ),
        "",
    ]
    for r in results:
        lines.append(f"- {r.backend}: orm {r.orm_status}")
    lines.append(f"- machine: {machine_note()}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--no-orm", action="store_true", help="skip the ORM fetch path")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]

    async def go() -> list[DecodeResult]:
        return [await measure_backend(b, args.rows, args.rounds, not args.no_orm) for b in backends]

    try:
        results = asyncio.run(go())
    except PostgresMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
