"""Relation fields: ``ForeignKeyField``, ``OneToOneField`` and ``ManyToManyField``.

A relation is not a column: the metaclass turns a foreign key ``author`` into a plain data field
``author_id`` (whose type mirrors the target's primary key, decided once the target model is
known) plus a descriptor for ``book.author``. Keeping the id as an ordinary field means rows
still decode positionally into ``__dict__`` with no per-row relation work.
"""

from __future__ import annotations

import copy
import enum
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, Union, overload

from ..exceptions import ConfigurationError, ParamsTypeError
from ..registry import resolve_model
from .base import NO_DEFAULT, Field

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..models.model import Model
    from ..models.related import ManyToManyManager, ReverseManager

MT = TypeVar("MT", bound="Model")


class OnDelete(enum.StrEnum):
    CASCADE = "CASCADE"
    RESTRICT = "RESTRICT"
    SET_NULL = "SET NULL"
    SET_DEFAULT = "SET DEFAULT"
    NO_ACTION = "NO ACTION"


CASCADE = OnDelete.CASCADE
RESTRICT = OnDelete.RESTRICT
SET_NULL = OnDelete.SET_NULL
SET_DEFAULT = OnDelete.SET_DEFAULT
NO_ACTION = OnDelete.NO_ACTION


class RelationField(Generic[MT]):
    """Common options of the three relation kinds (a declaration, not a column)."""

    kind = "fk"

    def __init__(
        self,
        model_name: type[MT] | str,
        related_name: str | bool | None = None,
        on_delete: OnDelete | str = CASCADE,
        *,
        null: bool = False,
        db_constraint: bool = True,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.reference = model_name
        self.related_name = related_name
        try:
            self.on_delete = OnDelete(on_delete.upper() if isinstance(on_delete, str) else on_delete)
        except ValueError:
            raise ConfigurationError(
                f"on_delete must be one of {', '.join(o.name for o in OnDelete)}, got {on_delete!r}"
            ) from None
        self.null = null
        self.db_constraint = db_constraint
        self.description = description
        self.options = kwargs
        self.name = ""
        self.model: type[Model] | None = None
        self._target: type[Model] | None = None

    @property
    def related_model(self) -> type[Model]:
        if self._target is None:
            assert self.model is not None
            self._target = resolve_model(self.reference, self.model)
        return self._target

    def clone(self) -> RelationField[MT]:
        new = copy.copy(self)
        new.model = None
        new._target = None
        return new

    # Typing only: on an instance the attribute is the related object (or a manager).
    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type) -> RelationField[MT]: ...
        @overload
        def __get__(self, instance: object, owner: type) -> Any: ...
        def __get__(self, instance: object | None, owner: type) -> Any: ...


class ForeignKeyFieldInstance(RelationField[MT]):
    kind = "fk"

    def __init__(
        self,
        model_name: type[MT] | str,
        related_name: str | bool | None = None,
        on_delete: OnDelete | str = CASCADE,
        **kwargs: Any,
    ) -> None:
        super().__init__(model_name, related_name, on_delete, **kwargs)
        if self.on_delete == SET_NULL and not self.null:
            raise ConfigurationError("on_delete=SET_NULL needs null=True")
        self.default = self.options.pop("default", NO_DEFAULT)
        if self.on_delete == SET_DEFAULT and self.default is NO_DEFAULT:
            raise ConfigurationError("on_delete=SET_DEFAULT needs default=<the target's pk value>")
        self.source_field: str | None = self.options.pop("source_field", None) or self.options.pop(
            "db_column", None
        )
        # Indexed by default (like Django): reverse access and prefetching look rows up by it.
        db_index = self.options.pop("db_index", None)
        index = self.options.pop("index", None)
        self.index = bool(True if db_index is None and index is None else (db_index or index))
        self.unique = bool(self.options.pop("unique", False)) or self.kind == "o2o"
        self.validators = list(self.options.pop("validators", None) or ())
        # Tortoise's ``to_field``: the target's unique field the key column references (its
        # primary key when not given); checked once the target is resolved
        # (``RelationIdField.target_key``).
        self.to_field: str | None = self.options.pop("to_field", None)
        # ``OneToOneField(..., primary_key=True)``: the key column is also this model's pk.
        self.primary_key = bool(self.options.pop("primary_key", False) or self.options.pop("pk", False))
        if self.options:
            raise ConfigurationError(f"{type(self).__name__} got unknown option(s) {sorted(self.options)}")
        self.id_field: RelationIdField | None = None

    def make_id_field(self) -> RelationIdField:
        default = self.default
        if default is not NO_DEFAULT and not callable(default):
            # The target (and so the coercion) may not exist yet: coerce per instance instead.
            default = _Constant(default)
        field = RelationIdField(
            self,
            source_field=self.source_field,
            null=self.null,
            default=default,
            unique=self.unique,
            index=self.index and not self.primary_key,
            primary_key=self.primary_key,
            description=self.description,
            validators=self.validators,
            # ON DELETE SET DEFAULT needs the default in the table definition itself.
            db_default=self.default
            if self.on_delete == SET_DEFAULT and not callable(self.default)
            else NO_DEFAULT,
        )
        self.id_field = field
        return field


class _Constant:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self) -> Any:
        return self.value


class OneToOneFieldInstance(ForeignKeyFieldInstance[MT]):
    kind = "o2o"


class ManyToManyFieldInstance(RelationField[MT]):
    kind = "m2m"

    def __init__(
        self,
        model_name: type[MT] | str,
        through: type[Model] | str | None = None,
        forward_key: str | None = None,
        backward_key: str | None = None,
        related_name: str | bool | None = None,
        on_delete: OnDelete | str = CASCADE,
        **kwargs: Any,
    ) -> None:
        super().__init__(model_name, related_name, on_delete, **kwargs)
        self.through = through
        self.forward_key = forward_key
        self.backward_key = backward_key
        # Set up by models/wiring.py: the through model and its two foreign keys.
        self.through_model: type[Model] | None = None
        self.source_fk: ForeignKeyFieldInstance[Any] | None = None
        self.target_fk: ForeignKeyFieldInstance[Any] | None = None


class RelationIdField(Field[Any]):
    """The ``<name>_id`` column of a foreign key; behaves like the target field it references
    (the target's primary key, or the unique field named by ``to_field``)."""

    identity_db = False
    array_safe = False

    def __init__(self, relation: ForeignKeyFieldInstance[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.relation = relation
        self._target_key: Field[Any] | None = None

    def contribute(self, model: type[Model], name: str) -> None:
        super().contribute(model, name)
        if self.source_field == self.relation.name:
            self.source_field = name

    @property
    def target_key(self) -> Field[Any]:
        """The target's field this key column holds values of."""
        key = self._target_key
        if key is None:
            key = self._target_key = self._resolve_key()
            # Copy what the dialect reads to pick a column type, so DDL matches the target.
            for attr in ("type_key", "python_type", "max_length", "max_digits", "decimal_places"):
                if hasattr(key, attr):
                    self.__dict__[attr] = getattr(key, attr)
            self.__dict__["array_safe"] = key.array_safe
            # Bulk writes may pass already-coerced ids through exactly when the target's may.
            self.__dict__["identity_db"] = key.identity_db
            self.__dict__["from_db"] = key.from_db
        return key

    def _resolve_key(self) -> Field[Any]:
        meta = self.relation.related_model._meta
        to_field = self.relation.to_field
        if to_field is None or to_field in ("pk", meta.pk_attr):
            return meta.pk
        key = meta.fields_map.get(to_field)
        if key is None or isinstance(key, RelationIdField):
            raise ConfigurationError(
                f"{self.qualified_name}: to_field={to_field!r} is not a field of "
                f"{self.relation.related_model.__name__}"
            )
        if not key.unique:
            raise ConfigurationError(
                f"{self.qualified_name}: to_field={to_field!r} must name a unique field of "
                f"{self.relation.related_model.__name__} (declare it unique=True)"
            )
        return key

    @property
    def key_attr(self) -> str:
        """The attribute of a target instance this column stores (``pk`` attribute by default)."""
        return str(self.target_key.model_field_name)

    @property
    def by_pk(self) -> bool:
        """Whether the column references the target's primary key (the common case)."""
        return bool(self.target_key.pk)

    def key_of(self, instance: Any) -> Any:
        """The value this column takes for ``instance`` of the target model."""
        if not isinstance(instance, self.relation.related_model):
            raise ParamsTypeError(
                f"{self.qualified_name} refers to {self.relation.related_model.__name__}, "
                f"got a {type(instance).__name__}"
            )
        return instance.__dict__.get(self.key_attr)

    def finish(self) -> None:
        """Resolve the target now (called once the models are registered)."""
        self._target_key = None
        for attr in ("type_key", "python_type", "max_length", "max_digits", "decimal_places", "identity_db"):
            self.__dict__.pop(attr, None)
        _ = self.target_key

    def init_check(self, var: str, namespace: dict[str, Any], tag: str) -> str | None:
        # The target's check once it is known (the model's __init__ is generated again then).
        key = self._target_key
        return None if key is None else key.init_check(var, namespace, tag)

    def coerce(self, value: Any) -> Any:
        # A model instance stands for its key (checked without importing Model here: this runs
        # once per value in bulk paths).
        if hasattr(type(value), "_meta"):
            value = self.key_of(value)
        return self.target_key.coerce(value)

    def db_value(self, value: Any) -> Any:
        return self.target_key.db_value(value)

    def parse_raw(self, value: Any) -> Any:
        return self.target_key.parse_raw(value)

    def constraint_sql(self, dialect: Dialect) -> str | None:
        rel = self.relation
        if not rel.db_constraint:
            return None
        target = rel.related_model._meta
        return dialect.foreign_key_sql(self.column, target.table, self.target_key.column, str(rel.on_delete))

    def describe(self, serializable: bool = True) -> dict[str, Any]:
        out = super().describe(serializable)
        out["field_type"] = "ForeignKeyField" if self.relation.kind == "fk" else "OneToOneField"
        out["related_model"] = self.relation.related_model.__name__
        return out

    @property
    def related_model(self) -> type[Model]:
        """Read by schema.dependency_order: the referenced table must be created first."""
        if not self.relation.db_constraint:
            return self.model  # type: ignore[return-value]
        return self.relation.related_model


def _target(model_name: Any, kwargs: dict[str, Any]) -> Any:
    """The related model, given positionally or as Tortoise's ``to=`` keyword."""
    to = kwargs.pop("to", None)
    if (model_name is None) == (to is None):
        raise ConfigurationError("a relation field needs its target model: Field('app.Model') or to=...")
    return model_name if model_name is not None else to


def ForeignKeyField(
    model_name: type[MT] | str | None = None,
    related_name: str | bool | None = None,
    on_delete: OnDelete | str = CASCADE,
    **kwargs: Any,
) -> ForeignKeyRelation[MT]:
    """A many-to-one relation: ``author = fields.ForeignKeyField("models.Author",
    related_name="books")`` adds the column ``author_id``."""
    target = _target(model_name, kwargs)
    return ForeignKeyFieldInstance(target, related_name, on_delete, **kwargs)  # type: ignore[return-value]


def OneToOneField(
    model_name: type[MT] | str | None = None,
    related_name: str | bool | None = None,
    on_delete: OnDelete | str = CASCADE,
    **kwargs: Any,
) -> OneToOneRelation[MT]:
    """A unique foreign key; the reverse side is a single object."""
    target = _target(model_name, kwargs)
    return OneToOneFieldInstance(target, related_name, on_delete, **kwargs)  # type: ignore[return-value]


def ManyToManyField(
    model_name: type[MT] | str | None = None,
    through: type[Model] | str | None = None,
    forward_key: str | None = None,
    backward_key: str | None = None,
    related_name: str | bool | None = None,
    on_delete: OnDelete | str = CASCADE,
    **kwargs: Any,
) -> ManyToManyRelation[MT]:
    """A many-to-many relation through a join table (created automatically, named by
    ``through=``, or a model with extra columns given as ``through=Model``)."""
    target = _target(model_name, kwargs)
    return ManyToManyFieldInstance(  # type: ignore[return-value]
        target, through, forward_key, backward_key, related_name, on_delete, **kwargs
    )


# -- typed aliases ------------------------------------------------------------------------------------
# What an attribute holds on an instance, for annotations such as
# ``author: fields.ForeignKeyRelation[Author] = fields.ForeignKeyField("models.Author")``.

# ``Model`` instances are awaitable (to themselves), so ``await book.author`` and
# ``book.author.name`` both type-check against the model type itself. A one-member ``Union[MT]``
# collapses to the bare TypeVar, which cannot be subscripted at run time (class bodies evaluate
# annotations unless ``from __future__ import annotations``); ``Annotated[MT, ...]`` stays a
# generic alias at run time and means exactly ``MT`` to a type checker.
ForeignKeyRelation = Annotated[MT, "ForeignKeyRelation"]
ForeignKeyNullableRelation = Union[MT, None]  # noqa: UP007 - a generic alias needs the Union form
OneToOneRelation = Annotated[MT, "OneToOneRelation"]
OneToOneNullableRelation = Union[MT, None]  # noqa: UP007
BackwardOneToOneRelation = Annotated[MT, "BackwardOneToOneRelation"]
# The many sides are managers, which live in the model layer above this one: for type checkers
# they are plain aliases, at run time module ``__getattr__`` builds them on first use.
if TYPE_CHECKING:
    ReverseRelation = ReverseManager[MT]
    BackwardFKRelation = ReverseManager[MT]
    ManyToManyRelation = ManyToManyManager[MT]

MANAGER_ALIASES = frozenset(("ReverseRelation", "BackwardFKRelation", "ManyToManyRelation"))


def __getattr__(name: str) -> Any:
    if name not in MANAGER_ALIASES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Lazy by design (see the layering test): the model layer imports this module.
    from ..models import related

    # The classes themselves (generic, so ``ReverseRelation["Book"]`` still subscripts):
    # ``isinstance(author.books, fields.ReverseRelation)`` holds, as in Tortoise.
    alias = related.ManyToManyManager if name == "ManyToManyRelation" else related.ReverseManager
    globals()[name] = alias
    return alias
