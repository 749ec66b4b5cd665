"""Third-party backends: registered by URL scheme, used by ``connect`` and ``YaraOrm.init``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import yara_orm
from yara_orm import Model, SQLiteDialect, YaraOrm, fields
from yara_orm.backends import BackendPool, BackendSpec, find_backend, register_backend
from yara_orm.exceptions import ConfigurationError, IntegrityError
from yara_orm.transactions import in_transaction


class Delegating:
    """A minimal protocol implementation: the engine's SQLite pool under another name, counting
    the statements it runs (proof that the ORM goes through it)."""

    backend = "wrapped"

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.statements = 0

    def capabilities(self) -> dict[str, Any]:
        return {**self._inner.capabilities(), "backend": "wrapped"}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        self.statements += 1
        return int(await self._inner.execute(sql, params))

    async def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        self.statements += 1
        return list(await self._inner.fetch(sql, params))


OPENED: list[Delegating] = []


async def _connect(url: str, options: dict[str, Any]) -> Delegating:
    inner = await yara_orm.connect(url.replace("wrapped+", "", 1), **options)
    pool = Delegating(inner.engine)
    OPENED.append(pool)
    return pool


class WrappedDialect(SQLiteDialect):
    name = "wrapped"


class Gadget(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=10, unique=True)

    class Meta:
        table = "conf_gadget"


async def test_registered_scheme_serves_connect_and_orm(tmp_path: Any) -> None:
    register_backend("wrapped+sqlite", BackendSpec(name="wrapped", connect=_connect, dialect=WrappedDialect))
    url = f"wrapped+sqlite:///{tmp_path / 'w.db'}"
    pool = await yara_orm.connect(url)
    assert pool.backend == "wrapped" and isinstance(pool.engine, BackendPool)
    assert await pool.fetch("SELECT 1 + 1") == [(2,)]
    await pool.close()

    await YaraOrm.init(url, modules={"models": [Gadget]})
    try:
        await YaraOrm.generate_schemas()
        await Gadget.create(code="a")
        with pytest.raises(IntegrityError):
            async with in_transaction():
                await Gadget.create(code="b")
                await Gadget.create(code="a")
        assert [g.code for g in await Gadget.all()] == ["a"]
        assert OPENED[-1].statements > 0
    finally:
        await YaraOrm.close()


def test_builtin_schemes_cannot_be_taken_and_unknown_ones_explain() -> None:
    with pytest.raises(ConfigurationError, match="built-in"):
        register_backend("postgres", BackendSpec(name="x", connect=_connect, dialect=WrappedDialect))
    with pytest.raises(ConfigurationError, match=r"yara_orm\.backends"):
        find_backend("nosuch")
