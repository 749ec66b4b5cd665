"""Relations on model classes and instances.

``meta.relations`` maps a relation name to a :class:`Relation` (forward foreign key, reverse
foreign key, reverse one-to-one or many-to-many) — what query traversal and eager loading read.
Instance access goes through the descriptors below; fetched related objects are cached in the
instance ``__dict__`` under ``_rel_<name>`` so a second access costs no query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..exceptions import ConfigurationError, NoValuesFetched, OperationalError, ParamsError

if TYPE_CHECKING:
    from ..fields.relational import ForeignKeyFieldInstance, ManyToManyFieldInstance, RelationField
    from ..query.queryset import QuerySet, QuerySetSingle
    from .model import Model

M = TypeVar("M", bound="Model")

FORWARD = "fk"
REVERSE = "reverse"
REVERSE_O2O = "reverse_o2o"
M2M = "m2m"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def cache_key(name: str) -> str:
    return "_rel_" + name


class Relation:
    """One navigable relation of a model (``owner.<name>`` leads to ``target``)."""

    __slots__ = ("_target", "field", "kind", "m2m", "name", "owner")

    def __init__(
        self,
        kind: str,
        owner: type[Model],
        name: str,
        target: type[Model] | None,
        field: ForeignKeyFieldInstance[Any] | None = None,
        m2m: ManyToManyFieldInstance[Any] | None = None,
    ) -> None:
        self.kind = kind
        self.owner = owner
        self.name = name
        self._target = target
        # FORWARD: the foreign key on owner; REVERSE/REVERSE_O2O: the foreign key on target.
        self.field = field
        self.m2m = m2m

    @property
    def target(self) -> type[Model]:
        # A forward key declared before its target model exists resolves on first use.
        if self._target is None:
            assert self.field is not None
            return self.field.related_model
        return self._target

    @property
    def many(self) -> bool:
        return self.kind in (REVERSE, M2M)

    def through_keys(self) -> tuple[ForeignKeyFieldInstance[Any], ForeignKeyFieldInstance[Any]]:
        """(through FK to owner, through FK to target) of a many-to-many relation."""
        m2m = self.m2m
        assert m2m is not None and m2m.source_fk is not None and m2m.target_fk is not None
        if m2m.model is self.owner and m2m.name == self.name:
            return m2m.source_fk, m2m.target_fk
        return m2m.target_fk, m2m.source_fk

    def hint(self) -> str:
        n = self.name
        return (
            f"{self.owner.__name__}.{n} is not fetched: use `await obj.{n}`, "
            f".select_related({n!r}) / .prefetch_related({n!r}) on the query, "
            f"or `await obj.fetch_related({n!r})`"
        )

    def __repr__(self) -> str:
        return f"<Relation {self.kind} {self.owner.__name__}.{self.name} -> {self.target.__name__}>"


# -- descriptors ----------------------------------------------------------------------------------


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
        if rel.kind == FORWARD:
            assert rel.field is not None and rel.field.id_field is not None
            value = d.get(rel.field.id_field.model_field_name)
            obj = await rel.target.get_or_none(pk=value) if value is not None else None
        else:
            assert rel.field is not None and rel.field.id_field is not None
            obj = (
                await rel.target._default_qs()
                .filter(**{rel.field.id_field.model_field_name: inst.pk})
                .first()
            )
        d[cache_key(rel.name)] = obj
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
    """``book.author``: the cached instance, ``None`` for a NULL key, else an awaitable."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation
        field = relation.field
        assert field is not None and field.id_field is not None
        self.id_attr = field.id_field.model_field_name
        self.key = cache_key(relation.name)

    def __get__(self, instance: Model | None, owner: type) -> Any:
        if instance is None:
            return self.relation.field
        d = instance.__dict__
        value = d.get(self.id_attr)
        cached = d.get(self.key, MISSING)
        # A changed ``author_id`` makes the cached object stale.
        if cached is not MISSING and (
            cached is None if value is None else (cached is not None and cached.pk == value)
        ):
            return cached
        if value is None:
            return None
        return _Unfetched(instance, self.relation)

    def __set__(self, instance: Model, value: Any) -> None:
        from .model import Model

        d = instance.__dict__
        if value is None:
            d[self.id_attr] = None
        elif isinstance(value, Model):
            if not isinstance(value, self.relation.target):
                raise ParamsError(
                    f"{self.relation.owner.__name__}.{self.relation.name} must be a "
                    f"{self.relation.target.__name__}, got {type(value).__name__}"
                )
            if value.pk is None:
                raise OperationalError(
                    f"{type(value).__name__} must be saved before it is assigned to "
                    f"{self.relation.owner.__name__}.{self.relation.name}"
                )
            d[self.id_attr] = value.pk
        else:
            raise ParamsError(
                f"{self.relation.owner.__name__}.{self.relation.name} takes a "
                f"{self.relation.target.__name__} instance or None (set {self.id_attr} for a raw id)"
            )
        d[self.key] = value


class ReverseOneDescriptor:
    """``user.profile`` (reverse one-to-one): like a forward key, fetched by the other side."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation
        self.key = cache_key(relation.name)

    def __get__(self, instance: Model | None, owner: type) -> Any:
        if instance is None:
            return self
        cached = instance.__dict__.get(self.key, MISSING)
        if cached is not MISSING:
            return cached
        return _Unfetched(instance, self.relation)

    def __set__(self, instance: Model, value: Any) -> None:
        raise ParamsError(
            f"{self.relation.owner.__name__}.{self.relation.name} is read-only; set the other side"
        )


class ManyDescriptor:
    """``author.books`` / ``book.tags``: a manager bound to the instance."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation
        self.key = cache_key(relation.name)

    def __get__(self, instance: Model | None, owner: type) -> Any:
        if instance is None:
            return self
        fetched = instance.__dict__.get(self.key)
        if self.relation.kind == M2M:
            return ManyToManyManager(instance, self.relation, fetched)
        return ReverseManager(instance, self.relation, fetched)

    def __set__(self, instance: Model, value: Any) -> None:
        raise ParamsError(
            f"{self.relation.owner.__name__}.{self.relation.name} cannot be assigned; "
            "use its manager (create/add/remove/set)"
        )


# -- managers -------------------------------------------------------------------------------------


class ReverseManager(Generic[M]):
    """The many side of a foreign key (``author.books``), or a many-to-many side.

    Awaiting or ``async for`` queries (or uses prefetched objects); ``filter``, ``order_by`` and
    every other queryset method chain on the related queryset; plain ``for``/``len``/indexing
    need the objects fetched first."""

    def __init__(self, instance: Model, relation: Relation, fetched: list[M] | None = None) -> None:
        self.instance = instance
        self.relation = relation
        self.related_objects = fetched
        self._fetched = fetched is not None

    def _owner_pk(self) -> Any:
        pk = self.instance.pk
        if pk is None:
            raise OperationalError(
                f"this {type(self.instance).__name__} is not saved: "
                f"save it before using .{self.relation.name}"
            )
        return pk

    def _query(self) -> QuerySet[M]:
        rel = self.relation
        assert rel.field is not None and rel.field.id_field is not None
        qs: QuerySet[M] = rel.target._default_qs()  # type: ignore[assignment]
        return qs.filter(**{rel.field.id_field.model_field_name: self._owner_pk()})

    def all(self) -> QuerySet[M]:
        return self._query()

    # The common queryset methods, typed; anything else is forwarded by __getattr__.
    def filter(self, *args: Any, **kwargs: Any) -> QuerySet[M]:
        return self._query().filter(*args, **kwargs)

    def exclude(self, *args: Any, **kwargs: Any) -> QuerySet[M]:
        return self._query().exclude(*args, **kwargs)

    def order_by(self, *orderings: Any) -> QuerySet[M]:
        return self._query().order_by(*orderings)

    def limit(self, limit: int) -> QuerySet[M]:
        return self._query().limit(limit)

    def select_related(self, *relations: str) -> QuerySet[M]:
        return self._query().select_related(*relations)

    def prefetch_related(self, *lookups: Any) -> QuerySet[M]:
        return self._query().prefetch_related(*lookups)

    def first(self) -> QuerySetSingle[M | None]:
        return self._query().first()

    def get(self, *args: Any, **kwargs: Any) -> QuerySetSingle[M]:
        return self._query().get(*args, **kwargs)

    def get_or_none(self, *args: Any, **kwargs: Any) -> QuerySetSingle[M | None]:
        return self._query().get_or_none(*args, **kwargs)

    async def count(self) -> int:
        return await self._query().count()

    async def exists(self) -> bool:
        return await self._query().exists()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._query(), name)

    def __await__(self) -> Generator[Any, None, list[M]]:
        return self._load().__await__()

    async def _load(self) -> list[M]:
        if self.related_objects is None:
            self.related_objects = await self._query()
            self.instance.__dict__[cache_key(self.relation.name)] = self.related_objects
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

    def __getitem__(self, index: int) -> M:
        return self._require()[index]

    async def create(self, using_db: Any = None, **kwargs: Any) -> M:
        """Create a related object pointing at this instance."""
        rel = self.relation
        assert rel.field is not None
        kwargs[rel.field.name] = self.instance
        obj: M = await rel.target.create(using_db=using_db, **kwargs)  # type: ignore[assignment]
        self._invalidate()
        return obj

    def _invalidate(self) -> None:
        self.related_objects = None
        self.instance.__dict__.pop(cache_key(self.relation.name), None)


class ManyToManyManager(ReverseManager[M]):
    """``book.tags``: ``add``, ``remove``, ``clear``, ``set`` plus the reverse manager's reads."""

    def _query(self) -> QuerySet[M]:
        rel = self.relation
        qs: QuerySet[M] = rel.target._default_qs()  # type: ignore[assignment]
        reverse = _reverse_name(rel)
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
    from .model import Model

    if isinstance(obj, Model):
        if not isinstance(obj, rel.target):
            raise ParamsError(
                f"{rel.owner.__name__}.{rel.name} links {rel.target.__name__}, got {type(obj).__name__}"
            )
        if obj.pk is None:
            raise OperationalError(f"save the {type(obj).__name__} before linking it")
        return obj.pk
    return obj


def _reverse_name(rel: Relation) -> str:
    """The name of the other side of a many-to-many relation on the target model."""
    m2m = rel.m2m
    assert m2m is not None
    for name, other in rel.target._meta.relations.items():
        if other.m2m is m2m and not (other.owner is rel.owner and other.name == rel.name):
            return name
    raise ConfigurationError(f"{rel!r} has no reverse side")  # pragma: no cover - setup always adds one


# -- class setup ----------------------------------------------------------------------------------


def collect(model_name: str, attrs: dict[str, Any], fields: dict[str, Any]) -> list[RelationField[Any]]:
    """Take the relation declarations out of a class body; foreign keys add their id field."""
    from ..fields.relational import ForeignKeyFieldInstance, RelationField

    found: list[RelationField[Any]] = []
    for attr, value in list(attrs.items()):
        if isinstance(value, RelationField):
            del attrs[attr]
            value.name = attr
            found.append(value)
            if isinstance(value, ForeignKeyFieldInstance):
                id_name = f"{attr}_id"
                if id_name in fields or id_name in attrs:
                    raise ConfigurationError(
                        f"{model_name}.{attr}: the field name {id_name!r} is already taken"
                    )
                fields[id_name] = value.make_id_field()
    return found


def contribute(model: type[Model], declared: list[RelationField[Any]]) -> None:
    """Bind declared relations to their model (forward sides only; reverse sides at setup)."""
    from ..fields.relational import ForeignKeyFieldInstance, ManyToManyFieldInstance

    for rel_field in declared:
        rel_field.model = model
        if isinstance(rel_field, ManyToManyFieldInstance):
            _make_through(model, rel_field)
        elif isinstance(rel_field, ForeignKeyFieldInstance):
            fwd = Relation(FORWARD, model, rel_field.name, None, field=rel_field)
            _attach(model, rel_field.name, fwd, ForwardDescriptor(fwd))


def _make_through(model: type[Model], m2m: ManyToManyFieldInstance[Any]) -> None:
    """The auto-created join model of a many-to-many (unless ``through`` names a model)."""
    from ..fields.relational import ForeignKeyFieldInstance
    from .meta import MODEL_REGISTRY, ModelMeta
    from .model import Model

    through = m2m.through
    if isinstance(through, type) and issubclass(through, Model):
        return
    if isinstance(through, str) and any(m.__name__ == through.rpartition(".")[2] for m in MODEL_REGISTRY):
        return
    target_name = m2m.reference.__name__ if isinstance(m2m.reference, type) else str(m2m.reference)
    target_name = model.__name__ if target_name == "self" else target_name.rpartition(".")[2]
    src_name = m2m.backward_key.removesuffix("_id") if m2m.backward_key else model.__name__.lower()
    dst_name = m2m.forward_key.removesuffix("_id") if m2m.forward_key else target_name.lower()
    if src_name == dst_name:
        src_name, dst_name = f"from_{src_name}", f"to_{dst_name}"
    src = ForeignKeyFieldInstance(model, related_name=False, on_delete=m2m.on_delete)
    dst = ForeignKeyFieldInstance(
        m2m.reference if m2m.reference != "self" else model, related_name=False, on_delete=m2m.on_delete
    )
    body: dict[str, Any] = {
        "__module__": model.__module__,
        "__qualname__": f"{model.__name__}_{m2m.name}_through",
        src_name: src,
        dst_name: dst,
        "Meta": type(
            "Meta", (), {"table": through or "", "unique_together": ((f"{src_name}_id", f"{dst_name}_id"),)}
        ),
    }
    through_model: Any = ModelMeta(f"{model.__name__}_{m2m.name}_through", (Model,), body)
    through_model._meta.auto_through = True
    m2m.through_model = through_model
    m2m.source_fk, m2m.target_fk = src, dst


def _declared_at(relation: Relation) -> str:
    """``Model.field`` where the relation that produced ``relation`` is declared."""
    if relation.field is not None and relation.field.model is not None:
        return f"{relation.field.model.__name__}.{relation.field.name}"
    if relation.m2m is not None and relation.m2m.model is not None:
        return f"{relation.m2m.model.__name__}.{relation.m2m.name}"
    return f"{relation.owner.__name__}.{relation.name}"


def _attach(owner: type[Model], name: str, relation: Relation, descriptor: Any) -> None:
    from .model import Model

    meta = owner._meta
    if hasattr(Model, name):
        raise ConfigurationError(
            f"{owner.__name__}.{name}: a relation cannot be named like a Model attribute or method; "
            f"rename it (declared at {_declared_at(relation)})"
        )
    existing = meta.relations.get(name)
    if existing is not None:
        if (
            existing.field is relation.field
            and existing.m2m is relation.m2m
            and existing.kind == relation.kind
        ):
            meta.relations[name] = relation
            setattr(owner, name, descriptor)
            return
        raise ConfigurationError(
            f"related_name collision: {owner.__name__}.{name} is already {existing!r}; "
            f"give {_declared_at(relation)} a different related_name"
        )
    if name in meta.fields_map or (not name.startswith("_") and name in vars(owner)):
        raise ConfigurationError(
            f"related_name collision: {owner.__name__} already has an attribute {name!r}; "
            f"choose another related_name for the relation to {relation.target.__name__}"
        )
    meta.relations[name] = relation
    setattr(owner, name, descriptor)


def setup(models: Iterable[type[Model]]) -> list[type[Model]]:
    """Resolve every relation of ``models`` and add the reverse sides; returns the models plus
    the auto-created through models. Idempotent (YaraOrm.init may run many times)."""
    from ..fields.relational import ForeignKeyFieldInstance, ManyToManyFieldInstance, _resolve_model

    chosen = list(dict.fromkeys(models))
    known = {m.__name__: m for m in chosen}
    for model in list(chosen):
        for rel_field in model._meta.declared_relations:
            if not isinstance(rel_field, ManyToManyFieldInstance):
                continue
            explicit = _explicit_through(rel_field, model, known)
            if explicit is not None:
                # ``through="Membership"`` names a model defined after the relation.
                rel_field.through_model = explicit
            elif rel_field.through_model is not None:
                chosen.append(rel_field.through_model)
                known.setdefault(rel_field.through_model.__name__, rel_field.through_model)
    for model in chosen:
        for rel_field in model._meta.declared_relations:
            rel_field._target = None
            rel_field._target = _resolve_model(rel_field.reference, model, known)
    # Reset reverse sides first so re-initialisation with other models starts clean.
    for model in chosen:
        meta = model._meta
        for name, rel in list(meta.relations.items()):
            if rel.kind != FORWARD and not (
                rel.kind == M2M and rel.m2m is not None and rel.m2m.model is model
            ):
                del meta.relations[name]
                if name in vars(model):
                    delattr(model, name)
    for model in chosen:
        for rel_field in model._meta.declared_relations:
            target = rel_field.related_model
            if isinstance(rel_field, ForeignKeyFieldInstance):
                assert rel_field.id_field is not None
                rel_field.id_field.finish()
                fwd = Relation(FORWARD, model, rel_field.name, target, field=rel_field)
                _attach(model, rel_field.name, fwd, ForwardDescriptor(fwd))
                rname = rel_field.related_name
                if rname is False:
                    rname = f"_reverse_{model.__name__.lower()}_{rel_field.name}"
                elif not rname:
                    rname = f"{model.__name__.lower()}s" if rel_field.kind == "fk" else model.__name__.lower()
                kind = REVERSE if rel_field.kind == "fk" else REVERSE_O2O
                back = Relation(kind, target, str(rname), model, field=rel_field)
                _attach(
                    target,
                    str(rname),
                    back,
                    ManyDescriptor(back) if kind == REVERSE else ReverseOneDescriptor(back),
                )
            elif isinstance(rel_field, ManyToManyFieldInstance):
                _setup_m2m(model, rel_field, target, known)
    from .init import refresh_init

    for model in chosen:
        if model._meta.declared_relations:
            refresh_init(model)
    return chosen


def _explicit_through(
    m2m: ManyToManyFieldInstance[Any], model: type[Model], known: dict[str, type[Model]]
) -> type[Model] | None:
    from ..fields.relational import _resolve_model
    from .model import Model

    through = m2m.through
    if isinstance(through, type) and issubclass(through, Model):
        return through
    if not isinstance(through, str):
        return None
    try:
        found = _resolve_model(through, model, known)
    except ConfigurationError:
        return None
    return None if getattr(found._meta, "auto_through", False) else found


def _setup_m2m(
    model: type[Model], m2m: ManyToManyFieldInstance[Any], target: type[Model], known: dict[str, type[Model]]
) -> None:
    from ..fields.relational import ForeignKeyFieldInstance, _resolve_model

    if m2m.through_model is None or not getattr(m2m.through_model._meta, "auto_through", False):
        through = (
            _resolve_model(m2m.through, model, known) if m2m.through_model is None else m2m.through_model
        )
        m2m.through_model = through
        fks = [r for r in through._meta.declared_relations if isinstance(r, ForeignKeyFieldInstance)]
        to_owner = [f for f in fks if f.related_model is model]
        to_target = [f for f in fks if f.related_model is target]
        if m2m.backward_key:
            to_owner = [f for f in to_owner if f.name == m2m.backward_key.removesuffix("_id")]
        if m2m.forward_key:
            to_target = [f for f in to_target if f.name == m2m.forward_key.removesuffix("_id")]
        if model is target and len(to_owner) == 2 and not (m2m.forward_key or m2m.backward_key):
            to_owner, to_target = to_owner[:1], to_owner[1:]
        if len(to_owner) != 1 or len(to_target) != 1:
            raise ConfigurationError(
                f"{model.__name__}.{m2m.name}: through model {through.__name__} needs exactly one "
                f"foreign key to {model.__name__} and one to {target.__name__} "
                "(or set forward_key/backward_key)"
            )
        m2m.source_fk, m2m.target_fk = to_owner[0], to_target[0]
    else:
        through_meta = m2m.through_model._meta
        if not m2m.through:
            through_meta.table = f"{model._meta.table}_{target._meta.table}"
    fwd = Relation(M2M, model, m2m.name, target, m2m=m2m)
    _attach(model, m2m.name, fwd, ManyDescriptor(fwd))
    rname = m2m.related_name
    if rname is False:
        rname = f"_reverse_{model.__name__.lower()}_{m2m.name}"
    elif not rname:
        rname = f"{model.__name__.lower()}s"
    back = Relation(M2M, target, str(rname), model, m2m=m2m)
    _attach(target, str(rname), back, ManyDescriptor(back))
