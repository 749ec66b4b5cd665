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


def column_ref(model: type[Model], name: str) -> str:
    """The column of field ``name`` (``"pk"`` is the primary key) in ``model``'s table."""
    meta = model._meta
    return meta.pk_column if name == "pk" else meta.fields_map[name].column


def unique_together_sql(model: type[Model], dialect: Dialect, group: Iterable[str]) -> str:
    """``CONSTRAINT "uid_..." UNIQUE (...)``: one ``unique_together`` group as a table constraint."""
    q = dialect.quote
    cols = [column_ref(model, n) for n in group]
    name = unique_together_name(model._meta.table, cols)
    return f"CONSTRAINT {q(name)} UNIQUE ({', '.join(q(c) for c in cols)})"


def unique_together_name(table: str, columns: Iterable[str]) -> str:
    return _name("uid", table, columns)


def index_specs(model: type[Model]) -> list[tuple[tuple[str, ...], bool, str]]:
    """Every index of ``model`` besides unique constraints: (columns, unique, name)."""
    meta = model._meta
    specs: list[tuple[tuple[str, ...], bool, str | None]] = []
    for field in meta.fields:
        if field.index and not field.unique:
            specs.append(((field.column,), False, None))
    for index in meta.indexes:
        if isinstance(index, Index):
            specs.append((tuple(column_ref(model, n) for n in index.fields), index.unique, index.name))
        else:
            specs.append((tuple(column_ref(model, n) for n in index), False, None))
    return [(cols, unique, name or index_name(meta.table, cols, unique)) for cols, unique, name in specs]


def index_name(table: str, columns: Iterable[str], unique: bool = False) -> str:
    return _name("uidx" if unique else "idx", table, columns)


def create_index_sql(
    dialect: Dialect,
    table: str,
    name: str,
    columns: Iterable[str],
    unique: bool,
    safe: bool = False,
    model: type[Model] | None = None,
) -> str:
    """CREATE INDEX; ``model`` (the table's) lets the dialect see the columns' types (MySQL
    indexes a TEXT column by a prefix)."""
    q = dialect.quote
    exists = "IF NOT EXISTS " if safe else ""
    return (
        f"CREATE {'UNIQUE ' if unique else ''}INDEX {exists}{q(name)} ON {q(table)} "
        f"({index_columns_sql(dialect, columns, unique, model)})"
    )


def index_columns_sql(
    dialect: Dialect, columns: Iterable[str], unique: bool, model: type[Model] | None = None
) -> str:
    types = {f.column: f.type_key for f in model._meta.fields} if model is not None else {}
    return ", ".join(dialect.index_column_sql(c, types.get(c), unique) for c in columns)


def index_kinds(model: type[Model]) -> dict[str, str]:
    """Index name -> kind, for the indexes of ``model`` that are not plain (``FullTextIndex``)."""
    table = model._meta.table
    out: dict[str, str] = {}
    for index in model._meta.indexes:
        if isinstance(index, Index) and index.kind is not None:
            cols = [column_ref(model, n) for n in index.fields]
            out[index.name or index_name(table, cols, index.unique)] = index.kind
    return out


def create_kind_index_sql(
    dialect: Dialect, table: str, name: str, columns: Iterable[str], kind: str, safe: bool = False
) -> str | None:
    """CREATE INDEX of a special ``kind`` (``"fulltext"``); None where the dialect has no such
    index (then none is made)."""
    prefix = dialect.index_kind_prefix_sql(kind)
    if prefix is None:
        return None
    exists = "IF NOT EXISTS " if safe else ""
    q = dialect.quote
    return f"{prefix} {exists}{q(name)} ON {q(table)} ({', '.join(q(c) for c in columns)})"


def create_table_sql(
    model: type[Model],
    dialect: Dialect,
    safe: bool = True,
    late: Iterable[Field[Any]] = (),
    table: str | None = None,
) -> str:
    """CREATE TABLE for ``model`` (named ``table`` when given: the SQLite rebuild creates the new
    table under a temporary name); foreign keys of the fields in ``late`` are left out."""
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
        columns.append(unique_together_sql(model, dialect, group))
    columns += constraints
    exists = "IF NOT EXISTS " if safe else ""
    options = dialect.table_options_sql()
    return f"CREATE TABLE {exists}{q(table or meta.table)} ({', '.join(columns)}){options}"


def index_statements(model: type[Model], dialect: Dialect, safe: bool = True) -> list[str]:
    table = model._meta.table
    kinds = index_kinds(model)
    out: list[str] = []
    for cols, unique, name in index_specs(model):
        kind = kinds.get(name)
        if kind is None:
            out.append(create_index_sql(dialect, table, name, cols, unique, safe, model))
        elif (sql := create_kind_index_sql(dialect, table, name, cols, kind, safe)) is not None:
            out.append(sql)
    return out


def comment_statements(model: type[Model], dialect: Dialect) -> list[str]:
    meta = model._meta
    statements: list[str] = []
    if meta.description:
        statements += dialect.table_comment_sql(meta.table, meta.description)
    for field in meta.fields:
        if field.description:
            statements += dialect.column_comment_sql(meta.table, field.column, field.description)
    return statements


def table_statements(
    model: type[Model], dialect: Dialect, safe: bool = True, late: Iterable[Field[Any]] = ()
) -> list[str]:
    """CREATE TABLE/INDEX for ``model``; foreign keys of the fields in ``late`` are left out (they
    reference a table created later, see :func:`schema_statements`)."""
    return [
        create_table_sql(model, dialect, safe, late),
        *index_statements(model, dialect, safe),
        *comment_statements(model, dialect),
    ]


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
                name = foreign_key_name(model._meta.table, field.column)
                deferred.append(dialect.add_constraint_sql(model._meta.table, name, constraint, safe))
        created.add(model)
    return out + deferred


def describe_schema(models: Iterable[type[Model]], dialect: Dialect, safe: bool = False) -> str:
    return ";\n".join(schema_statements(models, dialect, safe)) + ";"


def foreign_key_name(table: str, column: str) -> str:
    """The name of a foreign key added after its table (tables that reference each other)."""
    return _name("fk", table, [column])


__all__ = [
    "comment_statements",
    "create_index_sql",
    "create_kind_index_sql",
    "create_table_sql",
    "dependency_order",
    "describe_schema",
    "foreign_key_name",
    "index_kinds",
    "index_specs",
    "index_statements",
    "schema_statements",
    "table_statements",
    "unique_together_sql",
]
