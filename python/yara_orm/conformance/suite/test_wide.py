"""Random wide rows: ~20 mixed nullable columns, ~5 % NULLs each.

On a mismatch each column is re-inserted alone (the others NULL) to name the culprit column(s),
so an interaction (a value shifting into its neighbour, a parameter off by one) is told apart
from a single type's conversion bug.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from yara_orm.conformance.kit import Kit
from yara_orm.conformance.types import expected_value, same_for, show


def _mostly(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` 95 % of the time, None 5 %: mapped from one draw, never filtered."""
    return st.tuples(st.integers(0, 99), strategy).map(lambda t: None if t[0] < 5 else t[1])


async def _mismatches(kit: Kit, values: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    model = kit.models.wide
    fmap = model._meta.fields_map
    obj = await model.create(**values)
    got = await model.get(id=obj.id)
    await model.filter(id=obj.id).delete()
    out = []
    for column, value in values.items():
        want = expected_value(fmap[column], value, kit.caps)
        have = getattr(got, column)
        if not same_for(fmap[column], want, have):
            out.append((column, value, want, have))
    return out


async def _culprits(kit: Kit, values: dict[str, Any]) -> list[str]:
    """Re-insert column by column; the columns that fail alone."""
    named = []
    for column, value in values.items():
        for col, wrote, want, have in await _mismatches(kit, {column: value}):
            case = kit.models.wide_types[col]
            named.append(
                f"column {col!r} ({case.name}) alone: wrote {show(wrote)}, "
                f"expected back {show(want)}, read back {show(have)}"
            )
    return named


@given(data=st.data())
def test_wide_rows(kit: Kit, data: st.DataObject) -> None:
    values = {
        column: data.draw(_mostly(case.strategy(kit.caps)), label=f"{column} ({case.name})")
        for column, case in kit.models.wide_types.items()
    }
    bad = kit.run(_mismatches(kit, values))
    if not bad:
        return
    lines = [
        f"column {col!r} ({kit.models.wide_types[col].name}): wrote {show(wrote)}, read back {show(have)}"
        for col, wrote, _, have in bad
    ]
    culprits = kit.run(_culprits(kit, values))
    if culprits:
        names = ", ".join(f"{c} ({kit.models.wide_types[c].name})" for c, *_ in bad)
        head = f"wide row changed on the way back; culprit column(s): {names}"
        verdict = "re-inserted alone:\n  " + "\n  ".join(culprits)
    else:
        head = "wide row changed on the way back, but every column round-trips alone"
        verdict = "the failure comes from the combination of columns"
    raise AssertionError(head + "\n  " + "\n  ".join(lines) + "\n" + verdict)
