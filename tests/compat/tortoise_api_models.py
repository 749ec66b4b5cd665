"""Models for the Tortoise API behaviours of test_tortoise_api.py."""

from typing import Any

from yara_orm import Model, fields
from yara_orm.manager import Manager
from yara_orm.queryset import QuerySet


class TaCounter(Model):
    name = fields.CharField(max_length=20, unique=True)
    n = fields.IntField(default=0)
    note = fields.CharField(max_length=20, null=True)
    other = fields.CharField(max_length=20, null=True)

    class Meta:
        table = "ta_counter"


class TaCode(Model):
    code = fields.CharField(max_length=10, primary_key=True)
    name = fields.CharField(max_length=20)

    class Meta:
        table = "ta_code"


class TaClock(Model):
    name = fields.CharField(max_length=20)
    touched = fields.TimeField(auto_now=True)
    born = fields.TimeField(auto_now_add=True)

    class Meta:
        table = "ta_clock"


class TaTeam(Model):
    name = fields.CharField(max_length=20)

    class Meta:
        table = "ta_team"


class TaEvent(Model):
    name = fields.CharField(max_length=20)
    score = fields.IntField(default=0)
    participants: fields.ManyToManyRelation[TaTeam] = fields.ManyToManyField(
        "models.TaTeam", related_name="events", through="ta_event_team"
    )

    class Meta:
        table = "ta_event"


class TaBadOrder(Model):
    name = fields.CharField(max_length=20)

    class Meta:
        table = "ta_bad_order"
        ordering = ["name", "nope"]


class _ActiveQuerySet(QuerySet[Any]):
    def active(self) -> QuerySet[Any]:
        return self.filter(status=1)


class _ActiveManager(Manager[Any]):
    def get_queryset(self) -> QuerySet[Any]:
        return _ActiveQuerySet(self.model)


class TaManagedBase(Model):
    all_objects: Manager[Any] = Manager()
    status = fields.IntField(default=0)

    class Meta:
        abstract = True
        manager = _ActiveManager()


class TaManaged(TaManagedBase):
    class Meta:
        table = "ta_managed"


class TaManagedToo(TaManagedBase):
    class Meta:
        table = "ta_managed_too"


class TaDoc(Model):
    data = fields.JSONField(null=True)

    class Meta:
        table = "ta_doc"


ALL_MODELS = [TaCounter, TaCode, TaClock, TaTeam, TaEvent, TaBadOrder, TaManaged, TaManagedToo, TaDoc]
