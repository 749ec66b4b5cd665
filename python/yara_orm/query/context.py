"""Name resolution for one query: fields, annotations, filters and ``Q`` trees become IR nodes.

A context owns the query's base table alias and its join list; a subquery's context points at
its parent (for ``OuterRef``) and shares the alias registry so aliases never collide.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import FieldError
from . import ir, joins, lookups
from .expressions import Expression, Q, Value

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..fields.base import Field
    from ..models.model import Model

ParamBuilder = Callable[[Any], list[Any]]


def _no_params(value: Any) -> list[Any]:
    return []


def _model_aware(builder: ParamBuilder, field: Field[Any] | None) -> ParamBuilder:
    # A cached query shape re-binds raw filter values, which may be model instances.
    def build(value: Any) -> list[Any]:
        return builder(joins.model_values(value, field))

    return build


class QueryContext:
    __slots__ = (
        "alias",
        "aliases",
        "annotations",
        "builders",
        "dialect",
        "joined",
        "joins",
        "many_as_subquery",
        "meta",
        "model",
        "parent",
        "table",
    )

    def __init__(self, model: type[Model], dialect: Dialect, parent: QueryContext | None = None) -> None:
        self.model = model
        self.meta = model._meta
        self.dialect = dialect
        self.parent = parent
        self.aliases: dict[str, int] = parent.aliases if parent is not None else {}
        self.alias = self.new_alias(self.meta.table)
        self.table = ir.TableRef(self.meta.table, self.alias)
        self.joins: list[ir.Join] = []
        # Relation path -> alias of the table joined for it (see joins.py).
        self.joined: dict[tuple[str, ...], str] = {}
        # Filters through a multi-valued relation (reverse FK, many-to-many) become
        # ``pk IN (subquery)``: no duplicate rows, and exclude() means "no related row matches".
        self.many_as_subquery = True
        self.annotations: dict[str, ir.Node] = {}
        # Parameter builders of the filter leaves, in binding order, while the shape is still
        # cacheable; None once something makes it uncacheable.
        self.builders: list[ParamBuilder] | None = None

    def new_alias(self, table: str) -> str:
        count = self.aliases.get(table, 0)
        self.aliases[table] = count + 1
        return table if count == 0 else f"{table}_{count}"

    # -- references -------------------------------------------------------------------------------

    def column(self, field: Field[Any]) -> ir.Column:
        return ir.Column(self.alias, field.column, field)

    def field_choices(self) -> str:
        names = [*self.meta.fields_map, *self.annotations, *(n for n in self.meta.relations if n[0] != "_")]
        return ", ".join(sorted(set(names)))

    def resolve_ref(self, name: str) -> ir.Node:
        node = self.annotations.get(name)
        if node is not None:
            return node
        field = self.meta.lookup_field(name)
        if field is not None:
            return ir.Column(self.alias, field.column, field)
        if "__" in name or name in self.meta.relations:
            node, _field, rest = joins.resolve_path(self, name.split("__"), name)
            if rest and _field is not None and _field.type_key == "json":
                return self._json_key_path(node, _field, tuple(rest))
            if rest:
                raise FieldError(
                    f"{name} not resolvable: it does not name a field of {self.model.__name__} (extra {rest})"
                )
            return node
        raise FieldError(
            f'Unknown field "{name}" for model "{self.model.__name__}"; valid choices: pk, '
            f"{self.field_choices()}"
        )

    def _json_key_path(self, column: ir.Node, field: Field[Any], path: tuple[str, ...]) -> ir.Node:
        """``F("data__owner__name")``: the value at a key path of a JSON column (None where the
        document has no such key; digits index arrays)."""
        # PostgreSQL returns the JSON value (decoded as JSON); SQLite and MariaDB return SQL
        # scalars for scalars, read as they come.
        typed = self.dialect.typed_expressions
        return ir.Func("json_path", [column], field if typed else None, extra=(path, not typed))

    # -- conditions -------------------------------------------------------------------------------

    def resolve_condition(self, cond: Q | Expression) -> ir.Node:
        if isinstance(cond, Q):
            return self.resolve_q(cond)
        self.builders = None
        return cond.resolve(self)

    def resolve_q(self, q: Q) -> ir.Node:
        children: list[ir.Node] = []
        for child in q.children:
            if isinstance(child, Q):
                children.append(self.resolve_q(child))
            else:
                children.append(self.resolve_filter(child[0], child[1]))
        node: ir.Node = children[0] if len(children) == 1 else ir.Junction(q.connector, children)
        if q.negated:
            node = ir.Not(node)
        return node

    def _many_subquery(self, key: str, value: Any) -> ir.Node:
        sub = QueryContext(self.model, self.dialect, parent=self)
        sub.many_as_subquery = False
        if self.builders is not None:
            sub.builders = []
        node = sub.resolve_filter(key, value)
        if self.builders is not None:
            if sub.builders is None:
                self.builders = None
            else:
                self.builders.extend(sub.builders)
        select = ir.Select(sub.table, [ir.SelectItem(sub.column(self.meta.pk))])
        select.joins = sub.joins
        select.where = node
        return ir.Lookup("in", self.column(self.meta.pk), [ir.SubSelect(select)])

    def _json_filter(self, prefix: str, conditions: dict[str, Any]) -> ir.Node:
        """Tortoise's ``data__filter={"owner__name": "x", "size__gt": 3}``: every key path
        condition of the dict, ANDed (an empty dict matches every row)."""
        nodes = [self.resolve_filter(f"{prefix}__{path}", value) for path, value in conditions.items()]
        self.builders = None  # one filter() argument became several conditions
        if not nodes:
            return ir.Literal("1 = 1")
        return nodes[0] if len(nodes) == 1 else ir.Junction("AND", nodes)

    def resolve_filter(self, key: str, value: Any) -> ir.Node:
        parts = key.split("__")
        head = parts[0]
        lhs: ir.Node
        field: Field[Any] | None
        if head in self.annotations:
            lhs = self.annotations[head]
            field = lhs.output_field
            rest = parts[1:]
        else:
            found = self.meta.lookup_field(head)
            if found is None:
                if head not in self.meta.relations:
                    # Tortoise's wording first: code matches on it.
                    raise FieldError(
                        f"Unknown filter param {head!r}. Allowed base values are "
                        f"[pk, {self.field_choices()}] (in filter {key!r} on {self.model.__name__})"
                    )
                if self.many_as_subquery and joins.crosses_many(self.model, parts):
                    return self._many_subquery(key, value)
                lhs, field, rest = joins.resolve_path(self, parts, key)
            else:
                field = found
                lhs = ir.Column(self.alias, found.column, found)
                rest = parts[1:]
        # Model instances compare by the key the column holds (after resolution: a foreign key
        # with ``to_field`` holds the referenced field, not the primary key).
        value = joins.model_values(value, field)
        lookup = "exact"
        if rest and rest[-1] in lookups.LOOKUPS:
            lookup = rest.pop()
            lookup = lookups.ALIASES.get(lookup, lookup)
        if lookups.fractional_against_integer(lookup, field, value) and not rest:
            # ``rating__lte=4.5`` compares as numbers (yara-orm 1.19), rather than refusing 4.5
            # as no int: a float parameter, cast so PostgreSQL does not read it as an integer.
            value = Value(value)
        if field is not None and field.type_key == "json" and not isinstance(lhs, ir.Aggregate):
            if rest and rest[-1] == "filter" and lookup == "exact" and isinstance(value, dict):
                return self._json_filter(key[: -len("__filter")], value)
            self.builders = None
            if isinstance(value, Expression):
                raise FieldError(f"JSON lookups compare with plain values, not expressions ({key!r})")
            return lookups.build_json(self.dialect, lookup, lhs, field, tuple(rest), value)
        for transform in rest:
            if (
                field is None
                or field.type_key not in ("date", "datetime", "time")
                or transform not in lookups.TRANSFORMS
            ):
                raise FieldError(
                    f"unknown lookup {transform!r} in filter {key!r} on {self.model.__name__}; "
                    f"valid lookups: {', '.join(lookups.valid_lookups_for(field))}"
                )
            field = lookups.transform_output(transform)
            lhs = ir.Func("extract", [lhs], field, extra=transform)
        if lookup in ("contained_by", "has_key", "has_keys", "has_any_keys"):
            raise FieldError(f"the {lookup!r} lookup applies to JSON fields only ({key!r})")
        rhs: ir.Node | None = None
        if isinstance(value, Expression):
            self.builders = None
            rhs = value.resolve(self)
        elif hasattr(value, "_as_subquery"):
            self.builders = None
            rhs = ir.SubSelect(value._as_subquery(self))
        node = lookups.build(self.dialect, lookup, lhs, field, value, rhs)
        if self.builders is not None:
            if isinstance(node, ir.Lookup) and node.name in ("isnull", "not_isnull"):
                self.builders.append(_no_params)
            else:
                self.builders.append(
                    _model_aware(
                        functools.partial(lookups.prepare_params, self.dialect, lookup, field), field
                    )
                )
        return node
