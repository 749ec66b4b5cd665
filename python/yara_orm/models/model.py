"""``Model``: declare a table as a class; instances are rows.

Instances keep field values as plain attributes in ``__dict__``. Rows read from the database
build instances without calling ``__init__`` (see ``query/decode.py``), which is why the class
attribute ``_saved_in_db`` defaults to True and ``__init__`` sets it to False.
"""

from __future__ import annotations

import copy
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from .. import signals
from ..connection import executor_for
from ..exceptions import (
    DoesNotExist,
    FieldError,
    IncompleteInstanceError,
    IntegrityError,
    ObjectDoesNotExistError,
    ParamsError,
    RelationInitError,
    UnknownArgumentError,
    ValidationError,
)
from ..fields.base import NO_DEFAULT
from ..query import bulk_upsert, decode, reads, writes
from ..query.expressions import Expression, Q
from ..query.prefetch import prefetch
from ..query.queryset import QuerySet, class_routes
from ..query.single import QuerySetSingle, SingleMode
from ..registry import is_model
from ..relations import CACHE, FORWARD, REVERSE_O2O, copy_state, drop_cached, set_cached
from .manager import Manager
from .meta import MetaInfo, ModelMeta

if TYPE_CHECKING:
    from typing import Self

M = TypeVar("M", bound="Model")


class _PkGet(QuerySetSingle[Any]):
    """``Model.get(pk=...)``: awaiting runs the cached get-by-pk statement; refining it
    (``.only()``, ``.using_db()``...) falls back to a normal queryset."""

    __slots__ = ("_model", "_value")

    def __init__(self, model: type[Model], value: Any) -> None:
        self._model = model
        self._value = value
        self._mode = SingleMode.GET

    def __await__(self) -> Generator[Any, None, Any]:
        return reads.get_by_pk(self._model, self._value).__await__()

    def _wrap(self, qs: QuerySet[Any]) -> QuerySetSingle[Any]:
        return QuerySetSingle(qs, SingleMode.GET)

    @property
    def _qs(self) -> QuerySet[Any]:  # type: ignore[override]
        return self._model._default_qs().filter(pk=self._value)


async def _self_awaitable(obj: M) -> M:
    return obj


async def _by_index(model: type[M], key: Any) -> M:
    """``await Model[pk]`` (Tortoise): the row, or ObjectDoesNotExistError (a KeyError)."""
    try:
        obj = await model.get_or_none(pk=key)
    except ValidationError:  # a key of the wrong type matches no row
        obj = None
    if obj is None:
        raise ObjectDoesNotExistError(model, model._meta.pk_attr, key)
    return obj


# Relations a constructor cannot set (Tortoise's messages: code matches on them).
_OTHER_SIDE = {
    "reverse": "You can't set backward relations through init, change related model instead",
    "reverse_o2o": "You can't set backward one to one relations through init, change related model instead",
    "m2m": "You can't set m2m relations through init, use m2m_manager instead",
}

# What ``Model[...]`` means in an annotation (``Model[int]`` in yara-orm 1.19 type hints) rather
# than a primary key lookup.
_TYPING_KEYS = (type, TypeVar, tuple)


class Model(metaclass=ModelMeta):
    """Base class of every model. Declare fields as class attributes and options in ``Meta``."""

    _meta: ClassVar[MetaInfo]
    # Rows loaded from the database bypass __init__, so these class defaults describe them.
    _saved_in_db: bool = True
    _loaded: frozenset[str] | None = None
    # Tortoise's flag for a primary key the application generated (never set here: the key is
    # whatever the instance holds).
    _custom_generated_pk: bool = False
    # The QuerySet methods added below the class as classmethods (a relation may shadow them).
    _queryset_routes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **kwargs: Any) -> None:
        meta = self._meta
        d = self.__dict__
        d["_saved_in_db"] = False
        used = 0
        for name, coerce, factory, default in meta.init_plan:
            if name in kwargs:
                value = kwargs[name]
                d[name] = None if value is None else coerce(value)
                used += 1
            elif factory:
                d[name] = default()
            else:
                d[name] = default
        if used != len(kwargs):
            self._init_extra(kwargs)

    def _init_extra(self, kwargs: dict[str, Any]) -> None:
        """The uncommon ``__init__`` arguments: ``pk=`` and unknown names (an error, or kept as
        attributes with ``Meta.extra_kwargs = "store"``)."""
        meta = self._meta
        for name, value in kwargs.items():
            if name == "pk" and "pk" not in meta.fields_map:
                self.__dict__[meta.pk_attr] = meta.pk.to_python(value)
            elif name in meta.relations and meta.relations[name].kind == "fk":
                self._init_relation(meta.relations[name], value)
            elif name in meta.relations and not name.startswith("_"):
                raise RelationInitError(_OTHER_SIDE.get(meta.relations[name].kind, _OTHER_SIDE["m2m"]))
            elif name in meta.fields_by_column and name not in meta.fields_map:
                # A field's database column name (``db_column="alias_col"``), as yara-orm 1.19 takes.
                field = meta.fields_by_column[name]
                self.__dict__[field.model_field_name] = None if value is None else field.coerce(value)
            elif name not in meta.fields_map and meta.extra_kwargs == "store":
                self.__dict__[name] = value  # kept as a plain attribute, never saved
            elif name not in meta.fields_map:
                choices = ", ".join(meta.fields_map)
                raise UnknownArgumentError(
                    f"{type(self).__name__} has no field {name!r}; valid choices: {choices}"
                )

    def _init_relation(self, rel: Any, value: Any) -> None:
        """``Book(author=...)``: an instance, None or a raw key (yara-orm 1.19). An explicit
        ``author_id=`` given too wins; the object is then cached only when it matches."""
        id_field = rel.field.id_field
        d = self.__dict__
        explicit = d.get(id_field.model_field_name)
        if explicit is not None and rel.field.default is NO_DEFAULT:
            if is_model(value) and value.__dict__.get(id_field.key_attr) == explicit:
                set_cached(d, rel.name, value)
            return
        if value is None or is_model(value):
            setattr(self, rel.name, value)
        else:
            d[id_field.model_field_name] = id_field.coerce(value)
            drop_cached(d, rel.name)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``dict(instance)``: the loaded fields as ``(name, value)`` pairs (yara-orm 1.19 and
        Tortoise), then attributes kept by ``Meta.extra_kwargs = "store"``; fields left out by
        only()/defer() and private attributes are skipped."""
        d = self.__dict__
        fields_map = self._meta.fields_map
        for field in self._meta.fields:
            name = field.model_field_name
            if name in d:
                yield name, d[name]
        for name, value in d.items():
            if name[0] != "_" and name not in fields_map:
                yield name, value

    # -- identity ---------------------------------------------------------------------------------

    @property
    def pk(self) -> Any:
        return self.__dict__.get(self._meta.pk_attr)

    @pk.setter
    def pk(self, value: Any) -> None:
        self.__dict__[self._meta.pk_attr] = self._meta.pk.to_python(value)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True  # an unsaved instance equals itself (and only itself)
        if type(other) is not type(self):
            return NotImplemented
        pk = self.pk
        return pk is not None and bool(pk == other.pk)

    def __hash__(self) -> int:
        pk = self.pk
        if pk is None:
            raise TypeError(f"unsaved {type(self).__name__} instances (pk is None) are unhashable")
        # The key's own hash (Tortoise's): equal instances are of one type, so this is consistent.
        return hash(pk)

    def __repr__(self) -> str:
        pk = self.pk
        return f"<{type(self).__name__}>" if pk is None else f"<{type(self).__name__}: {pk}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__}>"

    @property
    def _in_db(self) -> bool:
        """yara-orm 1.19's name for ``_saved_in_db`` (whether the instance has a row)."""
        return self._saved_in_db

    @_in_db.setter
    def _in_db(self, value: bool) -> None:
        self.__dict__["_saved_in_db"] = bool(value)

    @property
    def _partial(self) -> bool:
        """Tortoise's name: loaded with ``only()``/``defer()`` (some fields missing)."""
        return self._loaded is not None

    def __class_getitem__(cls, key: Any) -> Any:
        """``await Model[pk]``: the row with that primary key (ObjectDoesNotExistError, a
        KeyError, when there is none). ``Model[SomeType]`` in an annotation is the model."""
        if isinstance(key, _TYPING_KEYS) or hasattr(key, "__origin__"):
            return cls
        return _by_index(cls, key)

    @classmethod
    def construct(cls, _saved_in_db: bool = False, **kwargs: Any) -> Self:
        """An instance from trusted values, without coercion or checks (Tortoise's
        ``construct``): defaults fill the fields not given, related objects (saved or not) are
        cached as given, lists fill reverse and many-to-many sides, unknown names become plain
        attributes."""
        meta = cls._meta
        obj = cls.__new__(cls)
        d = obj.__dict__
        d["_saved_in_db"] = _saved_in_db
        for name, _coerce, factory, default in meta.init_plan:
            if name in kwargs:
                d[name] = kwargs.pop(name)
            else:
                d[name] = default() if factory else default
        for name, value in kwargs.items():
            rel = meta.relations.get(name)
            if rel is None:
                d[name] = value
            elif rel.kind == FORWARD:
                assert rel.field is not None and rel.field.id_field is not None
                id_field = rel.field.id_field
                d[id_field.model_field_name] = (
                    None if value is None else value.__dict__.get(id_field.key_attr)
                )
                set_cached(d, name, value)
            elif rel.kind == REVERSE_O2O:
                set_cached(d, name, value)
            else:
                set_cached(d, name, list(value))
        return obj

    def __await__(self) -> Generator[Any, None, Self]:
        # ``await book.author`` works whether the relation was fetched (an instance) or not.
        return _self_awaitable(self).__await__()

    def __getstate__(self) -> dict[str, Any]:
        # Also what copy.copy() uses: the copy gets a relation cache of its own.
        return copy_state(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- instance writes --------------------------------------------------------------------------

    async def save(
        self,
        using_db: Any = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        """INSERT a new instance or UPDATE a loaded one (only ``update_fields`` if given; only
        the loaded fields of an ``only()``/``defer()`` instance)."""
        if signals.active:
            await signals.send_pre_save(self, using_db, update_fields)
        # A saved instance whose pk was set to None is saved as a new row (Tortoise's implicit
        # clone).
        if force_create or (
            not force_update and (not self._saved_in_db or self.__dict__.get(self._meta.pk_attr) is None)
        ):
            if update_fields is not None:
                raise ParamsError("update_fields only applies to instances already saved")
            await writes.insert_instance(self, using_db)
            if signals.active:
                await signals.send_post_save(self, True, using_db, update_fields)
            return
        created = False
        updated = await writes.update_instance(self, update_fields, using_db)
        if updated == 0:
            if force_update:
                # Tortoise's kind: the row the caller insisted on updating is not there.
                raise IntegrityError(f"Can't update object that doesn't exist. PK: {self.pk}")
            if update_fields is not None:
                raise DoesNotExist(
                    f"{type(self).__name__} with pk={self.pk!r} no longer exists; nothing was updated"
                )
            if self._loaded is not None:
                raise IncompleteInstanceError("cannot re-insert a partially loaded instance")
            await writes.insert_instance(self, using_db)
            created = True
        if signals.active:
            await signals.send_post_save(self, created, using_db, update_fields)

    async def delete(self, using_db: Any = None) -> None:
        """DELETE this row."""
        if signals.active:
            await signals.send_pre_delete(self, using_db)
        await writes.delete_instance(self, using_db)
        self.__dict__["_saved_in_db"] = False
        if signals.active:
            await signals.send_post_delete(self, using_db)

    async def fetch_related(self, *names: str | Any, using_db: Any = None) -> None:
        """Load relations (``"author"``, nested ``"author__country"`` or ``Prefetch`` objects) into
        this instance, one query per relation level."""
        await prefetch([self], names, using_db)

    async def refresh_from_db(self, fields: Iterable[str] | None = None, using_db: Any = None) -> None:
        """Reload field values (all, or ``fields``) from the database."""
        pk = self.pk
        if pk is None:
            raise ParamsError(f"cannot refresh a {type(self).__name__} without a primary key value")
        qs = type(self)._default_qs().filter(pk=pk)
        if fields is not None:
            qs = qs.only(*fields)
        if using_db is not None:
            qs = qs.using_db(using_db)
        fresh = await qs.get()
        data = {k: v for k, v in fresh.__dict__.items() if k != "_loaded"}
        self.__dict__.update(data)
        if fields is None:
            self.__dict__.pop("_loaded", None)
        self.__dict__["_saved_in_db"] = True

    def update_from_dict(self, data: dict[str, Any]) -> Self:
        """Assign several fields at once (values are coerced like in ``__init__``)."""
        meta = self._meta
        for name, value in data.items():
            field = meta.lookup_field(name)
            if field is None and name in meta.relations and meta.relations[name].kind == "fk":
                setattr(self, name, value)
                continue
            if field is None and meta.extra_kwargs == "store" and name not in meta.relations:
                self.__dict__[name] = value  # as the constructor keeps it: an attribute, never saved
                continue
            if field is None:
                choices = ", ".join(meta.fields_map)
                raise FieldError(f"{type(self).__name__} has no field {name!r}; valid choices: {choices}")
            self.__dict__[field.model_field_name] = field.to_python(value)
        return self

    def clone(self, pk: Any = None) -> Self:
        """A copy that saves as a new row (with ``pk``, or a generated one)."""
        new = copy.copy(self)
        # Cached related objects belong to the original row, not to the copy.
        new.__dict__ = copy.deepcopy({k: v for k, v in self.__dict__.items() if k != CACHE})
        pk_field = self._meta.pk
        if pk is None and pk_field.required:
            # The copy would collide with the original's key (or save with none).
            raise ParamsError(
                f"{type(self).__name__}.clone() needs a pk value: its primary key has no default"
            )
        new.__dict__[self._meta.pk_attr] = pk_field.to_python(pk) if pk is not None else None
        if pk is None and not pk_field.generated:
            new.__dict__[self._meta.pk_attr] = pk_field.default_value()
        new.__dict__["_saved_in_db"] = False
        return new

    # -- querying ---------------------------------------------------------------------------------

    @classmethod
    def _default_qs(cls) -> QuerySet[Self]:
        manager = cls._meta.manager
        if manager is None or type(manager) is Manager:
            return QuerySet(cls)
        return manager.get_queryset()

    @classmethod
    def _qs(cls, using_db: Any = None) -> QuerySet[Self]:
        qs = cls._default_qs()
        return qs.using_db(using_db) if using_db is not None else qs

    @classmethod
    def all(cls, using_db: Any = None) -> QuerySet[Self]:
        return cls._qs(using_db)

    @classmethod
    def select_related(cls, *relations: str) -> QuerySet[Self]:
        return cls._default_qs().select_related(*relations)

    @classmethod
    def prefetch_related(cls, *lookups: Any) -> QuerySet[Self]:
        return cls._default_qs().prefetch_related(*lookups)

    @classmethod
    def filter(cls, *args: Q | Expression, using_db: Any = None, **kwargs: Any) -> QuerySet[Self]:
        return cls._qs(using_db).filter(*args, **kwargs)

    @classmethod
    def exclude(cls, *args: Q | Expression, using_db: Any = None, **kwargs: Any) -> QuerySet[Self]:
        return cls._qs(using_db).exclude(*args, **kwargs)

    @classmethod
    def annotate(cls, using_db: Any = None, **annotations: Any) -> QuerySet[Self]:
        return cls._qs(using_db).annotate(**annotations)

    @classmethod
    def first(cls, using_db: Any = None) -> QuerySetSingle[Self | None]:
        return cls._qs(using_db).first()

    @classmethod
    def last(cls, using_db: Any = None) -> QuerySetSingle[Self | None]:
        return cls._qs(using_db).last()

    @classmethod
    async def exists(cls, *args: Q | Expression, using_db: Any = None, **kwargs: Any) -> bool:
        return await cls._qs(using_db).filter(*args, **kwargs).exists()

    @classmethod
    async def count(cls, *args: Q | Expression, using_db: Any = None, **kwargs: Any) -> int:
        return await cls._qs(using_db).filter(*args, **kwargs).count()

    @classmethod
    def get(cls, *args: Q | Expression, using_db: Any = None, **kwargs: Any) -> QuerySetSingle[Self]:
        """Exactly one instance; raises DoesNotExist / MultipleObjectsReturned."""
        if not args and using_db is None and len(kwargs) == 1:
            manager = cls._meta.manager
            if manager is None or type(manager) is Manager:
                ((key, value),) = kwargs.items()
                if key == "pk" or key == cls._meta.pk_attr:
                    return _PkGet(cls, value)
        return cls._qs(using_db).get(*args, **kwargs)

    @classmethod
    def get_or_none(
        cls, *args: Q | Expression, using_db: Any = None, **kwargs: Any
    ) -> QuerySetSingle[Self | None]:
        return cls._qs(using_db).get_or_none(*args, **kwargs)

    @classmethod
    def select_for_update(
        cls, nowait: bool = False, skip_locked: bool = False, of: Iterable[str] = ()
    ) -> QuerySet[Self]:
        return cls._default_qs().select_for_update(nowait, skip_locked, of)

    @classmethod
    def raw(cls, sql: str, params: Iterable[Any] | None = None, using_db: Any = None) -> RawQuery[Self]:
        """Instances from hand-written SQL; columns are matched to fields by column name, and
        extra columns become attributes."""
        return RawQuery(cls, sql, list(params) if params is not None else None, using_db)

    # -- class writes -----------------------------------------------------------------------------

    @classmethod
    async def fetch_for_list(cls, instances: Iterable[Self], *names: Any, using_db: Any = None) -> None:
        """``fetch_related`` for many instances at once: one query per relation level."""
        await prefetch(list(instances), names, using_db)

    @classmethod
    async def create(cls, using_db: Any = None, **kwargs: Any) -> Self:
        """Build, INSERT and return an instance."""
        obj = cls(**kwargs)
        if signals.active:
            await signals.send_pre_save(obj, using_db, None)
        await writes.insert_instance(obj, using_db)
        if signals.active:
            await signals.send_post_save(obj, True, using_db, None)
        return obj

    @classmethod
    async def get_or_create(
        cls, defaults: dict[str, Any] | None = None, using_db: Any = None, **kwargs: Any
    ) -> tuple[Self, bool]:
        """``(instance, created)``; safe when many tasks race on the same key."""
        return await writes.get_or_create(cls, defaults, using_db, kwargs)

    @classmethod
    async def _create_or_get(cls, db: Any, defaults: dict[str, Any], **kwargs: Any) -> tuple[Self, bool]:
        """The creating step of ``get_or_create``/``update_or_create`` once the row was not found:
        INSERT it, or read the row a concurrent caller created. Tortoise code overrides it (to
        test races, or to add behaviour)."""
        return await writes.create_or_get(cls, db, defaults, kwargs)

    @classmethod
    async def update_or_create(
        cls, defaults: dict[str, Any] | None = None, using_db: Any = None, **kwargs: Any
    ) -> tuple[Self, bool]:
        """``(instance, created)``: update the matching row with ``defaults`` or create it."""
        return await writes.update_or_create(cls, defaults, using_db, kwargs)

    @classmethod
    async def bulk_create(
        cls,
        objects: Iterable[Self],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_fields: Iterable[str] | None = None,
        on_conflict: Iterable[str] | None = None,
        using_db: Any = None,
    ) -> list[Self]:
        """INSERT many instances in as few statements as the backend allows.

        Field validators run on every instance before any SQL; signals are not sent."""
        return await writes.bulk_create(
            cls, objects, batch_size, ignore_conflicts, update_fields, on_conflict, using_db
        )

    @classmethod
    async def bulk_update(
        cls,
        objects: Iterable[Self],
        fields: Iterable[str],
        batch_size: int | None = None,
        using_db: Any = None,
    ) -> int:
        """UPDATE ``fields`` of many saved instances; validators of those fields run first,
        signals are not sent."""
        return await writes.bulk_update(cls, objects, fields, batch_size, using_db)

    @classmethod
    async def bulk_get_or_create(
        cls,
        records: Iterable[dict[str, Any]],
        key_fields: Iterable[str],
        defaults: dict[str, Any] | None = None,
        batch_size: int = 500,
        using_db: Any = None,
    ) -> list[tuple[Self, bool]]:
        """``(instance, created)`` per record, matching existing rows on ``key_fields`` in one
        query per batch and creating the rest with one ``bulk_create``."""
        return await bulk_upsert.bulk_get_or_create(cls, records, key_fields, defaults, batch_size, using_db)

    @classmethod
    async def bulk_update_or_create(
        cls,
        records: Iterable[dict[str, Any]],
        key_fields: Iterable[str],
        update_fields: Iterable[str] | None = None,
        batch_size: int = 500,
        using_db: Any = None,
    ) -> list[tuple[Self, bool]]:
        """Update the rows matching ``key_fields`` (``update_fields``, by default every non-key
        field the records carry) with one ``bulk_update``; create the rest."""
        return await bulk_upsert.bulk_update_or_create(
            cls, records, key_fields, update_fields, batch_size, using_db
        )

    @classmethod
    async def in_bulk(
        cls, id_list: Iterable[Any], field_name: str = "pk", using_db: Any = None
    ) -> dict[Any, Self]:
        """``{value: instance}`` for the rows whose ``field_name`` is in ``id_list``."""
        ids = list(dict.fromkeys(id_list))
        if not ids:
            return {}
        field = cls._meta.lookup_field(field_name)
        if field is None:
            raise FieldError(f"unknown field {field_name!r}; valid: pk, {', '.join(cls._meta.fields_map)}")
        if field_name != "pk" and not field.unique:
            raise ParamsError(f"in_bulk() needs a unique field, and {field_name!r} is not unique")
        _db, dialect = executor_for(cls, using_db)
        size = max(1, dialect.max_bind_params - 10)
        result: dict[Any, Self] = {}
        attr = field.model_field_name
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            for obj in await cls._qs(using_db).filter(**{f"{attr}__in": chunk}):
                result[obj.__dict__[attr]] = obj
        return result

    @classmethod
    def describe(cls, serializable: bool = True) -> dict[str, Any]:
        meta = cls._meta
        return {
            "name": f"{meta.app or 'models'}.{cls.__name__}",
            "app": meta.app,
            "table": meta.table,
            "abstract": meta.abstract,
            "description": meta.description,
            "unique_together": [list(g) for g in meta.unique_together],
            "ordering": list(meta.ordering),
            "pk_field": meta.pk.describe(),
            "data_fields": [f.describe() for f in meta.fields if not f.pk],
            "relations": [
                {"name": name, "kind": rel.kind, "related_model": rel.target.__name__}
                for name, rel in meta.relations.items()
                if not name.startswith("_")
            ],
        }


# Every other public QuerySet method as a classmethod (``Book.order_by("title")``), generated
# from QuerySet so none is forwarded by hand. Not ``update``: on an instance, ``obj.update(x=1)``
# would silently update every row of the table.
Model._queryset_routes = class_routes(Model, skip=frozenset(("update",)))


class RawQuery(Generic[M]):
    """``await Model.raw(sql, params)`` -> list of instances."""

    __slots__ = ("_model", "_params", "_sql", "_using")

    def __init__(self, model: type[M], sql: str, params: list[Any] | None, using_db: Any) -> None:
        self._model = model
        self._sql = sql
        self._params = params
        self._using = using_db

    def __await__(self) -> Generator[Any, None, list[M]]:
        return self._fetch().__await__()

    async def _fetch(self) -> list[M]:
        model = self._model
        meta = model._meta
        executor, dialect = executor_for(model, self._using)
        columns, rows = await executor.fetch_with_columns(self._sql, self._params)
        by_column = {f.column: f for f in meta.fields}
        names: list[str] = []
        converters: list[Any] = []
        for col in columns:
            field = by_column.get(col) or meta.fields_map.get(col)
            names.append(field.model_field_name if field is not None else col)
            converters.append(decode.column_converter(field, dialect) if field is not None else None)
        missing = [f.model_field_name for f in meta.fields if f.model_field_name not in names]
        loaded = frozenset(names) if missing else None
        return decode.generic_instance_decoder(model, names, converters, loaded)(rows)
