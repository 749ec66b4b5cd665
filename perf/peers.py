"""Peers (``make bench-peers``): the operations of perf/vs_driver.py on PostgreSQL through raw
asyncpg, the Yara engine and ORM, Tortoise ORM and SQLAlchemy 2 async (asyncpg), all in one run,
interleaved, medians. Writes a markdown table and a PNG chart (time per operation, log scale).
``--backend mysql`` does the same on MariaDB/MySQL: raw asyncmy (the baseline) and aiomysql, the
engine and ORM, Tortoise and SQLAlchemy over asyncmy.

Runs in its own venv (.venv-peers, perf/requirements-peers.txt) so the peers never enter .venv;
Yara is imported from the source tree (its compiled engine must already be built).

    .venv-peers/bin/python perf/peers.py [--quick] [--rounds N] [--backend postgres|mysql]
                                         [--out perf/results]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from common import (
    ITEM_COLUMNS,
    WIDE_COLUMNS,
    DatabaseMissing,
    Status,
    machine_note,
    md_table,
    scratch_mysql,
    scratch_postgres,
)
from orm_adapter import item_kwargs, wide_field_kinds
from vs_driver import OPS, QUICK, BackendResult, Bench, Setup, Sizes, Timed

PEER_OPS = [k for k, _ in OPS if k != "stream"]

Contenders = dict[str, tuple[Timed, Setup]]


# ------------------------------------------------------------------------------ Tortoise models


def tortoise_models() -> dict[str, Any]:
    from tortoise import fields
    from tortoise.models import Model

    class TOwner(Model):
        id = fields.IntField(primary_key=True)
        name = fields.TextField()

        class Meta:
            table = "owner"
            app = "models"

    class TItem(Model):
        id = fields.IntField(primary_key=True)
        name = fields.TextField()
        email = fields.CharField(max_length=100)
        price = fields.DecimalField(max_digits=10, decimal_places=2)
        quantity = fields.IntField()
        rating = fields.FloatField()
        active = fields.BooleanField()
        created_at = fields.DatetimeField()
        code = fields.UUIDField()
        status = fields.CharEnumField(Status, max_length=10)
        owner: Any = fields.ForeignKeyField(
            "models.TOwner", related_name="items", null=True, db_constraint=False
        )

        class Meta:
            table = "item"
            app = "models"

    kinds = wide_field_kinds(fields)
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "id": fields.IntField(primary_key=True),
        "Meta": type("Meta", (), {"table": "wide", "app": "models"}),
    }
    for i in range(1, WIDE_COLUMNS):
        attrs[f"c{i}"] = kinds[i % len(kinds)]()
    TWide = type(Model)("TWide", (Model,), attrs)
    models = {"Owner": TOwner, "Item": TItem, "Wide": TWide}
    # Tortoise discovers models as attributes of the module named in its config.
    globals().update({cls.__name__: cls for cls in models.values()})
    return models


# ------------------------------------------------------------------------------ SQLAlchemy models


def sqlalchemy_models() -> dict[str, Any]:
    from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, Numeric, String, Text, Uuid
    from sqlalchemy.orm import DeclarativeBase, mapped_column, relationship

    class Base(DeclarativeBase):
        pass

    class SOwner(Base):
        __tablename__ = "owner"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(Text)
        items = relationship("SItem", back_populates="owner")

    class SItem(Base):
        __tablename__ = "item"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(Text)
        email = mapped_column(String(100))
        price = mapped_column(Numeric(10, 2))
        quantity = mapped_column(Integer)
        rating = mapped_column(Float)
        active = mapped_column(Boolean)
        created_at = mapped_column(DateTime(timezone=True))
        code = mapped_column(Uuid)
        status = mapped_column(String(10))
        owner_id = mapped_column(ForeignKey("owner.id"))
        owner = relationship("SOwner", back_populates="items")

    types: list[Any] = [Integer, Text, Numeric(12, 3), Float, Boolean, DateTime(timezone=True), Uuid, Date]
    attrs: dict[str, Any] = {"__tablename__": "wide", "id": mapped_column(Integer, primary_key=True)}
    for i in range(1, WIDE_COLUMNS):
        attrs[f"c{i}"] = mapped_column(f"c{i}", types[i % len(types)])
    SWide = type("SWide", (Base,), attrs)
    return {"Owner": SOwner, "Item": SItem, "Wide": SWide}


class PeersBench(Bench):
    """vs_driver's PostgreSQL bench plus Tortoise and SQLAlchemy contenders on the same data."""

    async def open(self, with_orm: bool) -> None:
        await super().open(with_orm)
        self.tortoise: dict[str, Any] | None = None
        self.sqla: dict[str, Any] | None = None
        self.peer_status: dict[str, str] = {}
        try:
            from tortoise import Tortoise

            models = tortoise_models()
            sep = "&" if "?" in self.url else "?"
            url = self.url
            if self.backend == "mysql":
                # Tortoise's MySQL client (asyncmy) wants the password part, even empty.
                url = re.sub(r"^mysql://([^:@/]+)@", r"mysql://\1:@", url)
            await Tortoise.init(
                config={
                    "connections": {"default": f"{url}{sep}minsize=1&maxsize=10"},
                    "apps": {"models": {"models": [__name__], "default_connection": "default"}},
                    "use_tz": True,
                    "timezone": "UTC",
                }
            )
            self.tortoise = models
        except Exception as exc:
            self.peer_status["tortoise"] = f"{type(exc).__name__}: {exc}"
        try:
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            models = sqlalchemy_models()
            url = self.url.replace("postgres://", "postgresql+asyncpg://", 1).replace(
                "mysql://", "mysql+asyncmy://", 1
            )
            engine = create_async_engine(url, pool_size=10, max_overflow=0)
            self.sqla = {
                **models,
                "engine": engine,
                "session": async_sessionmaker(engine, expire_on_commit=False),
            }
        except Exception as exc:
            self.peer_status["sqlalchemy"] = f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        if self.tortoise is not None:
            from tortoise import Tortoise

            await Tortoise.close_connections()
        if self.sqla is not None:
            await self.sqla["engine"].dispose()
        await super().close()

    def ops(self, key: str) -> tuple[Contenders, Setup]:
        contenders, cleanup = super().ops(key)
        setup = next(iter(contenders.values()))[1]
        if self.tortoise is not None:
            fn = self.tortoise_op(key)
            if fn is not None:
                contenders["tortoise"] = (self.repeated(fn), setup)
        if self.sqla is not None:
            fn = self.sqla_op(key)
            if fn is not None:
                contenders["sqlalchemy"] = (self.repeated(fn), setup)
        return contenders, cleanup

    def _keys(self) -> list[int]:
        return [(i % self.sizes.items) + 1 for i in range(self.sizes.get_by_pk)]

    def _task_keys(self, t: int) -> list[int]:
        s = self.sizes
        return [((t * s.gets_per_task + j) % s.items) + 1 for j in range(s.gets_per_task)]

    async def _fan_out(self, worker: Callable[[int], Awaitable[None]]) -> None:
        await asyncio.gather(*(worker(t) for t in range(self.sizes.tasks)))

    def tortoise_op(self, key: str) -> Timed | None:
        assert self.tortoise is not None
        item, owner, wide = self.tortoise["Item"], self.tortoise["Owner"], self.tortoise["Wide"]
        s = self.sizes

        def kwargs(row: Sequence[Any]) -> dict[str, Any]:
            return item_kwargs(row, True)

        # Keyword arguments are built before timing, for every ORM (see vs_driver's docstring).
        if key == "bulk_insert":
            bulk_kwargs = [kwargs(r) for r in self.new_rows(s.bulk_insert)]

            async def bulk_insert() -> None:
                await item.bulk_create([item(**kw) for kw in bulk_kwargs])

            return bulk_insert
        if key == "single_insert":
            single_kwargs = [kwargs(r) for r in self.new_rows(s.single_inserts)]

            async def single_insert() -> None:
                for kw in single_kwargs:
                    await item.create(**kw)

            return single_insert
        if key == "fetch_all":

            async def fetch_all() -> None:
                assert len(await item.all()) == s.items

            return fetch_all
        if key == "filter":

            async def filter_() -> None:
                await item.filter(quantity__lt=50)

            return filter_
        if key == "get_by_pk":
            keys = self._keys()

            async def get_by_pk() -> None:
                for k in keys:
                    await item.get(id=k)

            return get_by_pk
        if key == "concurrent_get":

            async def concurrent_get() -> None:
                async def worker(t: int) -> None:
                    for k in self._task_keys(t):
                        await item.get(id=k)

                await self._fan_out(worker)

            return concurrent_get
        if key == "count":

            async def count() -> None:
                assert await item.all().count() == s.items

            return count
        if key == "group_by":
            from tortoise.functions import Count, Sum

            async def group_by() -> None:
                rows = (
                    await item.annotate(n=Count("id"), total=Sum("quantity"))
                    .group_by("status")
                    .filter(n__gt=10)
                    .values("status", "n", "total")
                )
                assert len(rows) == 3

            return group_by
        if key == "bulk_update":

            async def bulk_update() -> None:
                await item.filter(active=True).update(rating=1.5)

            return bulk_update
        if key == "bulk_delete":

            async def bulk_delete() -> None:
                await item.filter(id__gt=s.items).delete()

            return bulk_delete
        if key == "wide_fetch":

            async def wide_fetch() -> None:
                assert len(await wide.all()) == s.wide_rows

            return wide_fetch
        if key == "prefetch":

            async def prefetch() -> None:
                assert len(await owner.all().prefetch_related("items")) == s.owners

            return prefetch
        return None

    def sqla_op(self, key: str) -> Timed | None:
        assert self.sqla is not None
        from sqlalchemy import delete, func, insert, select, update
        from sqlalchemy.orm import selectinload

        item, owner, wide, session_maker = (
            self.sqla["Item"],
            self.sqla["Owner"],
            self.sqla["Wide"],
            self.sqla["session"],
        )
        s = self.sizes

        def values(row: Sequence[Any]) -> dict[str, Any]:
            d = dict(zip(ITEM_COLUMNS, row[:10], strict=True))
            d["owner_id"] = row[10]
            return d

        if key == "bulk_insert":
            bulk_values = [values(r) for r in self.new_rows(s.bulk_insert)]

            async def bulk_insert() -> None:
                async with session_maker() as session:
                    await session.execute(insert(item), bulk_values)
                    await session.commit()

            return bulk_insert
        if key == "single_insert":
            single_values = [values(r) for r in self.new_rows(s.single_inserts)]

            async def single_insert() -> None:
                async with session_maker() as session:
                    for v in single_values:
                        session.add(item(**v))
                        await session.commit()

            return single_insert

        async def scalars(stmt: Any) -> list[Any]:
            async with session_maker() as session:
                return list((await session.scalars(stmt)).all())

        if key == "fetch_all":

            async def fetch_all() -> None:
                assert len(await scalars(select(item))) == s.items

            return fetch_all
        if key == "filter":

            async def filter_() -> None:
                await scalars(select(item).where(item.quantity < 50))

            return filter_
        if key == "get_by_pk":
            keys = self._keys()

            async def get_by_pk() -> None:
                async with session_maker() as session:
                    for k in keys:
                        (await session.execute(select(item).where(item.id == k))).scalar_one()

            return get_by_pk
        if key == "concurrent_get":

            async def concurrent_get() -> None:
                async def worker(t: int) -> None:
                    async with session_maker() as session:
                        for k in self._task_keys(t):
                            (await session.execute(select(item).where(item.id == k))).scalar_one()

                await self._fan_out(worker)

            return concurrent_get
        if key == "count":

            async def count() -> None:
                async with session_maker() as session:
                    assert (
                        await session.execute(select(func.count()).select_from(item))
                    ).scalar_one() == s.items

            return count
        if key == "group_by":

            async def group_by() -> None:
                stmt = (
                    select(item.status, func.count(item.id), func.sum(item.quantity))
                    .group_by(item.status)
                    .having(func.count(item.id) > 10)
                )
                async with session_maker() as session:
                    assert len((await session.execute(stmt)).all()) == 3

            return group_by
        if key == "bulk_update":

            async def bulk_update() -> None:
                stmt = update(item).where(item.active.is_(True)).values(rating=1.5)
                async with session_maker() as session:
                    await session.execute(stmt.execution_options(synchronize_session=False))
                    await session.commit()

            return bulk_update
        if key == "bulk_delete":

            async def bulk_delete() -> None:
                stmt = delete(item).where(item.id > s.items)
                async with session_maker() as session:
                    await session.execute(stmt.execution_options(synchronize_session=False))
                    await session.commit()

            return bulk_delete
        if key == "wide_fetch":

            async def wide_fetch() -> None:
                assert len(await scalars(select(wide))) == s.wide_rows

            return wide_fetch
        if key == "prefetch":

            async def prefetch() -> None:
                assert len(await scalars(select(owner).options(selectinload(owner.items)))) == s.owners

            return prefetch
        return None


SERVER = {"postgres": "PostgreSQL", "mysql": "MariaDB"}


def contenders(result: BackendResult) -> list[str]:
    """The baseline driver, any other raw driver, then the engine and the ORMs."""
    seen = {n for op in result.ops for n in op.samples}
    raw = [n for n in ("aiomysql",) if n in seen]
    return [result.baseline, *raw, "engine", "orm", "tortoise", "sqlalchemy"]


PEER_ORMS = ("tortoise", "sqlalchemy")


def report(result: BackendResult, status: dict[str, str]) -> str:
    names = contenders(result)
    base = result.baseline
    # The ORM against each peer ORM as the median of per-round paired ratios (both timed in the
    # same round, so a slow phase of the machine cancels out): the "ahead of every ORM" verdict.
    headers = [
        "operation",
        *(f"{c} ms" for c in names),
        *(f"{c}/{base}" for c in names[1:]),
        *(f"orm/{p} paired" for p in PEER_ORMS),
    ]
    rows = []
    notes = []
    for op in result.ops:
        cells: list[Any] = [op.label]
        for c in names:
            if c in op.samples:
                ms = op.samples[c].median_ms
                cells.append(f"{ms:.3g}" if ms < 100 else f"{ms:.0f}")
            else:
                cells.append("n/a")
        for c in names[1:]:
            r = op.ratio(c, base)
            cells.append(f"{r:.2f}x" if r is not None else "n/a")
        for p in PEER_ORMS:
            r = op.paired("orm", p)
            cells.append(f"{r:.2f}x" if r is not None else "n/a")
        rows.append(cells)
        notes += [f"- {op.key} / {name}: {err}" for name, err in op.errors.items()]
    lines = [
        f"## Peers on {SERVER[result.backend]} (median ms, ratio to raw {base}; same run, interleaved)",
        "",
        md_table(headers, rows),
        "",
        f"- yara orm: {result.orm_status}",
        *[f"- {k}: not measured ({v})" for k, v in status.items()],
        *notes,
        f"- machine: {machine_note()}",
    ]
    return "\n".join(lines)


def chart(result: BackendResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = result.ops
    names = contenders(result)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(13, 5.5))
    for i, c in enumerate(names):
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(ops))]
        ys = [op.samples[c].median_ms if c in op.samples else 0.0 for op in ops]
        ax.bar(xs, [y if y > 0 else float("nan") for y in ys], width, label=c)
    ax.set_yscale("log")
    ax.set_ylabel("median ms (log scale)")
    ax.set_xticks(range(len(ops)))
    ax.set_xticklabels([op.label for op in ops], rotation=30, ha="right", fontsize=8)
    ax.set_title(f"Time per operation on {SERVER[result.backend]} (lower is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default="perf/results")
    parser.add_argument("--backend", choices=["postgres", "mysql"], default="postgres")
    args = parser.parse_args(argv)
    sizes: Sizes = QUICK if args.quick else Sizes()
    sizes = Sizes(**{**vars(sizes), "stream_rows": 1000})  # streaming is not compared across peers
    rounds = args.rounds or (3 if args.quick else 5)

    backend = args.backend
    scratch = scratch_mysql if backend == "mysql" else scratch_postgres

    async def go() -> tuple[BackendResult, dict[str, str]]:
        async with scratch() as url:
            bench = PeersBench(backend, url, sizes, rounds)
            await bench.open(True)
            try:
                results = []
                for key, label in OPS:
                    if key in PEER_OPS:
                        print(f"[peers] {key} ...", file=sys.stderr, flush=True)
                        results.append(await bench.run_op(key, label))
                return BackendResult(backend, bench.baseline, results, bench.orm_status), bench.peer_status
            finally:
                await bench.close()

    try:
        result, status = asyncio.run(go())
    except DatabaseMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = report(result, status)
    stem = "peers" if backend == "postgres" else f"peers-{backend}"
    (out / f"{stem}.md").write_text(text + "\n")
    chart(result, out / f"{stem}.png")
    print(text)
    print(f"\nwrote {out / f'{stem}.md'} and {out / f'{stem}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
