"""Eager loading.

``select_related`` adds LEFT JOINs and extra columns to one SELECT; the decode plan
(``decode.related_decoder``) slices each row positionally into the main instance and its
related instances in one pass.
``prefetch_related`` / ``fetch_related`` run one query per relation level (``pk IN (...)`` over
the keys collected from the previous level), so the statement count depends on the number of
relations, never on the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import FieldError, ParamsError
from ..relations import CACHE, FORWARD, M2M, REVERSE, REVERSE_O2O, Relation, reverse_name
from . import ir, joins
from .decode import RelatedColumns, column_converter, instance_decoder
from .expressions import F

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..models.model import Model
    from .context import QueryContext
    from .decode import Converter
    from .queryset import QuerySet


class Prefetch:
    """``prefetch_related(Prefetch("books", queryset=Book.filter(...), to_attr="recent"))``."""

    __slots__ = ("queryset", "relation", "to_attr")

    def __init__(
        self, relation: str, queryset: QuerySet[Any] | None = None, to_attr: str | None = None
    ) -> None:
        self.relation = relation
        self.queryset = queryset
        self.to_attr = to_attr


# -- select_related -----------------------------------------------------------------------------------


def add_select_related(
    ctx: QueryContext,
    paths: Sequence[str],
    items: list[ir.SelectItem],
    names: list[str],
    converters: list[Converter | None],
    restrictions: Mapping[tuple[str, ...], Any] | None = None,
) -> list[RelatedColumns]:
    """Join every relation of ``paths`` and append its columns to the select list (only some of
    them for a path ``restrictions`` names: ``only("contact__name")``)."""
    placed: dict[tuple[str, ...], int] = {(): 0}
    split = [tuple(p.split("__")) for p in paths]
    out: list[RelatedColumns] = []
    for path in paths:
        model = ctx.model
        alias = ctx.alias
        prefix: tuple[str, ...] = ()
        for name in path.split("__"):
            rel = model._meta.relations.get(name)
            if rel is None or rel.kind not in (FORWARD, REVERSE_O2O):
                kind = "unknown relation" if rel is None else "a multi-valued relation"
                raise FieldError(
                    f"select_related({path!r}): {name!r} is {kind} on {model.__name__}; "
                    "select_related follows foreign keys and one-to-one relations "
                    "(use prefetch_related for the others)"
                )
            parent = placed[prefix]
            prefix = (*prefix, name)
            alias = joins.join_relation(ctx, prefix, alias, rel)
            model = rel.target
            if prefix in placed:
                continue
            meta = model._meta
            start = len(items)
            field_names = []
            field_convs: list[Converter | None] = []
            chosen, loaded = _related_fields(model, prefix, split, (restrictions or {}).get(prefix))
            for field in chosen:
                items.append(ir.SelectItem(ir.Column(alias, field.column, field)))
                field_names.append(field.model_field_name)
                field_convs.append(column_converter(field, ctx.dialect))
            names.extend(f"{'__'.join(prefix)}__{n}" for n in field_names)
            converters.extend(field_convs)
            entry = RelatedColumns(parent, name, start, len(items), chosen.index(meta.pk))
            entry.decode_row = instance_decoder(model, field_names, field_convs, loaded)[1]
            placed[prefix] = len(out) + 1
            out.append(entry)
    return out


def _related_fields(
    model: type[Model], prefix: tuple[str, ...], paths: list[tuple[str, ...]], restriction: Any
) -> tuple[list[Field[Any]], frozenset[str] | None]:
    """The fields of a select_related model to load, and its ``_loaded`` set when partial."""
    meta = model._meta
    if restriction is None or (restriction.only is None and not restriction.defer):
        return list(meta.fields), None
    wanted = set(restriction.only) if restriction.only is not None else set(meta.fields_map)
    wanted -= restriction.defer
    wanted.discard("pk")
    wanted.add(meta.pk_attr)
    # Keep the key columns of the relations selected further down this path.
    for path in paths:
        if len(path) > len(prefix) and path[: len(prefix)] == prefix:
            rel = meta.relations.get(path[len(prefix)])
            if rel is not None and rel.kind == FORWARD and rel.field is not None and rel.field.id_field:
                wanted.add(rel.field.id_field.model_field_name)
    chosen = [f for f in meta.fields if f.model_field_name in wanted]
    return chosen, frozenset(f.model_field_name for f in chosen)


# -- prefetch_related -------------------------------------------------------------------------------


class _Node:
    __slots__ = ("children", "name", "queryset", "to_attr")

    def __init__(self, name: str) -> None:
        self.name = name
        self.queryset: QuerySet[Any] | None = None
        self.to_attr: str | None = None
        self.children: list[str | Prefetch] = []


def _tree(lookups: Iterable[str | Prefetch]) -> dict[str, _Node]:
    """Lookups grouped per relation level; a ``Prefetch(..., to_attr=)`` of a relation is a
    load of its own (one relation can fill several attributes with different querysets)."""
    tree: dict[str, _Node] = {}
    for lookup in lookups:
        if isinstance(lookup, Prefetch):
            path = lookup.relation
        elif isinstance(lookup, str):
            path = lookup
        else:
            raise ParamsError(f"prefetch lookups are relation names or Prefetch objects, got {lookup!r}")
        head, _, rest = path.partition("__")
        to_attr = lookup.to_attr if isinstance(lookup, Prefetch) and not rest else None
        key = f"{head}\0{to_attr}" if to_attr else head
        node = tree.get(key)
        if node is None:
            node = tree[key] = _Node(head)
        if not rest:
            if isinstance(lookup, Prefetch):
                node.queryset = lookup.queryset
                node.to_attr = lookup.to_attr
        elif isinstance(lookup, Prefetch):
            node.children.append(Prefetch(rest, lookup.queryset, lookup.to_attr))
        else:
            node.children.append(rest)
    return tree


async def prefetch(
    instances: Sequence[Model], lookups: Iterable[str | Prefetch], using_db: Any = None
) -> None:
    """Load ``lookups`` into ``instances`` (all of one model), one query per relation level."""
    objs = [o for o in instances if o is not None]
    if not objs:
        return
    model = type(objs[0])
    for node in _tree(lookups).values():
        name = node.name
        rel = model._meta.relations.get(name)
        if rel is None:
            # Tortoise's wording first (code matches on it), then what is there.
            label = f"{model._meta.app or 'models'}.{model.__name__}"
            choices = ", ".join(n for n in model._meta.relations if not n.startswith("_"))
            what = (
                f"Field {name} on {label} is not a relation"
                if name in model._meta.fields_map
                else f"Relation {name} for {label} not found"
            )
            raise ParamsError(f"{what}: cannot prefetch {name!r}; relations: {choices}")
        related = await _prefetch_one(objs, rel, node, using_db)
        if node.children and related:
            await prefetch(related, node.children, using_db)


def _target_qs(rel: Relation, node: _Node, using_db: Any) -> tuple[QuerySet[Any], slice | None]:
    """The queryset of the related rows, and the slice its ``limit``/``offset`` ask for, which
    applies to each owner's rows (``Prefetch("books", Book.all()[:2])``: two books per author),
    so it is taken off the query and applied per owner here."""
    qs = node.queryset if node.queryset is not None else rel.target._default_qs()
    if qs.model is not rel.target:
        raise ParamsError(f"Prefetch({rel.name!r}) needs a queryset of {rel.target.__name__}")
    window = None
    if qs._limit is not None or qs._offset:
        start = qs._offset or 0
        window = slice(start, None if qs._limit is None else start + qs._limit)
        qs = qs._clone()
        qs._limit = qs._offset = None
    return (qs.using_db(using_db) if using_db is not None else qs), window


async def _prefetch_one(objs: list[Model], rel: Relation, node: _Node, using_db: Any) -> list[Model]:
    # ``Prefetch(..., to_attr=)`` fills a plain attribute; otherwise the relation cache, written
    # inline (relations.set_cached's body, without a call per owner).
    to_attr, name = node.to_attr, rel.name
    target_qs, window = _target_qs(rel, node, using_db)
    if rel.kind == FORWARD:
        assert rel.field is not None and rel.field.id_field is not None
        id_attr = rel.field.id_field.model_field_name
        key_attr = rel.field.id_field.key_attr
        dicts = [o.__dict__ for o in objs]
        ids = list(dict.fromkeys(v for d in dicts if (v := d.get(id_attr)) is not None))
        found: dict[Any, Model] = {}
        if ids:
            for obj in await target_qs.filter(**{f"{key_attr}__in": ids}):
                found[obj.__dict__[key_attr]] = obj
        for d in dicts:
            one = found.get(d.get(id_attr))
            # Each owner has at most one related row: a window keeps it or drops it.
            if window is not None and not [one][window]:
                one = None
            if to_attr:
                d[to_attr] = one
            elif (cache := d.get(CACHE)) is None:
                d[CACHE] = {name: one}
            else:
                cache[name] = one
        return list(found.values())
    # Owners are matched by the key their related rows hold: the primary key, or the field a
    # foreign key's ``to_field`` names.
    owner_key = rel.owner._meta.pk_attr
    if rel.kind != M2M:
        assert rel.field is not None and rel.field.id_field is not None
        owner_key = rel.field.id_field.key_attr
    pks = list(dict.fromkeys(o.__dict__.get(owner_key) for o in objs))
    if rel.kind == M2M:
        reverse = reverse_name(rel)
        qs = target_qs
        groups: dict[Any, list[Model]] = {}
        if qs._annotations:
            # The user's annotations may aggregate over the same relation (``Count("events")``):
            # joining the link table for the owners would restrict them, so the links are read
            # first and the targets by key.
            rows, groups = await _m2m_by_links(rel, qs, pks, using_db)
        else:
            # Filtering on the annotation keeps one join through the link table (a relation
            # filter would become a subquery and the annotation would join every link).
            rows = await qs.annotate(_prefetch_src=F(f"{reverse}__pk")).filter(_prefetch_src__in=pks)
            for obj in rows:
                groups.setdefault(obj.__dict__.pop("_prefetch_src"), []).append(obj)
    else:
        assert rel.field is not None and rel.field.id_field is not None
        id_attr = rel.field.id_field.model_field_name
        back_name = rel.field.name
        rows = await target_qs.filter(**{f"{id_attr}__in": pks})
        by_pk = {o.__dict__.get(owner_key): o for o in objs}
        groups = {pk: [] for pk in by_pk}
        for obj in rows:
            d = obj.__dict__
            owner_pk = d[id_attr]
            # The other side is already in memory: link it so obj.<fk> costs no query.
            # (The rows may carry a cache already: a queryset with select_related.)
            if (cache := d.get(CACHE)) is None:
                d[CACHE] = {back_name: by_pk.get(owner_pk)}
            else:
                cache[back_name] = by_pk.get(owner_pk)
            group = groups.get(owner_pk)
            if group is None:  # an id that compares equal to no owner's pk as given
                group = groups[owner_pk] = []
            group.append(obj)
    many = rel.kind in (REVERSE, M2M)
    kept: list[Model] = []
    for o in objs:
        group = groups.get(o.__dict__.get(owner_key), [])
        if window is not None:
            group = group[window]
            kept += group
        value = group if many else (group[0] if group else None)
        d = o.__dict__
        if to_attr:
            d[to_attr] = value
        elif (cache := d.get(CACHE)) is None:
            d[CACHE] = {name: value}
        else:
            cache[name] = value
    return list(rows) if window is None else list(dict.fromkeys(kept))


async def _m2m_by_links(
    rel: Relation, qs: QuerySet[Any], pks: list[Any], using_db: Any
) -> tuple[list[Model], dict[Any, list[Model]]]:
    """A many-to-many prefetch in two queries: the link rows of the owners, then the targets."""
    m2m = rel.m2m
    assert m2m is not None and m2m.through_model is not None
    src, dst = rel.through_keys()
    assert src.id_field is not None and dst.id_field is not None
    src_attr, dst_attr = src.id_field.model_field_name, dst.id_field.model_field_name
    links = m2m.through_model._default_qs().filter(**{f"{src_attr}__in": pks})
    if using_db is not None:
        links = links.using_db(using_db)
    owners_of: dict[Any, list[Any]] = {}
    for owner_pk, target_pk in await links.values_list(src_attr, dst_attr):
        owners_of.setdefault(target_pk, []).append(owner_pk)
    groups: dict[Any, list[Model]] = {}
    if not owners_of:
        return [], groups
    target_pk_attr = rel.target._meta.pk_attr
    rows = await qs.filter(**{f"{target_pk_attr}__in": list(owners_of)})
    for obj in rows:
        for owner_pk in owners_of.get(obj.__dict__.get(target_pk_attr), ()):
            groups.setdefault(owner_pk, []).append(obj)
    return list(rows), groups
