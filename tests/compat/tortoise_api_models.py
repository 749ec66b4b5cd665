"""Models for the Tortoise API behaviours of test_tortoise_api.py."""

from yara_orm import Model, fields


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


ALL_MODELS = [TaCounter, TaCode, TaClock]
