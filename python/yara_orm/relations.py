"""Relation metadata: what ``meta.relations`` holds.

``meta.relations`` maps a relation name to a :class:`Relation` (forward foreign key, reverse
foreign key, reverse one-to-one or many-to-many) — what query traversal and eager loading read.
A leaf of the model graph (below the query layer, which traverses it). Instance access goes
through the descriptors of ``models/related.py``; fetched related objects
are cached in the instance ``__dict__["_prefetch"][<name>]`` (see :data:`CACHE`) so a second
access costs no query.
Class set-up (collecting declarations, adding reverse sides) is ``models/wiring.py``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from .exceptions import ConfigurationError
from .fields import relational as _relational

# yara-orm 1.19 spells the typing aliases from this module too.
from .fields.relational import ForeignKeyNullableRelation as ForeignKeyNullableRelation
from .fields.relational import ForeignKeyRelation as ForeignKeyRelation
from .fields.relational import OneToOneNullableRelation as OneToOneNullableRelation
from .fields.relational import OneToOneRelation as OneToOneRelation

# The many sides' managers under yara-orm 1.19's names (``fields.ReverseRelation`` and
# ``fields.ManyToManyRelation`` are these classes), resolved on first use: they live in the
# model layer, above this module.
_MANAGERS = {"RelatedManager": "ReverseRelation", "M2MManager": "ManyToManyRelation"}


def __getattr__(name: str) -> Any:
    alias = _MANAGERS.get(name)
    if alias is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_relational, alias)


if TYPE_CHECKING:
    from .fields.relational import ForeignKeyFieldInstance, ManyToManyFieldInstance
    from .models.model import Model


class RelationKind(enum.StrEnum):
    """How ``owner.<name>`` reaches ``target`` (a str enum: ``kind == "fk"`` still holds)."""

    FORWARD = "fk"
    REVERSE = "reverse"
    REVERSE_O2O = "reverse_o2o"
    M2M = "m2m"


FORWARD = RelationKind.FORWARD
REVERSE = RelationKind.REVERSE
REVERSE_O2O = RelationKind.REVERSE_O2O
M2M = RelationKind.M2M


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# -- the relation cache ---------------------------------------------------------------------------
# Related objects an instance holds (select_related, prefetch_related, fetch_related, an awaited
# relation, an assigned instance) live in ``instance.__dict__["_prefetch"][name]``: yara-orm
# 1.19's layout, which its users' code reads. The dict is created on first use, so an instance
# that never cached a relation carries none. Every reader and writer goes through the functions
# below, except the two hot paths that inline them (``ForwardDescriptor.__get__`` and the
# select_related decoder), which use :data:`CACHE` too.
CACHE = "_prefetch"


def get_cached(d: dict[str, Any], name: str) -> Any:
    """The cached value of relation ``name`` in instance dict ``d`` (``None`` is a fetched empty
    relation), or :data:`MISSING`."""
    cache = d.get(CACHE)
    return MISSING if cache is None else cache.get(name, MISSING)


def set_cached(d: dict[str, Any], name: str, value: Any) -> None:
    cache = d.get(CACHE)
    if cache is None:
        d[CACHE] = {name: value}
    else:
        cache[name] = value


def drop_cached(d: dict[str, Any], name: str) -> None:
    cache = d.get(CACHE)
    if cache is not None:
        cache.pop(name, None)


def copy_state(d: dict[str, Any]) -> dict[str, Any]:
    """A copy of instance dict ``d`` whose relation cache is a dict of its own (a shallow copy
    would share it: caching a relation on the copy would change the original)."""
    state = dict(d)
    cache = state.get(CACHE)
    if cache is not None:
        state[CACHE] = dict(cache)
    return state


class Relation:
    """One navigable relation of a model (``owner.<name>`` leads to ``target``)."""

    __slots__ = ("_target", "field", "kind", "m2m", "name", "owner")

    def __init__(
        self,
        kind: RelationKind,
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


def reverse_name(rel: Relation) -> str:
    """The name of the other side of a many-to-many relation on the target model."""
    m2m = rel.m2m
    assert m2m is not None
    for name, other in rel.target._meta.relations.items():
        if other.m2m is m2m and not (other.owner is rel.owner and other.name == rel.name):
            return name
    raise ConfigurationError(f"{rel!r} has no reverse side")  # pragma: no cover - setup always adds one
