"""Every on_delete behaviour, enforced by the database the same way on both backends."""

from __future__ import annotations

import pytest

from yara_orm import Connection
from yara_orm.exceptions import IntegrityError

from .._tables import drop_tables
from .rel_models import (
    ChildCascade,
    ChildLoose,
    ChildNoAction,
    ChildRestrict,
    ChildSetDefault,
    ChildSetNull,
    Parent,
)


async def test_cascade(rel_orm: Connection) -> None:
    parent = await Parent.create(name="p")
    await ChildCascade.create(parent=parent)
    await ChildCascade.create(parent=parent)
    await parent.delete()
    assert await ChildCascade.all().count() == 0


@pytest.mark.parametrize("child", [ChildRestrict, ChildNoAction])
async def test_restrict_and_no_action(rel_orm: Connection, child: type[ChildRestrict]) -> None:
    parent = await Parent.create(name="p")
    await child.create(parent=parent)
    with pytest.raises(IntegrityError):
        await parent.delete()
    assert await Parent.filter(pk=parent.pk).exists()
    with pytest.raises(IntegrityError):
        await Parent.filter(pk=parent.pk).delete()


async def test_set_null(rel_orm: Connection) -> None:
    parent = await Parent.create(name="p")
    child = await ChildSetNull.create(parent=parent)
    await parent.delete()
    await child.refresh_from_db()
    assert child.parent_id is None
    assert not child.parent and await child.parent is None  # NoneAwaitable: falsy, awaits to None


async def test_set_default(rel_orm: Connection, request: pytest.FixtureRequest) -> None:
    if rel_orm.backend == "mysql":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                raises=IntegrityError,
                reason="InnoDB accepts ON DELETE SET DEFAULT in DDL but enforces it as RESTRICT",
            )
        )
    fallback = await Parent.create(id=1, name="fallback")
    other = await Parent.create(id=2, name="other")
    child = await ChildSetDefault.create(parent=other)
    assert ChildSetDefault().parent_id == 1
    await other.delete()
    await child.refresh_from_db()
    assert child.parent_id == fallback.pk


async def test_db_constraint_false_and_insert_checks(rel_orm: Connection) -> None:
    # Without a constraint a dangling id is accepted; with one the database refuses it.
    loose = await ChildLoose.create(parent_id=999)
    assert await loose.parent is None
    with pytest.raises(IntegrityError):
        await ChildCascade.create(parent_id=999)


async def test_tables_referencing_each_other(db_url: str) -> None:
    from yara_orm import Model, YaraOrm, connections, fields
    from yara_orm.models import MODEL_REGISTRY

    class Team(Model):
        name = fields.CharField(max_length=20)
        captain: fields.ForeignKeyNullableRelation[Player] = fields.ForeignKeyField(
            "models.Player", related_name="captains", null=True, on_delete=fields.SET_NULL
        )

        class Meta:
            table = "cyc_team"

    class Player(Model):
        name = fields.CharField(max_length=20)
        team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
            Team, related_name="players", null=True, on_delete=fields.SET_NULL
        )

        class Meta:
            table = "cyc_player"

    await YaraOrm.init(db_url, modules={"models": [Team, Player]})
    conn = connections.get("default")
    try:
        await drop_tables(conn, ["cyc_player", "cyc_team"])
        await YaraOrm.generate_schemas()
        await YaraOrm.generate_schemas()  # safe mode runs again on the existing schema
        team = await Team.create(name="t")
        player = await Player.create(name="p", team=team)
        team.captain = player
        await team.save()
        assert [p.name for p in await team.players] == ["p"]
        await player.delete()
        await team.refresh_from_db()
        assert not team.captain and await team.captain is None
        with pytest.raises(IntegrityError):
            await Team.create(name="bad", captain_id=12345)
    finally:
        await drop_tables(conn, ["cyc_player", "cyc_team"])
        await YaraOrm.close()
        for model in (Team, Player):
            MODEL_REGISTRY.remove(model)
