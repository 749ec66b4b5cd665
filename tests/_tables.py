"""Dropping test tables on any backend."""

from __future__ import annotations

from yara_orm import Connection


async def drop_tables(conn: Connection, tables: list[str]) -> None:
    """Drop ``tables`` (dependents first) in the connection's own quoting."""
    q = conn.dialect.quote
    if conn.backend == "mysql":
        # Tables referencing each other: the checks are off for this one script (one session).
        if tables:
            names = ", ".join(q(t) for t in tables)
            await conn.execute(
                f"SET FOREIGN_KEY_CHECKS = 0; DROP TABLE IF EXISTS {names}; SET FOREIGN_KEY_CHECKS = 1"
            )
        return
    cascade = " CASCADE" if conn.backend == "postgres" else ""
    for table in tables:
        await conn.execute(f"DROP TABLE IF EXISTS {q(table)}{cascade}")
