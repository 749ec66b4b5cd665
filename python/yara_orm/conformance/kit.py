"""The kit's session state: one event loop, the backend's capabilities, and the ORM models the
suite uses, declared from those capabilities and created in the target database."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import fields
from ..connection import connections
from ..models import Model
from ..orm import YaraOrm
from ..pool import connect
from ..query import build
from .types import TYPE_CASES, Caps, TypeCase

T = TypeVar("T")

# Column mix of the wide-row model: ~20 columns cycling through the supported types.
WIDE_COLUMNS = 20
# Longest one test may take before the kit calls the backend hung (the slowest, bulk_create at
# the bind limit, takes about a second).
RUN_TIMEOUT_S = 300.0
# Connections the kit's pool may open (the status() checks read it back).
POOL_SIZE = 4


@dataclass
class Probe:
    """What the kit learns about the backend before any test runs."""

    url: str
    backend: str
    server_version: str
    capabilities: Caps
    # Optional protocol part -> offered (yara_orm.backends.OPTIONAL_PARTS).
    optional: dict[str, bool]


async def probe(url: str) -> Probe:
    pool = await connect(url)
    try:
        return Probe(
            url, pool.backend, await pool.server_version(), pool.capabilities(), pool.features.offered()
        )
    finally:
        await pool.close()


def _model(name: str, table: str, attrs: dict[str, Any]) -> type[Model]:
    meta = type("Meta", (), {"table": table})
    body: dict[str, Any] = {"__module__": __name__, "__qualname__": name, "Meta": meta, **attrs}
    return type(name, (Model,), body)


# The suite's Model subclasses are declared at run time from the capabilities, so their fields
# are unknown to a type checker: they are typed Any.
DynamicModel = Any


@dataclass
class Models:
    roundtrip: dict[str, DynamicModel]
    wide: DynamicModel
    wide_types: dict[str, TypeCase]
    look: DynamicModel
    uniq: DynamicModel
    parent: DynamicModel
    child: DynamicModel
    bulk: DynamicModel
    # A column no dialect sends as an array: bulk_create batches multi-row VALUES everywhere.
    bulk_values: DynamicModel
    account: DynamicModel

    def all(self) -> list[type[Model]]:
        return [
            *self.roundtrip.values(),
            self.wide,
            self.look,
            self.uniq,
            self.parent,
            self.child,
            self.bulk,
            self.bulk_values,
            self.account,
        ]


def supported(case: TypeCase, caps: Caps) -> bool:
    return case.requires is None or bool(caps.get(case.requires))


def build_models(caps: Caps, tag: str) -> Models:
    """Declare the suite's models for a backend with ``caps``. ``tag`` keeps class names unique
    when a process builds them more than once."""
    roundtrip = {
        case.name: _model(
            f"Yc{case.name}{tag}",
            f"yc_rt_{case.name.lower()}",
            {
                "id": fields.IntField(primary_key=True),
                "v": case.field(caps, False),
                "n": case.field(caps, True),
            },
        )
        for case in TYPE_CASES
        if supported(case, caps)
    }
    usable = [c for c in TYPE_CASES if supported(c, caps)]
    wide_types = {f"c{i:02d}": usable[i % len(usable)] for i in range(WIDE_COLUMNS)}
    wide_attrs: dict[str, Any] = {"id": fields.IntField(primary_key=True)}
    wide_attrs.update({name: case.field(caps, True) for name, case in wide_types.items()})
    look_attrs: dict[str, Any] = {
        "id": fields.IntField(primary_key=True),
        "name": fields.CharField(max_length=64, null=True),
        "num": fields.IntField(null=True),
        "when": fields.DatetimeField(null=True),
        "day": fields.DateField(null=True),
    }
    if caps.get("json"):
        look_attrs["doc"] = fields.JSONField(null=True)
    parent = _model(f"YcParent{tag}", "yc_parent", {"id": fields.IntField(primary_key=True)})
    child = _model(
        f"YcChild{tag}",
        "yc_child",
        {
            "id": fields.IntField(primary_key=True),
            "parent": fields.ForeignKeyField(
                f"models.YcParent{tag}", related_name="children", on_delete=fields.RESTRICT
            ),
        },
    )
    return Models(
        roundtrip=roundtrip,
        wide=_model(f"YcWide{tag}", "yc_wide", wide_attrs),
        wide_types=wide_types,
        look=_model(f"YcLook{tag}", "yc_look", look_attrs),
        uniq=_model(
            f"YcUniq{tag}",
            "yc_uniq",
            {"id": fields.IntField(primary_key=True), "code": fields.CharField(max_length=32, unique=True)},
        ),
        parent=parent,
        child=child,
        bulk=_model(
            f"YcBulk{tag}",
            "yc_bulk",
            {
                "id": fields.IntField(primary_key=True),
                "a": fields.IntField(),
                "b": fields.CharField(max_length=20),
                "c": fields.FloatField(null=True),
            },
        ),
        bulk_values=_model(
            f"YcBulkValues{tag}",
            "yc_bulk_values",
            {
                "id": fields.IntField(primary_key=True),
                "a": fields.IntField(),
                "b": fields.CharField(max_length=20),
                "d": fields.BinaryField(null=True),
            },
        ),
        account=_model(
            f"YcAccount{tag}",
            "yc_account",
            {"id": fields.IntField(primary_key=True), "n": fields.IntField()},
        ),
    )


# A table the ORM does not declare: NOT NULL and CHECK constraints written by hand, portable SQL.
CHECKED_TABLE = "yc_checked"
CHECKED_DDL = f"CREATE TABLE {CHECKED_TABLE} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n > 0))"


class Kit:
    """Handed to every test of the suite (the ``kit`` fixture). A plain class, so hypothesis
    prints it as one short line in a falsifying example."""

    def __init__(
        self, probe: Probe, models: Models, runner: asyncio.Runner, examples: int, long: bool
    ) -> None:
        self.probe = probe
        self.models = models
        self.runner = runner
        self.examples = examples
        self.long = long

    def __repr__(self) -> str:
        return f"<conformance kit: {self.probe.backend} {self.probe.server_version}>"

    @property
    def caps(self) -> Caps:
        return self.probe.capabilities

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one test's coroutine; a backend that hangs fails the test instead of the run."""
        try:
            return self.runner.run(asyncio.wait_for(coro, RUN_TIMEOUT_S))
        except TimeoutError:
            raise AssertionError(
                f"the backend did not finish this test's statements within {RUN_TIMEOUT_S:.0f} s (a hang?)"
            ) from None

    def dialect_quote(self, name: str) -> str:
        return connections.get("default").dialect.quote(name)

    async def setup(self) -> None:
        await YaraOrm.init(self.probe.url, modules={"models": self.models.all()}, max_size=POOL_SIZE)
        await self.drop_tables()
        await YaraOrm.generate_schemas(safe=False)
        await connections.get("default").execute(CHECKED_DDL)

    @property
    def backend(self) -> Any:
        """The backend's pool itself (the protocol object: engine pool or third-party)."""
        return connections.get("default").pool.engine

    @property
    def features(self) -> Any:
        return connections.get("default").pool.features

    def compile(self, qs: Any) -> tuple[str, list[Any], Any, Any]:
        """``(sql, params, decoder, spec)`` of a queryset as the ORM runs it: ``decoder(rows)``
        builds its results from ``fetch`` rows, ``spec`` is the decode plan ``fetch_instances``
        takes (None when the results are not built by the engine)."""
        sql, params, plan = build.compile_select(qs, connections.get("default").dialect)
        assert plan is not None, "a rows query has a decode plan"
        return sql, params, plan.python, plan.engine_spec

    def quote(self, name: str) -> str:
        return self.dialect_quote(name)

    def ph(self, n: int) -> str:
        """The dialect's ``n``-th placeholder (1-based)."""
        return str(connections.get("default").dialect.placeholder(n))

    async def drop_tables(self) -> None:
        conn = connections.get("default")
        await conn.execute(f"DROP TABLE IF EXISTS {CHECKED_TABLE}")
        # Children first, so foreign keys never block a drop.
        for model in reversed(self.models.all()):
            await conn.execute(f"DROP TABLE IF EXISTS {conn.dialect.quote(model._meta.table)}")

    async def teardown(self) -> None:
        try:
            await self.drop_tables()
        finally:
            await YaraOrm.close()

    async def clear(self, *models: DynamicModel) -> None:
        for model in models:
            await model.all().delete()
