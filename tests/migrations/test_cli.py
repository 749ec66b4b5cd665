"""Exit codes CI can rely on: 0 fine, 1 ``check`` found something, 2 an error of any kind."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from urllib.parse import urlsplit

from yara_orm import YaraOrm

from .conftest import Proj

BOOK = "class Book(Model):\n    title = fields.CharField(max_length=100)\n"


def test_a_models_module_that_does_not_import_exits_2_not_1(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(BOOK)
    p.ok("makemigrations", "--noinput")
    p.models("class Book(Model):\n    title = fields.CharField(max_length=100\n")
    # Exit 1 would read as "check found differences"; a broken project is an error.
    code, out = p.cli("check", "--no-db")
    assert code == 2 and "SyntaxError" in out and "error: " in out
    p.models("class Book(Model):\n    title = fields.CharField(max_lenght=100)\n")
    code, out = p.cli("makemigrations")
    assert code == 2 and "max_lenght" in out


def test_check_exit_codes(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(BOOK)
    assert p.cli("check", "--no-db")[0] == 1  # no migration yet
    p.ok("makemigrations", "--noinput")
    assert p.cli("check", "--no-db")[0] == 0
    p.ok("migrate")
    assert p.cli("check")[0] == 0
    p.sql("CREATE TABLE stray (id INTEGER)")
    assert p.cli("check")[0] == 1
    p.apps["shop"] = ["no_such_module"]
    p._write_config()
    assert p.cli("check")[0] == 2


def test_output_piped_into_a_reader_that_stops_is_not_a_crash(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(BOOK)
    p.ok("makemigrations", "--noinput")
    env = {**os.environ, "YARA_CONFIG": f"{p.config_module}:CONFIG"}
    yara = os.path.join(os.path.dirname(sys.executable), "yara")
    cmd = [yara, "migrations", "--dir", str(p.migrations_dir), "sqlmigrate", "shop", "0001"]
    proc = subprocess.Popen(cmd, cwd=p.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_tortoise_config_with_credentials_and_aerich_works(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    module = p.models(BOOK)
    path = p.url.removeprefix("sqlite://")
    config = {
        "connections": {
            "default": {"engine": "tortoise.backends.sqlite", "credentials": {"file_path": path}}
        },
        "apps": {"shop": {"models": [module, "aerich.models"], "default_connection": "default"}},
    }
    (p.root / f"{p.config_module}.py").write_text(f"CONFIG = {config!r}\n")
    p.ok("makemigrations", "--noinput")
    p.ok("migrate")
    assert "book" in p.schema() and "aerich" not in p.schema()
    assert p.cli("check")[0] == 0


def test_migrate_targets_by_full_name_prefix_and_zero(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(BOOK)
    p.ok("makemigrations", "--noinput")
    p.models(BOOK + "    pages = fields.IntField(null=True)\n")
    p.ok("makemigrations", "--noinput", "--name", "pages")
    p.models(BOOK + "    pages = fields.IntField(null=True)\n    isbn = fields.TextField(null=True)\n")
    p.ok("makemigrations", "--noinput", "--name", "isbn")

    def applied() -> list[str]:
        return [r[0] for r in p.sql("SELECT name FROM yara_migrations ORDER BY id")]

    p.ok("migrate", "shop", "0001_initial")
    assert applied() == ["0001_initial"]
    p.ok("migrate", "shop", "0003")  # a unique prefix
    assert applied() == ["0001_initial", "0002_pages", "0003_isbn"]
    p.ok("migrate", "shop", "0002_pages")  # backwards to a full name
    assert applied() == ["0001_initial", "0002_pages"]
    code, out = p.cli("migrate", "shop", "000")
    assert code == 2 and "matches several migrations" in out and "0001_initial, 0002_pages" in out
    code, out = p.cli("migrate", "shop", "0009")
    assert code == 2 and "has no migration '0009'" in out and "0003_isbn" in out
    p.ok("migrate", "shop", "zero")
    assert applied() == [] and "book" not in p.schema()
    assert "Nothing to do." in p.ok("migrate", "shop", "zero")


def test_a_tortoise_postgres_schema_credential_is_where_migrations_and_models_go(pg_proj: Proj) -> None:
    """``credentials["schema"]``: migrate, check and the ORM all work in that schema (it was
    dropped, so tables landed in public)."""
    p = pg_proj
    module = p.models(BOOK)
    parts = urlsplit(p.url)
    p.sql("CREATE SCHEMA app_shop")
    credentials = {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "database": parts.path.lstrip("/"),
        # Passed on as the session's search_path, as Tortoise does (the space is escaped).
        "schema": "app_shop, public",
    }
    config = {
        "connections": {"default": {"engine": "tortoise.backends.asyncpg", "credentials": credentials}},
        "apps": {"shop": {"models": [module]}},
    }
    (p.root / f"{p.config_module}.py").write_text(f"CONFIG = {config!r}\n")
    p.ok("makemigrations", "--noinput")
    p.ok("migrate")
    tables = p.sql("SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = 'book'")
    assert tables == [("app_shop", "book")]
    assert p.cli("check")[0] == 0

    async def create() -> None:
        await YaraOrm.init(config)
        try:
            book = YaraOrm.get_model("shop.Book")
            await book.create(title="Dune")
        finally:
            await YaraOrm.close()

    asyncio.run(create())
    assert p.sql("SELECT title FROM app_shop.book") == [("Dune",)]
