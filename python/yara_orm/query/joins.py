"""Relation traversal: ``author__country__name`` becomes LEFT JOINs in the query's join list.

Each relation path joins once per query (the context remembers the alias of every joined path),
so a filter, an ordering and a selected column through the same relation share one join. A path
ending at a relation compares its key column, and avoids the last join when that column is
already available (``book.author_id``, the join table's column of a many-to-many).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import FieldError
from ..fields.relational import RelationIdField
from ..registry import model_base
from . import ir, lookups

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..models.model import Model
    from ..relations import Relation
    from .context import QueryContext


def _choices(model: type[Model]) -> str:
    meta = model._meta
    names = [*meta.fields_map, *(n for n in meta.relations if not n.startswith("_"))]
    return ", ".join(sorted(set(names)))


def _eq(left: ir.Node, right: ir.Node) -> ir.Node:
    return ir.Lookup("exact", left, [right])


def join_relation(ctx: QueryContext, path: tuple[str, ...], alias: str, rel: Relation) -> str:
    """The alias of ``rel``'s target joined from ``alias`` (added to the query once per path)."""
    joined = ctx.joined.get(path)
    if joined is not None:
        return joined
    target_meta = rel.target._meta
    if rel.kind == "fk":
        assert rel.field is not None and rel.field.id_field is not None
        new = ctx.new_alias(target_meta.table)
        key_column = rel.field.id_field.target_key.column
        on = _eq(ir.Column(new, key_column), ir.Column(alias, rel.field.id_field.column))
        ctx.joins.append(ir.Join("LEFT", ir.TableRef(target_meta.table, new), on))
    elif rel.kind in ("reverse", "reverse_o2o"):
        assert rel.field is not None and rel.field.id_field is not None
        new = ctx.new_alias(target_meta.table)
        key_column = rel.field.id_field.target_key.column
        on = _eq(ir.Column(new, rel.field.id_field.column), ir.Column(alias, key_column))
        ctx.joins.append(ir.Join("LEFT", ir.TableRef(target_meta.table, new), on))
    else:
        through_alias = join_through(ctx, path, alias, rel)
        _src, dst = rel.through_keys()
        assert dst.id_field is not None
        new = ctx.new_alias(target_meta.table)
        on = _eq(ir.Column(new, target_meta.pk_column), ir.Column(through_alias, dst.id_field.column))
        ctx.joins.append(ir.Join("LEFT", ir.TableRef(target_meta.table, new), on))
    ctx.joined[path] = new
    return new


def join_through(ctx: QueryContext, path: tuple[str, ...], alias: str, rel: Relation) -> str:
    key = (*path, "<through>")
    joined = ctx.joined.get(key)
    if joined is not None:
        return joined
    src, _dst = rel.through_keys()
    assert src.id_field is not None and src.model is not None
    through_meta = src.model._meta
    new = ctx.new_alias(through_meta.table)
    on = _eq(ir.Column(new, src.id_field.column), ir.Column(alias, rel.owner._meta.pk_column))
    ctx.joins.append(ir.Join("LEFT", ir.TableRef(through_meta.table, new), on))
    ctx.joined[key] = new
    return new


def resolve_path(
    ctx: QueryContext, parts: list[str], key: str
) -> tuple[ir.Node, Field[Any] | None, list[str]]:
    """Resolve the field part of ``parts`` (walking relations); returns the column node, its
    field and the remaining parts (lookups/transforms)."""
    model = ctx.model
    alias = ctx.alias
    path: tuple[str, ...] = ()
    i = 0
    while i < len(parts):
        name = parts[i]
        meta = model._meta
        field = meta.lookup_field(name)
        if field is not None:
            return ir.Column(alias, field.column, field), field, parts[i + 1 :]
        rel = meta.relations.get(name)
        if rel is None:
            where = f" in {key!r}" if key else ""
            raise FieldError(
                f'Unknown field "{name}" for model "{model.__name__}"{where}; valid choices: pk, '
                f"{_choices(model)}"
            )
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        target_meta = rel.target._meta
        ends = nxt is None or nxt in lookups.LOOKUPS or nxt in ("pk", target_meta.pk_attr)
        rest = parts[i + 2 :] if nxt in ("pk", target_meta.pk_attr) else parts[i + 1 :]
        path = (*path, name)
        if rel.kind == "fk":
            assert rel.field is not None and rel.field.id_field is not None
            id_field = rel.field.id_field
            # The key column holds the referenced field's value: ``school__id`` with
            # ``to_field="id"`` needs no join, ``school__pk`` then does.
            if not id_field.by_pk:
                ends = nxt is None or nxt in lookups.LOOKUPS or nxt == id_field.key_attr
                rest = parts[i + 2 :] if nxt == id_field.key_attr else parts[i + 1 :]
            if ends:
                return ir.Column(alias, id_field.column, id_field), id_field, rest
        if ends and rel.kind == "m2m":
            through_alias = join_through(ctx, path, alias, rel)
            _src, dst = rel.through_keys()
            assert dst.id_field is not None
            return ir.Column(through_alias, dst.id_field.column, dst.id_field), dst.id_field, rest
        alias = join_relation(ctx, path, alias, rel)
        model = rel.target
        if ends:
            pk = target_meta.pk
            return ir.Column(alias, pk.column, pk), pk, rest
        i += 1
    raise FieldError(f"{key!r} does not name a field")  # pragma: no cover - loop always returns


def ends_on_many(model: type[Model], parts: list[str]) -> str | None:
    """The name of the reverse key or many-to-many relation the path ``parts`` ends on (it has
    no single value to select), or None."""
    for i, name in enumerate(parts):
        rel = model._meta.relations.get(name)
        if rel is None:
            return None
        if i == len(parts) - 1:
            return name if rel.many else None
        model = rel.target
    return None


def crosses_many(model: type[Model], parts: list[str]) -> bool:
    """Whether the relation path in ``parts`` goes through a reverse key or a many-to-many."""
    for name in parts:
        rel = model._meta.relations.get(name)
        if rel is None:
            return False
        if rel.many:
            return True
        model = rel.target
    return False


# Filter values of these types are never model instances: skip the checks on the hot path.
_PLAIN = frozenset((int, str, float, bool, type(None), bytes))


def model_values(value: Any, field: Field[Any] | None = None) -> Any:
    """A model instance (or a list of them) used as a filter value compares by primary key, or
    by the referenced field when compared with a foreign key column (``to_field``)."""
    if type(value) in _PLAIN:
        return value
    Model = model_base()
    key_of = field.key_of if isinstance(field, RelationIdField) else _pk_of
    if isinstance(value, Model):
        return key_of(value)
    if isinstance(value, list | tuple | set | frozenset):
        # Lists of plain values (thousands of ids in a prefetch) skip the per-item Model check,
        # which goes through ABCMeta.__instancecheck__.
        if all(type(v) in _PLAIN for v in value):
            return value
        if any(isinstance(v, Model) for v in value):
            return [key_of(v) if isinstance(v, Model) else v for v in value]
    return value


def _pk_of(instance: Model) -> Any:
    return instance.pk
