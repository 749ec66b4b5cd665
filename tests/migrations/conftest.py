"""A throwaway project per test: models modules written to a temp dir, a config dict naming them,
the CLI run in-process, and a database of its own (an SQLite file, or a fresh PostgreSQL or
MariaDB database)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from yara_orm import connect
from yara_orm.migrations.cli import run
from yara_orm.migrations.executor import open_connection
from yara_orm.migrations.introspect import Schema, introspect
from yara_orm.registry import MODEL_REGISTRY

from .._mysql_provision import find_mysql_admin_url
from ..conftest import BACKENDS


@pytest.fixture(autouse=True)
def _keep_model_registry() -> Iterator[None]:
    """The models these tests define must not leak into other tests' YaraOrm.init()."""
    saved = list(MODEL_REGISTRY)
    yield
    MODEL_REGISTRY[:] = saved


def _admin(url: str, sql: str) -> None:
    async def go() -> None:
        pool = await connect(url, max_size=1)
        try:
            await pool.execute(sql)
        finally:
            await pool.close()

    asyncio.run(go())


@contextlib.contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    name = f"yara_mig_{uuid.uuid4().hex[:12]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def mysql_database() -> Iterator[str]:
    admin_url = find_mysql_admin_url()
    name = f"yara_mig_{uuid.uuid4().hex[:12]}"
    _admin(admin_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        _admin(admin_url, f"DROP DATABASE IF EXISTS `{name}`")


def new_db(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'db_{uuid.uuid4().hex[:6]}.sqlite3'}"
    cm = mysql_database() if backend == "mysql" else pg_database(request.getfixturevalue("pg_admin_url"))
    url = cm.__enter__()
    request.addfinalizer(lambda: cm.__exit__(None, None, None))
    return url


def fresh_db(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """An empty database to compare with (``generate_schemas``): on SQLite a new file; on
    PostgreSQL one database per test, emptied on each call (creating and dropping databases
    is what costs seconds)."""
    if backend == "sqlite":
        return new_db(request, backend, tmp_path)
    url: str | None = getattr(request.node, "_yara_fresh_pg", None)
    if url is None:
        url = new_db(request, backend, tmp_path)
        request.node._yara_fresh_pg = url  # type: ignore[attr-defined]
    elif backend == "mysql":
        name = urlsplit(url).path.lstrip("/")
        admin = find_mysql_admin_url()
        _admin(admin, f"DROP DATABASE `{name}`")
        _admin(admin, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    else:
        _admin(url, "DROP SCHEMA public CASCADE")
        _admin(url, "CREATE SCHEMA public")
    return url


class Proj:
    """One app ``shop`` (plus more via ``apps``), its migrations under ``root/migrations``."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        scheme = url.partition(":")[0]
        self.backend = {"postgresql": "postgres", "mariadb": "mysql"}.get(scheme, scheme)
        self.config_module = f"settings_{uuid.uuid4().hex[:8]}"
        self.apps: dict[str, list[str]] = {}
        root.mkdir(parents=True, exist_ok=True)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))

    def models(self, source: str, app: str = "shop") -> str:
        """Write a new version of ``app``'s models; the config now names it."""
        name = f"models_{app}_{uuid.uuid4().hex[:8]}"
        (self.root / f"{name}.py").write_text(
            "from yara_orm import Model, fields\nfrom yara_orm.models import Index\n"
            "import decimal, enum\n\n" + textwrap.dedent(source)
        )
        self.apps[app] = [name]
        self._write_config()
        return name

    def migrate_to(self, source: str, app: str = "shop") -> str:
        """Write ``app``'s models, make their migration and apply it; the models module's name."""
        module = self.models(source, app=app)
        self.ok("makemigrations", "--noinput")
        self.ok("migrate")
        return module

    def _write_config(self) -> None:
        apps = {app: {"models": mods} for app, mods in self.apps.items()}
        config = {"connections": {"default": self.url}, "apps": apps}
        (self.root / f"{self.config_module}.py").write_text(f"CONFIG = {config!r}\n")
        sys.modules.pop(self.config_module, None)

    @property
    def migrations_dir(self) -> Path:
        return self.root / "migrations"

    def cli(self, *args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(["--config", f"{self.config_module}:CONFIG", "--dir", str(self.migrations_dir), *args])
        return code, out.getvalue() + err.getvalue()

    def ok(self, *args: str) -> str:
        code, output = self.cli(*args)
        assert code == 0, output
        return output

    def sql(self, *statements: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run statements on the project's database; rows of the last one. The tests write
        standard SQL: on MariaDB this session takes "double quotes" as names (ANSI_QUOTES)."""

        async def go() -> list[tuple[Any, ...]]:
            pool = await connect(self.url, max_size=1)
            try:
                if self.backend == "mysql":
                    await pool.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
                rows: list[tuple[Any, ...]] = []
                for sql in statements:
                    if sql.lstrip().upper().startswith(("SELECT", "PRAGMA")):
                        rows = await pool.fetch(sql, params)
                    else:
                        await pool.execute(sql, params)
                return rows
            finally:
                await pool.close()

        return asyncio.run(go())

    def drop_index(self, table: str, name: str) -> str:
        """DROP INDEX in this backend's words (MySQL names the table)."""
        return f'DROP INDEX "{name}" ON "{table}"' if self.backend == "mysql" else f'DROP INDEX "{name}"'

    def schema(self) -> Schema:
        async def go() -> Schema:
            conn = await open_connection(self.url)
            try:
                return await introspect(conn)
            finally:
                await conn.pool.close()

        return asyncio.run(go())

    def index_names(self) -> set[tuple[str, str]]:
        """(table, name) of the indexes and constraints Yara names itself (``idx_``, ``uidx_``,
        ``uid_``): later migrations find them by these names."""
        if self.backend == "sqlite":
            rows = self.sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'")
        elif self.backend == "mysql":
            rows = self.sql(
                "SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
                "WHERE table_schema = DATABASE()"
            )
        else:
            rows = self.sql("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return {(str(t), str(n)) for t, n in rows if str(n).startswith(("idx_", "uidx_", "uid_"))}

    def migration_files(self, app: str = "shop") -> list[Path]:
        return sorted((self.migrations_dir / app).glob("[0-9]*.py"))


@pytest.fixture(params=BACKENDS)
def proj(request: pytest.FixtureRequest, tmp_path: Path) -> Proj:
    return Proj(tmp_path / "proj", new_db(request, request.param, tmp_path))


@pytest.fixture
def sqlite_proj(request: pytest.FixtureRequest, tmp_path: Path) -> Proj:
    return Proj(tmp_path / "proj", new_db(request, "sqlite", tmp_path))


@pytest.fixture
def pg_proj(request: pytest.FixtureRequest, tmp_path: Path) -> Proj:
    return Proj(tmp_path / "proj", new_db(request, "postgres", tmp_path))


@pytest.fixture
def mysql_proj(request: pytest.FixtureRequest, tmp_path: Path) -> Proj:
    return Proj(tmp_path / "proj", new_db(request, "mysql", tmp_path))


def generated_index_names(url: str, module: str) -> set[tuple[str, str]]:
    """:meth:`Proj.index_names` of what ``generate_schemas`` makes of ``module``'s models."""
    generated_schema(url, module)
    return Proj(Path(tempfile.mkdtemp()), url).index_names()


def generated_schema(url: str, module: str) -> Schema:
    """What ``generate_schemas`` makes of ``module``'s models on a fresh database, introspected."""
    return generated_schema_of(url, {"shop": [module]})


def generated_schema_of(url: str, apps: dict[str, list[str]]) -> Schema:
    """What ``generate_schemas`` makes of several apps' models on a fresh database."""
    from yara_orm import YaraOrm

    async def go() -> Schema:
        config = {app: {"models": modules} for app, modules in apps.items()}
        await YaraOrm.init({"connections": {"default": url}, "apps": config})
        try:
            await YaraOrm.generate_schemas()
        finally:
            await YaraOrm.close()
        conn = await open_connection(url)
        try:
            return await introspect(conn)
        finally:
            await conn.pool.close()

    return asyncio.run(go())
