"""The model registry: every concrete model class defined so far, and name resolution.

A leaf module (it imports nothing of the package at run time), so that fields, queries and the
model layer can all ask "is this a model?" and "which model is ``"app.Author"``?" without
importing the model layer, which sits above them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from typing import TYPE_CHECKING, Any, TypeGuard, overload

from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from .models.model import Model

# Every concrete model class defined so far by ``"module.ClassName"`` (yara-orm 1.19's name for
# it), in definition order. A class defined again under the same name (a re-run notebook cell, a
# reloaded module) replaces the earlier one.
_MODELS: dict[str, type[Any]] = {}
# What :func:`get_model` resolved, by the reference given (cleared when models are registered).
_RESOLVE_CACHE: dict[str, type[Any]] = {}


def _key(model: type[Any]) -> str:
    return f"{model.__module__}.{model.__name__}"


class _Registered(MutableSequence[type[Any]]):
    """``MODEL_REGISTRY``: the models of ``_MODELS`` as a list (``YaraOrm.init`` without
    ``modules`` registers these); removing one unregisters it."""

    def _replace(self, models: Iterable[type[Any]]) -> None:
        _MODELS.clear()
        _RESOLVE_CACHE.clear()
        for model in models:
            _MODELS.pop(_key(model), None)
            _MODELS[_key(model)] = model

    def __len__(self) -> int:
        return len(_MODELS)

    def __iter__(self) -> Iterator[type[Any]]:
        return iter(list(_MODELS.values()))

    def __contains__(self, value: object) -> bool:
        return isinstance(value, type) and _MODELS.get(_key(value)) is value

    @overload
    def __getitem__(self, index: int) -> type[Any]: ...
    @overload
    def __getitem__(self, index: slice) -> MutableSequence[type[Any]]: ...
    def __getitem__(self, index: int | slice) -> type[Any] | MutableSequence[type[Any]]:
        return list(_MODELS.values())[index]

    @overload
    def __setitem__(self, index: int, value: type[Any]) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[type[Any]]) -> None: ...
    def __setitem__(self, index: int | slice, value: Any) -> None:
        models = list(_MODELS.values())
        models[index] = value
        self._replace(models)

    def __delitem__(self, index: int | slice) -> None:
        models = list(_MODELS.values())
        del models[index]
        self._replace(models)

    def insert(self, index: int, value: type[Any]) -> None:
        models = list(_MODELS.values())
        models.insert(index, value)
        self._replace(models)

    def __repr__(self) -> str:
        return repr(list(_MODELS.values()))


MODEL_REGISTRY: MutableSequence[type[Model]] = _Registered()

# ``yara_orm.models.Model`` itself, recorded by its metaclass when the class is created.
_model_base: type[Any] | None = None
# Resolves relations across a list of models (models/wiring.py registers it: it sits above).
_relation_resolver: Callable[[list[type[Any]]], Any] | None = None


def register_base(cls: type[Any]) -> None:
    """Record the root ``Model`` class (called once, by ``ModelMeta``)."""
    global _model_base
    _model_base = cls


def register(model: type[Model]) -> None:
    _MODELS.pop(_key(model), None)
    _MODELS[_key(model)] = model
    _RESOLVE_CACHE.clear()


def set_relation_resolver(resolver: Callable[[list[type[Any]]], Any]) -> None:
    """Called once by the model layer with the function that wires relations."""
    global _relation_resolver
    _relation_resolver = resolver


def resolve_relations() -> None:
    """Resolve the relations of every registered model and add their reverse sides now
    (``YaraOrm.init`` does it for the models it is given); a ConfigurationError names a target
    that is not defined or a related_name that is taken."""
    assert _relation_resolver is not None, "yara_orm.models registers the resolver on import"
    _relation_resolver(
        [m for m in _MODELS.values() if not m._meta.abstract and not getattr(m._meta, "auto_through", False)]
    )


def get_model(name: str) -> type[Any]:
    """The registered model ``name`` refers to: ``"module.ClassName"`` exactly, a unique suffix
    of one (``"app.models.ClassName"``), or a bare class name defined in one module only
    (ConfigurationError when it is ambiguous or unknown)."""
    found = _RESOLVE_CACHE.get(name)
    if found is not None:
        return found
    found = _MODELS.get(name)
    if found is None:
        matches = [(key, m) for key, m in _MODELS.items() if key.endswith(f".{name}")]
        if not matches:
            raise ConfigurationError(f"no registered model is named {name!r}")
        if len(matches) > 1:
            raise ConfigurationError(
                f"Ambiguous model reference {name!r}: it matches {', '.join(k for k, _ in matches)}; "
                "qualify it with its module"
            )
        found = matches[0][1]
    _RESOLVE_CACHE[name] = found
    return found


def all_models() -> list[type[Model]]:
    """Every concrete model class defined so far, in definition order (yara-orm 1.19's name)."""
    return list(_MODELS.values())


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
    exact = _MODELS.get(ref) if app else None
    if exact is not None:
        return exact  # "module.ClassName"
    candidates = [m for m in (known or {}).values() if m.__name__ == name]
    if not candidates:
        candidates = [m for m in _MODELS.values() if m.__name__ == name]
    if app and len(candidates) > 1:
        candidates = [m for m in candidates if m._meta.app in (None, app)] or candidates
    if not candidates:
        raise ConfigurationError(
            f"{owner.__name__}: relation target {ref!r} is not a defined model "
            "(define it, and pass its module to YaraOrm.init)"
        )
    # The most recent definition wins (tests redefine models with the same name).
    return candidates[-1]
