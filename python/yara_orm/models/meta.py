"""The model metaclass and ``_meta``: what a model's table looks like and the caches that make
its queries cheap (compiled statements, query shapes, decoders)."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import registry
from ..exceptions import ConfigurationError
from ..fields.base import _IMMUTABLE, NO_DEFAULT, Field
from ..fields.data import IntField
from ..fields.relational import RelationField
from ..query.cache import StatementCache
from ..registry import MODEL_REGISTRY
from .init import make_init
from .manager import Manager
from .wiring import collect, contribute

if TYPE_CHECKING:
    from ..connection import Connection
    from ..fields.relational import RelationField
    from ..relations import Relation
    from .model import Model

__all__ = ["MODEL_REGISTRY", "Index", "MetaInfo", "ModelMeta"]

_META_OPTIONS = frozenset(
    (
        "table",
        "abstract",
        "ordering",
        "unique_together",
        "indexes",
        "table_description",
        "default_connection",
        "manager",
        "app",
        "schema",
        # Tortoise: whether an insert reads database defaults back; they always are here.
        "fetch_db_defaults",
        # yara-orm 1.19: "store" keeps unknown constructor arguments as plain attributes.
        "extra_kwargs",
    )
)
_INHERITED_OPTIONS = (
    "ordering",
    "unique_together",
    "indexes",
    "manager",
    "default_connection",
    "app",
    "extra_kwargs",
)


# Index kinds besides the plain one. "fulltext": MySQL/MariaDB's FULLTEXT index, which the
# ``search`` lookup (MATCH ... AGAINST) needs; dialects without one create no index for it.
INDEX_KINDS = frozenset({"fulltext"})


class Index:
    """A (possibly multi-column) index for ``Meta.indexes``; ``kind`` names a special index
    type (see :data:`INDEX_KINDS`)."""

    kind: str | None = None

    def __init__(
        self,
        *fields: str,
        name: str | None = None,
        unique: bool = False,
        kind: str | None = None,
        **kwargs: Sequence[str],
    ) -> None:
        # Tortoise spells it ``Index(fields=[...])``.
        fields = (*fields, *kwargs.pop("fields", ()))
        if kwargs:
            raise ConfigurationError(f"Index() got unknown option(s) {sorted(kwargs)}")
        if not fields:
            raise ConfigurationError("Index() needs at least one field name")
        self.fields = tuple(fields)
        self.name = name
        self.unique = unique
        kind = kind if kind is not None else type(self).kind
        if kind is not None and kind not in INDEX_KINDS:
            raise ConfigurationError(f"Index(kind={kind!r}): unknown kind (known: {sorted(INDEX_KINDS)})")
        if kind is not None and unique:
            raise ConfigurationError(f"Index(kind={kind!r}) cannot be unique")
        self.kind = kind


class FullTextIndex(Index):
    """A full-text index (MySQL/MariaDB ``FULLTEXT``) for the ``search`` lookup; Tortoise's
    ``contrib.mysql.indexes.FullTextIndex``. PostgreSQL's ``search`` needs none and SQLite has
    no ``search``: there it creates nothing."""

    kind = "fulltext"


def _field_groups(value: Any, option: str) -> tuple[tuple[str, ...], ...]:
    if not value:
        return ()
    if isinstance(value, str):
        raise ConfigurationError(f"Meta.{option} must be a tuple of tuples of field names")
    items = list(value)
    if all(isinstance(v, str) for v in items):
        return (tuple(items),)
    groups: list[Any] = []
    for item in items:
        if isinstance(item, Index):
            groups.append(item)
        elif isinstance(item, str) or not all(isinstance(v, str) for v in item):
            raise ConfigurationError(f"Meta.{option} must be a tuple of tuples of field names")
        else:
            groups.append(tuple(item))
    return tuple(groups)


class MetaInfo:
    """``Model._meta``."""

    def __init__(self, model: type[Model], options: dict[str, Any], fields: dict[str, Field[Any]]) -> None:
        self.model = model
        self.abstract = bool(options.get("abstract", False))
        self.table: str = options.get("table") or model.__name__.lower()
        self.app: str | None = options.get("app")
        self.extra_kwargs: str | None = options.get("extra_kwargs")
        if self.extra_kwargs not in (None, "store"):
            raise ConfigurationError(f"{model.__name__}.Meta.extra_kwargs must be 'store' or None")
        self.description: str | None = options.get("table_description") or (
            model.__doc__.strip() if model.__doc__ else None
        )
        self.default_connection: str | None = options.get("default_connection")
        ordering = options.get("ordering") or ()
        self.ordering: tuple[str, ...] = (ordering,) if isinstance(ordering, str) else tuple(ordering)
        self.unique_together = _field_groups(options.get("unique_together"), "unique_together")
        self.indexes: tuple[Any, ...] = _field_groups(options.get("indexes"), "indexes")
        self.fields_map: dict[str, Field[Any]] = fields
        self.fields: list[Field[Any]] = list(fields.values())
        pks = [f for f in self.fields if f.pk]
        if len(pks) != 1:
            raise ConfigurationError(f"{model.__name__} must have exactly one primary key, has {len(pks)}")
        self.pk: Field[Any] = pks[0]
        self.pk_attr = self.pk.model_field_name
        self.pk_column = self.pk.column
        self._lookup: dict[str, Field[Any]] = {"pk": self.pk, **fields}
        # Relations by name (forward keys, reverse sides, many-to-many), see models/wiring.py.
        self.relations: dict[str, Relation] = {}
        self.declared_relations: list[RelationField[Any]] = []
        # Read when an abstract model is inherited: whether its ``id`` was added automatically
        # (the child adds its own) and the Meta options it passes on.
        self.auto_pk = False
        self.options: dict[str, Any] = options
        manager = options.get("manager")
        # A manager inherited from an abstract base is copied: each model binds its own.
        self.manager: Manager[Any] | None = copy.copy(manager) if manager is not None else None
        self.auto_now_fields = [f for f in self.fields if getattr(f, "auto_now", False)]
        # Stamped when a row is created: auto_now_add and auto_now fields alike.
        self.auto_now_add_fields = [
            f for f in self.fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
        ]
        self.validated_fields = [f for f in self.fields if f.validators]
        # Whether the class holds the guards of fields/deferred.py (installed on the first
        # partial load).
        self.unloaded_guards = False
        self.fields_by_column = {f.column: f for f in self.fields}
        # Tortoise's name: the columns the database fills when an INSERT leaves them out.
        self.db_default_db_columns = [f.column for f in self.fields if f.db_default is not NO_DEFAULT]
        # Fields whose default is an ``async def`` (awaited when an instance is inserted).
        self.async_default_fields = [f for f in self.fields if inspect.iscoroutinefunction(f.default)]
        # What ``Model.__init__`` does per field, decided once: (attribute, coerce, default
        # is a factory, default value or factory).
        self.init_plan: list[tuple[str, Any, bool, Any]] = []
        for field in self.fields:
            default = field.default
            entry: tuple[str, Any, bool, Any]
            if default is NO_DEFAULT:
                entry = (field.model_field_name, field.coerce, False, None)
            elif not callable(default) and isinstance(default, _IMMUTABLE):
                entry = (field.model_field_name, field.coerce, False, field.to_python(default))
            else:
                entry = (field.model_field_name, field.coerce, True, field.default_value)
            self.init_plan.append(entry)
        # -- bound by YaraOrm.init --
        self.db: Connection | None = None
        self.connection_name: str | None = None
        # -- the statement cache (cleared when the model is bound to a connection) --
        self.statements = StatementCache()
        # Tortoise style ``unique_together = (("club", "member"),)`` names foreign keys by relation.
        self.unique_together = tuple(tuple(self._canonical(n) for n in g) for g in self.unique_together)
        self.indexes = tuple(
            Index(*(self._canonical(n) for n in i.fields), name=i.name, unique=i.unique, kind=i.kind)
            if isinstance(i, Index)
            else tuple(self._canonical(n) for n in i)
            for i in self.indexes
        )
        for name in self.unique_together:
            self._check_names(name, "unique_together")
        for index in self.indexes:
            self._check_names(index.fields if isinstance(index, Index) else index, "indexes")

    def _check_names(self, names: Sequence[str], option: str) -> None:
        for name in names:
            if name not in self._lookup:
                raise ConfigurationError(
                    f"{self.model.__name__}.Meta.{option} names unknown field {name!r}; "
                    f"fields are {', '.join(self.fields_map)}"
                )

    def _canonical(self, name: str) -> str:
        id_name = f"{name}_id"
        if name not in self._lookup and getattr(self._lookup.get(id_name), "relation", None) is not None:
            return id_name
        return name

    @property
    def pk_field(self) -> Field[Any]:
        """Tortoise's and yara-orm 1.19's name for :attr:`pk`."""
        return self.pk

    @property
    def _default_ordering(self) -> tuple[str, ...]:
        """Tortoise's name for :attr:`ordering` (``Meta.ordering``, inherited from abstract bases)."""
        return self.ordering

    @property
    def db_table(self) -> str:
        """Tortoise's name for :attr:`table`; assigning renames the table the model uses."""
        return self.table

    @db_table.setter
    def db_table(self, name: str) -> None:
        self.table = name
        self.statements.clear()
        self.query_cache.clear()

    def lookup_field(self, name: str) -> Field[Any] | None:
        return self._lookup.get(name)

    def bind(self, db: Connection | None, name: str | None) -> None:
        self.db = db
        self.connection_name = name
        self.statements.clear()

    @property
    def query_cache(self) -> StatementCache:
        """The statement cache under its 1.19 name (query shapes live in it too)."""
        return self.statements

    @property
    def db_fields(self) -> list[Field[Any]]:
        return self.fields

    def field_names(self) -> list[str]:
        return list(self.fields_map)


_RESERVED = frozenset(
    (
        "pk",
        "save",
        "delete",
        "refresh_from_db",
        "update_from_dict",
        "clone",
        "fetch_related",
        "describe",
        "create",
        "get",
        "filter",
        "exclude",
        "all",
    )
)


class ModelMeta(type):
    """Collects fields (including those of abstract bases) into ``_meta`` and takes them off the
    class, so instance attributes are plain values in ``__dict__``."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any], **kwargs: Any) -> ModelMeta:
        meta_cls = attrs.pop("Meta", None)
        declared_order = list(attrs)
        model_bases = [b for b in bases if isinstance(b, ModelMeta) and hasattr(b, "_meta")]
        if not model_bases and attrs.get("__module__") == "yara_orm.models.model" and name == "Model":
            base = super().__new__(mcs, name, bases, attrs, **kwargs)
            registry.register_base(base)
            return base

        options: dict[str, Any] = {}
        fields: dict[str, Field[Any]] = {}
        for base in reversed(model_bases):
            base_meta = base._meta
            if not base_meta.abstract:
                raise ConfigurationError(
                    f"{name} inherits from the concrete model {base.__name__}; "
                    "only abstract models (Meta.abstract = True) can be inherited"
                )
            for field_name, field in base_meta.fields_map.items():
                if field_name == "id" and base_meta.auto_pk:
                    continue
                if getattr(field, "relation", None) is not None:
                    continue  # re-created from the cloned relation declaration below
                fields[field_name] = field.clone()
            for rel_field in base_meta.declared_relations:
                attrs.setdefault(rel_field.name, rel_field.clone())
            for option in _INHERITED_OPTIONS:
                value = base_meta.options.get(option)
                if value is not None:
                    options[option] = value

        # Fields declared on plain mixin classes (``class NameMixin: name = CharField(...)``).
        for mixin in reversed([b for b in bases if not isinstance(b, ModelMeta)]):
            for klass in reversed(mixin.__mro__):
                for attr, value in vars(klass).items():
                    if attr in attrs:
                        continue
                    if isinstance(value, Field):
                        fields[attr] = value.clone()
                    elif isinstance(value, RelationField):
                        attrs[attr] = value.clone()

        if meta_cls is not None:
            for option, value in vars(meta_cls).items():
                if option.startswith("__"):
                    continue
                if option not in _META_OPTIONS:
                    raise ConfigurationError(
                        f"{name}.Meta has unknown option {option!r}; "
                        f"valid: {', '.join(sorted(_META_OPTIONS))}"
                    )
                options[option] = value
        options.setdefault("abstract", False)
        if meta_cls is None or "abstract" not in vars(meta_cls):
            options["abstract"] = False

        for attr, value in list(attrs.items()):
            if isinstance(value, Field):
                if attr.startswith("_") or attr in _RESERVED:
                    raise ConfigurationError(
                        f"{name}.{attr}: field names cannot start with '_' or be {attr!r}"
                    )
                fields[attr] = value
                del attrs[attr]

        declared = collect(name, attrs, fields)
        if declared:
            # A foreign key's ``<name>_id`` column sits where the relation was declared.
            position = {attr: i for i, attr in enumerate(declared_order)}
            for rel_field in declared:
                position[f"{rel_field.name}_id"] = position.get(rel_field.name, len(position))
            fields = dict(sorted(fields.items(), key=lambda item: position.get(item[0], -1)))
        auto_pk = not any(f.pk for f in fields.values())
        if auto_pk:
            if "id" in fields:
                raise ConfigurationError(f"{name}.id is not a primary key; mark a primary key or rename 'id'")
            fields = {"id": IntField(primary_key=True), **fields}

        cls = super().__new__(mcs, name, bases, attrs, **kwargs)
        for attr, field in fields.items():
            field.contribute(cls, attr)  # type: ignore[arg-type]
        meta = MetaInfo(cls, options, fields)  # type: ignore[arg-type]
        meta.auto_pk = auto_pk
        meta.declared_relations = declared
        if meta.manager is None:
            meta.manager = Manager()
        meta.manager._bind(cls)
        cls._meta = meta  # type: ignore[attr-defined]
        contribute(cls, declared)  # type: ignore[arg-type]
        if not meta.abstract and "__init__" not in attrs:
            init = make_init(meta)
            if init is not None:
                cls.__init__ = init  # type: ignore[misc]
        if not meta.abstract:
            registry.register(cls)  # type: ignore[arg-type]
        return cls
