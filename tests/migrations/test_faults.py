"""Bad migration graphs, edited migrations, half-failed runs and the SQLite table rebuild."""

from __future__ import annotations

import asyncio

from yara_orm import connect

from .conftest import Proj
from .test_operations import write

MODELS = """
class Person(Model):
    name = fields.CharField(max_length=30)
"""

INITIAL = """
dependencies = []
operations = [
    ops.CreateModel("Person", fields=[
        ("id", fields.IntField(primary_key=True)),
        ("name", fields.CharField(max_length=30)),
    ]),
]
"""


def with_initial(p: Proj, name: str | None = None, body: str = "") -> Proj:
    """``p`` with MODELS and its hand-written 0001_initial (not applied), and the migration
    ``name`` after it when given."""
    p.models(MODELS)
    write(p, "0001_initial", INITIAL)
    if name is not None:
        write(p, name, body)
    return p


def test_missing_dependency_is_a_clear_error(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(MODELS)
    write(p, "0001_initial", INITIAL.replace("dependencies = []", 'dependencies = [("shop", "0000_gone")]'))
    code, out = p.cli("migrate")
    assert code == 2
    assert "depends on shop.0000_gone, which does not exist" in out and "Restore" in out


def test_dependency_cycle_is_a_clear_error(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(MODELS)
    write(p, "0001_initial", INITIAL.replace("dependencies = []", 'dependencies = [("shop", "0002_next")]'))
    write(p, "0002_next", 'dependencies = [("shop", "0001_initial")]\noperations = []\n')
    code, out = p.cli("migrate")
    assert code == 2 and "cycle" in out and "shop.0001_initial" in out


def test_two_leaves_are_refused_until_merged(sqlite_proj: Proj) -> None:
    p = with_initial(sqlite_proj)
    branch = 'dependencies = [("shop", "0001_initial")]\noperations = [ops.RunSQL("SELECT 1", backward=[])]\n'
    write(p, "0002_left", branch)
    write(p, "0002_right", branch)
    code, out = p.cli("migrate")
    assert code == 2 and "divergent" in out and "makemigrations --merge shop" in out
    code, out = p.cli("makemigrations", "--merge", "shopp")
    assert code == 2 and "unknown app 'shopp'" in out
    p.ok("makemigrations", "--merge", "shop")
    p.ok("migrate")
    names = [r[0] for r in p.sql("SELECT name FROM yara_migrations ORDER BY id")]
    assert names[0] == "0001_initial" and set(names[1:3]) == {"0002_left", "0002_right"}
    assert names[3].startswith("0003_merge")


def test_an_applied_migration_edited_afterwards_is_refused(sqlite_proj: Proj) -> None:
    p = with_initial(sqlite_proj)
    p.ok("migrate")
    path = p.migration_files()[0]
    # Reformatting or commenting an applied migration is not an edit...
    commented = path.read_text().replace("operations = [", "operations = [  # the schema")
    path.write_text("# reviewed\n" + commented)
    p.ok("migrate")
    # ...changing what it does is.
    path.write_text(path.read_text().replace("max_length=30", "max_length=40"))
    code, out = p.cli("migrate")
    assert code == 2 and "edited after it was applied" in out and "new migration" in out
    code, out = p.cli("check", "--no-db")
    assert code == 1  # the models (30) no longer agree with the edited migration (40)


FAILING = """
dependencies = [("shop", "0001_initial")]
operations = [
    ops.CreateModel("Pet", fields=[("id", fields.IntField(primary_key=True))]),
    ops.RunSQL("INSERT INTO no_such_table VALUES (1)", backward=[]),
]
"""


def test_half_failed_migration_on_postgres_leaves_the_database_as_it_was(pg_proj: Proj) -> None:
    p = with_initial(pg_proj, "0002_broken", FAILING)
    code, out = p.cli("migrate")
    assert code == 2 and "no_such_table" in out and "shop.0002_broken" in out
    assert "rolled back: none of shop.0001_initial, shop.0002_broken is applied" in out
    # The whole run was one transaction: not even 0001 is left.
    assert set(p.schema()) == set()
    assert p.sql("SELECT COUNT(*) FROM yara_migrations") == [(0,)]


def test_half_failed_migration_on_sqlite_keeps_the_completed_ones(sqlite_proj: Proj) -> None:
    p = with_initial(sqlite_proj, "0002_broken", FAILING)
    code, out = p.cli("migrate")
    assert code == 2 and "no_such_table" in out
    assert "shop.0002_broken was rolled back; the migrations before it stay applied" in out
    # Each migration commits on its own: 0001 stays applied, nothing of 0002 is left.
    assert set(p.schema()) == {"person"}
    assert p.sql("SELECT name FROM yara_migrations") == [("0001_initial",)]


HALF = """
dependencies = [("shop", "0001_initial")]
operations = [
    ops.AddField("Person", "age", fields.IntField(null=True)),
    ops.RunSQL("INSERT INTO needed (x) VALUES (1)", backward=[]),
    ops.AddField("Person", "nick", fields.CharField(max_length=10, null=True)),
]
"""


def test_half_failed_migration_on_mariadb_records_its_steps_and_resumes(mysql_proj: Proj) -> None:
    """DDL commits as it runs on MariaDB: what ran stays, the progress table says so, and the
    next migrate carries on from the failed step instead of failing on what already ran."""
    p = with_initial(mysql_proj, "0002_half", HALF)
    code, out = p.cli("migrate")
    assert code == 2 and "needed" in out, out
    assert "1 step(s) of shop.0002_half ran and stay" in out and "yara_migrations_progress" in out, out
    assert set(p.schema()["person"]["columns"]) == {"id", "name", "age"}
    assert p.sql("SELECT name FROM yara_migrations") == [("0001_initial",)]
    assert p.sql("SELECT name, steps FROM yara_migrations_progress") == [("0002_half", 1)]
    assert "[~] 0002_half (half-applied: 1 step(s) ran)" in p.ok("showmigrations")
    code, out = p.cli("check")
    assert code == 1 and "shop.0002_half stopped half-way" in out, out
    # Not fixed yet: the same step fails again (the ADD COLUMN is not run twice).
    code, out = p.cli("migrate")
    assert code == 2 and "resuming after the 1 step(s)" in out and "Duplicate column" not in out, out
    # Reverting past it, or editing what ran, would build on a half-changed schema: refused.
    code, out = p.cli("migrate", "shop", "zero")
    assert code == 2 and "shop.0002_half stopped half-way while applying it: 1 step(s) ran" in out, out
    assert "run migrate forward to finish it" in out
    write(p, "0002_half", HALF.replace('"age"', '"years"'))
    code, out = p.cli("migrate")
    assert code == 2 and "its steps are not the same any more" in out, out
    write(p, "0002_half", HALF)
    # Fixed: migrate finishes it, and the tables say so.
    p.sql("CREATE TABLE needed (x INT)")
    out = p.ok("migrate")
    assert "resuming after the 1 step(s)" in out and "applied shop.0002_half" in out
    assert set(p.schema()["person"]["columns"]) == {"id", "name", "age", "nick"}
    assert p.sql("SELECT name FROM yara_migrations ORDER BY id") == [("0001_initial",), ("0002_half",)]
    assert p.sql("SELECT COUNT(*) FROM yara_migrations_progress") == [(0,)]
    # Reverting is tracked the same way.
    p.sql("DROP TABLE needed")
    p.ok("migrate", "shop", "zero")
    assert p.sql("SELECT COUNT(*) FROM yara_migrations") == [(0,)]


DATA_STEP = """
async def fill(apps, connection):
    Person = apps.get_model("shop.Person")
    await Person.all().update(name="changed")
    if {fail}:
        raise RuntimeError("half-way through the data")

dependencies = [("shop", "0001_initial")]
operations = [
    ops.AddField("Person", "age", fields.IntField(null=True)),
    ops.RunPython(fill, ops.RunPython.noop),
]
"""


def test_a_failed_data_step_on_mariadb_rolls_back_its_rows_and_is_run_again(mysql_proj: Proj) -> None:
    p = with_initial(mysql_proj, "0002_data", DATA_STEP.format(fail=True))
    p.ok("migrate", "shop", "0001")
    p.sql("INSERT INTO person (name) VALUES ('x')")
    code, out = p.cli("migrate")
    assert code == 2 and "half-way through the data" in out and "1 step(s) of shop.0002_data" in out, out
    assert p.sql("SELECT name FROM person") == [("x",)]  # the RunPython's UPDATE was rolled back
    write(p, "0002_data", DATA_STEP.format(fail=False))
    assert "resuming after the 1 step(s)" in p.ok("migrate")
    assert p.sql("SELECT name, age FROM person") == [("changed", None)]


def test_irreversible_migration_is_refused_before_anything_runs(proj: Proj) -> None:
    p = with_initial(
        proj, "0002_raw", 'dependencies = [("shop", "0001_initial")]\noperations = [ops.RunSQL("SELECT 1")]\n'
    )
    p.ok("migrate")
    code, out = p.cli("migrate", "shop", "zero")
    assert code == 2 and "cannot be reverted" in out
    assert p.sql("SELECT COUNT(*) FROM yara_migrations") == [(2,)]


# -- the SQLite rebuild --------------------------------------------------------------------------

PARENT_CHILD = """
dependencies = []
operations = [
    ops.CreateModel("Parent", fields=[
        ("id", fields.IntField(primary_key=True)),
        ("name", fields.CharField(max_length=10)),
    ]),
    ops.CreateModel("Child", fields=[
        ("id", fields.IntField(primary_key=True)),
        ("label", fields.CharField(max_length=10)),
        ("parent", fields.ForeignKeyField("shop.Parent", related_name="children")),
    ]),
]
"""

ALTER_PARENT = """
dependencies = [("shop", "0001_initial")]
operations = [
    ops.AlterField("Parent", "name", fields.CharField(max_length=50, null=True, index=True)),
]
"""

ALTER_CHILD = """
dependencies = [("shop", "0002_parent")]
operations = [
    ops.AlterField("Child", "label", fields.CharField(max_length=50)),
]
"""


def test_sqlite_rebuild_keeps_rows_and_foreign_keys(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models("class Parent(Model):\n    name = fields.CharField(max_length=50, null=True, index=True)\n")
    write(p, "0001_initial", PARENT_CHILD)
    write(p, "0002_parent", ALTER_PARENT)
    p.ok("migrate", "shop", "0001")
    p.sql(
        "INSERT INTO parent (name) VALUES ('a'), ('b')",
        "INSERT INTO child (label, parent_id) VALUES ('x', 1), ('y', 2), ('z', 2)",
    )
    out = p.ok("sqlmigrate", "shop", "0002")
    assert "__yara_new_parent" in out and "PRAGMA foreign_key_check" in out
    p.ok("migrate")
    schema = p.schema()
    assert schema["parent"]["columns"]["name"] == ("VARCHAR(50)", False, None)
    assert (("name",), False) in schema["parent"]["indexes"]
    # The child's key still points at the (new) parent table and the rows still join.
    assert schema["child"]["foreign_keys"] == [("parent_id", "parent", "id", "CASCADE")]
    rows = p.sql("SELECT c.label, p.name FROM child c JOIN parent p ON p.id = c.parent_id ORDER BY c.id")
    assert rows == [("x", "a"), ("y", "b"), ("z", "b")]
    assert p.sql("PRAGMA foreign_key_check") == []
    # The copy kept ids, so new rows continue after them.
    p.sql("INSERT INTO parent (name) VALUES (NULL)")
    assert p.sql("SELECT MAX(id) FROM parent") == [(3,)]


def test_sqlite_rebuild_refuses_dangling_foreign_keys_and_rolls_back(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models("class Parent(Model):\n    name = fields.CharField(max_length=50, null=True, index=True)\n")
    write(p, "0001_initial", PARENT_CHILD)
    write(p, "0002_parent", ALTER_PARENT)
    write(p, "0003_child", ALTER_CHILD)
    p.ok("migrate", "shop", "0002")

    async def dangling() -> None:
        pool = await connect(p.url, foreign_keys=False)
        try:
            await pool.execute("INSERT INTO child (label, parent_id) VALUES ('orphan', 999)")
        finally:
            await pool.close()

    asyncio.run(dangling())
    code, out = p.cli("migrate")
    assert code == 2 and "foreign key points nowhere" in out and "rolled back" in out
    assert p.schema()["child"]["columns"]["label"][0] == "VARCHAR(10)"
    assert p.sql("SELECT label FROM child WHERE parent_id = 999") == [("orphan",)]
    assert [r[0] for r in p.sql("SELECT name FROM yara_migrations ORDER BY id")] == [
        "0001_initial",
        "0002_parent",
    ]


NOT_NULL = """
dependencies = [("shop", "0001_initial")]
operations = [ops.AddField("Person", "age", fields.IntField())]
"""


def test_not_null_column_without_default_on_a_table_with_rows_fails_cleanly(proj: Proj) -> None:
    p = with_initial(proj, "0002_age", NOT_NULL)
    p.ok("migrate", "shop", "0001")
    p.sql("INSERT INTO person (name) VALUES ('x')")
    code, out = p.cli("migrate")
    assert code == 2
    refusal = {
        "sqlite": "needs a default",
        "postgres": "null values",
        "mysql": "Data truncated for column 'age'",
    }
    assert refusal[p.backend] in out, out
    if p.backend == "mysql":
        # Added nullable (what MariaDB did commits), then refused NOT NULL: the progress table
        # says so, and after a backfill the next migrate carries on from there.
        assert "1 step(s) of shop.0002_age ran and stay" in out
        assert p.schema()["person"]["columns"]["age"][1] is False
        p.sql("UPDATE person SET age = 7")
        p.ok("migrate")
        assert p.sql("SELECT age FROM person") == [(7,)]
        p.ok("migrate", "shop", "0001")
    assert "age" not in p.schema()["person"]["columns"]
    assert p.sql("SELECT name FROM person") == [("x",)]
    assert p.sql("SELECT name FROM yara_migrations") == [("0001_initial",)]


def test_sqlite_index_only_change_needs_no_rebuild(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models("class Parent(Model):\n    name = fields.CharField(max_length=10)\n")
    p.ok("makemigrations", "--noinput")
    p.models("class Parent(Model):\n    name = fields.CharField(max_length=10, index=True)\n")
    p.ok("makemigrations", "--noinput")
    second = p.migration_files()[-1].stem
    sql = p.ok("sqlmigrate", "shop", second)
    assert "__yara_new" not in sql and 'CREATE INDEX "idx_parent_name"' in sql
    p.ok("migrate")
    assert (("name",), False) in p.schema()["parent"]["indexes"]
    p.ok("migrate", "shop", "0001")
    assert p.schema()["parent"]["indexes"] == []


TO_INT = """
dependencies = [("shop", "0001_initial")]
operations = [ops.AlterField("Person", "name", fields.IntField())]
"""


def test_type_change_converts_rows_or_fails_leaving_them(proj: Proj) -> None:
    p = with_initial(proj, "0002_int", TO_INT)
    p.ok("migrate", "shop", "0001")
    p.sql("INSERT INTO person (name) VALUES ('42')")
    p.ok("migrate")
    assert p.sql("SELECT name FROM person") == [(42,)]
    p.ok("migrate", "shop", "0001")
    assert p.sql("SELECT name FROM person") == [("42",)]
    if p.backend == "postgres":
        # A value the new type cannot hold: the server refuses, the migration rolls back.
        p.sql("INSERT INTO person (name) VALUES ('abc')")
        code, out = p.cli("migrate")
        assert code == 2 and "abc" in out and "shop.0002_int" in out
        assert p.sql("SELECT name FROM person ORDER BY id") == [("42",), ("abc",)]


def test_an_applied_migration_whose_file_is_gone_is_reported(sqlite_proj: Proj) -> None:
    p = with_initial(sqlite_proj, "0002_noop", 'dependencies = [("shop", "0001_initial")]\noperations = []\n')
    p.ok("migrate")
    p.migration_files()[-1].unlink()
    out = p.ok("migrate")
    assert "warning: shop.0002_noop: recorded as applied" in out and "Restore the file" in out
    assert "[X] 0002_noop (applied, but its file is missing!)" in p.ok("showmigrations")
    code, out = p.cli("check")
    assert code == 1 and "shop.0002_noop: recorded as applied" in out


BOOK = "class Book(Model):\n    title = fields.CharField(max_length=100)\n"


def test_two_developers_branches_merged_on_a_database_that_ran_one_of_them(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(BOOK)
    p.ok("makemigrations", "--noinput")
    # Developer A adds pages and migrates their database...
    p.migrate_to(BOOK + "    pages = fields.IntField(null=True)\n")
    mine = p.migration_files()[-1]
    source = mine.read_text()
    mine.unlink()
    # ...developer B, from the same parent, adds isbn; then both branches meet.
    p.models(BOOK + "    isbn = fields.CharField(max_length=13, null=True)\n")
    p.ok("makemigrations", "--noinput")
    mine.write_text(source)
    p.models(
        BOOK
        + "    pages = fields.IntField(null=True)\n    isbn = fields.CharField(max_length=13, null=True)\n"
    )
    for command in (("makemigrations", "--noinput"), ("migrate",), ("check",)):
        code, out = p.cli(*command)
        assert code == 2 and "makemigrations --merge shop" in out, (command, out)
    out = p.ok("makemigrations", "--merge", "shop")
    assert "merged 0002_add_isbn_book, 0002_add_pages_book" in out
    assert p.ok("makemigrations", "--noinput", "--check").strip() == "No changes detected."
    out = p.ok("migrate")
    assert "Applying shop.0002_add_isbn_book" in out and "0002_add_pages_book" not in out
    assert {"pages", "isbn"} <= set(p.schema()["book"]["columns"])
    assert p.cli("check")[0] == 0


def test_merging_branches_that_change_the_same_field_is_refused(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(BOOK)
    p.ok("makemigrations", "--noinput")
    p.models(BOOK.replace("100", "200"))
    p.ok("makemigrations", "--noinput", "--name", "longer_title")
    mine = p.migration_files()[-1]
    source = mine.read_text()
    mine.unlink()
    p.models(BOOK.replace("100)", "100, null=True)"))
    p.ok("makemigrations", "--noinput", "--name", "optional_title")
    mine.write_text(source)
    code, out = p.cli("makemigrations", "--merge", "shop")
    assert code == 2, out
    assert "shop: both branches change field Book.title: 0002_longer_title (Alter field title on Book)" in out
    assert "0002_optional_title (Alter field title on Book)" in out and "Keep one" in out
    assert len(p.migration_files()) == 3  # no merge migration written
    # Keeping one branch's change: the merge goes through.
    (p.migrations_dir / "shop" / "0002_optional_title.py").write_text(
        'dependencies = [("shop", "0001_initial")]\noperations = []\n'
    )
    assert "merged" in p.ok("makemigrations", "--merge", "shop")


NON_ATOMIC = """
atomic = False
dependencies = [("shop", "0001_initial")]
operations = [
    ops.RunSQL("CREATE TABLE leftover (id INTEGER)", backward=[]),
    ops.RunSQL("INSERT INTO no_such_table VALUES (1)", backward=[]),
]
"""


def test_a_failed_migration_outside_a_transaction_says_what_stays(pg_proj: Proj) -> None:
    p = with_initial(pg_proj, "0002_non_atomic", NON_ATOMIC)
    code, out = p.cli("migrate")
    assert code == 2 and "shop.0002_non_atomic runs outside a transaction" in out and "Check" in out
    # 0001 ran (and committed) before it; 0002's first statement stays, unrecorded.
    assert set(p.schema()) == {"person", "leftover"}
    assert p.sql("SELECT name FROM yara_migrations") == [("0001_initial",)]
