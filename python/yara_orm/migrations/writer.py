"""Writing operations as a plain-Python migration file."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import importlib
import uuid
from typing import Any

from ..models.meta import Index
from . import operations as ops
from .state import FieldDecl, Ref, deconstruct


class _Imports:
    def __init__(self) -> None:
        self.modules: set[str] = set()
        self.names: set[str] = set()
        self.fields = False


def serialize(value: Any, imports: _Imports) -> str:
    if isinstance(value, Ref):
        if value.path.startswith("builtins.") and value.path.count(".") == 1:
            return value.path.split(".", 1)[1]  # dict, list...: no import needed
        module = _importable_module(value.path)
        imports.modules.add(module)
        return value.path
    if isinstance(value, enum.Enum):
        cls = type(value)
        imports.modules.add(cls.__module__)
        return f"{cls.__module__}.{cls.__qualname__}.{value.name}"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool | int | float | bytes | type(None)):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        imports.modules.add("decimal")
        return f"decimal.Decimal({str(value)!r})"
    if isinstance(value, uuid.UUID):
        imports.modules.add("uuid")
        return f"uuid.UUID({str(value)!r})"
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        imports.modules.add("datetime")
        return f"datetime.{value!r}"
    if isinstance(value, tuple):
        inner = ", ".join(serialize(v, imports) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(serialize(v, imports) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{serialize(k, imports)}: {serialize(v, imports)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, Index):
        imports.names.add("from yara_orm.models import Index")
        args = [_string(f) for f in value.fields]
        if value.name:
            args.append(f"name={_string(value.name)}")
        if value.unique:
            args.append("unique=True")
        if value.kind is not None:
            args.append(f"kind={_string(value.kind)}")
        return f"Index({', '.join(args)})"
    if isinstance(value, ops.Unique):
        return f"ops.Unique({', '.join(_string(f) for f in value.fields)})"
    raise ValueError(f"cannot write {value!r} into a migration file")


def _string(value: str) -> str:
    """Double-quoted like the formatter writes them (repr's quoting when that is simpler)."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return repr(value)


def _s(value: object) -> str:
    return _string(value) if isinstance(value, str) else repr(value)


def _importable_module(path: str) -> str:
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:cut])
        try:
            importlib.import_module(candidate)
        except ImportError:
            continue
        return candidate
    return parts[0]


def serialize_field(decl: FieldDecl, name: str, imports: _Imports) -> str:
    constructor, kwargs = deconstruct(decl, name)
    if "." in constructor:
        imports.modules.add(_importable_module(constructor))
        call = constructor
    else:
        imports.fields = True
        call = f"fields.{constructor}"
    args: list[str] = []
    if "model_name" in kwargs:
        args.append(serialize(kwargs.pop("model_name"), imports))
    args += [f"{k}={serialize(v, imports)}" for k, v in kwargs.items()]
    return f"{call}({', '.join(args)})"


def serialize_operation(op: ops.Operation, imports: _Imports, indent: str = "    ") -> str:
    inner = indent + "    "
    if isinstance(op, ops.CreateModel):
        lines = [f"{indent}ops.CreateModel(", f"{inner}{_string(op.name)},", f"{inner}fields=["]
        for fname, decl in op.fields:
            lines.append(f"{inner}    ({_string(fname)}, {serialize_field(decl, fname, imports)}),")
        lines.append(f"{inner}],")
        lines.append(f"{inner}table={_string(op.table)},")
        if op.options:
            lines.append(f"{inner}options={serialize(op.options, imports)},")
        lines.append(f"{indent})")
        return "\n".join(lines)
    if isinstance(op, ops.AddField | ops.AlterField):
        kind = type(op).__name__
        code = serialize_field(op.field, op.name, imports)
        return f"{indent}ops.{kind}({_string(op.model_name)}, {_string(op.name)}, {code})"
    args: list[str]
    if isinstance(op, ops.DeleteModel):
        args = [_s(op.name)]
    elif isinstance(op, ops.RenameModel):
        args = [_s(op.old_name), _s(op.new_name)]
        if op.table:
            args.append(f"table={_string(op.table)}")
    elif isinstance(op, ops.AlterModelTable):
        args = [_s(op.name), _s(op.table)]
    elif isinstance(op, ops.AlterModelComment):
        args = [_s(op.name), _s(op.description)]
    elif isinstance(op, ops.RemoveField):
        args = [_s(op.model_name), _s(op.name)]
    elif isinstance(op, ops.RenameField):
        args = [_s(op.model_name), _s(op.old_name), _s(op.new_name)]
    elif isinstance(op, ops.AddIndex | ops.RemoveIndex):
        args = [_s(op.model_name), serialize(op.index, imports)]
        if op.concurrently:
            args.append("concurrently=True")
    elif isinstance(op, ops.AddConstraint | ops.RemoveConstraint):
        args = [_s(op.model_name), serialize(op.constraint, imports)]
    elif isinstance(op, ops.RunSQL):
        args = [serialize(op.forward, imports)]
        if op.backward is not None:
            args.append(f"backward={serialize(op.backward, imports)}")
    else:
        raise ValueError(f"cannot write {op!r} into a migration file")
    return f"{indent}ops.{type(op).__name__}({', '.join(args)})"


def render_migration(
    dependencies: list[tuple[str, str]],
    operations: list[ops.Operation],
    header: str,
    replaces: list[tuple[str, str]] | None = None,
) -> str:
    imports = _Imports()
    body = [serialize_operation(op, imports) + "," for op in operations]
    lines = [f'"""{header}"""', ""]
    for module in sorted(imports.modules):
        lines.append(f"import {module}")
    if imports.modules:
        lines.append("")
    if imports.fields:
        lines.append("from yara_orm import fields")
    lines.append(
        "from yara_orm.migrations import operations as ops" + ("" if operations else "  # noqa: F401")
    )
    for name in sorted(imports.names):
        lines.append(name)
    if dependencies:
        lines += ["", "dependencies = ["]
        lines += [f"    ({_string(a)}, {_string(n)})," for a, n in dependencies]
        lines += ["]"]
    else:
        lines += ["", "dependencies: list[tuple[str, str]] = []"]
    if replaces:
        lines += ["", "# A squashed migration: it stands for these (see docs/migrations.md).", "replaces = ["]
        lines += [f"    ({_string(a)}, {_string(n)})," for a, n in replaces]
        lines += ["]"]
    lines += ["", "operations = ["]
    lines += body
    lines += ["]", ""]
    return "\n".join(lines)
