"""``Model.bulk_get_or_create`` / ``Model.bulk_update_or_create``: many get-or-create calls in a
few statements (one SELECT per batch of keys, one ``bulk_create``, one ``bulk_update``).

Records are dicts of field values; ``key_fields`` say which of them identify an existing row.
Keys are compared after each field's own coercion, so ``{"code": "7"}`` finds the row whose
integer ``code`` is 7. A key repeated within the input resolves to one instance, created once.
Results come back as ``(instance, created)`` in input order (``created`` is True for the first
record of a new key only). Unlike the single-row methods these
are not race-safe against concurrent writers of the same keys: a unique constraint on the keys
turns such a race into an IntegrityError.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import FieldError, ParamsError
from .expressions import Q

if TYPE_CHECKING:
    from ..fields.base import Field
    from ..models.model import Model

M = TypeVar("M", bound="Model")
Key = tuple[Any, ...]


def _key_fields(model: type[Model], key_fields: Iterable[str]) -> list[tuple[str, Field[Any]]]:
    keys = list(key_fields)
    if not keys:
        raise ParamsError("bulk get/update-or-create needs at least one key field")
    meta = model._meta
    out = []
    for name in keys:
        field = meta.lookup_field(name)
        if field is None:
            raise FieldError(
                f"unknown key field {name!r} on {model.__name__}; valid: {', '.join(meta.fields_map)}"
            )
        out.append((name, field))
    return out


def _key(record: dict[str, Any], keys: list[tuple[str, Field[Any]]]) -> Key:
    try:
        return tuple(field.to_python(record[name]) for name, field in keys)
    except KeyError as exc:
        raise ParamsError(f"a record lacks the key field {exc.args[0]!r}") from None


def _obj_key(obj: Model, keys: list[tuple[str, Field[Any]]]) -> Key:
    return tuple(obj.__dict__.get(field.model_field_name) for _name, field in keys)


async def _existing(
    model: type[M], wanted: list[Key], keys: list[tuple[str, Field[Any]]], batch_size: int, using_db: Any
) -> dict[Key, M]:
    found: dict[Key, M] = {}
    names = [field.model_field_name for _name, field in keys]
    for start in range(0, len(wanted), batch_size):
        chunk = wanted[start : start + batch_size]
        if len(names) == 1:
            cond = Q(**{f"{names[0]}__in": [k[0] for k in chunk]})  # type: ignore[arg-type]
        else:
            cond = reduce(lambda a, b: a | b, (Q(**dict(zip(names, k, strict=True))) for k in chunk))
        qs = model._default_qs().filter(cond)
        if using_db is not None:
            qs = qs.using_db(using_db)
        for obj in await qs:
            found.setdefault(_obj_key(obj, keys), obj)
    return found


async def bulk_get_or_create(
    model: type[M],
    records: Iterable[dict[str, Any]],
    key_fields: Iterable[str],
    defaults: dict[str, Any] | None,
    batch_size: int,
    using_db: Any = None,
) -> list[tuple[M, bool]]:
    rows = list(records)
    keys = _key_fields(model, key_fields)
    if not rows:
        return []
    row_keys = [_key(r, keys) for r in rows]
    known: dict[Key, M] = await _existing(model, list(dict.fromkeys(row_keys)), keys, batch_size, using_db)
    fresh: dict[Key, M] = {}
    for record, key in zip(rows, row_keys, strict=True):
        if key not in known and key not in fresh:
            fresh[key] = model(**{**record, **(defaults or {})})
    if fresh:
        await model.bulk_create(list(fresh.values()), batch_size=batch_size, using_db=using_db)
    return _results(row_keys, known, fresh)


def _results(row_keys: list[Key], known: dict[Key, M], fresh: dict[Key, M]) -> list[tuple[M, bool]]:
    out: list[tuple[M, bool]] = []
    reported: set[Key] = set()
    for key in row_keys:
        if key in known:
            out.append((known[key], False))
        else:
            out.append((fresh[key], key not in reported))
            reported.add(key)
    return out


async def bulk_update_or_create(
    model: type[M],
    records: Iterable[dict[str, Any]],
    key_fields: Iterable[str],
    update_fields: Iterable[str] | None,
    batch_size: int,
    using_db: Any = None,
) -> list[tuple[M, bool]]:
    rows = list(records)
    keys = _key_fields(model, key_fields)
    if not rows:
        return []
    key_names = {name for name, _field in keys}
    if update_fields is not None:
        updates = list(update_fields)
    else:  # every non-key field any record mentions
        updates = list(dict.fromkeys(f for r in rows for f in r if f not in key_names))
    row_keys = [_key(r, keys) for r in rows]
    known: dict[Key, M] = await _existing(model, list(dict.fromkeys(row_keys)), keys, batch_size, using_db)
    fresh: dict[Key, M] = {}
    changed: dict[int, M] = {}
    for record, key in zip(rows, row_keys, strict=True):
        if key in known:
            obj = known[key]
            for name in updates:
                if name in record:
                    setattr(obj, name, record[name])
            changed[id(obj)] = obj
        elif key in fresh:
            # A later record with the same new key wins, as a later update would.
            obj = fresh[key]
            for name, value in record.items():
                setattr(obj, name, value)
        else:
            fresh[key] = model(**record)
    if changed and updates:
        await model.bulk_update(list(changed.values()), updates, batch_size=batch_size, using_db=using_db)
    if fresh:
        await model.bulk_create(list(fresh.values()), batch_size=batch_size, using_db=using_db)
    return _results(row_keys, known, fresh)
