"""A generated ``__init__`` per model.

``Model(**kwargs)`` runs once per new instance (bulk inserts build thousands), so each model
gets an ``__init__`` whose keyword parameters are its fields: Python binds the arguments, values
already of the right type pass an inline check (``Field.init_check``), and only the rest call the
field's coercion.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .meta import MetaInfo


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def make_init(meta: MetaInfo) -> Callable[..., None] | None:
    """The generated ``__init__`` for ``meta.model``, or None when a field name cannot be a
    Python parameter (the generic ``Model.__init__`` then handles it)."""
    names = [entry[0] for entry in meta.init_plan]
    if any(not n.isidentifier() or keyword.iskeyword(n) or n in ("self", "kwargs") for n in names):
        return None
    namespace: dict[str, Any] = {"MISSING": MISSING}
    params = ", ".join(f"{n}=MISSING" for n in names)
    lines = [f"def __init__(self, *, {params}, **kwargs):"]
    for i, ((name, coerce, factory, default), field) in enumerate(
        zip(meta.init_plan, meta.fields, strict=True)
    ):
        namespace[f"co{i}"] = coerce
        namespace[f"df{i}"] = default
        fallback = f"df{i}()" if factory else f"df{i}"
        check = field.init_check(name, namespace, f"k{i}")
        lines.append(f"    if {name} is MISSING:")
        lines.append(f"        {name} = {fallback}")
        if check is None:
            lines.append(f"    elif {name} is not None:")
        else:
            lines.append(f"    elif {name} is not None and not ({check}):")
        lines.append(f"        {name} = co{i}({name})")
    items = ", ".join(f"{n!r}: {n}" for n in names)
    lines.append(f"    self.__dict__ = {{'_saved_in_db': False, {items}}}")
    lines.append("    if kwargs:")
    lines.append("        self._init_extra(kwargs)")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<yara_orm __init__ {meta.model.__name__}>", "exec"), namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__doc__ = f"Create a {meta.model.__name__} (not saved until ``save()``)."
    init.__qualname__ = f"{meta.model.__qualname__}.__init__"
    init._yara_generated = True  # type: ignore[attr-defined]
    return init


def refresh_init(model: type) -> None:
    """Generate ``model``'s ``__init__`` again if it is ours, now that its foreign keys know
    their targets (their type checks can then be inlined too)."""
    if getattr(model.__dict__.get("__init__"), "_yara_generated", False):
        init = make_init(model._meta)  # type: ignore[attr-defined]
        if init is not None:
            model.__init__ = init  # type: ignore[misc]
