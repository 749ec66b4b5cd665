"""Relation access on instances: descriptors and the related-object managers.

``book.author`` (:class:`ForwardDescriptor`), ``user.profile`` (:class:`ReverseOneDescriptor`)
and ``author.books`` / ``book.tags`` (:class:`ManyDescriptor`, giving a :class:`ReverseManager`
or :class:`ManyToManyManager` bound to the instance).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import NoValuesFetched, OperationalError, ParamsError, UnsavedRelatedError
from ..query.queryset import QuerySet, route_to_queryset
from ..registry import is_model
from ..relations import (
    CACHE,
    FORWARD,
    M2M,
    MISSING,
    Relation,
    drop_cached,
    get_cached,
    reverse_name,
    set_cached,
)

if TYPE_CHECKING:
    from .model import Model

M = TypeVar("M", bound="Model")


# -- descriptors ----------------------------------------------------------------------------------


class _NoneAwaitable:
    """Falsy, and ``None`` when awaited: Tortoise's stand-in for an empty relation, for code that
    both tests and awaits a relation value."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoneAwaitable"


NoneAwaitable = _NoneAwaitable()


class _Unfetched:
    """``book.author`` before it is fetched: awaitable; any other use says how to fetch it."""

    __slots__ = ("_instance", "_relation")

    def __init__(self, instance: Model, relation: Relation) -> None:
        self._instance = instance
        self._relation = relation

    def __await__(self) -> Generator[Any, None, Any]:
        return self._load().__await__()

    async def _load(self) -> Any:
        inst, rel = self._instance, self._relation
        d = inst.__dict__
        assert rel.field is not None and rel.field.id_field is not None
        id_field = rel.field.id_field
        if rel.kind == FORWARD:
            value = d.get(id_field.model_field_name)
            key = "pk" if id_field.by_pk else id_field.key_attr
            obj = await rel.target.get_or_none(**{key: value}) if value is not None else None
        else:
            obj = (
                await rel.target._default_qs()
                .filter(**{id_field.model_field_name: d.get(id_field.key_attr)})
                .first()
            )
        set_cached(d, rel.name, obj)
        return obj

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NoValuesFetched(self._relation.hint())

    def __bool__(self) -> bool:
        raise NoValuesFetched(self._relation.hint())

    def __repr__(self) -> str:
        return f"<unfetched {self._relation.owner.__name__}.{self._relation.name}>"


class ForwardDescriptor:
    """``book.author``: the cached instance (``None`` when fetched as NULL), else an awaitable
    (``NoneAwaitable`` for a NULL key)."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation
        self.name = relation.name
        field = relation.field
        assert field is not None and field.id_field is not None
        self.id_field = field.id_field
        self.id_attr = field.id_field.model_field_name
        # The target's attribute the key column holds; resolved on first read (the target model
        # may not exist yet when this class is created).
        self._key_attr: str | None = None

    def __get__(self, instance: Model | None, owner: type) -> Any:
        if instance is None:
            return self.relation.field
        d = instance.__dict__
        value = d.get(self.id_attr, MISSING)
        # The relation cache (relations.CACHE), read inline: this is the hot path.
        cache = d.get(CACHE)
        if cache is not None:
            cached = cache.get(self.name, MISSING)
            # A changed ``author_id`` makes the cached object stale (an unsaved object given to
            # ``construct()`` matches a NULL key); a key column only() left out has nothing to
            # compare with, so a joined object is trusted.
            if cached is not MISSING and (
                value is MISSING
                or (
                    value is None
                    if cached is None
                    else cached.__dict__.get(self._key_attr or self._resolve_key_attr()) == value
                )
            ):
                return cached
        if value is MISSING or value is None:
            # Not fetched and no key: falsy, and None when awaited (Tortoise's NoneAwaitable), so
            # ``await book.author`` works whether or not the relation was loaded.
            return NoneAwaitable
        return _Unfetched(instance, self.relation)

    def _resolve_key_attr(self) -> str:
        key_attr = self._key_attr = self.id_field.key_attr
        return key_attr

    def __set__(self, instance: Model, value: Any) -> None:
        d = instance.__dict__
        if value is None:
            d[self.id_attr] = None
            drop_cached(d, self.name)
            return
        if is_model(value):
            if not isinstance(value, self.relation.target):
                raise ParamsError(
                    f"{self.relation.owner.__name__}.{self.relation.name} must be a "
                    f"{self.relation.target.__name__}, got {type(value).__name__}"
                )
            key = value.__dict__.get(self._key_attr or self._resolve_key_attr())
            if key is None:
                raise UnsavedRelatedError(
                    f"You should first call .save() on {type(value).__name__} before assigning "
                    f"it to {self.relation.owner.__name__}.{self.relation.name} (the instance "
                    "isn't saved in the database yet)"
                )
            d[self.id_attr] = key
            # relations.set_cached inline: this runs per constructed instance (``Book(author=a)``).
            cache = d.get(CACHE)
            if cache is None:
                d[CACHE] = {self.name: value}
            else:
                cache[self.name] = value
            return
        # A raw key (yara-orm 1.19): stored in the key column; the related object loads on await.
        d[self.id_attr] = self.id_field.to_python(value)
        drop_cached(d, self.name)


class ReverseOneDescriptor:
    """``user.profile`` (reverse one-to-one): like a forward key, fetched by the other side."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation

    def __get__(self, instance: Model | None, owner: type) -> Any:
        if instance is None:
            return self
        cached = get_cached(instance.__dict__, self.relation.name)
        if cached is not MISSING:
            # Fetched and absent: still awaitable (``await user.profile is None``).
            return NoneAwaitable if cached is None else cached
        return _Unfetched(instance, self.relation)

    def __set__(self, instance: Model, value: Any) -> None:
        raise ParamsError(
            f"{self.relation.owner.__name__}.{self.relation.name} is read-only; set the other side"
        )


class ManyDescriptor:
    """``author.books`` / ``book.tags``: a manager bound to the instance."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation

    def __get__(self, instance: Model | None, owner: type) -> Any:
        if instance is None:
            return self
        fetched = get_cached(instance.__dict__, self.relation.name)
        if fetched is MISSING:
            fetched = None
        if self.relation.kind == M2M:
            return ManyToManyManager(instance, self.relation, fetched)
        return ReverseManager(instance, self.relation, fetched)

    def __set__(self, instance: Model, value: Any) -> None:
        raise ParamsError(
            f"{self.relation.owner.__name__}.{self.relation.name} cannot be assigned; "
            "use its manager (create/add/remove/set)"
        )


# -- managers -------------------------------------------------------------------------------------


@route_to_queryset
class ReverseManager(QuerySet[M]):
    """The many side of a foreign key (``author.books``), or a many-to-many side.

    A QuerySet over the related rows: awaiting or ``async for`` queries (or uses prefetched
    objects); ``filter``, ``order_by`` and every other queryset method run on
    :meth:`get_queryset`; plain ``for``/``len``/indexing need the objects fetched first."""

    def __init__(self, instance: Model, relation: Relation, fetched: list[M] | None = None) -> None:
        self.instance = instance
        self.relation = relation
        self.related_objects = fetched
        self._fetched = fetched is not None

    @property
    def model(self) -> type[M]:  # type: ignore[override]
        return self.relation.target  # type: ignore[return-value]

    def _owner_pk(self) -> Any:
        pk = self.instance.pk
        if pk is None:
            raise OperationalError(
                f"this {type(self.instance).__name__} is not saved: "
                f"save it before using .{self.relation.name}"
            )
        return pk

    def get_queryset(self) -> QuerySet[M]:
        rel = self.relation
        assert rel.field is not None and rel.field.id_field is not None
        id_field = rel.field.id_field
        qs: QuerySet[M] = rel.target._default_qs()  # type: ignore[assignment]
        self._owner_pk()  # an unsaved owner is an error, whatever the key
        return qs.filter(**{id_field.model_field_name: self.instance.__dict__.get(id_field.key_attr)})

    def __getattr__(self, name: str) -> Any:
        # Methods a custom queryset class adds (the target's manager returning a subclass).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get_queryset(), name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.relation.owner.__name__}.{self.relation.name}>"

    def __await__(self) -> Generator[Any, None, list[M]]:
        return self._load().__await__()

    async def _load(self) -> list[M]:
        if self.related_objects is None:
            self.related_objects = await self.get_queryset()
            set_cached(self.instance.__dict__, self.relation.name, self.related_objects)
            self._fetched = True
        return self.related_objects

    async def __aiter__(self) -> AsyncIterator[M]:
        for obj in await self._load():
            yield obj

    def _require(self) -> list[M]:
        if self.related_objects is None:
            raise NoValuesFetched(self.relation.hint())
        return self.related_objects

    def __iter__(self) -> Iterator[M]:
        return iter(self._require())

    def __len__(self) -> int:
        return len(self._require())

    def __bool__(self) -> bool:
        return bool(self._require())

    def __contains__(self, item: object) -> bool:
        return item in self._require()

    # Indexes the fetched objects (a list), unlike QuerySet's slicing into a new query.
    def __getitem__(self, index: int) -> M:  # type: ignore[override]
        return self._require()[index]

    async def create(self, using_db: Any = None, **kwargs: Any) -> M:
        """Create a related object pointing at this instance."""
        rel = self.relation
        assert rel.field is not None
        if self.instance.pk is None:
            raise OperationalError(
                f"this {type(self.instance).__name__} hasn't been instanced (it is not saved): "
                f"save it before creating objects through .{rel.name}"
            )
        kwargs[rel.field.name] = self.instance
        obj: M = await rel.target.create(using_db=using_db, **kwargs)  # type: ignore[assignment]
        self._invalidate()
        return obj

    def _invalidate(self) -> None:
        self.related_objects = None
        drop_cached(self.instance.__dict__, self.relation.name)


class ManyToManyManager(ReverseManager[M]):
    """``book.tags``: ``add``, ``remove``, ``clear``, ``set`` plus the reverse manager's reads."""

    def get_queryset(self) -> QuerySet[M]:
        rel = self.relation
        qs: QuerySet[M] = rel.target._default_qs()  # type: ignore[assignment]
        reverse = reverse_name(rel)
        return qs.filter(**{f"{reverse}__pk": self._owner_pk()})

    def _through(self) -> tuple[type[Model], str, str]:
        rel = self.relation
        src, dst = rel.through_keys()
        assert src.id_field is not None and dst.id_field is not None and src.model is not None
        return src.model, src.id_field.model_field_name, dst.id_field.model_field_name

    async def add(self, *instances: M, using_db: Any = None) -> None:
        """Link these objects (already linked ones are left alone)."""
        if not instances:
            return
        through, src, dst = self._through()
        pk = self._owner_pk()
        wanted = list(dict.fromkeys(_pk_of(o, self.relation) for o in instances))
        existing = set(
            await through._default_qs()
            .using_db(using_db)
            .filter(**{src: pk, f"{dst}__in": wanted})
            .values_list(dst, flat=True)
        )
        rows = [through(**{src: pk, dst: v}) for v in wanted if v not in existing]
        if rows:
            await through.bulk_create(rows, using_db=using_db)
        self._invalidate()

    async def remove(self, *instances: M, using_db: Any = None) -> None:
        if not instances:
            return
        through, src, dst = self._through()
        ids = [_pk_of(o, self.relation) for o in instances]
        await (
            through._default_qs()
            .using_db(using_db)
            .filter(**{src: self._owner_pk(), f"{dst}__in": ids})
            .delete()
        )
        self._invalidate()

    async def clear(self, using_db: Any = None) -> None:
        through, src, _dst = self._through()
        await through._default_qs().using_db(using_db).filter(**{src: self._owner_pk()}).delete()
        self._invalidate()

    async def set(self, instances: Iterable[M], using_db: Any = None) -> None:
        """Make exactly these objects linked."""
        objs = list(instances)
        through, src, dst = self._through()
        pk = self._owner_pk()
        wanted = [_pk_of(o, self.relation) for o in objs]
        stale = through._default_qs().using_db(using_db).filter(**{src: pk})
        if wanted:
            stale = stale.exclude(**{f"{dst}__in": wanted})
        await stale.delete()
        await self.add(*objs, using_db=using_db)

    async def create(self, using_db: Any = None, **kwargs: Any) -> M:
        obj: M = await self.relation.target.create(using_db=using_db, **kwargs)  # type: ignore[assignment]
        await self.add(obj, using_db=using_db)
        return obj


def _pk_of(obj: Any, rel: Relation) -> Any:
    if is_model(obj):
        if not isinstance(obj, rel.target):
            raise ParamsError(
                f"{rel.owner.__name__}.{rel.name} links {rel.target.__name__}, got {type(obj).__name__}"
            )
        if obj.pk is None:
            raise OperationalError(f"save the {type(obj).__name__} before linking it")
        return obj.pk
    return obj
