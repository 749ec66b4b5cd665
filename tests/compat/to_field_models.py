"""Foreign keys that reference a unique field other than the target's primary key
(Tortoise's ``to_field``)."""

from yara_orm import Model, fields


class TfSchool(Model):
    uuid = fields.UUIDField(primary_key=True)
    name = fields.TextField()
    id = fields.IntField(unique=True)

    students: fields.ReverseRelation["TfStudent"]


class TfStudent(Model):
    id = fields.IntField(primary_key=True)
    name = fields.TextField()
    school: fields.ForeignKeyRelation[TfSchool] = fields.ForeignKeyField(
        "models.TfSchool", related_name="students", to_field="id"
    )


class TfPrincipal(Model):
    id = fields.IntField(primary_key=True)
    name = fields.TextField()
    school: fields.OneToOneRelation[TfSchool] = fields.OneToOneField(
        "models.TfSchool", related_name="principal", to_field="id"
    )
