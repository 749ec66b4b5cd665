"""The schema as migrations see it: plain descriptions of models, replayed in memory.

A :class:`ProjectState` is what the migration files say the schema is after some point in their
history (no database is consulted). It can be built from the live model classes too
(:func:`state_from_models`), and the autodetector compares the two. ``render()`` turns a state
into *historical* model classes, real ``Model`` subclasses that exist only for the migration
machinery: the DDL code (:mod:`yara_orm.schema` and the dialect) runs on them, and
``RunPython`` queries through them, so data migrations see the schema of their own point in
history rather than today's models.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import importlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import fields as yfields
from ..exceptions import MigrationError
from ..fields.base import NO_DEFAULT, Field
from ..fields.relational import (
    CASCADE,
    ForeignKeyFieldInstance,
    ManyToManyFieldInstance,
    OneToOneFieldInstance,
    RelationField,
    RelationIdField,
)
from ..models import wiring
from ..models.meta import Index, ModelMeta
from ..models.model import Model
from ..registry import MODEL_REGISTRY

if TYPE_CHECKING:
    from ..connection import Connection

# What a state field is: a column type (``Field``) or a relation declaration.
FieldDecl = Field[Any] | RelationField[Any]

# Constructors by class, for the migration files (``fields.CharField(...)``).
_CONSTRUCTORS: dict[type, str] = {
    ForeignKeyFieldInstance: "ForeignKeyField",
    OneToOneFieldInstance: "OneToOneField",
    ManyToManyFieldInstance: "ManyToManyField",
    yfields.IntEnumFieldInstance: "IntEnumField",
    yfields.CharEnumFieldInstance: "CharEnumField",
}


@dataclass(frozen=True)
class Ref:
    """A reference to an importable object (a callable default, an enum class) in a migration."""

    path: str

    @classmethod
    def of(cls, obj: Any) -> Ref:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if not module or not qualname or "<" in qualname:
            raise MigrationError(
                f"{obj!r} cannot be written into a migration: it must be importable "
                "(a module-level function or class), not a lambda or a local definition"
            )
        return cls(f"{module}.{qualname}")


def constructor_name(decl: FieldDecl) -> str:
    """``CharField``, ``ForeignKeyField``...: the name in :mod:`yara_orm.fields` (or the dotted
    path of a custom field class)."""
    cls = type(decl)
    name = _CONSTRUCTORS.get(cls)
    if name is not None:
        return name
    if getattr(yfields, cls.__name__, None) is cls:
        return str(cls.__name__)
    return f"{cls.__module__}.{cls.__qualname__}"


def _literal(value: Any) -> Any:
    """A default as the migration file writes it (callables and enum classes by import path)."""
    if isinstance(value, enum.Enum | str | int | float | bool | bytes | type(None)):
        return value
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.date | dt.time | dt.timedelta):
        return value
    if isinstance(value, list | tuple | dict):
        return value
    if callable(value):
        # A constant wrapped by the foreign key (see fields.relational._Constant).
        inner = getattr(value, "value", None)
        if type(value).__name__ == "_Constant":
            return _literal(inner)
        return Ref.of(value)
    return value


def deconstruct(decl: FieldDecl, name: str) -> tuple[str, dict[str, Any]]:
    """(constructor, keyword arguments) that rebuild ``decl``; options at their defaults are left
    out, so two declarations are equal exactly when their schemas are."""
    kwargs: dict[str, Any] = {}
    if isinstance(decl, RelationField):
        kwargs["model_name"] = reference_name(decl)
        if decl.related_name is not None:
            kwargs["related_name"] = decl.related_name
        if decl.on_delete != CASCADE:
            kwargs["on_delete"] = str(decl.on_delete)
        if decl.null:
            kwargs["null"] = True
        if not decl.db_constraint:
            kwargs["db_constraint"] = False
        if decl.description:
            kwargs["description"] = decl.description
        if isinstance(decl, ManyToManyFieldInstance):
            through = decl.through
            if isinstance(through, type):
                through = f"{through._meta.app}.{through.__name__}"
            if through:
                kwargs["through"] = through
            if decl.forward_key:
                kwargs["forward_key"] = decl.forward_key
            if decl.backward_key:
                kwargs["backward_key"] = decl.backward_key
        elif isinstance(decl, ForeignKeyFieldInstance):
            if decl.default is not NO_DEFAULT:
                kwargs["default"] = _literal(decl.default)
            if decl.source_field and decl.source_field != name:
                kwargs["source_field"] = decl.source_field
            if not decl.index:
                kwargs["index"] = False
            if decl.unique and decl.kind != "o2o":
                kwargs["unique"] = True
        return constructor_name(decl), kwargs
    f = decl
    for attr in ("max_length", "max_digits", "decimal_places"):
        if attr in vars(f):
            kwargs[attr] = getattr(f, attr)
    if isinstance(f, yfields.CharEnumFieldInstance | yfields.IntEnumFieldInstance):
        kwargs["enum_type"] = Ref.of(f.enum_type)
    if getattr(f, "auto_now", False):
        kwargs["auto_now"] = True
    elif getattr(f, "auto_now_add", False):
        kwargs["auto_now_add"] = True
    if f.source_field and f.source_field != name:
        kwargs["source_field"] = f.source_field
    if f.pk:
        kwargs["primary_key"] = True
    # IntField-like fields are generated by default exactly when they are the primary key.
    generated_default = f.pk and isinstance(f, yfields.IntField)
    if f.generated != generated_default:
        kwargs["generated"] = f.generated
    if f.null:
        kwargs["null"] = True
    if f.default is not NO_DEFAULT:
        kwargs["default"] = _literal(f.default)
    if f.unique and not f.pk:
        kwargs["unique"] = True
    if f.index:
        kwargs["index"] = True
    if f.description:
        kwargs["description"] = f.description
    if f.db_default is not NO_DEFAULT:
        kwargs["db_default"] = _literal(f.db_default)
    # A custom field with constructor options of its own names them here.
    extra = getattr(f, "migration_kwargs", None)
    if callable(extra):
        kwargs.update({k: _literal(v) for k, v in extra().items()})
    return constructor_name(f), kwargs


def _resolve_ref(value: Any) -> Any:
    if isinstance(value, Ref):
        module, _, attr = value.path.rpartition(".")
        obj: Any = None
        # A nested qualname (Outer.Inner) is imported from its longest importable prefix.
        parts = value.path.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for part in parts[cut:]:
                obj = getattr(obj, part)
            return obj
        raise MigrationError(f"cannot import {value.path!r} (module {module!r}, name {attr!r})")
    return value


def construct(constructor: str, kwargs: dict[str, Any]) -> FieldDecl:
    """A fresh declaration from :func:`deconstruct`'s output."""
    factory: Callable[..., Any] | None = getattr(yfields, constructor, None)
    if factory is None:
        factory = _resolve_ref(Ref(constructor))
    assert factory is not None
    resolved = {k: _resolve_ref(v) for k, v in kwargs.items()}
    decl: FieldDecl = factory(**resolved)
    return decl


def reference_name(decl: RelationField[Any]) -> str:
    """``"app.Model"`` (or the string as declared, when the target is not resolved yet)."""
    target = decl._target
    ref = decl.reference
    if target is None and isinstance(ref, type):
        target = ref
    if target is not None:
        return f"{target._meta.app}.{target.__name__}" if target._meta.app else target.__name__
    return str(ref)


def fresh(decl: FieldDecl, name: str) -> FieldDecl:
    """An unbound copy of ``decl`` (a state never shares declarations with live models)."""
    constructor, kwargs = deconstruct(decl, name)
    return construct(constructor, kwargs)


def signature(decl: FieldDecl, name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A hashable, comparable form of a declaration."""
    constructor, kwargs = deconstruct(decl, name)
    return constructor, tuple(sorted((k, repr(v)) for k, v in kwargs.items()))


def stored_name(decl: FieldDecl, name: str) -> str:
    """The ``_meta.fields_map`` key of a declaration (``author`` is stored as ``author_id``)."""
    return f"{name}_id" if isinstance(decl, ForeignKeyFieldInstance) else name


@dataclass
class ModelState:
    """One model as the migrations describe it."""

    app: str
    name: str
    table: str
    fields: dict[str, FieldDecl]
    unique_together: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[Index, ...] = ()
    description: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.name)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    def clone(self) -> ModelState:
        return ModelState(
            self.app,
            self.name,
            self.table,
            dict(self.fields),
            self.unique_together,
            self.indexes,
            self.description,
        )

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.unique_together:
            out["unique_together"] = self.unique_together
        if self.indexes:
            out["indexes"] = self.indexes
        if self.description:
            out["table_description"] = self.description
        return out

    def references(self) -> set[str]:
        """Labels of the models this one's relations point at (its own excluded)."""
        out: set[str] = set()
        for decl in self.fields.values():
            if isinstance(decl, RelationField):
                ref = reference_name(decl)
                if ref not in (self.label, "self", self.name):
                    out.add(ref if "." in ref else f"{self.app}.{ref}")
                through = getattr(decl, "through", None)
                if isinstance(through, str) and "." in through:
                    out.add(through)
        return out


def index_key(index: Index) -> tuple[tuple[str, ...], str | None, bool, str | None]:
    return (index.fields, index.name, index.unique, index.kind)


class ProjectState:
    """Every app's models at one point of the migration history."""

    def __init__(self, models: Iterable[ModelState] = ()) -> None:
        self.models: dict[tuple[str, str], ModelState] = {m.key: m for m in models}

    def clone(self) -> ProjectState:
        return ProjectState(m.clone() for m in self.models.values())

    def app_models(self, app: str) -> list[ModelState]:
        return [m for m in self.models.values() if m.app == app]

    def get(self, app: str, name: str) -> ModelState:
        model = self.models.get((app, name))
        if model is None:
            if "." in name:
                app, name = name.split(".", 1)
                model = self.models.get((app, name))
            if model is None:
                raise MigrationError(
                    f"the migrations have no model {app}.{name} at this point; a migration refers to "
                    "a model before the migration that creates it (check its dependencies)"
                )
        return model

    def add(self, model: ModelState) -> None:
        if model.key in self.models:
            raise MigrationError(f"model {model.label} is created twice by the migrations")
        self.models[model.key] = model

    def remove(self, app: str, name: str) -> ModelState:
        model = self.get(app, name)
        del self.models[model.key]
        return model

    def __iter__(self) -> Iterator[ModelState]:
        return iter(self.models.values())

    def render(self, connection: Connection | None = None) -> HistoricalApps:
        return HistoricalApps(self, connection)


class HistoricalApps:
    """Model classes built from a :class:`ProjectState`; ``get_model("shop.Book")``.

    ``RunPython`` functions receive this: the models are bound to the connection the migration
    runs on, inside its transaction."""

    def __init__(self, state: ProjectState, connection: Connection | None = None) -> None:
        self.state = state
        self._models: dict[tuple[str, str], type[Model]] = {}
        _check_references(state)
        # Historical classes must not join the registry YaraOrm.init() reads for live models.
        registered = list(MODEL_REGISTRY)
        try:
            for ms in state:
                self._models[ms.key] = _render(ms)
            chosen = wiring.setup(list(self._models.values()))
            for key in self._models:
                for through in self.through_models(key).values():
                    through._meta.app = key[0]
        finally:
            MODEL_REGISTRY[:] = registered
        self.all_models = chosen
        self.connection = connection
        if connection is not None:
            for model in chosen:
                model._meta.bind(connection, connection.name)

    def get_model(self, label: str, name: str | None = None) -> type[Model]:
        app, model_name = (label, name) if name is not None else label.split(".", 1)
        try:
            return self._models[(app, model_name)]
        except KeyError:
            raise MigrationError(f"no model {app}.{model_name} at this point of the migrations") from None

    def model(self, key: tuple[str, str]) -> type[Model]:
        return self._models[key]

    def through_models(self, key: tuple[str, str]) -> dict[str, type[Model]]:
        """The auto-created join models of a model's many-to-many fields, by field name."""
        model = self._models[key]
        out: dict[str, type[Model]] = {}
        for decl in model._meta.declared_relations:
            if not isinstance(decl, ManyToManyFieldInstance):
                continue
            through = decl.through_model
            if through is not None and getattr(through._meta, "auto_through", False):
                out[decl.name] = through
        return out


def _check_references(state: ProjectState) -> None:
    """Every relation must point at a model of the state: wiring would otherwise resolve the
    name against today's model classes and build a historical model on top of them."""
    labels = {ms.label for ms in state}
    for ms in state:
        for ref in sorted(ms.references()):
            if ref not in labels:
                raise MigrationError(
                    f"{ms.label} refers to {ref}, which no migration creates before this point. Add "
                    f"the migration that creates {ref} to this migration's `dependencies`"
                )


def _render(ms: ModelState) -> type[Model]:
    meta_attrs: dict[str, Any] = {"table": ms.table, "app": ms.app}
    if ms.unique_together:
        meta_attrs["unique_together"] = ms.unique_together
    if ms.indexes:
        meta_attrs["indexes"] = tuple(
            Index(*i.fields, name=i.name, unique=i.unique, kind=i.kind) for i in ms.indexes
        )
    if ms.description:
        meta_attrs["table_description"] = ms.description
    attrs: dict[str, Any] = {
        "__module__": f"yara_orm.migrations.historical.{ms.app}",
        "__qualname__": ms.name,
        "__doc__": None,
        "Meta": type("Meta", (), meta_attrs),
    }
    for name, decl in ms.fields.items():
        attrs[name] = fresh(decl, name)
    try:
        cls: type[Model] = ModelMeta(ms.name, (Model,), attrs)  # type: ignore[assignment]
    except Exception as exc:
        raise MigrationError(
            f"the migrations describe {ms.label} in a way that is not a valid model: {exc}"
        ) from exc
    return cls


# -- from live models ----------------------------------------------------------------------------


def model_state(model: type[Model], app: str) -> ModelState:
    """A live model class as a :class:`ModelState` (declarations copied, never shared)."""
    meta = model._meta
    decls: dict[str, FieldDecl] = {}
    for name, f in meta.fields_map.items():
        if isinstance(f, RelationIdField):
            rel = f.relation
            decls[rel.name] = fresh(rel, rel.name)
        else:
            decls[name] = fresh(f, name)
    for m2m in meta.declared_relations:
        if isinstance(m2m, ManyToManyFieldInstance):
            decls[m2m.name] = fresh(m2m, m2m.name)
    indexes = tuple(i if isinstance(i, Index) else Index(*i) for i in meta.indexes)
    return ModelState(
        app=app,
        name=model.__name__,
        table=meta.table,
        fields=decls,
        unique_together=tuple(tuple(g) for g in meta.unique_together),
        indexes=indexes,
        description=meta.description,
    )


def state_from_models(apps: dict[str, list[type[Model]]]) -> ProjectState:
    """The state the live models describe (auto-created join models are implied by their
    many-to-many fields and left out)."""
    state = ProjectState()
    for app, models in apps.items():
        for model in models:
            if getattr(model._meta, "auto_through", False):
                continue
            state.add(model_state(model, app))
    return state


__all__ = [
    "FieldDecl",
    "HistoricalApps",
    "ModelState",
    "ProjectState",
    "Ref",
    "construct",
    "deconstruct",
    "fresh",
    "model_state",
    "signature",
    "state_from_models",
    "stored_name",
]
