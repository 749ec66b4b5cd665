"""The backend contract in ``yara_orm.backends``: the connect-time protocol check, the
``features`` object the ORM consults, and wrapping a built-in backend through public API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import yara_orm
from yara_orm import Model, SQLiteDialect, YaraOrm, fields
from yara_orm.backends import (
    OPTIONAL_PARTS,
    BackendSpec,
    DelegatingPool,
    check_backend,
    connect_builtin,
    load_spec,
    register_backend,
)
from yara_orm.exceptions import ConfigurationError


class Counting(DelegatingPool):
    """Counts the statements that reach the wrapper's own read path."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, backend="counting")
        self.fetches = 0

    async def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        self.fetches += 1
        return await super().fetch(sql, params)


class CountingFast(Counting):
    optional = frozenset({"fetch_instances"})


class CountingDialect(SQLiteDialect):
    name = "counting"


class Widget(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=20)

    class Meta:
        table = "proto_widget"


OPENED: list[Counting] = []


def _spec(cls: type[Counting]) -> BackendSpec:
    async def connect(url: str, options: dict[str, Any]) -> Counting:
        pool = cls(await connect_builtin(url.split("+", 1)[1], **options))
        OPENED.append(pool)
        return pool

    return BackendSpec(name="counting", connect=connect, dialect=CountingDialect)


async def test_builtin_pool_features(sqlite_url: str) -> None:
    pool = await yara_orm.connect(sqlite_url)
    try:
        f = pool.features
        assert f.backend == "sqlite" and f.max_bind_params == pool.capabilities()["max_bind_params"]
        assert f.offered() == {
            "fetch_instances": True,
            "copy_in": False,
            "fetch_chunk_instances": True,
            "execute_insert": False,
        }
        async with pool.transaction() as tx:
            assert tx.features is f
    finally:
        await pool.close()


@pytest.mark.postgres
async def test_builtin_postgres_offers_copy_in(pg_url: str) -> None:
    pool = await yara_orm.connect(pg_url)
    try:
        assert pool.features.copy_in is True
    finally:
        await pool.close()


async def test_connect_builtin_gives_the_engine_pool_and_refuses_others(sqlite_url: str) -> None:
    pool = await connect_builtin(sqlite_url)
    try:
        tx = await pool.begin()
        assert tx.is_active
        await tx.rollback()
        features = await check_backend(pool)
        assert features.offered() == {
            "fetch_instances": True,
            "copy_in": False,
            "fetch_chunk_instances": True,
            "execute_insert": False,
        }
    finally:
        await pool.close()
    with pytest.raises(ConfigurationError, match="engine's own schemes"):
        await connect_builtin("mydb://x")


@pytest.mark.parametrize(
    ("cls", "fast"), [(Counting, False), (CountingFast, True)], ids=["plain", "fetch_instances"]
)
async def test_wrapper_read_path_follows_its_features(
    tmp_path: Path, cls: type[Counting], fast: bool
) -> None:
    """A DelegatingPool offers no optional part unless it lists it: the ORM then reads through
    the wrapper's own fetch (the bug where a forwarding wrapper was bypassed)."""
    register_backend("counting+sqlite", _spec(cls))
    await YaraOrm.init(f"counting+sqlite:///{tmp_path / 'c.db'}", modules={"models": [Widget]})
    try:
        await YaraOrm.generate_schemas()
        pool = OPENED[-1]
        assert isinstance(pool, cls)
        await Widget.create(name="a")
        before = pool.fetches
        assert [w.name for w in await Widget.all()] == ["a"]
        assert (pool.fetches > before) is not fast, "the read path taken does not match the features"
        assert [w.name async for w in Widget.all().iterator(chunk_size=1)] == ["a"]
    finally:
        await YaraOrm.close()


class _Broken:
    """A pool with protocol mistakes, switched on by name."""

    backend = "broken"

    def __init__(self, inner: Any, mistakes: set[str]) -> None:
        self.inner = inner
        self.mistakes = mistakes

    def capabilities(self) -> dict[str, Any]:
        caps = dict(self.inner.capabilities())
        if "copy_in_capability" in self.mistakes:
            caps["copy_in"] = True
        return caps

    def __getattr__(self, name: str) -> Any:
        if name == "execute_many" and "no_execute_many" in self.mistakes:
            raise AttributeError(name)
        if name == "fetch_instances" and "no_fetch_instances" in self.mistakes:
            raise AttributeError(name)
        if name == "copy_in":
            raise AttributeError(name)
        if name == "fetch" and "fetch_one_arg" in self.mistakes:

            async def fetch(sql: str) -> list[Any]:
                return list(await self.inner.fetch(sql))

            return fetch
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("no_execute_many", r"the pool \(_Broken\) has no method execute_many\(\)"),
        ("fetch_one_arg", r"fetch\(\) cannot be called with 2 argument\(s\)"),
        ("no_fetch_instances", r"fetch_instances\(\) is offered on the transaction only"),
        ("copy_in_capability", "declares copy_in but the pool offers no copy_in"),
    ],
)
async def test_connect_time_check_names_the_mistake(tmp_path: Path, mistake: str, message: str) -> None:
    opened: list[Any] = []

    async def connect(url: str, options: dict[str, Any]) -> Any:
        pool = _Broken(await connect_builtin(url.split("+", 1)[1]), {mistake})
        opened.append(pool)
        return pool

    register_backend("broken+sqlite", BackendSpec(name="broken", connect=connect, dialect=CountingDialect))
    with pytest.raises(ConfigurationError, match=message) as info:
        await yara_orm.connect(f"broken+sqlite:///{tmp_path / 'b.db'}")
    assert "does not implement the yara_orm.backends protocol" in str(info.value)
    assert opened[0].inner.is_closed, "a pool refused at connect time must be closed"


def test_optional_parts_are_named_protocols() -> None:
    assert set(OPTIONAL_PARTS) == {"fetch_instances", "copy_in", "fetch_chunk_instances", "execute_insert"}
    with pytest.raises(ConfigurationError, match="unknown optional protocol parts"):

        class Wrong(DelegatingPool):
            optional = frozenset({"fetch_everything"})

        Wrong(object(), backend="x")


def test_load_spec_by_import_path() -> None:
    spec = load_spec("tests.conformance.mutants:SPEC")
    assert spec.name in ("mutant_sqlite", "mutant_postgres")
    with pytest.raises(ConfigurationError, match=r"package\.module:NAME"):
        load_spec("no_colon")
    with pytest.raises(ConfigurationError, match="cannot import"):
        load_spec("no_such_module_xyz:SPEC")
    with pytest.raises(ConfigurationError, match="is not a BackendSpec"):
        load_spec("tests.conformance.mutants:FAULTS")


def test_features_tie_copy_in_to_its_capability() -> None:
    from yara_orm.backends import features_of

    caps = {"backend": "x", "max_bind_params": 10, "copy_in": False, "isolation_levels": ["serializable"]}
    f = features_of(caps, fetch_instances=False, copy_in=True, fetch_chunk_instances=False)
    assert f.copy_in is False, "a copy_in method without the capability is not used"
    f = features_of(
        {**caps, "copy_in": True}, fetch_instances=True, copy_in=True, fetch_chunk_instances=False
    )
    assert f.offered() == {
        "fetch_instances": True,
        "copy_in": True,
        "fetch_chunk_instances": False,
        "execute_insert": False,
    }
    assert f.isolation_levels == ("serializable",) and f.max_bind_params == 10
    # execute_insert likewise counts only with the last_insert_id capability.
    ids = {**caps, "last_insert_id": True, "insert_id_step": 2}
    f = features_of(
        caps, fetch_instances=False, copy_in=False, fetch_chunk_instances=False, execute_insert=True
    )
    assert f.execute_insert is False and f.insert_id_step == 0
    f = features_of(
        ids, fetch_instances=False, copy_in=False, fetch_chunk_instances=False, execute_insert=True
    )
    assert f.execute_insert is True and f.insert_id_step == 2
