"""Decode plans: turn positional rows into instances, dicts or tuples.

A plan is computed once per query shape and compiled to a small Python function, so the
per-row work is one dict display (instances skip ``__init__``), and only the columns that need
a conversion pay for a call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import ir

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..fields.base import Field

Row = tuple[Any, ...]
Converter = Callable[[Any], Any]
RowsDecoder = Callable[[list[Row]], list[Any]]


def _to_int(value: Any) -> Any:
    return None if value is None else int(value)


def _to_float(value: Any) -> Any:
    return None if value is None else float(value)


def _lenient(field: Field[Any]) -> Converter:
    parse = field.parse_raw

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return parse(value)
        except Exception:
            # An expression whose result does not fit its nominal field type (e.g. text
            # concatenated past a CharField's max_length) comes back as the database gave it.
            return value

    return convert


def converter_for(node: ir.Node, dialect: Dialect) -> Converter | None:
    """How a selected expression's value is converted, or None when it needs nothing."""
    field = node.output_field
    if field is None:
        return None
    if isinstance(node, ir.Column):
        return field.from_db  # type: ignore[no-any-return]
    if not dialect.typed_expressions:
        return _lenient(field)
    key = field.type_key
    if key in ("smallint", "int", "bigint") and field.from_db is None:
        return _to_int
    if key == "float":
        return _to_float
    return field.from_db  # type: ignore[no-any-return]


def _compile(name: str, source: str, namespace: dict[str, Any]) -> Any:
    exec(compile(source, f"<yara_orm decode {name}>", "exec"), namespace)
    return namespace[name]


def _cells(converters: Sequence[Converter | None], namespace: dict[str, Any], row: str = "r") -> list[str]:
    cells = []
    for i, conv in enumerate(converters):
        if conv is None:
            cells.append(f"{row}[{i}]")
        else:
            namespace[f"c{i}"] = conv
            cells.append(f"c{i}({row}[{i}])")
    return cells


def instance_decoder(
    cls: type, names: Sequence[str], converters: Sequence[Converter | None], loaded: frozenset[str] | None
) -> tuple[RowsDecoder, Callable[[Row], Any]]:
    """Functions building instances of ``cls`` from rows (a list, and a single row).

    The generated loop unpacks each row into locals and assigns one dict display as the
    instance's ``__dict__``: no ``__init__``, no per-cell calls for columns that need no
    conversion."""
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__, "loaded": loaded}
    cells = []
    for i, conv in enumerate(converters):
        if conv is None:
            cells.append(f"v{i}")
        else:
            namespace[f"c{i}"] = conv
            cells.append(f"c{i}(v{i})")
    items = [f"{name!r}: {cell}" for name, cell in zip(names, cells, strict=True)]
    if loaded is not None:
        items.append("'_loaded': loaded")
    display = "{" + ", ".join(items) + "}"
    unpack = ", ".join(f"v{i}" for i in range(len(names))) + ("," if len(names) == 1 else "")
    source = (
        "def decode_rows(rows):\n"
        "    out = []\n"
        "    append = out.append\n"
        f"    for {unpack} in rows:\n"
        "        o = new(cls)\n"
        f"        o.__dict__ = {display}\n"
        "        append(o)\n"
        "    return out\n"
        "def decode_row(r):\n"
        f"    {unpack} = r\n"
        "    o = new(cls)\n"
        f"    o.__dict__ = {display}\n"
        "    return o\n"
    )
    exec(compile(source, "<yara_orm decode instances>", "exec"), namespace)
    return namespace["decode_rows"], namespace["decode_row"]


class EngineInstanceDecoder:
    """An instance decoder the engine can run itself: ``spec`` tells it which attribute each
    column fills and which columns need a converter, so rows become instances in one pass
    without a tuple per row. ``decode`` does the same in Python, for executors without
    ``fetch_instances`` (a third-party backend) and for rows fetched another way."""

    __slots__ = ("decode", "spec")

    def __init__(self, decode: RowsDecoder, spec: Any) -> None:
        self.decode = decode
        self.spec = spec

    def __call__(self, rows: list[Row]) -> list[Any]:
        return self.decode(rows)


def engine_instance_decoder(
    cls: type, names: Sequence[str], converters: Sequence[Converter | None], loaded: frozenset[str] | None
) -> EngineInstanceDecoder:
    from .. import _engine

    extra = None if loaded is None else {"_loaded": loaded}
    spec = _engine.InstanceSpec(cls, list(names), list(converters), extra)
    return EngineInstanceDecoder(instance_decoder(cls, names, converters, loaded)[0], spec)


def dict_decoder(names: Sequence[str], converters: Sequence[Converter | None]) -> RowsDecoder:
    namespace: dict[str, Any] = {}
    items = [f"{name!r}: {cell}" for name, cell in zip(names, _cells(converters, namespace), strict=True)]
    source = f"def decode_dicts(rows):\n    return [{{{', '.join(items)}}} for r in rows]\n"
    decoder: RowsDecoder = _compile("decode_dicts", source, namespace)
    return decoder


def tuple_decoder(converters: Sequence[Converter | None]) -> RowsDecoder:
    if all(c is None for c in converters):
        return _identity
    namespace: dict[str, Any] = {}
    cells = _cells(converters, namespace)
    source = f"def decode_tuples(rows):\n    return [({', '.join(cells)},) for r in rows]\n"
    decoder: RowsDecoder = _compile("decode_tuples", source, namespace)
    return decoder


def flat_decoder(converter: Converter | None) -> RowsDecoder:
    if converter is None:
        return _first
    conv = converter
    return lambda rows: [conv(r[0]) for r in rows]


def _identity(rows: list[Row]) -> list[Any]:
    return rows


def _first(rows: list[Row]) -> list[Any]:
    return [r[0] for r in rows]


def generic_instance_decoder(
    cls: type, names: Sequence[str], converters: Sequence[Converter | None], loaded: frozenset[str] | None
) -> RowsDecoder:
    """Like :func:`instance_decoder` without generating code (for one-off query shapes)."""
    new = object.__new__
    keys = tuple(names)
    conv = [(i, c) for i, c in enumerate(converters) if c is not None]

    def decode(rows: list[Row]) -> list[Any]:
        out: list[Any] = []
        for row in rows:
            values: Sequence[Any] = row
            if conv:
                cells = list(row)
                for i, c in conv:
                    cells[i] = c(cells[i])
                values = cells
            obj: Any = new(cls)
            data = dict(zip(keys, values, strict=True))
            if loaded is not None:
                data["_loaded"] = loaded
            obj.__dict__ = data
            out.append(obj)
        return out

    return decode


def generic_dict_decoder(names: Sequence[str], converters: Sequence[Converter | None]) -> RowsDecoder:
    keys = tuple(names)
    conv = [(i, c) for i, c in enumerate(converters) if c is not None]

    def decode(rows: list[Row]) -> list[Any]:
        out = []
        for row in rows:
            data = dict(zip(keys, row, strict=True))
            for i, c in conv:
                data[keys[i]] = c(row[i])
            out.append(data)
        return out

    return decode


def generic_tuple_decoder(converters: Sequence[Converter | None]) -> RowsDecoder:
    conv = [(i, c) for i, c in enumerate(converters) if c is not None]
    if not conv:
        return _identity

    def decode(rows: list[Row]) -> list[Any]:
        out = []
        for row in rows:
            cells = list(row)
            for i, c in conv:
                cells[i] = c(cells[i])
            out.append(tuple(cells))
        return out

    return decode
