"""The model registry: every concrete model class defined so far, and name resolution.

A leaf module (it imports nothing of the package at run time), so that fields, queries and the
model layer can all ask "is this a model?" and "which model is ``"app.Author"``?" without
importing the model layer, which sits above them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeGuard

from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from .models.model import Model

# Every concrete model class defined so far, in definition order (``YaraOrm.init`` without
# ``modules`` registers these).
MODEL_REGISTRY: list[type[Model]] = []

# ``yara_orm.models.Model`` itself, recorded by its metaclass when the class is created.
_model_base: type[Any] | None = None


def register_base(cls: type[Any]) -> None:
    """Record the root ``Model`` class (called once, by ``ModelMeta``)."""
    global _model_base
    _model_base = cls


def register(model: type[Model]) -> None:
    MODEL_REGISTRY.append(model)


def all_models() -> list[type[Model]]:
    """Every concrete model class defined so far, in definition order (yara-orm 1.19's name)."""
    return list(MODEL_REGISTRY)


def model_base() -> type[Model]:
    """The root ``Model`` class."""
    assert _model_base is not None, "yara_orm.models.model defines Model on import"
    return _model_base


def is_model(value: Any) -> TypeGuard[Model]:
    """Whether ``value`` is a model instance."""
    return _model_base is not None and isinstance(value, _model_base)


def is_model_class(value: Any) -> TypeGuard[type[Model]]:
    """Whether ``value`` is a model class (``Model`` itself, abstract or concrete)."""
    return _model_base is not None and isinstance(value, type) and issubclass(value, _model_base)


def resolve_model(ref: Any, owner: type[Model], known: dict[str, type[Model]] | None = None) -> type[Model]:
    """A model from a class, ``"self"``, ``"app.Model"`` or ``"Model"``."""
    if isinstance(ref, type):
        return ref
    if not isinstance(ref, str):
        raise ConfigurationError(
            f"{owner.__name__}: a relation target must be a model or a name, got {ref!r}"
        )
    if ref == "self":
        return owner
    app, _, name = ref.rpartition(".")
    candidates = [m for m in (known or {}).values() if m.__name__ == name]
    if not candidates:
        candidates = [m for m in MODEL_REGISTRY if m.__name__ == name]
    if app and len(candidates) > 1:
        candidates = [m for m in candidates if m._meta.app in (None, app)] or candidates
    if not candidates:
        raise ConfigurationError(
            f"{owner.__name__}: relation target {ref!r} is not a defined model "
            "(define it, and pass its module to YaraOrm.init)"
        )
    # The most recent definition wins (tests redefine models with the same name).
    return candidates[-1]
