"""Step-by-step progress of a migration on a backend whose DDL is not transactional (MariaDB).

There each ALTER commits as it runs, so a migration that fails half-way cannot be rolled back.
Instead every step it completes (one DDL statement, a ``RunSQL`` statement, a ``RunPython``
call) is recorded in ``yara_migrations_progress`` as it completes: the table always says how
far the migration got. The next ``migrate`` regenerates the migration's steps (the same state
gives the same statements), skips the ones recorded, after checking they are still the same
steps (a digest of them), and carries on from the one that failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .. import schema
from ..connection import Connection
from ..exceptions import MigrationError
from ..fields.data import BooleanField, CharField, IntField
from .introspect import introspector_for
from .state import ModelState, ProjectState

TABLE = "yara_migrations_progress"


def _progress_model() -> ModelState:
    return ModelState(
        "yara",
        "MigrationProgress",
        TABLE,
        {
            "id": IntField(primary_key=True),
            "app": CharField(max_length=100),
            "name": CharField(max_length=255),
            "forwards": BooleanField(),
            "steps": IntField(),
            "digest": CharField(max_length=64),
            "last_step": CharField(max_length=255),
        },
    )


@dataclass
class Partial:
    """A migration that stopped half-way: ``steps`` of them ran (``forwards`` or reverting)."""

    app: str
    name: str
    forwards: bool
    steps: int
    digest: str
    last_step: str

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    def describe(self) -> str:
        doing = "applying" if self.forwards else "reverting"
        return (
            f"{self.label} stopped half-way while {doing} it: {self.steps} step(s) ran and stay "
            f"(the last: {self.last_step})"
        )


def chain(digest: str, step: str) -> str:
    return hashlib.sha256(f"{digest}\n{step}".encode()).hexdigest()


class ProgressTable:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect

    async def ensure(self) -> None:
        model = ProjectState([_progress_model()]).render().get_model("yara", "MigrationProgress")
        for sql in schema.table_statements(model, self.dialect, safe=True):
            await self.connection.pool.execute(sql)

    async def partials(self) -> dict[tuple[str, str], Partial]:
        """What failed runs left half-way (nothing where the table does not exist: a backend
        with transactional DDL, or no failure yet)."""
        q = self.dialect.quote
        if self.dialect.transactional_ddl or TABLE not in await introspector_for(self.dialect).tables(
            self.connection
        ):
            return {}
        cols = ", ".join(q(c) for c in ("app", "name", "forwards", "steps", "digest", "last_step"))
        rows = await self.connection.pool.fetch(f"SELECT {cols} FROM {q(TABLE)} ORDER BY {q('id')}")
        out = {}
        for app, name, forwards, steps, digest, last in rows:
            p = Partial(str(app), str(name), bool(forwards), int(steps), str(digest), str(last))
            out[(p.app, p.name)] = p
        return out

    async def save(self, p: Partial) -> None:
        q, ph = self.dialect.quote, self.dialect.placeholder
        pool = self.connection.pool
        where = f"{q('app')} = {ph(1)} AND {q('name')} = {ph(2)}"
        await pool.execute(f"DELETE FROM {q(TABLE)} WHERE {where}", [p.app, p.name])
        cols = ", ".join(q(c) for c in ("app", "name", "forwards", "steps", "digest", "last_step"))
        await pool.execute(
            f"INSERT INTO {q(TABLE)} ({cols}) VALUES ({', '.join(ph(i) for i in range(1, 7))})",
            [p.app, p.name, p.forwards, p.steps, p.digest, p.last_step[:255]],
        )

    async def clear(self, app: str, name: str) -> None:
        q, ph = self.dialect.quote, self.dialect.placeholder
        await self.connection.pool.execute(
            f"DELETE FROM {q(TABLE)} WHERE {q('app')} = {ph(1)} AND {q('name')} = {ph(2)}", [app, name]
        )


class Tracker:
    """Counts one migration's steps as the schema editor runs them: skips those a previous
    run completed (``resume``), records each new one before the next starts."""

    def __init__(self, table: ProgressTable, app: str, name: str, forwards: bool, resume: Partial | None):
        self.table = table
        self.state = Partial(app, name, forwards, 0, "", "")
        self.resume = resume
        self.skipped = 0

    async def run(self, step: str, action: Callable[[], Awaitable[object]]) -> None:
        state = self.state
        digest = chain(state.digest, step)
        resume = self.resume
        if resume is not None and state.steps < resume.steps:
            state.steps += 1
            state.digest = digest
            state.last_step = step
            self.skipped += 1
            if state.steps == resume.steps and digest != resume.digest:
                raise MigrationError(
                    f"{resume.describe()}, but its steps are not the same any more (its file, or one "
                    f"before it, was edited since). Restore the version that ran and migrate again to "
                    f"finish it; or undo those steps by hand and delete its row from {TABLE}"
                )
            return
        await action()
        state.steps += 1
        state.digest = digest
        state.last_step = step
        await self.table.save(state)
