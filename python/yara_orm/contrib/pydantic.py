"""pydantic (v2) models generated from Yara ORM models, with Tortoise's contrib API.

::

    BookOut = pydantic_model_creator(Book)                  # fields + relations, nested
    BookIn = pydantic_model_creator(Book, name="BookIn", exclude_readonly=True)
    out = await BookOut.from_tortoise_orm(book)             # fetches the relations it includes
    page = await pydantic_queryset_creator(Book).from_queryset(Book.filter(...))
    BookOut.model_json_schema()

Forward keys and one-to-one relations become nested models (``None`` when the key is null),
reverse and many-to-many relations lists of them; ``exclude``/``include`` take field names and
double-underscore paths (``"author__books"``); ``computed`` names model methods or properties
whose values are added as read-only fields. A model already being generated higher up the
nesting is not entered again unless ``allow_cycles=True`` (then only to ``max_recursion``
levels), so back references do not loop.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import inspect
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from ..exceptions import ConfigurationError
from ..fields import data as data_fields
from ..fields.base import NO_DEFAULT
from ..fields.base import Field as ModelField

if TYPE_CHECKING:
    from ..models.model import Model
    from ..query.queryset import QuerySet

__all__ = ["PydanticListModel", "PydanticModel", "pydantic_model_creator", "pydantic_queryset_creator"]


class PydanticModel(BaseModel):
    """Base of generated models: construction from ORM instances (``from_attributes``)."""

    model_config = ConfigDict(from_attributes=True)
    _orm_model: ClassVar[type[Model] | None] = None
    _prefetch: ClassVar[tuple[str, ...]] = ()

    @classmethod
    async def from_tortoise_orm(cls, obj: Model) -> Any:
        """Fetch the relations this model includes, then validate ``obj``."""
        if cls._prefetch:
            await obj.fetch_related(*cls._prefetch)
        return cls.model_validate(_as_data(obj, cls))

    from_orm_instance = from_tortoise_orm

    @classmethod
    async def from_queryset_single(cls, queryset: Any) -> Any:
        """``await Model.from_queryset_single(Book.get(pk=1))``."""
        if cls._prefetch:
            queryset = queryset.prefetch_related(*cls._prefetch)
        obj = await queryset
        return cls.model_validate(_as_data(obj, cls))

    @classmethod
    async def from_queryset(cls, queryset: Any) -> list[Any]:
        """Every row of ``queryset`` as this model."""
        if cls._prefetch:
            queryset = queryset.prefetch_related(*cls._prefetch)
        return [cls.model_validate(_as_data(obj, cls)) for obj in await queryset]


class PydanticListModel(RootModel[list[Any]]):
    """Base of generated list models (``pydantic_queryset_creator``)."""

    _item: ClassVar[type[PydanticModel]]

    @classmethod
    async def from_queryset(cls, queryset: QuerySet[Any]) -> Any:
        return cls.model_validate(await cls._item.from_queryset(queryset))


def _as_data(obj: Any, model: type[BaseModel]) -> dict[str, Any]:
    """The values ``model`` wants from an ORM instance, relations as nested data."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        value = getattr(obj, name, None)
        nested = _nested_model(info.annotation)
        if nested is not None:
            if _is_list(info.annotation):
                value = [_as_data(item, nested) for item in (value or ())]
            elif value is not None and hasattr(value, "_meta"):
                value = _as_data(value, nested)
            else:
                value = None
        elif callable(value) and not isinstance(value, type):
            value = value()
        out[name] = value
    return out


def _nested_model(annotation: Any) -> type[PydanticModel] | None:
    """The generated model inside ``Nested``, ``Nested | None`` or ``list[Nested]``."""
    if isinstance(annotation, type) and issubclass(annotation, PydanticModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        return True
    return any(_is_list(a) for a in getattr(annotation, "__args__", ()) if a is not type(None))


_PY_TYPES: list[tuple[type[ModelField[Any]], Any]] = [
    (data_fields.BooleanField, bool),
    (data_fields.IntField, int),
    (data_fields.FloatField, float),
    (data_fields.DecimalField, decimal.Decimal),
    (data_fields.DatetimeField, dt.datetime),
    (data_fields.DateField, dt.date),
    (data_fields.TimeField, dt.time),
    (data_fields.TimeDeltaField, dt.timedelta),
    (data_fields.UUIDField, uuid.UUID),
    (data_fields.BinaryField, bytes),
    (data_fields.JSONField, Any),
    (data_fields.CharField, str),
    (data_fields.TextField, str),
]


def _python_type(field: ModelField[Any]) -> Any:
    enum_type = getattr(field, "enum_type", None)
    if isinstance(enum_type, type) and issubclass(enum_type, enum.Enum):
        return enum_type
    for cls, py in _PY_TYPES:
        if isinstance(field, cls):
            return py
    return Any


def _readonly(field: ModelField[Any]) -> bool:
    return bool(field.pk and field.generated) or bool(
        getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    )


def _selected(name: str, include: set[str], exclude: set[str]) -> bool:
    if name in exclude:
        return False
    return not include or name in include or any(i.startswith(name + "__") for i in include)


def _sub(paths: set[str], name: str) -> set[str]:
    prefix = name + "__"
    return {p[len(prefix) :] for p in paths if p.startswith(prefix)}


def pydantic_model_creator(
    cls: type[Model],
    *,
    name: str | None = None,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    computed: Iterable[str] = (),
    optional: Iterable[str] = (),
    allow_cycles: bool = False,
    sort_alphabetically: bool = False,
    exclude_readonly: bool = False,
    model_config: ConfigDict | None = None,
    max_recursion: int = 3,
    _stack: tuple[type[Model], ...] = (),
) -> type[PydanticModel]:
    """A pydantic model class for ``cls`` (see the module docstring)."""
    meta = getattr(cls, "_meta", None)
    if meta is None:
        raise ConfigurationError(f"{cls!r} is not a Yara ORM model")
    include_set, exclude_set, optional_set = set(include), set(exclude), set(optional)
    stack = (*_stack, cls)
    definitions: dict[str, Any] = {}
    prefetch: list[str] = []

    for field in meta.fields:
        fname = field.model_field_name
        if not _selected(fname, include_set, exclude_set):
            continue
        if exclude_readonly and _readonly(field):
            continue
        py = _python_type(field)
        if field.null or fname in optional_set or _readonly(field):
            py = Optional[py]  # noqa: UP045 - built at run time from a variable
        if field.null or fname in optional_set or _readonly(field):
            default: Any = None
        elif field.default is not NO_DEFAULT and not callable(field.default):
            default = field.default
        elif field.default is not NO_DEFAULT:
            default = Field(default_factory=field.default)
        else:
            default = ...
        description = getattr(field, "description", None)
        if description and not isinstance(default, type(Field())):
            default = Field(default, description=description)
        definitions[fname] = (py, default)

    if not exclude_readonly:
        for rname, rel in meta.relations.items():
            if not _selected(rname, include_set, exclude_set):
                continue
            target = rel.target
            if rname.startswith("_") or getattr(target._meta, "auto_through", False):
                continue  # the hidden sides of automatic many-to-many join tables
            depth = stack.count(target)
            if (target in stack and not allow_cycles) or depth >= max_recursion:
                continue
            nested = pydantic_model_creator(
                target,
                name=f"{name or cls.__name__}.{rname}",
                exclude=_sub(exclude_set, rname),
                include=_sub(include_set, rname),
                allow_cycles=allow_cycles,
                sort_alphabetically=sort_alphabetically,
                max_recursion=max_recursion,
                _stack=stack,
            )
            prefetch.append(rname)
            prefetch.extend(f"{rname}__{p}" for p in nested._prefetch)
            if rel.many:
                definitions[rname] = (list[nested], Field(default_factory=list))  # type: ignore[valid-type]
            else:
                definitions[rname] = (Optional[nested], None)  # noqa: UP045

    for cname in computed:
        attr = inspect.getattr_static(cls, cname, None)
        if attr is None:
            raise ConfigurationError(f"{cls.__name__} has no method or property {cname!r} to compute")
        func = attr.fget if isinstance(attr, property) else attr
        hints = getattr(func, "__annotations__", {})
        definitions[cname] = (hints.get("return", Any), None)

    if sort_alphabetically:
        definitions = dict(sorted(definitions.items()))

    base_config = ConfigDict(from_attributes=True, title=name or cls.__name__)
    if model_config:
        base_config.update(model_config)
    model_name = (name or cls.__name__).replace(".", "_")
    model: type[PydanticModel] = create_model(
        model_name, __base__=PydanticModel, __module__=cls.__module__, **definitions
    )
    model.model_config = {**model.model_config, **base_config}
    model.model_rebuild(force=True)
    model._orm_model = cls
    model._prefetch = tuple(prefetch)
    model.__doc__ = meta.description or cls.__doc__
    return model


def pydantic_queryset_creator(
    cls: type[Model],
    *,
    name: str | None = None,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    computed: Iterable[str] = (),
    allow_cycles: bool = False,
    sort_alphabetically: bool = False,
) -> type[PydanticListModel]:
    """A list model (``RootModel[list[Item]]``) whose ``from_queryset`` fills it."""
    item = pydantic_model_creator(
        cls,
        name=f"{name or cls.__name__ + '_list'}.item",
        exclude=exclude,
        include=include,
        computed=computed,
        allow_cycles=allow_cycles,
        sort_alphabetically=sort_alphabetically,
    )
    list_name = (name or f"{cls.__name__}_list").replace(".", "_")
    model: type[PydanticListModel] = type(
        list_name,
        (PydanticListModel,),
        {"__annotations__": {"root": list[item]}, "__module__": cls.__module__},  # type: ignore[valid-type]
    )
    model._item = item
    model.model_rebuild(force=True)
    return model
