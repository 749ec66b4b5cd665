"""Type round-trips through the public ORM API: ``Model.create`` then ``Model.get``.

Each field type is checked on a NOT NULL column (``v``) and a nullable one (``n``), with a table
of edge values and with a hypothesis search whose ranges come from the capabilities. A failure
names the field type, the column and the value written and read back.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yara_orm.conformance.kit import Kit
from yara_orm.conformance.types import CASES_BY_NAME, TYPE_CASES, expected_value, same_for, show
from yara_orm.exceptions import DataError, ParamsError, ValidationError

NAMES = [case.name for case in TYPE_CASES]


def _requires(name: str) -> list[pytest.MarkDecorator]:
    req = CASES_BY_NAME[name].requires
    return [pytest.mark.requires(req)] if req else []


PARAMS = [pytest.param(name, marks=_requires(name), id=name) for name in NAMES]


async def roundtrip(kit: Kit, type_name: str, v: Any, n: Any) -> list[str]:
    """Write ``v`` and ``n``, read the row back; return one message per column that changed."""
    model = kit.models.roundtrip[type_name]
    fields_map = model._meta.fields_map
    obj = await model.create(v=v, n=n)
    got = await model.get(id=obj.id)
    problems = []
    for column, value in (("v", v), ("n", n)):
        want = expected_value(fields_map[column], value, kit.caps)
        have = getattr(got, column)
        if not same_for(fields_map[column], want, have):
            problems.append(
                f"{type_name} round-trip changed the value in column {column!r}: "
                f"wrote {show(value)} (expected back {show(want)}), read back {show(have)}"
            )
    # A row found by its own value proves the comparison works in SQL too (not for floats: NaN).
    checkable = not problems and type_name not in ("FloatField", "JSONField") and v is not None
    if checkable and not await model.filter(id=obj.id, v=v).exists():
        problems.append(f"{type_name}: filter(v={show(v)}) does not find the row just written")
    await model.filter(id=obj.id).delete()
    return problems


@pytest.mark.parametrize("type_name", PARAMS)
def test_edge_values(kit: Kit, type_name: str) -> None:
    """Each edge value of the type, as NOT NULL and as nullable, plus NULL itself."""
    case = CASES_BY_NAME[type_name]
    problems: list[str] = []
    for value in case.edges(kit.caps):
        problems += kit.run(roundtrip(kit, type_name, value, value))
    problems += kit.run(roundtrip(kit, type_name, case.edges(kit.caps)[0], None))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("type_name", PARAMS)
@given(data=st.data())
def test_roundtrip(kit: Kit, type_name: str, data: st.DataObject) -> None:
    """Random values of the type (ranges from the capabilities), nullable column sometimes NULL."""
    strategy = CASES_BY_NAME[type_name].strategy(kit.caps)
    v = data.draw(strategy, label=f"{type_name} value")
    n = data.draw(st.one_of(st.none(), strategy), label=f"{type_name} nullable value")
    problems = kit.run(roundtrip(kit, type_name, v, n))
    assert not problems, "\n".join(problems)


def _unrepresentable(caps: dict[str, Any]) -> list[tuple[str, Any, tuple[type[Exception], ...]]]:
    """``(field type, value, the exception classes allowed)``. Range and shape are the field's
    business (``ValidationError`` before any SQL); what only the backend can refuse is a
    ``DataError`` (or, for a parameter that cannot even be encoded, ``ParamsError``)."""
    cases: list[tuple[str, Any, tuple[type[Exception], ...]]] = [
        ("TextField", "lone \ud800 surrogate", (ParamsError, DataError)),
        ("SmallIntField", 2**15, (ValidationError,)),
        ("IntField", -(2**31) - 1, (ValidationError,)),
        ("BigIntField", 2**63, (ValidationError,)),
        ("DecimalField", "1e999", (ValidationError,)),
        ("UUIDField", "not-a-uuid", (ValidationError,)),
    ]
    if not caps.get("text_allows_nul"):
        cases.append(("TextField", "nul\x00inside", (DataError,)))
    if not caps.get("float_nan"):
        cases.append(("FloatField", float("nan"), (DataError,)))
    return cases


def test_unrepresentable_values_raise_clear_errors(kit: Kit) -> None:
    """A value the backend cannot store raises the library's exception for it (never a crash, a
    vaguer class or a silently changed value), and the pool stays usable."""
    problems: list[str] = []

    async def go() -> None:
        for type_name, value, allowed in _unrepresentable(kit.caps):
            model = kit.models.roundtrip[type_name]
            want = " or ".join(c.__name__ for c in allowed)
            try:
                obj = await model.create(v=value, n=None)
            except allowed:
                pass
            except Exception as exc:
                problems.append(
                    f"{type_name} {show(value)}: raised {type(exc).__name__} (expected {want}): {exc}"
                )
            else:
                got = await model.get(id=obj.id)
                problems.append(f"{type_name} {show(value)}: was accepted and read back as {show(got.v)}")
                await model.filter(id=obj.id).delete()
            await model.all().count()  # the pool still works

    kit.run(go())
    assert not problems, "\n".join(problems)


DATA_EXCEPTIONS = [
    "SELECT 1 / 0",
    "SELECT CAST('not a number' AS INTEGER)",
    "SELECT CAST(99999 AS SMALLINT)",
]


@pytest.mark.parametrize("sql", DATA_EXCEPTIONS, ids=["division_by_zero", "invalid_text", "out_of_range"])
def test_data_exceptions_are_data_errors(kit: Kit, sql: str) -> None:
    """Where the database raises a data exception (SQLSTATE class 22) it is a ``DataError``
    carrying that SQLSTATE. (A database that answers such a statement, as SQLite does with NULL
    or 0, is not wrong here: its answer is its semantics.)"""

    async def go() -> None:
        try:
            await kit.backend.fetch(sql)
        except DataError as exc:
            state = getattr(exc, "sqlstate", None)
            assert state is None or state.startswith("22"), f"{sql}: DataError with SQLSTATE {state!r}"
        except Exception as exc:
            raise AssertionError(
                f"{sql}: raised {type(exc).__name__} (SQLSTATE {getattr(exc, 'sqlstate', None)!r}), "
                "expected DataError"
            ) from exc
        assert await kit.backend.fetch("SELECT 1") == [(1,)]

    kit.run(go())
