"""Connection URLs and options: malformed ones raise ConfigurationError naming the bad part and
never echoing the password; valid options take effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from yara_orm import connect
from yara_orm.exceptions import ConfigurationError

from ._util import with_query

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("url", "options", "names"),
    [
        (f"postgres://u:{SECRET}@host:notaport/db", {}, "port"),
        (f"oracle://u:{SECRET}@host/db", {}, "oracle"),
        (f"mysql://u:{SECRET}@host/", {}, "database name"),
        (f"mariadb://u:{SECRET}@host/db?bogus_option=1", {}, "bogus_option"),
        (f"mysql://u:{SECRET}@host/db?sslmode=prefer", {}, "sslmode"),
        (f"no-scheme-u:{SECRET}@host/db", {}, "scheme"),
        (f"postgres://u:{SECRET}@/db", {}, "host"),
        (f"postgres://u:{SECRET}@host/db?bogus_option=1", {}, "bogus_option"),
        (f"postgres://u:{SECRET}@host/db", {"bogus_kw": 1}, "bogus_kw"),
        (f"postgresql://u:{SECRET}@host/db?max_size=0", {}, "max_size"),
        (f"postgres://u:{SECRET}@host/db?max_size=lots", {}, "max_size"),
        (f"postgres://u:{SECRET}@host/db?min_size=5&max_size=2", {}, "min_size"),
        (f"postgres://u:{SECRET}@host/db?acquire_timeout=-1", {}, "acquire_timeout"),
        (f"postgres://u:{SECRET}@host/db?statement_timeout=soon", {}, "statement_timeout"),
        (f"postgres://u:{SECRET}@host/db?connect_timeout=nan", {}, "connect_timeout"),
        (f"postgres://u:{SECRET}@host/db?sslmode=sometimes", {}, "sslmode"),
        (f"postgres://u:{SECRET}@host/db?port=http", {}, "port"),
        (f"postgres://u:{SECRET}@host/db", {"statement_cache_size": -1}, "statement_cache_size"),
        ("sqlite://", {}, "path"),
        ("sqlite:///tmp/x.db?journal=wal", {}, "journal"),
        ("sqlite:///tmp/x.db", {"journal_mode": "sideways"}, "journal_mode"),
        ("sqlite:///tmp/x.db", {"foreign_keys": "maybe"}, "foreign_keys"),
        ("sqlite:///tmp/x.db", {"busy_timeout": "forever"}, "busy_timeout"),
        ("sqlite:///tmp/x.db", {"statement_timeout": 1}, "statement_timeout"),
        ("sqlite:///tmp/x.db?mode=sometimes", {}, "mode"),
    ],
)
async def test_bad_urls(url: str, options: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        await connect(url, **options)
    message = str(caught.value)
    assert names in message, message
    for text in (message, repr(caught.value), str(caught.value.args)):
        assert SECRET not in text


async def test_percent_encoded_password_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        await connect("postgres://u:p%40ss%2Fw0rd@host:99999/db")
    assert "p@ss/w0rd" not in str(caught.value) and "p%40ss" not in str(caught.value)


async def test_url_options_take_effect(pg_url: str) -> None:
    async with await connect(with_query(pg_url, max_size=3, application_name="yara_url_test")) as pool:
        assert pool.status()["max_size"] == 3
        assert await pool.fetch_one("SHOW application_name") == ("yara_url_test",)
        assert await pool.fetch_one("SHOW TimeZone") == ("UTC",)
    # Keyword options override the URL query.
    async with await connect(with_query(pg_url, max_size=3), max_size=5) as pool:
        assert pool.status()["max_size"] == 5
    # min_size connections are opened up front.
    async with await connect(pg_url, min_size=2, max_size=3) as pool:
        assert pool.status()["size"] == 2


async def test_postgresql_scheme_alias(pg_url: str) -> None:
    url = "postgresql" + pg_url[pg_url.index("://") :]
    async with await connect(url) as pool:
        assert pool.backend == "postgres"
        assert await pool.fetch("SELECT 1") == [(1,)]


async def test_sslmode_disable(pg_url: str) -> None:
    async with await connect(pg_url, sslmode="disable") as pool:
        assert await pool.fetch_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == (False,)


async def test_sqlite_url_options(tmp_path: Path) -> None:
    path = tmp_path / "with space.db"
    url = f"sqlite:///{str(path).replace(' ', '%20')}?max_size=2&busy_timeout=1.5"
    async with await connect(url) as pool:
        assert pool.backend == "sqlite"
        assert pool.status()["max_size"] == 2
        assert await pool.fetch("PRAGMA journal_mode") == [("wal",)]
        assert await pool.fetch("PRAGMA foreign_keys") == [(1,)]
        assert await pool.fetch("PRAGMA busy_timeout") == [(1500,)]
        await pool.execute("CREATE TABLE t (v INTEGER)")
    assert path.exists()
    async with await connect(
        f"sqlite:///{tmp_path / 'b.db'}", journal_mode="delete", foreign_keys=False
    ) as pool:
        assert await pool.fetch("PRAGMA journal_mode") == [("delete",)]
        assert await pool.fetch("PRAGMA foreign_keys") == [(0,)]


async def test_sqlite_url_mode(tmp_path: Path) -> None:
    # SQLite's own mode= URI values: memory uses no file at all (one connection, as :memory:).
    path = tmp_path / "never.db"
    async with await connect(f"sqlite:///{path}?mode=memory&max_size=3") as pool:
        assert pool.status()["max_size"] == 1
        await pool.execute("CREATE TABLE t (v INTEGER)")
        await pool.execute("INSERT INTO t VALUES (1)")
        assert await pool.fetch("SELECT v FROM t") == [(1,)]
    assert not path.exists()
    # rw needs the file to exist; ro reads it and refuses writes; rwc (the default) creates it.
    with pytest.raises(Exception, match="cannot open SQLite database"):
        async with await connect(f"sqlite:///{path}?mode=rw") as pool:
            await pool.fetch("SELECT 1")
    assert not path.exists()
    async with await connect(f"sqlite:///{path}?mode=rwc") as pool:
        await pool.execute("CREATE TABLE t (v INTEGER)")
        await pool.execute("INSERT INTO t VALUES (7)")
    async with await connect(f"sqlite:///{path}?mode=ro") as pool:
        assert await pool.fetch("SELECT v FROM t") == [(7,)]
        with pytest.raises(Exception, match="readonly"):
            await pool.execute("INSERT INTO t VALUES (8)")
    async with await connect(f"sqlite:///{path}?mode=rw") as pool:
        await pool.execute("INSERT INTO t VALUES (8)")
        assert await pool.fetch("SELECT count(*) FROM t") == [(2,)]
