"""DDL: CREATE TABLE / CREATE INDEX statements for models, in foreign-key dependency order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .models.meta import Index

if TYPE_CHECKING:
    from .dialects.base import Dialect
    from .fields.base import Field
    from .models.model import Model

_MAX_IDENTIFIER = 63


def _name(prefix: str, table: str, columns: Iterable[str]) -> str:
    name = f"{prefix}_{table}_{'_'.join(columns)}"
    if len(name) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_IDENTIFIER - 9]}_{digest}"


def dependencies(model: type[Model]) -> list[type[Model]]:
    """Models whose tables must exist first (targets of this model's foreign keys)."""
    deps = []
    for field in model._meta.fields:
        related = getattr(field, "related_model", None)
        if related is not None and related is not model:
            deps.append(related)
    return deps


def dependency_order(models: Iterable[type[Model]]) -> list[type[Model]]:
    """Models ordered so every table comes after the tables it references (stable otherwise)."""
    pending = list(dict.fromkeys(models))
    wanted = set(pending)
    ordered: list[type[Model]] = []
    placed: set[type[Model]] = set()
    visiting: set[type[Model]] = set()

    def visit(model: type[Model]) -> None:
        if model in placed or model in visiting:
            return  # a cycle: the later table adds its constraint as declared
        visiting.add(model)
        for dep in dependencies(model):
            if dep in wanted:
                visit(dep)
        visiting.discard(model)
        placed.add(model)
        ordered.append(model)

    for model in pending:
        visit(model)
    return ordered


def table_statements(
    model: type[Model], dialect: Dialect, safe: bool = True, late: Iterable[Field[Any]] = ()
) -> list[str]:
    """CREATE TABLE/INDEX for ``model``; foreign keys of the fields in ``late`` are left out (they
    reference a table created later, see :func:`schema_statements`)."""
    meta = model._meta
    skip = set(late)
    q = dialect.quote
    columns: list[str] = []
    # Table constraints must follow every column definition.
    constraints: list[str] = []
    for field in meta.fields:
        if field.pk and field.generated:
            columns.append(dialect.generated_pk_definition(field))
        else:
            columns.append(dialect.column_definition(field))
        extra = getattr(field, "constraint_sql", None)
        if extra is not None and field not in skip:
            constraint = extra(dialect)
            if constraint:
                constraints.append(constraint)
    for group in meta.unique_together:
        cols = [meta.fields_map[n].column if n != "pk" else meta.pk_column for n in group]
        columns.append(
            f"CONSTRAINT {q(_name('uid', meta.table, cols))} UNIQUE ({', '.join(q(c) for c in cols)})"
        )
    columns += constraints
    exists = "IF NOT EXISTS " if safe else ""
    statements = [f"CREATE TABLE {exists}{q(meta.table)} ({', '.join(columns)})"]
    indexes: list[tuple[tuple[str, ...], bool, str | None]] = []
    for field in meta.fields:
        if field.index and not field.unique:
            indexes.append(((field.column,), False, None))
    for index in meta.indexes:
        if isinstance(index, Index):
            index_cols = tuple(
                meta.fields_map[n].column if n != "pk" else meta.pk_column for n in index.fields
            )
            indexes.append((index_cols, index.unique, index.name))
        else:
            index_cols = tuple(meta.fields_map[n].column if n != "pk" else meta.pk_column for n in index)
            indexes.append((index_cols, False, None))
    for index_cols, unique, name in indexes:
        index_name = name or _name("uidx" if unique else "idx", meta.table, index_cols)
        statements.append(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {exists}{q(index_name)} ON {q(meta.table)} "
            f"({', '.join(q(c) for c in index_cols)})"
        )
    if meta.description:
        statements += dialect.table_comment_sql(meta.table, meta.description)
    for field in meta.fields:
        if field.description:
            statements += dialect.column_comment_sql(meta.table, field.column, field.description)
    return statements


def schema_statements(models: Iterable[type[Model]], dialect: Dialect, safe: bool = True) -> list[str]:
    ordered = dependency_order(models)
    wanted = set(ordered)
    created: set[type[Model]] = set()
    out: list[str] = []
    deferred: list[str] = []
    for model in ordered:
        late: list[Field[Any]] = []
        if not dialect.inline_forward_references:
            # Tables referencing each other (a cycle): add the later table's key afterwards.
            for field in model._meta.fields:
                target = getattr(field, "related_model", None)
                if target is not None and target is not model and target in wanted and target not in created:
                    late.append(field)
        out += table_statements(model, dialect, safe, late)
        for field in late:
            constraint = field.constraint_sql(dialect)  # type: ignore[attr-defined]
            if constraint:
                name = _name("fk", model._meta.table, [field.column])
                deferred.append(dialect.add_constraint_sql(model._meta.table, name, constraint, safe))
        created.add(model)
    return out + deferred


def describe_schema(models: Iterable[type[Model]], dialect: Dialect, safe: bool = False) -> str:
    return ";\n".join(schema_statements(models, dialect, safe)) + ";"


__all__ = ["dependency_order", "describe_schema", "schema_statements", "table_statements"]
