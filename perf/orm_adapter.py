"""Where the ORM plugs into the perf harness.

The ORM layer (models, querysets) is being written alongside this harness. Everything here is
guarded: :func:`load` returns an :class:`Orm` when the model API imports and initialises, and
otherwise a reason string that the scripts print as "orm: not available yet (...)". No number
is ever made up for an ORM operation that cannot run; each operation that fails is reported
with its error instead.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from yara_orm.instrument import STATEMENT_METHODS

from common import ITEM_COLUMNS, WIDE_COLUMNS, Status


class StatementCounter:
    """Counts the statements sent through one engine pool (exact). Installed only around the
    untimed trial run of an operation (:meth:`Orm.counting`), so timed runs pay nothing for it."""

    # The library's own list of statement-sending methods, so a new fast path cannot hide.
    _COUNTED = (*STATEMENT_METHODS, "cursor")

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._engine, name)
        if name not in self._COUNTED:
            return target

        def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, sql))
            return target(sql, *args, **kwargs)

        return counted

    @property
    def count(self) -> int:
        return len(self.calls)


@dataclass
class Orm:
    """The ORM, initialised against one database with the perf models bound."""

    backend: str
    Item: Any
    Owner: Any
    Wide: Any
    Stream: Any
    has_fk: bool
    pool: Any  # the ORM's default pool (yara_orm.pool.Pool), or None if it could not be found
    _close: Callable[[], Awaitable[None]]
    notes: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self._close()

    @contextmanager
    def counting(self) -> Iterator[StatementCounter | None]:
        """Count the statements the ORM sends inside the block (None: counting unavailable)."""
        if self.pool is None:
            yield None
            return
        engine = self.pool._engine
        counter = StatementCounter(engine)
        self.pool._engine = self.pool._engine_side = counter
        try:
            yield counter
        finally:
            self.pool._engine = self.pool._engine_side = engine


_MODELS: dict[str, Any] | None = None


def wide_field_kinds(fields: Any) -> list[Callable[[], Any]]:
    """The column kinds of the ``wide`` table, cycled through its 20 columns, as factories of
    ``fields`` (Yara's module, or Tortoise's, whose field API is the same for these)."""
    return [
        lambda: fields.IntField(),
        lambda: fields.TextField(),
        lambda: fields.DecimalField(max_digits=12, decimal_places=3),
        lambda: fields.FloatField(),
        lambda: fields.BooleanField(),
        lambda: fields.DatetimeField(),
        lambda: fields.UUIDField(),
        lambda: fields.DateField(),
    ]


def _define_models() -> dict[str, Any]:
    """Define the perf models once per process (model classes register globally)."""
    global _MODELS
    if _MODELS is not None:
        return _MODELS
    try:
        from yara_orm import Model, fields  # type: ignore[attr-defined]
    except ImportError:
        from yara_orm import fields
        from yara_orm.models import Model

    class Owner(Model):
        id = fields.IntField(primary_key=True)
        name = fields.TextField()

        class Meta:
            table = "owner"

    fk_field = getattr(fields, "ForeignKeyField", None)
    item_attrs: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": "Item",
        "id": fields.IntField(primary_key=True),
        "name": fields.TextField(),
        "email": fields.CharField(max_length=100),
        "price": fields.DecimalField(max_digits=10, decimal_places=2),
        "quantity": fields.IntField(),
        "rating": fields.FloatField(),
        "active": fields.BooleanField(),
        "created_at": fields.DatetimeField(),
        "code": fields.UUIDField(),
        "status": fields.CharEnumField(Status, max_length=10),
        "Meta": type("Meta", (), {"table": "item"}),
    }
    if fk_field is not None:
        item_attrs["owner"] = fk_field(
            "models.Owner", related_name="items", null=True, source_field="owner_id", db_constraint=False
        )
    else:
        item_attrs["owner_id"] = fields.IntField(null=True)
    try:
        Item = type(Model)("Item", (Model,), item_attrs)
    except TypeError:
        # An FK that does not take every option above: retry with the plain ones.
        if fk_field is None:
            raise
        item_attrs["owner"] = fk_field(
            "models.Owner", related_name="items", null=True, source_field="owner_id"
        )
        Item = type(Model)("Item", (Model,), item_attrs)

    wide_kinds = wide_field_kinds(fields)
    wide_attrs: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": "Wide",
        "id": fields.IntField(primary_key=True),
        "Meta": type("Meta", (), {"table": "wide"}),
    }
    for i in range(1, WIDE_COLUMNS):
        wide_attrs[f"c{i}"] = wide_kinds[i % len(wide_kinds)]()
    Wide = type(Model)("Wide", (Model,), wide_attrs)

    class Stream(Model):
        id = fields.IntField(primary_key=True)
        name = fields.TextField()
        value = fields.FloatField()

        class Meta:
            table = "stream"

    _MODELS = {"Owner": Owner, "Item": Item, "Wide": Wide, "Stream": Stream, "has_fk": fk_field is not None}
    return _MODELS


async def load(url: str, max_size: int = 10) -> Orm | str:
    """Initialise the ORM on ``url`` (tables must exist); an :class:`Orm` or why not."""
    try:
        models = _define_models()
        from yara_orm.orm import YaraOrm

        try:
            from yara_orm.connection import connections
        except ImportError:
            connections = None
        await YaraOrm.init(
            db_url=url,
            modules={"models": [models[name] for name in ("Owner", "Item", "Wide", "Stream")]},
            use_tz=True,
            max_size=max_size,
        )
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    pool: Any = None
    notes: list[str] = []
    try:
        assert connections is not None
        pool = connections.get("default").pool
        pool._engine, pool._engine_side  # noqa: B018 - the attributes `counting` swaps must exist
    except Exception as exc:
        pool = None
        notes.append(f"statement counter unavailable: {exc}")
    return Orm(
        backend=url.split(":", 1)[0].replace("postgresql", "postgres").replace("mariadb", "mysql"),
        Item=models["Item"],
        Owner=models["Owner"],
        Wide=models["Wide"],
        Stream=models["Stream"],
        has_fk=bool(models["has_fk"]),
        pool=pool,
        _close=YaraOrm.close,
        notes=notes,
    )


def describe_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}{where}"


def item_kwargs(row: Sequence[Any], has_fk: bool) -> dict[str, Any]:
    """ORM create() kwargs for one ``item_row`` tuple."""
    kwargs = dict(zip(ITEM_COLUMNS, row[:10], strict=True))
    kwargs["status"] = Status(kwargs["status"])
    kwargs["owner_id"] = row[10]
    return kwargs
