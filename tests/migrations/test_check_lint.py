"""``check`` (models vs migrations, live schema vs migrations), the lint, the concurrent-migrate
lock, renames asked interactively, and the console entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from yara_orm.migrations import Autodetector, state_from_models
from yara_orm.migrations.project import Project, load_config

from .conftest import Proj, generated_schema, new_db
from .test_operations import write

V1 = """
class Book(Model):
    title = fields.CharField(max_length=100, index=True)
    pages = fields.IntField(null=True)
"""


def test_check_detects_unmigrated_model_changes_and_schema_drift(proj: Proj) -> None:
    p = proj
    p.migrate_to(V1)
    out = p.ok("check")
    assert "Models and migrations agree" in out and "schema matches" in out

    p.sql("ALTER TABLE book ADD COLUMN sneaky INTEGER")
    code, out = p.cli("check")
    assert code == 1 and "book.sneaky" in out
    p.sql("ALTER TABLE book DROP COLUMN sneaky", p.drop_index("book", "idx_book_title"))
    code, out = p.cli("check")
    assert code == 1 and "indexes" in out and "title" in out
    p.sql('CREATE INDEX "idx_book_title" ON "book" ("title")')
    assert p.cli("check")[0] == 0

    p.models(V1.replace("max_length=100", "max_length=200"))
    code, out = p.cli("check")
    assert code == 1 and "Alter field title on Book" in out and "makemigrations" in out
    assert p.cli("makemigrations", "--check")[0] == 1
    assert p.migration_files() and len(p.migration_files()) == 1  # --check writes nothing


V2_UNSAFE = """
class Book(Model):
    title = fields.CharField(max_length=100, index=True)
    pages = fields.BigIntField(null=True)
    isbn = fields.CharField(max_length=13)

    class Meta:
        indexes = (Index("title", "pages"),)
"""


def test_lint_warns_about_locking_and_unsafe_operations_with_the_alternative(pg_proj: Proj) -> None:
    p = pg_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    p.models(V2_UNSAFE)
    out = p.ok("makemigrations", "--noinput")
    for rule in ("add-not-null", "rewrite", "index-lock"):
        assert f"[{rule}]" in out, out
    assert "concurrently=True" in out
    second = p.migration_files()[-1].stem
    write(
        p,
        "0003_drop",
        f'dependencies = [("shop", "{second}")]\noperations = [ops.RemoveField("Book", "isbn")]\n',
    )
    out = p.ok("lint")
    assert "[drop-in-use]" in out and "deploy that first" in out
    assert p.cli("lint", "--strict")[0] == 1
    # The initial migration creates its tables: nothing to warn about there.
    assert "0001_initial" not in out


CONCURRENT = """
dependencies = [("shop", "0001_initial")]
operations = [ops.AddIndex("Book", Index("title", "pages", name="book_title_pages"), concurrently=True)]
"""


def test_concurrent_index_runs_outside_a_transaction_and_passes_the_lint(pg_proj: Proj) -> None:
    p = pg_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    write(p, "0002_concurrent", CONCURRENT)
    out = p.ok("sqlmigrate", "shop", "0002")
    assert "CREATE INDEX CONCURRENTLY" in out and "BEGIN" not in out
    assert "index-lock" not in p.ok("lint")
    p.ok("migrate", "shop", "0001")
    p.sql("INSERT INTO book (title) VALUES ('a')")
    p.ok("migrate")
    assert (("title", "pages"), False) in p.schema()["book"]["indexes"]
    p.ok("migrate", "shop", "0001")
    assert (("title", "pages"), False) not in p.schema()["book"]["indexes"]


# A migration that takes a while, so the other processes start while it runs.
SLOW = {
    "postgres": """
dependencies = [("shop", "0001_initial")]
operations = [ops.RunSQL("DO $$ BEGIN PERFORM pg_sleep(1.5); END $$", backward=[])]
""",
    "mysql": """
dependencies = [("shop", "0001_initial")]
operations = [ops.RunSQL("SELECT SLEEP(1.5)", backward=[])]
""",
    "sqlite": """
import asyncio

async def wait(apps, connection):
    await asyncio.sleep(1.5)

dependencies = [("shop", "0001_initial")]
operations = [ops.RunPython(wait, wait)]
""",
}


def test_concurrent_migrate_processes_apply_each_migration_once(proj: Proj) -> None:
    p = proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    write(p, "0002_slow", SLOW[p.backend])
    env = {**os.environ, "YARA_CONFIG": f"{p.config_module}:CONFIG"}
    cmd = [sys.executable, "-m", "yara_orm", "migrations", "--dir", str(p.migrations_dir), "migrate"]
    procs = [
        subprocess.Popen(
            cmd, cwd=p.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(3)
    ]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        outputs.append(out)
        assert proc.returncode == 0, out
    appliers = [o for o in outputs if "Applying shop.0001_initial" in o]
    assert len(appliers) == 1, outputs
    assert "Applying shop.0002_slow" in appliers[0]
    assert sum("No migrations to apply" in o for o in outputs) == 2, outputs
    assert p.sql("SELECT name FROM yara_migrations ORDER BY id") == [("0001_initial",), ("0002_slow",)]


def test_the_yara_console_script_and_module_entry_point(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(V1)
    env = {**os.environ, "YARA_CONFIG": f"{p.config_module}:CONFIG"}
    args = ["migrations", "--dir", str(p.migrations_dir), "makemigrations", "--noinput"]
    yara = os.path.join(os.path.dirname(sys.executable), "yara")
    done = subprocess.run([yara, *args], cwd=p.root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "0001_initial" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "yara_orm", "migrations", "--dir", str(p.migrations_dir), "showmigrations"],
        cwd=p.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "[ ] 0001_initial" in done.stdout
    # The options may follow the command too.
    no_env = {k: v for k, v in os.environ.items() if k != "YARA_CONFIG"}
    late = ["showmigrations", "--config", f"{p.config_module}:CONFIG", "--dir", str(p.migrations_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "yara_orm", "migrations", *late],
        cwd=p.root,
        env=no_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "[ ] 0001_initial" in done.stdout, done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "yara_orm", "migrations", "migrate"],
        cwd=p.root,
        env={k: v for k, v in os.environ.items() if k != "YARA_CONFIG"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--config" in bad.stderr


def test_renames_are_asked_when_not_given(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    p.models(V1.replace("title", "name"))
    project = Project(load_config(f"{p.config_module}:CONFIG"), directory=p.migrations_dir)
    before = project.graph().state()
    after = state_from_models(project.models)
    asked: list[str] = []

    def yes(question: str) -> bool:
        asked.append(question)
        return True

    ops = Autodetector(before, after, ask=yes).changes(["shop"]).operations["shop"]
    assert asked == ["Was shop.Book.title renamed to name? [y/N] "]
    assert [o.describe() for o in ops] == ["Rename field title on Book to name"]
    ops = Autodetector(before, after, ask=lambda q: False).changes(["shop"]).operations["shop"]
    assert sorted(o.describe() for o in ops) == ["Add field name to Book", "Remove field title from Book"]


@pytest.fixture(params=["postgres", "mysql"])
def session_lock_proj(request: pytest.FixtureRequest, tmp_path: Path) -> Proj:
    """A project on each backend whose migrate lock belongs to the server session."""
    return Proj(tmp_path / "proj", new_db(request, request.param, tmp_path))


def test_losing_the_lock_connection_stops_the_run(session_lock_proj: Proj) -> None:
    """The pool replaces a connection the server closed; the session lock went with it, so the
    executor must notice before applying anything else."""
    import asyncio
    import contextlib

    from yara_orm import connect
    from yara_orm.exceptions import DBConnectionError, MigrationError
    from yara_orm.migrations.executor import Executor, open_connection

    p = session_lock_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    project = Project(load_config(f"{p.config_module}:CONFIG"), directory=p.migrations_dir)

    async def go() -> None:
        conn = await open_connection(p.url)
        admin = await connect(p.url, max_size=1)
        try:
            executor = Executor(conn, project.graph())
            killed = False

            async def kill_after_lock() -> None:
                nonlocal killed
                session = conn.dialect.session_id_sql()
                assert session is not None
                row = await conn.pool.fetch_one(session)
                assert row is not None
                if p.backend == "mysql":
                    await admin.execute(f"KILL CONNECTION {int(row[0])}")
                else:
                    await admin.fetch(f"SELECT pg_terminate_backend({row[0]})")
                killed = True
                # The first use after the kill fails; the pool then connects afresh (no lock).
                await asyncio.sleep(0.2)
                with contextlib.suppress(DBConnectionError):
                    await conn.pool.fetch("SELECT 1")

            original = executor.recorder.ensure_table

            async def ensure_then_kill() -> None:
                await original()
                await kill_after_lock()

            executor.recorder.ensure_table = ensure_then_kill  # type: ignore[method-assign]
            with pytest.raises(MigrationError, match="lock was lost"):
                await executor.migrate()
            assert killed
        finally:
            await admin.close()
            await conn.pool.close()

    asyncio.run(go())
    assert "book" not in p.schema()


RISKY = """
dependencies = [("shop", "0001_initial")]
operations = [
    ops.AlterField("Book", "pages", fields.IntField(unique=True)),
    ops.RenameField("Book", "title", "name"),
    ops.RunSQL("UPDATE book SET pages = 1"),
]
"""


def test_lint_rules_for_not_null_unique_rename_and_irreversible_steps(pg_proj: Proj) -> None:
    p = pg_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    write(p, "0002_risky", RISKY)
    out = p.ok("lint")
    for rule in ("set-not-null", "unique-lock", "rename", "irreversible"):
        assert f"shop.0002_risky: [{rule}]" in out, out
    assert "VALIDATE CONSTRAINT" in out and "backward=" in out


def test_adopting_an_existing_database_with_fake(proj: Proj) -> None:
    """A database made by generate_schemas (or aerich): write the initial migration, record it
    without running it, and check confirms the schema is what the migration describes."""
    p = proj
    module = p.models(V1)
    generated_schema(p.url, module)
    p.ok("makemigrations", "--noinput")
    p.ok("migrate", "--fake")
    assert p.sql("SELECT name FROM yara_migrations") == [("0001_initial",)]
    out = p.ok("check")
    assert "schema matches" in out


CUSTOM = """
from yara_orm.fields import CharField


class Slug(CharField):
    type_key = "varchar"

    def __init__(self, separator: str = "-", **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)
        self.separator = separator

    def migration_kwargs(self):
        return {"separator": self.separator}


class Page(Model):
    slug = Slug(separator="_", unique=True)
"""


def test_custom_fields_are_written_by_import_path_with_their_options(proj: Proj) -> None:
    p = proj
    module = p.models(CUSTOM)
    out = p.ok("makemigrations", "--noinput", "--dry-run")
    assert f'{module}.Slug(max_length=40, unique=True, separator="_")' in out
    p.ok("makemigrations", "--noinput")
    p.ok("migrate")
    assert "Models and migrations agree" in p.ok("check")


INDEXES_BY_FIELD = """
dependencies = [("shop", "0001_initial")]
operations = [
    ops.AlterField("Book", "pages", fields.IntField(null=True, index=True)),
    ops.AddField("Book", "code", fields.CharField(max_length=10, null=True, unique=True)),
    ops.AddField("Book", "shelf", fields.CharField(max_length=10, null=True, index=True)),
    ops.AddConstraint("Book", ops.Unique("title", "pages")),
    ops.CreateModel("Fresh", fields=[("id", fields.IntField(primary_key=True))]),
    ops.AddField("Fresh", "tag", fields.CharField(max_length=5, null=True, index=True)),
]
"""


def test_lint_flags_indexes_and_unique_constraints_that_fields_add_to_existing_tables(
    pg_proj: Proj,
) -> None:
    """Not only AddIndex builds an index: index=True or unique=True on a field, and a unique
    constraint, do too, and block writes to a big table just the same."""
    p = pg_proj
    p.models(V1)
    p.ok("makemigrations", "--noinput")
    write(p, "0002_indexes", INDEXES_BY_FIELD)
    out = p.ok("lint")
    label = "shop.0002_indexes"
    assert f"{label}: [index-lock] Alter field pages on Book: index=True" in out, out
    assert "Meta.indexes = (Index('pages'),)" in out
    assert f"{label}: [unique-lock] Add field code to Book" in out
    assert f"{label}: [index-lock] Add field shelf to Book" in out
    assert f"{label}: [unique-lock] Add unique constraint on Book(title, pages)" in out
    assert "Fresh" not in out  # a table created in the same migration is empty
    assert out.strip().endswith("4 warning(s).")
    # SQLite has no such locks.
    sqlite = Proj(p.root, "sqlite:///" + str(p.root / "lint.sqlite3"))
    sqlite.apps = dict(p.apps)
    sqlite._write_config()
    assert sqlite.ok("lint").strip() == "0 warning(s)."


DRIFT = '''
class Shelf(Model):
    """Shelves."""
    code = fields.CharField(max_length=10)

class Book(Model):
    title = fields.CharField(max_length=100, index=True)
    pages = fields.IntField(null=True)
    shelf = fields.ForeignKeyField("shop.Shelf", related_name="books")
'''


def test_check_reports_each_kind_of_drift(proj: Proj) -> None:
    """Column type, NOT NULL, default, foreign key, table comment: each a difference by itself."""
    p = proj
    p.migrate_to(DRIFT)
    assert p.cli("check")[0] == 0
    if p.backend == "postgres":
        changes = [
            (
                "ALTER TABLE book ALTER COLUMN pages TYPE BIGINT",
                "ALTER TABLE book ALTER COLUMN pages TYPE INT",
            ),
            (
                "ALTER TABLE book ALTER COLUMN pages SET NOT NULL",
                "ALTER TABLE book ALTER COLUMN pages DROP NOT NULL",
            ),
            (
                "ALTER TABLE book ALTER COLUMN pages SET DEFAULT 7",
                "ALTER TABLE book ALTER COLUMN pages DROP DEFAULT",
            ),
            ("COMMENT ON TABLE shelf IS 'moved'", "COMMENT ON TABLE shelf IS 'Shelves.'"),
        ]
        fk = p.sql("SELECT conname FROM pg_constraint WHERE conrelid = 'book'::regclass AND contype = 'f'")[
            0
        ][0]
        changes.append(
            (
                f'ALTER TABLE book DROP CONSTRAINT "{fk}"',
                f'ALTER TABLE book ADD CONSTRAINT "{fk}" FOREIGN KEY (shelf_id) REFERENCES shelf (id) '
                "ON DELETE CASCADE",
            )
        )
    elif p.backend == "mysql":
        pages = "ALTER TABLE book MODIFY pages INT"
        changes = [
            ("ALTER TABLE book MODIFY pages BIGINT", pages),
            ("ALTER TABLE book MODIFY pages INT NOT NULL", pages),
            (
                "ALTER TABLE book ALTER COLUMN pages SET DEFAULT 7",
                "ALTER TABLE book ALTER COLUMN pages DROP DEFAULT",
            ),
            ("ALTER TABLE shelf COMMENT = 'moved'", "ALTER TABLE shelf COMMENT = 'Shelves.'"),
        ]
        (fk,) = p.sql(
            "SELECT constraint_name FROM information_schema.referential_constraints "
            "WHERE constraint_schema = DATABASE() AND table_name = 'book'"
        )[0]
        changes.append(
            (
                f'ALTER TABLE book DROP FOREIGN KEY "{fk}"',
                f'ALTER TABLE book ADD CONSTRAINT "{fk}" FOREIGN KEY (shelf_id) REFERENCES shelf (id) '
                "ON DELETE CASCADE",
            )
        )
    else:
        # SQLite cannot alter a column: dropped and added back with another definition.
        original = p.schema()["book"]["columns"]["pages"][0]
        (check,) = [c for c in p.schema()["book"]["checks"] if "pages" in c]
        original += f" CHECK ({check})"
        drop = "ALTER TABLE book DROP COLUMN pages"
        changes = [
            (
                f"{drop}; ALTER TABLE book ADD COLUMN pages {other}",
                f"{drop}; ALTER TABLE book ADD COLUMN pages {original}",
            )
            for other in ("TEXT", f"{original} DEFAULT 7", "INTEGER REFERENCES shelf (id)")
        ]
    for forward, back in changes:
        p.sql(*forward.split("; "))
        code, out = p.cli("check")
        assert code == 1 and "drifted" in out and "->" in out, (forward, out)
        p.sql(*back.split("; "))
        assert p.cli("check")[0] == 0, (back, p.cli("check")[1])


def test_check_reports_a_dropped_changed_or_added_check_constraint(proj: Proj) -> None:
    p = proj
    p.migrate_to(DRIFT)
    assert p.cli("check")[0] == 0
    book = p.schema()["book"]
    changes = [
        ("ALTER TABLE book ADD CONSTRAINT extra CHECK (pages > 0)", "ALTER TABLE book DROP CONSTRAINT extra")
    ]
    if p.backend == "sqlite":
        # generate_schemas gives SQLite integer columns a range CHECK: dropped, then narrowed.
        (check,) = [c for c in book["checks"] if "pages" in c]
        typ = book["columns"]["pages"][0]
        drop = "ALTER TABLE book DROP COLUMN pages"
        back = f"{drop}; ALTER TABLE book ADD COLUMN pages {typ} CHECK ({check})"
        narrowed = check.replace("2147483647", "100")
        assert narrowed != check
        changes = [
            (f"{drop}; ALTER TABLE book ADD COLUMN pages {typ}", back),
            (f"{drop}; ALTER TABLE book ADD COLUMN pages {typ} CHECK ({narrowed})", back),
        ]
    for forward, undo in changes:
        p.sql(*forward.split("; "))
        code, out = p.cli("check")
        assert code == 1 and "book: checks expected" in out, (forward, out)
        p.sql(*undo.split("; "))
        assert p.cli("check")[0] == 0, (undo, p.cli("check")[1])


def test_lint_says_a_recreated_many_to_many_loses_its_rows(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    tag = "class Tag(Model):\n    x = fields.IntField()\n\n"
    p.models(tag + 'class Post(Model):\n    tags = fields.ManyToManyField("shop.Tag")\n')
    p.ok("makemigrations", "--noinput")
    p.models(
        tag + "class Label(Model):\n    y = fields.IntField()\n\n"
        'class Post(Model):\n    tags = fields.ManyToManyField("shop.Label")\n'
    )
    out = p.ok("makemigrations", "--noinput")
    assert "[recreate] Remove field tags from Post and adding it again" in out and "rows are lost" in out
    assert "copy the rows over with RunPython" in out
    assert "[drop-in-use]" not in out  # not "remove it from the models": the models keep it


def test_check_reports_an_index_under_another_name(proj: Proj) -> None:
    """Same columns, another name: a later RemoveIndex (or a rename) would not find it."""
    p = proj
    p.migrate_to(DRIFT)
    assert p.cli("check")[0] == 0
    p.sql(p.drop_index("book", "idx_book_title"), 'CREATE INDEX "book_title_by_hand" ON book (title)')
    code, out = p.cli("check")
    assert code == 1, out
    assert "book: index 'idx_book_title' on (title) is missing from the database" in out, out
    assert "book: index 'book_title_by_hand' on (title) is in the database but not in the migrations" in out
    p.sql(p.drop_index("book", "book_title_by_hand"), 'CREATE INDEX "idx_book_title" ON book (title)')
    assert p.cli("check")[0] == 0
