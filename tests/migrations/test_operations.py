"""Hand-written migrations: every operation forward and backward with rows in the tables, data
migrations on the historical models, and ``sqlmigrate``."""

from __future__ import annotations

import textwrap

import pytest

from .conftest import Proj

MODELS = """
class Person(Model):
    full_name = fields.CharField(max_length=70, null=True)
    last = fields.CharField(max_length=30)

    class Meta:
        table_description = "humans"

class Pet(Model):
    name = fields.CharField(max_length=30)
    owner = fields.ForeignKeyField("shop.Person", related_name="pets")

    class Meta:
        table = "pets"
"""

M1 = """
dependencies = []
operations = [
    ops.CreateModel("Person", fields=[
        ("id", fields.IntField(primary_key=True)),
        ("first", fields.CharField(max_length=30, default="?")),
        ("last", fields.CharField(max_length=30)),
    ]),
    ops.CreateModel("Pet", fields=[
        ("id", fields.IntField(primary_key=True)),
        ("name", fields.CharField(max_length=30)),
        ("owner", fields.ForeignKeyField("shop.Person", related_name="pets")),
    ]),
]
"""

# A data migration that reads a column today's models no longer have (``first``): it must get
# the historical model of this point.
M2 = """
async def fill(apps, connection):
    Person = apps.get_model("shop.Person")
    for person in await Person.all().order_by("id"):
        person.full_name = f"{person.first} {person.last}"
        await person.save()

async def unfill(apps, connection):
    Person = apps.get_model("shop.Person")
    await Person.all().update(full_name=None)

dependencies = [("shop", "0001_initial")]
operations = [
    ops.AddField("Person", "full_name", fields.CharField(max_length=70, null=True)),
    ops.RunPython(fill, unfill),
    ops.RunSQL(
        "UPDATE pet SET name = CONCAT(name, '!')",
        backward="UPDATE pet SET name = SUBSTR(name, 1, LENGTH(name) - 1)",
    ),
]
"""

M3 = """
dependencies = [("shop", "0002_data")]
operations = [
    ops.AddIndex("Person", Index("first", "last", name="person_names")),
    ops.AddConstraint("Pet", ops.Unique("name", "owner_id")),
    ops.AlterModelTable("Pet", "pets"),
    ops.AlterModelComment("Person", "humans"),
]
"""

M4 = """
dependencies = [("shop", "0003_shape")]
operations = [
    ops.RemoveIndex("Person", Index("first", "last", name="person_names")),
    ops.RemoveConstraint("Pet", ops.Unique("name", "owner_id")),
    ops.RemoveField("Person", "first"),
]
"""


def write(p: Proj, name: str, body: str, app: str = "shop") -> None:
    folder = p.migrations_dir / app
    folder.mkdir(parents=True, exist_ok=True)
    header = "from yara_orm import fields\nfrom yara_orm.migrations import operations as ops\n"
    header += "from yara_orm.models import Index\n"
    (folder / f"{name}.py").write_text(header + textwrap.dedent(body))


def indexes(p: Proj, table: str) -> list[tuple[tuple[str, ...], bool]]:
    return list(p.schema()[table]["indexes"])


def test_every_operation_forward_and_backward_with_rows(proj: Proj) -> None:
    p = proj
    p.models(MODELS)
    for name, body in (("0001_initial", M1), ("0002_data", M2), ("0003_shape", M3), ("0004_drop", M4)):
        write(p, name, body)

    p.ok("migrate", "shop", "0001")
    p.sql(
        "INSERT INTO person (first, last) VALUES ('Ada', 'Lovelace'), ('Alan', 'Turing')",
        "INSERT INTO pet (name, owner_id) VALUES ('Rex', 1), ('Tom', 2)",
    )
    p.ok("migrate", "shop", "0002")
    assert p.sql("SELECT full_name FROM person ORDER BY id") == [("Ada Lovelace",), ("Alan Turing",)]
    assert p.sql("SELECT name FROM pet ORDER BY id") == [("Rex!",), ("Tom!",)]

    p.ok("migrate", "shop", "0003")
    assert "pet" not in p.schema() and "pets" in p.schema()
    assert (("first", "last"), False) in indexes(p, "person")
    assert (("name", "owner_id"), True) in indexes(p, "pets")
    if p.backend != "sqlite":  # SQLite has no comments
        assert p.schema()["person"]["comment"] == "humans"
    code, out = p.cli("migrate")  # 0004 drops first: no index on it must be left behind
    assert code == 0, out
    assert "first" not in p.schema()["person"]["columns"]
    assert p.sql("SELECT name, owner_id FROM pets ORDER BY id") == [("Rex!", 1), ("Tom!", 2)]

    # Backward, one migration at a time, rows kept at each step.
    p.ok("migrate", "shop", "0003")
    # The re-added NOT NULL column took its default in the existing rows.
    assert p.sql("SELECT first FROM person ORDER BY id") == [("?",), ("?",)]
    assert (("first", "last"), False) in indexes(p, "person")
    assert (("name", "owner_id"), True) in indexes(p, "pets")
    p.sql("UPDATE person SET first = 'A'")
    p.ok("migrate", "shop", "0002")
    assert "pet" in p.schema() and (("name", "owner_id"), True) not in indexes(p, "pet")
    assert p.sql("SELECT name FROM pet ORDER BY id") == [("Rex!",), ("Tom!",)]
    p.ok("migrate", "shop", "0001")
    assert p.sql("SELECT name FROM pet ORDER BY id") == [("Rex",), ("Tom",)]
    assert "full_name" not in p.schema()["person"]["columns"]
    assert p.sql("SELECT last FROM person ORDER BY id") == [("Lovelace",), ("Turing",)]
    p.ok("migrate", "shop", "zero")
    assert set(p.schema()) == set()
    assert p.sql("SELECT COUNT(*) FROM yara_migrations") == [(0,)]


def test_unique_constraint_added_by_a_migration_is_enforced(proj: Proj) -> None:
    from yara_orm.exceptions import IntegrityError

    p = proj
    p.models(MODELS)
    for name, body in (("0001_initial", M1), ("0002_data", M2), ("0003_shape", M3)):
        write(p, name, body)
    p.ok("migrate")
    p.sql(
        "INSERT INTO person (first, last) VALUES ('A', 'B')",
        "INSERT INTO pets (name, owner_id) VALUES ('x', 1)",
    )
    with pytest.raises(IntegrityError):
        p.sql("INSERT INTO pets (name, owner_id) VALUES ('x', 1)")


def test_sqlmigrate_prints_the_sql_without_running_it(proj: Proj) -> None:
    p = proj
    p.models(MODELS)
    write(p, "0001_initial", M1)
    write(p, "0002_data", M2)
    q = "`" if p.backend == "mysql" else '"'
    out = p.ok("sqlmigrate", "shop", "0001")
    assert f"CREATE TABLE {q}person{q}" in out and f"CREATE TABLE {q}pet{q}" in out
    if p.backend == "mysql":  # DDL is not transactional there: no BEGIN/COMMIT pretending it is
        assert "BEGIN;" not in out and "COMMIT;" not in out
    else:
        assert out.splitlines()[0] == "BEGIN;" and out.splitlines()[-1] == "COMMIT;"
    out = p.ok("sqlmigrate", "shop", "0002")
    assert "ALTER TABLE" in out and "-- RunPython" in out and "UPDATE pet" in out
    back = p.ok("sqlmigrate", "shop", "0001", "--backwards")
    assert f"DROP TABLE {q}pet{q}" in back
    assert "yara_migrations" not in p.schema() and "person" not in p.schema()
