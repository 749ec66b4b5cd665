"""Models for the relation, eager-loading, transaction and signal tests."""

from __future__ import annotations

import uuid

from yara_orm import Model, fields


class Country(Model):
    code = fields.CharField(max_length=2, primary_key=True)
    name = fields.CharField(max_length=50)

    authors: fields.ReverseRelation[Author]

    class Meta:
        table = "rel_country"


class Author(Model):
    name = fields.CharField(max_length=50)
    country: fields.ForeignKeyNullableRelation[Country] = fields.ForeignKeyField(
        "models.Country", related_name="authors", null=True, on_delete=fields.SET_NULL
    )

    country_id: str | None
    books: fields.ReverseRelation[Book]
    profile: fields.BackwardOneToOneRelation[Profile]

    class Meta:
        table = "rel_author"


class Tag(Model):
    name = fields.CharField(max_length=30)

    books: fields.ManyToManyRelation[Book]

    class Meta:
        table = "rel_tag"
        ordering = ("name",)


class Book(Model):
    title = fields.CharField(max_length=100)
    rating = fields.IntField(default=0)
    author: fields.ForeignKeyRelation[Author] = fields.ForeignKeyField("models.Author", related_name="books")
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        "models.Tag", related_name="books", through="rel_book_tag"
    )
    author_id: int

    class Meta:
        table = "rel_book"
        ordering = ("id",)


class Profile(Model):
    author: fields.OneToOneRelation[Author] = fields.OneToOneField("models.Author", related_name="profile")
    bio = fields.TextField()

    class Meta:
        table = "rel_profile"


class Employee(Model):
    name = fields.CharField(max_length=50)
    manager: fields.ForeignKeyNullableRelation[Employee] = fields.ForeignKeyField(
        "self", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    friends: fields.ManyToManyRelation[Employee] = fields.ManyToManyField("self", related_name="befriended")
    manager_id: int | None
    reports: fields.ReverseRelation[Employee]
    befriended: fields.ManyToManyRelation[Employee]

    class Meta:
        table = "rel_employee"


class Device(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=30)

    readings: fields.ReverseRelation[Reading]

    class Meta:
        table = "rel_device"


class Reading(Model):
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="readings", on_delete=fields.RESTRICT
    )
    value = fields.FloatField()
    device_id: uuid.UUID

    class Meta:
        table = "rel_reading"


class Member(Model):
    name = fields.CharField(max_length=30)

    clubs: fields.ManyToManyRelation[Club]

    class Meta:
        table = "rel_member"


class Club(Model):
    name = fields.CharField(max_length=30)
    members: fields.ManyToManyRelation[Member] = fields.ManyToManyField(
        "models.Member", through="Membership", related_name="clubs"
    )

    class Meta:
        table = "rel_club"


class Membership(Model):
    club: fields.ForeignKeyRelation[Club] = fields.ForeignKeyField("models.Club", related_name="memberships")
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="memberships"
    )
    role = fields.CharField(max_length=20, default="member")

    class Meta:
        table = "rel_membership"
        unique_together = (("club", "member"),)


# -- on_delete behaviours -------------------------------------------------------------------------


class Parent(Model):
    name = fields.CharField(max_length=20)

    class Meta:
        table = "rel_parent"


class ChildCascade(Model):
    parent: fields.ForeignKeyRelation[Parent] = fields.ForeignKeyField(
        "models.Parent", related_name="cascade_children", on_delete=fields.CASCADE
    )

    class Meta:
        table = "rel_child_cascade"


class ChildRestrict(Model):
    parent: fields.ForeignKeyRelation[Parent] = fields.ForeignKeyField(
        "models.Parent", related_name="restrict_children", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "rel_child_restrict"


class ChildNoAction(Model):
    parent: fields.ForeignKeyRelation[Parent] = fields.ForeignKeyField(
        "models.Parent", related_name="noaction_children", on_delete=fields.NO_ACTION
    )

    class Meta:
        table = "rel_child_noaction"


class ChildSetNull(Model):
    parent: fields.ForeignKeyNullableRelation[Parent] = fields.ForeignKeyField(
        "models.Parent", related_name="setnull_children", on_delete=fields.SET_NULL, null=True
    )
    parent_id: int | None

    class Meta:
        table = "rel_child_setnull"


class ChildSetDefault(Model):
    parent: fields.ForeignKeyRelation[Parent] = fields.ForeignKeyField(
        "models.Parent", related_name="setdefault_children", on_delete=fields.SET_DEFAULT, default=1
    )
    parent_id: int

    class Meta:
        table = "rel_child_setdefault"


class ChildLoose(Model):
    parent: fields.ForeignKeyRelation[Parent] = fields.ForeignKeyField(
        "models.Parent", related_name="loose_children", db_constraint=False
    )

    class Meta:
        table = "rel_child_loose"


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()
