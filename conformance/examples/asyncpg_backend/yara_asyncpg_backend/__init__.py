"""A Yara ORM backend outside the compiled engine, over asyncpg: the worked example of
``yara_orm.backends``.

Install it (``pip install -e conformance/examples/asyncpg_backend``) and URLs with the scheme
``asyncpg+postgres://`` open through it::

    pool = await yara_orm.connect("asyncpg+postgres://user@host/db")
    await YaraOrm.init("asyncpg+postgres://user@host/db", modules=...)

It speaks the engine pool's protocol (positional rows, ``$n`` placeholders, the library's
exceptions with SQLSTATE) and reuses the PostgreSQL dialect, so passing the conformance suite
with it is a differential check of the engine's own PostgreSQL backend against an independent
driver:

    python -m yara_orm.conformance asyncpg+postgres://postgres@127.0.0.1/scratch
"""

from __future__ import annotations

from yara_orm.backends import BackendSpec
from yara_orm.dialects import PostgresDialect

from .pool import AsyncpgPool, connect

__all__ = ["BACKEND", "AsyncpgDialect", "AsyncpgPool", "connect"]


class AsyncpgDialect(PostgresDialect):
    """Same SQL as the engine's PostgreSQL backend."""

    name = "asyncpg"


BACKEND = BackendSpec(
    name="asyncpg",
    connect=connect,
    dialect=AsyncpgDialect,
    # Conformance test ids this backend is known to fail, with the reason or a link. Strict:
    # when one starts passing the run fails until it is removed here.
    expected_failures={},
)
