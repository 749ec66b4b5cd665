"""The model registry as yara-orm 1.19 code reaches it: ``registry.get_model`` by qualified or
bare name, ``registry.resolve_relations()``, and a model defined again replacing the first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from yara_orm import Model, fields, registry
from yara_orm.exceptions import ConfigurationError
from yara_orm.models import MODEL_REGISTRY, ModelMeta


@pytest.fixture
def scratch() -> Iterator[list[type[Model]]]:
    """Models a test defines; unregistered afterwards so later inits never see them."""
    made: list[type[Model]] = []
    try:
        yield made
    finally:
        for model in made:
            if model in MODEL_REGISTRY:
                MODEL_REGISTRY.remove(model)


def _model(module: str, name: str, **attrs: object) -> type[Model]:
    body = {"__module__": module, "__qualname__": name, "id": fields.IntField(primary_key=True), **attrs}
    body["Meta"] = type("Meta", (), {"table": f"{module.replace('.', '_')}_{name.lower()}"})
    return ModelMeta(name, (Model,), body)  # type: ignore[return-value]


def test_get_model_by_qualified_suffix_and_bare_names(scratch: list[type[Model]]) -> None:
    one = _model("proj.app_one.models", "RgThing")
    two = _model("proj.app_two.models", "RgThing")
    solo = _model("proj.app_one.models", "RgSolo")
    scratch += [one, two, solo]
    assert registry.get_model("proj.app_one.models.RgThing") is one
    assert registry.get_model("app_two.models.RgThing") is two  # a unique suffix
    assert registry.get_model("RgSolo") is solo
    with pytest.raises(ConfigurationError, match=r"Ambiguous.*app_one.*app_two"):
        registry.get_model("RgThing")
    with pytest.raises(ConfigurationError, match="Ambiguous"):
        registry.get_model("models.RgThing")
    with pytest.raises(ConfigurationError, match="no registered model"):
        registry.get_model("RgMissing")
    # A relation may name its target by module path too.
    src = _model(
        "proj.app_three.models", "RgSrc", thing=fields.ForeignKeyField("proj.app_two.models.RgThing")
    )
    scratch.append(src)
    registry.resolve_relations()
    assert src._meta.relations["thing"].target is two


def test_resolve_relations_names_what_holds_a_related_name(scratch: list[type[Model]]) -> None:
    target = _model("rg.dup", "RgTarget", rg_taken="occupied")
    scratch.append(target)
    scratch.append(
        _model("rg.dup", "RgSrcA", target=fields.ForeignKeyField("rg.dup.RgTarget", related_name="rg_dups"))
    )
    scratch.append(
        _model("rg.dup", "RgSrcB", target=fields.ForeignKeyField("rg.dup.RgTarget", related_name="rg_dups"))
    )
    with pytest.raises(ConfigurationError, match=r"already used by the relation RgSrcA\.target.*%\(class\)s"):
        registry.resolve_relations()
    MODEL_REGISTRY.remove(scratch.pop())
    scratch.append(
        _model("rg.dup", "RgSrcC", target=fields.ForeignKeyField("rg.dup.RgTarget", related_name="rg_taken"))
    )
    with pytest.raises(ConfigurationError, match="already used by attribute 'rg_taken'"):
        registry.resolve_relations()
    MODEL_REGISTRY.remove(scratch.pop())
    scratch.append(
        _model("rg.dup", "RgM2mA", links=fields.ManyToManyField("rg.dup.RgTarget", related_name="rg_dups"))
    )
    with pytest.raises(ConfigurationError, match="already used by"):
        registry.resolve_relations()


def test_a_model_defined_again_replaces_the_first(scratch: list[type[Model]]) -> None:
    tag = _model("rg.again", "RgTag")
    first = _model(
        "rg.again", "RgPost", tags=fields.ManyToManyField("rg.again.RgTag", related_name="rg_posts")
    )
    scratch += [tag, first]
    registry.resolve_relations()
    second = _model(
        "rg.again", "RgPost", tags=fields.ManyToManyField("rg.again.RgTag", related_name="rg_posts")
    )
    scratch.append(second)
    assert first not in MODEL_REGISTRY and second in MODEL_REGISTRY
    registry.resolve_relations()  # no false related_name collision with the replaced class
    assert tag._meta.relations["rg_posts"].target is second
