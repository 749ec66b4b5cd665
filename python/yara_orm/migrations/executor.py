"""Applying and reverting migrations on one database.

The executor opens its own single-connection pool, so everything it does (the lock, each
migration's statements, ``RunPython``'s queries) happens on one session:

* PostgreSQL: a session advisory lock serialises concurrent ``migrate`` runs (several app
  instances starting at once): one applies, the others wait, then find nothing left to do. The
  whole plan runs in one transaction, so a failure leaves the database as it was before the run
  (a migration that cannot run in a transaction, such as ``AddIndex(concurrently=True)``, runs
  on its own between transactions).
* MariaDB: DDL commits as it runs, so nothing can be rolled back: a named lock (GET_LOCK)
  serialises the runs, and each step of a migration is recorded in ``yara_migrations_progress``
  as it completes (:mod:`.progress`), so a failed migration says how far it got and the next
  run carries on from there.
* SQLite: each migration runs in its own transaction (foreign keys are checked by the table
  rebuild, not enforced while statements run), so a failure leaves the database as it was
  after the last migration that completed. Committing per migration releases SQLite's write
  lock in between, so the run is serialised by an exclusive ``flock`` on a file next to the
  database instead (released by the OS if the process dies, so no stale lock survives).

The migrations table records what ran, with each file's checksum; an applied migration whose
file changed since is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .. import schema
from ..connection import Connection
from ..dialects import get_dialect
from ..exceptions import IrreversibleError, MigrationError
from ..fields.data import CharField, DatetimeField, IntField
from ..pool import Pool, connect
from .editor import SchemaEditor
from .graph import Key, Migration, MigrationGraph
from .introspect import introspector_for
from .progress import TABLE as PROGRESS_TABLE
from .progress import Partial, ProgressTable, Tracker
from .state import ModelState, ProjectState

TABLE = "yara_migrations"
# pg_advisory_lock key: a fixed 63-bit number ("yara migrate"), the same in every process.
LOCK_KEY = 0x7961_7261_6D69_6772

Report = Callable[[str], None]

if sys.platform != "win32":
    import fcntl


def lock_file_for(url: str) -> Path | None:
    """The file ``migrate`` locks for an SQLite database file (None: another backend, or an
    in-memory database, which no other process can open)."""
    if not url.startswith("sqlite://"):
        return None
    path = unquote(url[len("sqlite://") :].partition("?")[0])
    if not path or path == ":memory:":
        return None
    # Not the database file itself: closing any descriptor of it would drop SQLite's own
    # POSIX locks held by this process.
    return Path(f"{path}-migrate.lock")


class FileLock:
    """An exclusive ``flock`` held for a whole ``migrate`` run; waiting polls, so a cancelled
    run stops waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self, report: Report) -> None:
        if sys.platform == "win32":
            return  # no flock: each migration's transaction still re-reads what was applied
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        waited = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        report(f"waiting for another migrate run on this database ({self.path})...")
                        waited = True
                    await asyncio.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def _record_model() -> ModelState:
    return ModelState(
        "yara",
        "MigrationRecord",
        TABLE,
        {
            "id": IntField(primary_key=True),
            "app": CharField(max_length=100),
            "name": CharField(max_length=255),
            "checksum": CharField(max_length=64),
            "applied": DatetimeField(),
        },
    )


async def open_connection(url: str, name: str = "migrations") -> Connection:
    """A one-connection pool for migrating (SQLite: foreign keys off, as the rebuild needs)."""
    options: dict[str, Any] = {"max_size": 1, "min_size": 1}
    if url.startswith("sqlite"):
        options["foreign_keys"] = False
        options["busy_timeout"] = 30.0
    pool: Pool = await connect(url, **options)
    return Connection(name, pool, get_dialect(pool.backend, pool.capabilities()))


class Recorder:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect

    async def ensure_table(self) -> None:
        model = ProjectState([_record_model()]).render().get_model("yara", "MigrationRecord")
        for sql in schema.table_statements(model, self.dialect, safe=True):
            await self.connection.pool.execute(sql)

    async def has_table(self) -> bool:
        return TABLE in await introspector_for(self.dialect).tables(self.connection)

    async def applied(self) -> dict[Key, str]:
        """Applied migrations and their recorded checksums."""
        q = self.dialect.quote
        rows = await self.connection.pool.fetch(
            f"SELECT {q('app')}, {q('name')}, {q('checksum')} FROM {q(TABLE)} ORDER BY {q('id')}"
        )
        return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}

    async def record(self, m: Migration) -> None:
        q, p = self.dialect.quote, self.dialect.placeholder
        await self.connection.pool.execute(
            f"INSERT INTO {q(TABLE)} ({q('app')}, {q('name')}, {q('checksum')}, {q('applied')}) "
            f"VALUES ({p(1)}, {p(2)}, {p(3)}, CURRENT_TIMESTAMP)",
            [m.app, m.name, m.checksum],
        )

    async def unrecord(self, m: Migration) -> None:
        q, p = self.dialect.quote, self.dialect.placeholder
        # Reverting a squashed migration reverts what it replaces too.
        for app, name in [m.key, *m.replaces]:
            await self.connection.pool.execute(
                f"DELETE FROM {q(TABLE)} WHERE {q('app')} = {p(1)} AND {q('name')} = {p(2)}", [app, name]
            )


def check_checksums(graph: MigrationGraph, applied: dict[Key, str]) -> None:
    for key, recorded in applied.items():
        m = graph.all.get(key)
        if m is not None and recorded and m.checksum != recorded:
            raise MigrationError(
                f"migration {m.label} was edited after it was applied (file {m.path} no longer matches "
                "the checksum recorded in the database). Restore the applied version (version control), "
                "and put further changes in a new migration"
            )


@contextlib.contextmanager
def _outcome(note: str) -> Iterator[None]:
    """Say what a failure left behind (a database error propagates with this note)."""
    try:
        yield
    except Exception as exc:
        exc.add_note(note)
        raise


def missing_files(graph: MigrationGraph, applied: Iterable[Key]) -> list[Key]:
    """Migrations the database records as applied that no file describes (a squashed
    migration's ``replaces`` still accounts for the files it let you delete)."""
    replaced = {r for m in graph.all.values() for r in m.replaces}
    return sorted(k for k in applied if k not in graph.all and k not in replaced)


def missing_files_message(keys: list[Key]) -> str:
    names = ", ".join(f"{a}.{n}" for a, n in keys)
    return (
        f"{names}: recorded as applied in {TABLE}, but no migration file has that name. Restore "
        "the file (version control); if the schema change was undone by hand, delete its row from "
        f"{TABLE}"
    )


class Plan:
    def __init__(self, forwards: bool, migrations: list[Migration]) -> None:
        self.forwards = forwards
        self.migrations = migrations

    def __bool__(self) -> bool:
        return bool(self.migrations)


def make_plan(
    graph: MigrationGraph,
    applied: set[Key],
    app: str | None,
    target: str | None,
    apps: list[str] | None = None,
    needed: set[Key] | None = None,
) -> Plan:
    """What ``migrate [app [target]]`` does: forward to the leaves (or to ``target``), or back
    to ``target`` (``zero``: before the app's first migration). ``apps`` are the apps stored
    on this database: a plain ``migrate`` applies theirs, and a dependency on an app stored
    elsewhere is left to that database's run. ``needed`` (no ``app``): forward to just these
    migrations, what ``migrate APP`` needs from this database for an app stored elsewhere."""
    if app is not None and app not in graph.apps() and target not in (None, "zero"):
        raise MigrationError(f"app {app!r} has no migrations (known: {', '.join(graph.apps()) or 'none'})")
    here = None if apps is None else set(apps)
    if target is None:
        if app is not None:
            apps = [app]
        elif apps is None:
            apps = graph.apps()
        else:
            apps = [a for a in apps if a in graph.apps()]
        wanted: set[Key] = set(needed or ())
        for a in apps if needed is None else ():
            for leaf in graph.leaves(a):
                wanted |= graph.ancestors(leaf)
        todo = [k for k in graph.order(wanted) if k not in applied and (here is None or k[0] in here)]
        return Plan(True, [graph.nodes[k] for k in todo])
    assert app is not None
    if target == "zero":
        roots = [k for k in graph.nodes if k[0] == app]
        undo: set[Key] = set()
        for k in roots:
            undo |= graph.descendants(k)
    else:
        key = find_migration(graph, app, target)
        if key not in applied:
            todo = [
                k
                for k in graph.order(graph.ancestors(key))
                if k not in applied and (here is None or k[0] in here)
            ]
            return Plan(True, [graph.nodes[k] for k in todo])
        undo = set()
        for child in graph.children(key):
            if child[0] == app:
                undo |= graph.descendants(child)
        # Other apps' migrations that depend on what is undone go first (descendants cover them).
    order = [k for k in reversed(graph.order(undo)) if k in applied]
    return Plan(False, [graph.nodes[k] for k in order])


def find_migration(graph: MigrationGraph, app: str, target: str) -> Key:
    if (app, target) in graph.nodes:
        return (app, target)
    matches = [k for k in graph.nodes if k[0] == app and k[1].startswith(target)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(k[1] for k in graph.nodes if k[0] == app)
    if not matches:
        raise MigrationError(f"app {app!r} has no migration {target!r} (it has: {names or 'none'})")
    raise MigrationError(
        f"{target!r} matches several migrations of {app!r}: {', '.join(k[1] for k in matches)}"
    )


class Executor:
    """``lock_file``: what serialises runs on a backend without a session lock (SQLite:
    :func:`lock_file_for` of its URL)."""

    def __init__(
        self,
        connection: Connection,
        graph: MigrationGraph,
        report: Report | None = None,
        lock_file: Path | None = None,
    ) -> None:
        self.connection = connection
        self.graph = graph
        self.recorder = Recorder(connection)
        self.report = report or (lambda _line: None)
        self.dialect = connection.dialect
        self._session: Any = None
        self._file_lock = FileLock(lock_file) if lock_file is not None else None
        self._locked = False
        self.progress = ProgressTable(connection)
        self._partials: dict[Key, Partial] = {}

    async def _lock(self) -> None:
        sql = self.dialect.advisory_lock_sql(LOCK_KEY)
        if sql is not None:
            # Blocks until another process's migrate run releases the lock.
            row = await self.connection.pool.fetch_one(sql)
            if not self.dialect.advisory_lock_acquired(None if row is None else row[0]):
                raise MigrationError(
                    "could not take the migration lock (another migrate run held it too long, or "
                    "the server refused); nothing was applied. Run migrate again"
                )
            self._session = await self._session_id()
            self._locked = True
        elif self._file_lock is not None:
            await self._file_lock.acquire(self.report)
            self._locked = True

    async def _session_id(self) -> Any:
        sql = self.dialect.session_id_sql()
        if sql is None:
            return None
        row = await self.connection.pool.fetch_one(sql)
        return None if row is None else row[0]

    async def _check_lock(self) -> None:
        """The lock belongs to the session: if the pool replaced the connection (a dropped
        connection), it is gone, and carrying on could race another migrate run."""
        if self._session is not None and await self._session_id() != self._session:
            raise MigrationError(
                "the connection holding the migration lock was lost (the server closed it); "
                "nothing more was applied. Run migrate again"
            )

    async def _unlock(self) -> None:
        sql = self.dialect.advisory_unlock_sql(LOCK_KEY)
        if sql is not None:
            await self.connection.pool.execute(sql)
        if self._file_lock is not None:
            self._file_lock.release()
        self._locked = False

    async def migrate(
        self,
        app: str | None = None,
        target: str | None = None,
        fake: bool = False,
        apps: list[str] | None = None,
        needed: set[Key] | None = None,
        undo: set[Key] | None = None,
    ) -> Plan:
        """``undo``: revert just these (where applied here), dependants first: what reverting
        an app on another database takes away from this one's apps."""
        self.graph.validate()
        await self._lock()
        try:
            await self.recorder.ensure_table()
            applied = await self.recorder.applied()
            check_checksums(self.graph, applied)
            missing = missing_files(self.graph, applied)
            if missing:
                self.report(f"warning: {missing_files_message(missing)}")
            # The graph as this database sees it (squashed migrations against what ran).
            self.graph = self.graph.with_applied(set(applied))
            for key in sorted(self.graph.implied - set(applied)):
                squashed = self.graph.nodes[key]
                await self.recorder.record(squashed)
                applied[key] = squashed.checksum
                self.report(f"{squashed.label} recorded: every migration it replaces was applied")
            if undo is not None:
                order = [k for k in reversed(self.graph.order(undo)) if k in applied]
                plan = Plan(False, [self.graph.nodes[k] for k in order])
            else:
                plan = make_plan(self.graph, set(applied), app, target, apps, needed)
            self._partials = await self._load_partials(plan)
            if not plan:
                self.report("No migrations to apply." if target is None else "Nothing to do.")
                return plan
            if not plan.forwards:
                for m in plan.migrations:
                    for op in m.operations:
                        if not op.reversible:
                            raise IrreversibleError(
                                f"migration {m.label} cannot be reverted: "
                                f"{op.describe()} has no backward step"
                            )
            await self._run(plan, fake)
            return plan
        finally:
            await self._unlock()

    async def _run(self, plan: Plan, fake: bool) -> None:
        per_migration = not self._whole_plan_transaction()
        pool = self.connection.pool
        batch: list[Migration] = []

        async def flush() -> None:
            if not batch:
                return
            await self._check_lock()
            names = ", ".join(m.label for m in batch)
            with _outcome(f"rolled back: none of {names} is applied, the database is as it was before them"):
                async with pool.transaction():
                    for m in batch:
                        await self._apply(m, plan.forwards, fake)
            batch.clear()

        for m in plan.migrations:
            if not self.dialect.transactional_ddl:
                # MariaDB: each step commits as it runs, and is recorded as it does (_apply).
                await self._check_lock()
                await self._apply(m, plan.forwards, fake)
            elif not m.runs_in_transaction:
                await flush()
                await self._check_lock()
                with _outcome(
                    f"{m.label} runs outside a transaction: what it did before the failure stays. Check "
                    "the database, then run migrate again"
                ):
                    await self._apply(m, plan.forwards, fake)
            elif per_migration:
                await self._check_lock()
                with _outcome(f"{m.label} was rolled back; the migrations before it stay applied"):
                    async with pool.transaction():
                        await self._apply(m, plan.forwards, fake)
            else:
                batch.append(m)
        await flush()

    async def _load_partials(self, plan: Plan) -> dict[Key, Partial]:
        """Migrations a failed run left half-way (MariaDB). The plan must be the one that
        finishes them (the same direction); anything else would build on a half-changed
        schema."""
        if self.dialect.transactional_ddl:
            return {}
        await self.progress.ensure()
        partials = await self.progress.partials()
        planned = {m.key for m in plan.migrations}
        for key, p in partials.items():
            if key in planned and p.forwards == plan.forwards:
                continue
            finish = (
                "run migrate forward to finish it"
                if p.forwards
                else f"run `migrate {p.app} TARGET` back again to finish reverting it"
            )
            raise MigrationError(
                f"{p.describe()}; DDL commits as it runs on {self.dialect.name}, so it could not be "
                f"rolled back. Fix what made it fail, then {finish} (the steps that ran are skipped); "
                f"or undo those steps by hand and delete its row from {PROGRESS_TABLE}"
            )
        return partials

    def _whole_plan_transaction(self) -> bool:
        # SQLite commits per migration (documented); servers with transactional DDL roll the
        # whole run back.
        return self.dialect.alter_column_in_place and self.dialect.transactional_ddl

    async def _apply(self, m: Migration, forwards: bool, fake: bool) -> None:
        # No run lock: another process may have applied it since the plan was made (read
        # again inside this migration's transaction).
        if forwards and not self._locked and m.key in await self.recorder.applied():
            self.report(f"{m.label} was applied by another process meanwhile")
            return
        self.report(f"{'Applying' if forwards else 'Reverting'} {m.label}...")
        tracker = None
        if not fake and not self.dialect.transactional_ddl:
            resume = self._partials.get(m.key)
            tracker = Tracker(self.progress, m.app, m.name, forwards, resume)
            if resume is not None:
                self.report(f"  resuming after the {resume.steps} step(s) a failed run completed")
        if not fake:
            editor = SchemaEditor(self.dialect, self.connection, tracker)
            try:
                await run_operations(self.graph, m, editor, forwards)
            except Exception as exc:
                if tracker is not None:
                    exc.add_note(
                        f"{tracker.state.steps} step(s) of {m.label} ran and stay ({self.dialect.name} "
                        f"commits DDL as it runs); {PROGRESS_TABLE} records them: fix the cause and "
                        "migrate again to carry on from the step that failed"
                    )
                raise
            if tracker is not None and tracker.resume is not None and tracker.skipped < tracker.resume.steps:
                raise MigrationError(
                    f"{tracker.resume.describe()}, but it has fewer steps now (its file was edited). "
                    f"Restore the version that ran, or undo those steps by hand and delete its row "
                    f"from {PROGRESS_TABLE}"
                )
        if forwards:
            await self.recorder.record(m)
        else:
            await self.recorder.unrecord(m)
        if m.key in self._partials or tracker is not None:
            # Finished (or recorded by --fake): nothing of it is half-done any more.
            await self.progress.clear(m.app, m.name)
        self.report(f"  {'applied' if forwards else 'reverted'} {m.label}")


async def run_operations(graph: MigrationGraph, m: Migration, editor: SchemaEditor, forwards: bool) -> None:
    """Run ``m``'s operations forward, or backward in reverse order, with the states around each."""
    state = graph.state_before(m.key)
    states: list[tuple[ProjectState, ProjectState]] = []
    for op in m.operations:
        before = state.clone()
        op.state_forwards(m.app, state)
        states.append((before, state.clone()))
    pairs = list(zip(m.operations, states, strict=True))
    if not forwards:
        pairs.reverse()
    for op, (before, after) in pairs:
        try:
            if forwards:
                await op.forwards(m.app, editor, before, after)
            else:
                await op.backwards(m.app, editor, before, after)
        except MigrationError:
            raise
        except Exception as exc:
            # The database error as raised (IntegrityError...), with where it happened.
            exc.add_note(f"while {'applying' if forwards else 'reverting'} {m.label}: {op.describe()}")
            raise


async def sql_for(graph: MigrationGraph, m: Migration, dialect: Any, forwards: bool = True) -> list[str]:
    """The statements ``m`` runs (``sqlmigrate``), without a database."""
    editor = SchemaEditor(dialect, None)
    await run_operations(graph, m, editor, forwards)
    return editor.collected
