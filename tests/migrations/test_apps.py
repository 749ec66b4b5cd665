"""Several apps in one makemigrations run: each app's migration depends on the migrations that
create the models it refers to, written in that order, whatever order the config lists them in."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Proj, fresh_db, generated_schema_of
from .test_operations import write

# Listed a, b, c in the config; a refers to b, b to c: c's migration must come first.
A = 'class A(Model):\n    b = fields.ForeignKeyField("bapp.B", related_name="as_")\n'
B = 'class B(Model):\n    c = fields.ForeignKeyField("capp.C", related_name="bs")\n'
C = "class C(Model):\n    x = fields.IntField()\n"


def test_apps_are_written_after_the_apps_they_refer_to(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    p.models(A, app="aapp")
    p.models(B, app="bapp")
    p.models(C, app="capp")
    out = p.ok("makemigrations", "--noinput")
    assert out.index("capp:") < out.index("bapp:") < out.index("aapp:")
    assert '("bapp", "0001_initial")' in p.migration_files("aapp")[0].read_text()
    assert '("capp", "0001_initial")' in p.migration_files("bapp")[0].read_text()
    p.ok("migrate")
    p.sql(
        "INSERT INTO c (x) VALUES (1)", "INSERT INTO b (c_id) VALUES (1)", "INSERT INTO a (b_id) VALUES (1)"
    )
    assert p.schema() == generated_schema_of(fresh_db(request, p.backend, tmp_path), p.apps)
    assert p.cli("check")[0] == 0, p.cli("check")[1]
    p.ok("migrate", "capp", "zero")  # reverts a and b first
    assert p.schema() == {}


# New models of two apps referring to each other: one app's foreign key waits for a second
# migration that depends on the other app's.
CYCLE_A = 'class A(Model):\n    b = fields.ForeignKeyField("bapp.B", related_name="as_", null=True)\n'
CYCLE_B = 'class B(Model):\n    a = fields.ForeignKeyField("aapp.A", related_name="bs", null=True)\n'


def test_new_models_of_two_apps_referring_to_each_other(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    p = proj
    p.models(CYCLE_A, app="aapp")
    p.models(CYCLE_B, app="bapp")
    out = p.ok("makemigrations", "--noinput")
    assert "Add field a to B" in out
    assert len(p.migration_files("bapp")) == 2 and len(p.migration_files("aapp")) == 1
    assert '("bapp", "0001_initial")' in p.migration_files("aapp")[0].read_text()
    second = p.migration_files("bapp")[1].read_text()
    assert '("bapp", "0001_initial")' in second and '("aapp", "0001_initial")' in second
    p.ok("migrate")
    assert p.schema() == generated_schema_of(fresh_db(request, p.backend, tmp_path), p.apps)
    assert p.ok("makemigrations", "--noinput", "--check").strip() == "No changes detected."
    # Reverting aapp takes bapp's second migration (which depends on it) back too.
    p.ok("migrate", "aapp", "zero")
    assert set(p.schema()) == {"b"} and set(p.schema()["b"]["columns"]) == {"id"}
    p.ok("migrate", "bapp", "zero")
    assert p.schema() == {}


def test_a_migration_missing_a_dependency_on_another_app_says_so(sqlite_proj: Proj) -> None:
    p = sqlite_proj
    p.models(A, app="aapp")
    p.models(
        B.replace('fields.ForeignKeyField("capp.C", related_name="bs")', "fields.IntField()"), app="bapp"
    )
    write(
        p,
        "0001_initial",
        'dependencies = []\noperations = [ops.CreateModel("A", fields=[\n'
        '    ("id", fields.IntField(primary_key=True)),\n'
        '    ("b", fields.ForeignKeyField("bapp.B", related_name="as_")),\n])]\n',
        app="aapp",
    )
    code, out = p.cli("migrate")
    assert code == 2, out
    assert "aapp.A refers to bapp.B, which no migration creates before this point" in out
    assert "dependencies" in out


def test_a_model_is_deleted_after_another_app_drops_its_foreign_key_to_it(proj: Proj) -> None:
    """aapp sorts first, but its DeleteModel must wait for bapp's RemoveField: PostgreSQL will
    not drop a table that a foreign key still refers to."""
    p = proj
    p.models(
        "class Target(Model):\n    x = fields.IntField()\n\nclass Keep(Model):\n    y = fields.IntField()\n",
        app="aapp",
    )
    p.models(
        'class User(Model):\n    t = fields.ForeignKeyField("aapp.Target", related_name="users")\n',
        app="bapp",
    )
    p.ok("makemigrations", "--noinput")
    p.ok("migrate")
    p.sql("INSERT INTO target (x) VALUES (1)", 'INSERT INTO "user" (t_id) VALUES (1)')
    p.models("class Keep(Model):\n    y = fields.IntField()\n", app="aapp")
    p.models("class User(Model):\n    z = fields.IntField(null=True)\n", app="bapp")
    p.ok("makemigrations", "--noinput")
    deleting = p.migration_files("aapp")[-1].read_text()
    assert "DeleteModel" in deleting and f'("bapp", "{p.migration_files("bapp")[-1].stem}")' in deleting
    p.ok("migrate")
    assert set(p.schema()) == {"keep", "user"}
    # Reverting bapp brings the table back first (the re-added NOT NULL key needs an empty table).
    p.sql('DELETE FROM "user"')
    p.ok("migrate", "bapp", "0001")
    assert set(p.schema()) == {"keep", "user", "target"}


def test_makemigrations_for_one_app_refuses_a_reference_into_an_app_without_migrations(
    sqlite_proj: Proj,
) -> None:
    p = sqlite_proj
    p.models(B, app="bapp")
    p.models(C, app="capp")
    # Without the check, bapp.0001 was written with no dependency that creates capp.C.
    code, out = p.cli("makemigrations", "--noinput", "bapp")
    assert code == 2 and "bapp refers to capp.C, which no migration creates yet" in out, out
    assert "makemigrations for bapp capp together" in out
    assert not p.migration_files("bapp")
    p.ok("makemigrations", "--noinput", "capp")
    out = p.ok("makemigrations", "--noinput", "bapp")
    assert '("capp", "0001_initial")' in p.migration_files("bapp")[0].read_text()


# Created first (the cycle is broken at it), so its foreign key to A is added afterwards, and
# with it the unique constraint and the index that cover the key.
CYCLE_SAME_APP = """
class A(Model):
    b = fields.ForeignKeyField("shop.B", related_name="as_", null=True)

class B(Model):
    x = fields.IntField()
    a = fields.ForeignKeyField("shop.A", related_name="bs", null=True)

    class Meta:
        unique_together = (("a", "x"),)
        indexes = (Index("x", "a"),)
"""

CYCLE_B_INDEXED = CYCLE_B.replace(
    "null=True)\n",
    'null=True)\n    x = fields.IntField()\n\n    class Meta:\n        unique_together = (("a", "x"),)\n'
    '        indexes = (Index("x", "a"),)\n',
)


@pytest.mark.parametrize("layout", ["one app", "two apps"])
def test_indexes_on_a_foreign_key_added_later_come_after_it(
    proj: Proj, request: pytest.FixtureRequest, tmp_path: Path, layout: str
) -> None:
    p = proj
    if layout == "one app":
        p.models(CYCLE_SAME_APP)
    else:
        p.models("from yara_orm.models import Index\n" + CYCLE_A, app="aapp")
        p.models(CYCLE_B_INDEXED, app="bapp")
    p.ok("makemigrations", "--noinput")
    p.ok("migrate")  # the CreateModel named the key before it existed
    url = fresh_db(request, p.backend, tmp_path)
    assert p.schema() == generated_schema_of(url, p.apps)
    assert p.index_names() == Proj(tmp_path / "other", url).index_names()
    assert p.ok("makemigrations", "--noinput", "--check").strip() == "No changes detected."


def shop_and_logs_on_two_databases(p: Proj, tmp_path: Path) -> tuple[str, str]:
    """shop on ``p``'s database, logs on a database of its own, their initial migrations made,
    and a shop migration that depends on logs' (``0002_after_logs``): logs' URL and the name of
    its initial migration."""
    logs_url = f"sqlite:///{tmp_path / 'logs.sqlite3'}"
    shop = p.models("class Order(Model):\n    total = fields.IntField()\n")
    logs = p.models("class Entry(Model):\n    text = fields.TextField()\n", app="logs")
    config = {
        "connections": {"default": p.url, "logs": logs_url},
        "apps": {"shop": {"models": [shop]}, "logs": {"models": [logs], "default_connection": "logs"}},
    }
    (p.root / f"{p.config_module}.py").write_text(f"CONFIG = {config!r}\n")
    p.ok("makemigrations", "--noinput")
    first = p.migration_files("logs")[0].stem
    write(
        p,
        "0002_after_logs",
        f'dependencies = [("shop", "0001_initial"), ("logs", "{first}")]\noperations = []\n',
    )
    return logs_url, first


def test_apps_on_two_databases_are_migrated_each_on_its_own(sqlite_proj: Proj, tmp_path: Path) -> None:
    """shop (listed first, default database) has a migration that depends on one of logs (the
    other database): logs' migration runs on its database first, and never on shop's."""
    p = sqlite_proj
    logs_url, _first = shop_and_logs_on_two_databases(p, tmp_path)
    out = p.ok("migrate")
    assert out.index("[logs] migrating logs") < out.index("[default] migrating shop"), out
    assert set(p.schema()) == {"order"}
    assert set(Proj(tmp_path / "logs", logs_url).schema()) == {"entry"}
    assert [r[0] for r in p.sql("SELECT app FROM yara_migrations ORDER BY id")] == ["shop", "shop"]
    assert p.cli("check")[0] == 0


def test_a_model_is_deleted_after_a_dropped_foreign_key_even_when_that_app_points_at_a_new_model(
    proj: Proj,
) -> None:
    """bapp needs aapp's new model (so aapp's migration comes first) and drops its foreign key
    to the model aapp deletes (so the delete must come after bapp's): aapp's DeleteModel goes
    into a second migration that depends on bapp's."""
    p = proj
    p.models("class Target(Model):\n    x = fields.IntField()\n", app="aapp")
    p.models(
        'class User(Model):\n    t = fields.ForeignKeyField("aapp.Target", related_name="users")\n',
        app="bapp",
    )
    p.ok("makemigrations", "--noinput")
    p.ok("migrate")
    p.sql("INSERT INTO target (x) VALUES (1)", 'INSERT INTO "user" (t_id) VALUES (1)')
    p.models("class Fresh(Model):\n    y = fields.IntField()\n", app="aapp")
    p.models(
        'class User(Model):\n    f = fields.ForeignKeyField("aapp.Fresh", related_name="users", null=True)\n',
        app="bapp",
    )
    p.ok("makemigrations", "--noinput")
    bapp_leaf = p.migration_files("bapp")[-1].stem
    deleting = [f for f in p.migration_files("aapp") if "DeleteModel" in f.read_text()]
    assert len(deleting) == 1 and f'("bapp", "{bapp_leaf}")' in deleting[0].read_text()
    p.ok("migrate")
    assert set(p.schema()) == {"fresh", "user"}
    assert p.sql('SELECT id, f_id FROM "user"') == [(1, None)]
    p.ok("check")


def test_migrate_app_first_migrates_what_it_needs_on_another_database(
    sqlite_proj: Proj, tmp_path: Path
) -> None:
    """``migrate shop``, where shop's migration depends on logs' first one (another database):
    logs is migrated up to that one on its database first, and no further."""
    p = sqlite_proj
    logs_url, first = shop_and_logs_on_two_databases(p, tmp_path)
    write(p, "0002_more", f'dependencies = [("logs", "{first}")]\noperations = []\n', app="logs")
    out = p.ok("migrate", "shop")
    assert out.index("[logs] migrating logs") < out.index("[default] migrating shop"), out
    logs_db = Proj(tmp_path / "logs", logs_url)
    assert set(logs_db.schema()) == {"entry"}
    assert logs_db.sql("SELECT app, name FROM yara_migrations ORDER BY id") == [("logs", first)]
    assert [r[1] for r in p.sql("SELECT app, name FROM yara_migrations ORDER BY id")] == [
        "0001_initial",
        "0002_after_logs",
    ]


def test_reverting_an_app_first_reverts_what_depends_on_it_on_another_database(
    sqlite_proj: Proj, tmp_path: Path
) -> None:
    """``migrate logs zero``: shop's 0002_after_logs (on the default database) depends on logs'
    migration, so it is reverted there first; shop's 0001 does not depend on logs and stays."""
    p = sqlite_proj
    logs_url, first = shop_and_logs_on_two_databases(p, tmp_path)
    p.ok("migrate")
    out = p.ok("migrate", "logs", "zero")
    assert out.index("Reverting shop.0002_after_logs") < out.index(f"Reverting logs.{first}"), out
    assert p.sql("SELECT app, name FROM yara_migrations ORDER BY id") == [("shop", "0001_initial")]
    logs_db = Proj(tmp_path / "logs", logs_url)
    assert logs_db.sql("SELECT COUNT(*) FROM yara_migrations") == [(0,)]
    assert set(logs_db.schema()) == set() and set(p.schema()) == {"order"}
    code, out = p.cli("check")  # pending again, not drift
    assert code == 0 and "shop.0002_after_logs" in out and "not applied yet" in out, out
    p.ok("migrate")
    assert p.cli("check")[0] == 0
