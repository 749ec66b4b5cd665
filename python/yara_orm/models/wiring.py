"""Class wiring: take relation declarations out of a class body, bind them to their model,
create auto through models, and (at ``YaraOrm.init``) resolve targets and add reverse sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigurationError
from ..fields.relational import ForeignKeyFieldInstance, ManyToManyFieldInstance, RelationField
from ..registry import MODEL_REGISTRY, is_model_class, model_base, resolve_model, set_relation_resolver
from ..relations import FORWARD, M2M, REVERSE, REVERSE_O2O, Relation
from .init import refresh_init
from .related import ForwardDescriptor, ManyDescriptor, ReverseOneDescriptor

if TYPE_CHECKING:
    from .model import Model


# -- class set-up ----------------------------------------------------------------------------------


def collect(model_name: str, attrs: dict[str, Any], fields: dict[str, Any]) -> list[RelationField[Any]]:
    """Take the relation declarations out of a class body; foreign keys add their id field."""
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
    for rel_field in declared:
        rel_field.model = model
        if isinstance(rel_field, ManyToManyFieldInstance):
            _make_through(model, rel_field)
        elif isinstance(rel_field, ForeignKeyFieldInstance):
            fwd = Relation(FORWARD, model, rel_field.name, None, field=rel_field)
            _attach(model, rel_field.name, fwd, ForwardDescriptor(fwd))


def _make_through(model: type[Model], m2m: ManyToManyFieldInstance[Any]) -> None:
    """The auto-created join model of a many-to-many (unless ``through`` names a model)."""
    through = m2m.through
    if is_model_class(through):
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
    # The model's own metaclass builds the join model (this module sits below models/meta.py).
    metaclass: Any = type(model)
    through_model: Any = metaclass(f"{model.__name__}_{m2m.name}_through", (model_base(),), body)
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


def _placeholders(related_name: str, model: type[Model]) -> str:
    """Django's ``related_name="%(class)s_set"`` on an abstract base: one name per subclass."""
    if "%(" not in related_name:
        return related_name
    return related_name.replace("%(class)s", model.__name__.lower()).replace(
        "%(app_label)s", (model._meta.app or "models").lower()
    )


def _attach(owner: type[Model], name: str, relation: Relation, descriptor: Any) -> None:
    meta = owner._meta
    base = model_base()
    # The queryset classmethods generated on Model (``values``, ``limit``...) may be shadowed.
    if hasattr(base, name) and name not in base._queryset_routes:
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
        holder = (
            f"m2m relation {existing.m2m.name!r} of {existing.m2m.model.__name__}"
            if existing.m2m is not None and existing.m2m.model is not None
            else f"the relation {_declared_at(existing)}"
        )
        raise ConfigurationError(
            f"related_name collision: {owner.__name__}.{name} is already used by {holder}; "
            f"give {_declared_at(relation)} a different related_name (on an abstract base, "
            "'%(class)s' in it makes one per subclass)"
        )
    if name in meta.fields_map or (not name.startswith("_") and name in vars(owner)):
        raise ConfigurationError(
            f"related_name collision: {owner.__name__}.{name} is already used by attribute {name!r}; "
            f"choose another related_name for the relation to {relation.target.__name__} "
            f"(declared at {_declared_at(relation)})"
        )
    meta.relations[name] = relation
    setattr(owner, name, descriptor)


def setup(models: Iterable[type[Model]]) -> list[type[Model]]:
    """Resolve every relation of ``models`` and add the reverse sides; returns the models plus
    the auto-created through models. Idempotent (YaraOrm.init may run many times)."""
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
            rel_field._target = resolve_model(rel_field.reference, model, known)
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
                rname = _placeholders(str(rname), model)
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
    for model in chosen:
        if model._meta.declared_relations:
            refresh_init(model)
    return chosen


def _explicit_through(
    m2m: ManyToManyFieldInstance[Any], model: type[Model], known: dict[str, type[Model]]
) -> type[Model] | None:
    through = m2m.through
    if is_model_class(through):
        return through
    if not isinstance(through, str):
        return None
    try:
        found = resolve_model(through, model, known)
    except ConfigurationError:
        return None
    return None if getattr(found._meta, "auto_through", False) else found


def _setup_m2m(
    model: type[Model], m2m: ManyToManyFieldInstance[Any], target: type[Model], known: dict[str, type[Model]]
) -> None:
    if m2m.through_model is None or not getattr(m2m.through_model._meta, "auto_through", False):
        through = resolve_model(m2m.through, model, known) if m2m.through_model is None else m2m.through_model
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
    rname = _placeholders(str(rname), model)
    back = Relation(M2M, target, str(rname), model, m2m=m2m)
    _attach(target, str(rname), back, ManyDescriptor(back))


# ``registry.resolve_relations()`` (yara-orm 1.19) wires every registered model through this.
set_relation_resolver(setup)
