"""Decode plans: turn positional rows into instances, dicts, tuples or values.

A :class:`DecodePlan` is computed once per query shape (and cached with it). It holds what
each column becomes and builds, on first use, whichever decoder the executor needs: the
engine's ``InstanceSpec`` (the engine builds instances straight from the rows, no tuple per
row) or a Python decoder. Python decoders of cached shapes are compiled to a small function,
so the per-row work is one dict display (instances skip ``__init__``) and only the columns
that need a conversion pay for a call; one-off shapes use generic loops instead of paying for
code generation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import _engine
from ..fields.deferred import guard_unloaded_fields
from ..relations import CACHE
from . import ir

if TYPE_CHECKING:
    from ..dialects.base import Dialect
    from ..fields.base import Field

Row = tuple[Any, ...]
Converter = Callable[[Any], Any]
RowsDecoder = Callable[[list[Row]], list[Any]]


class ResultMode(enum.StrEnum):
    """What a query's rows become."""

    INSTANCES = "instances"
    DICTS = "dicts"  # values()
    TUPLES = "tuples"  # values_list()
    FLAT = "flat"  # values_list(flat=True)


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
        return column_converter(field, dialect)
    if not dialect.typed_expressions:
        return _lenient(field)
    key = field.type_key
    if key in ("smallint", "int", "bigint") and field.from_db is None:
        return _to_int
    if key == "float":
        return _to_float
    return field.from_db  # type: ignore[no-any-return]


def column_converter(field: Field[Any], dialect: Dialect) -> Converter | None:
    """How a column's stored value becomes the field's value, or None when it needs nothing."""
    if field.from_db is None and not dialect.column_types_bound_values:
        return stored_range(field)
    return field.from_db


def stored_range(field: Field[Any]) -> Converter | None:
    """The read-side range check of an integer or decimal field (see
    ``Dialect.column_types_bound_values``), or None for other fields."""
    label = f"{field.qualified_name} ({type(field).__name__})"
    if field.type_key in ("smallint", "int", "bigint"):
        lo, hi = getattr(field, "min_value", None), getattr(field, "max_value", None)
        if isinstance(lo, int) and isinstance(hi, int):
            return _engine.StoredRange(label, lo=lo, hi=hi)
    if field.type_key == "decimal":
        digits, places = getattr(field, "max_digits", None), getattr(field, "decimal_places", None)
        if isinstance(digits, int) and isinstance(places, int):
            return _engine.StoredRange(label, max_digits=digits, decimal_places=places)
    return None


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
    if loaded is not None:
        guard_unloaded_fields(cls)
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
    if loaded is not None:
        guard_unloaded_fields(cls)
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


# -- select_related ---------------------------------------------------------------------------------


class RelatedColumns:
    """Where one select_related relation's columns sit in the row."""

    __slots__ = ("decode_row", "name", "parent", "pk_index", "start", "stop")

    def __init__(self, parent: int, name: str, start: int, stop: int, pk_index: int) -> None:
        self.parent = parent  # index into the decoded objects of the row (0 = the main instance)
        self.name = name  # the relation's name on the parent
        self.start = start
        self.stop = stop
        self.pk_index = pk_index
        self.decode_row: Callable[[Row], Any] | None = None


def related_decoder(
    base_count: int, decode_base: Callable[[Row], Any], related: list[RelatedColumns]
) -> Callable[[list[Row]], list[Any]]:
    """Decode rows into main instances whose select_related relations are filled in.

    Each joined object goes into its parent's relation cache (``__dict__[relations.CACHE]``),
    written here inline rather than through ``relations.set_cached`` (a call per row and
    relation)."""
    plan = [(r.parent, r.name, r.start, r.stop, r.start + r.pk_index, r.decode_row) for r in related]
    if len(plan) == 1:
        # The common case, one relation: one dict display per row.
        _, name, start, stop, pk_at, decode_row = plan[0]
        assert decode_row is not None

        def decode_one(rows: list[Row]) -> list[Any]:
            out = []
            for row in rows:
                obj = decode_base(row[:base_count])
                obj.__dict__[CACHE] = {name: None if row[pk_at] is None else decode_row(row[start:stop])}
                out.append(obj)
            return out

        return decode_one

    def decode(rows: list[Row]) -> list[Any]:
        out = []
        for row in rows:
            obj = decode_base(row[:base_count])
            objs = [obj]
            for parent, name, start, stop, pk_at, decode_row in plan:
                owner = objs[parent]
                child = None if row[pk_at] is None else decode_row(row[start:stop])  # type: ignore[misc]
                objs.append(child)
                if owner is not None:
                    d = owner.__dict__
                    cache = d.get(CACHE)
                    if cache is None:
                        d[CACHE] = {name: child}
                    else:
                        cache[name] = child
            out.append(obj)
        return out

    return decode


# -- the plan -------------------------------------------------------------------------------------


def engine_builds_instances(executor: Any) -> bool:
    """Whether ``executor``'s backend builds instances itself (the optional ``fetch_instances``
    part of the protocol, see yara_orm.backends; otherwise Python decodes its rows)."""
    return bool(executor.features.fetch_instances)


class DecodePlan:
    """How the rows of one query shape become results; decoders are built on first use."""

    __slots__ = (
        "_python",
        "_spec",
        "base_count",
        "cls",
        "converters",
        "generated",
        "loaded",
        "mode",
        "names",
        "related",
    )

    def __init__(
        self,
        mode: ResultMode,
        cls: type,
        names: Sequence[str],
        converters: Sequence[Converter | None],
        loaded: frozenset[str] | None = None,
        related: Sequence[RelatedColumns] = (),
        base_count: int | None = None,
        generated: bool = True,
    ) -> None:
        self.mode = mode
        self.cls = cls
        self.names = list(names)
        self.converters = list(converters)
        self.loaded = loaded
        self.related = list(related)
        # Columns of the main model (select_related appends the related models' after them).
        self.base_count = len(self.names) if base_count is None else base_count
        # Generate code for the Python decoder (worth it for shapes that are cached and reused).
        self.generated = generated
        self._python: RowsDecoder | None = None
        self._spec: Any = None

    @property
    def engine_spec(self) -> Any:
        """The engine's ``InstanceSpec`` for these rows, or None when the engine cannot build
        the results (dicts, tuples, or select_related's nested instances)."""
        if self.mode is not ResultMode.INSTANCES or self.related:
            return None
        spec = self._spec
        if spec is None:
            extra = None
            if self.loaded is not None:
                guard_unloaded_fields(self.cls)
                extra = {"_loaded": self.loaded}
            spec = self._spec = _engine.InstanceSpec(self.cls, self.names, self.converters, extra)
        return spec

    @property
    def python(self) -> RowsDecoder:
        """The Python decoder of fetched rows."""
        decoder = self._python
        if decoder is None:
            decoder = self._python = self._build_python()
        return decoder

    def __call__(self, rows: list[Row]) -> list[Any]:
        return self.python(rows)

    def _build_python(self) -> RowsDecoder:
        if self.mode is ResultMode.INSTANCES:
            return self._build_python_unchecked(self.converters)
        # Range checks run over all rows in one engine call, not as a call per cell.
        checks = [(i, c) for i, c in enumerate(self.converters) if isinstance(c, _engine.StoredRange)]
        if not checks:
            return self._build_python_unchecked(self.converters)
        decode = self._build_python_unchecked(
            [None if isinstance(c, _engine.StoredRange) else c for c in self.converters]
        )
        check_rows = _engine.StoredRange.check_rows

        def checked(rows: list[Row]) -> list[Any]:
            check_rows(rows, checks)
            return decode(rows)

        return checked

    def _build_python_unchecked(self, converters: Sequence[Converter | None]) -> RowsDecoder:
        names, mode = self.names, self.mode
        if mode is ResultMode.INSTANCES and self.related:
            n = self.base_count
            decode_base = instance_decoder(self.cls, names[:n], converters[:n], self.loaded)[1]
            return related_decoder(n, decode_base, self.related)
        if mode is ResultMode.INSTANCES:
            if self.generated:
                return instance_decoder(self.cls, names, converters, self.loaded)[0]
            return generic_instance_decoder(self.cls, names, converters, self.loaded)
        if mode is ResultMode.DICTS:
            return (
                dict_decoder(names, converters) if self.generated else generic_dict_decoder(names, converters)
            )
        if mode is ResultMode.TUPLES:
            return tuple_decoder(converters) if self.generated else generic_tuple_decoder(converters)
        return flat_decoder(converters[0])

    async def fetch(self, executor: Any, sql: str, params: list[Any]) -> list[Any]:
        """Run ``sql`` on ``executor`` and decode its rows the fastest way it supports."""
        spec = self.engine_spec
        if spec is not None and engine_builds_instances(executor):
            result: list[Any] = await executor.fetch_instances(sql, params, spec)
            return result
        return self.python(await executor.fetch(sql, params))

    async def fetch_chunk(self, cursor: Any, features: Any) -> tuple[list[Any], int]:
        """The next chunk of a server-side cursor, decoded: (results, rows fetched). ``features``
        (the pool's) says whether its cursors build instances themselves."""
        spec = self.engine_spec
        if spec is not None and features.fetch_chunk_instances:
            items: list[Any] = await cursor.fetch_chunk_instances(spec)
            return items, len(items)
        rows = await cursor.fetch_chunk()
        return self.python(rows), len(rows)
