"""Constraint violations raise ``IntegrityError`` carrying the SQLSTATE, and leave the pool usable."""

from __future__ import annotations

from typing import Any

import pytest

from yara_orm.conformance.kit import CHECKED_TABLE, Kit
from yara_orm.exceptions import IntegrityError, OperationalError, ProgrammingError
from yara_orm.transactions import in_transaction


def _check(exc: IntegrityError, sqlstate: str, what: str) -> None:
    assert exc.sqlstate == sqlstate, (
        f"{what}: IntegrityError carries sqlstate {exc.sqlstate!r}, expected {sqlstate!r} ({exc})"
    )


def test_unique_violation(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        await model.create(code="dup")
        with pytest.raises(IntegrityError) as info:
            await model.create(code="dup")
        _check(info.value, "23505", "unique violation")
        # The pool is still usable and the first row is intact.
        assert await model.filter(code="dup").count() == 1

    kit.run(go())


def test_unique_violation_in_transaction_rolls_back(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        await model.create(code="tx")
        with pytest.raises(IntegrityError) as info:
            async with in_transaction():
                await model.create(code="inside")
                await model.create(code="tx")
        _check(info.value, "23505", "unique violation inside a transaction")
        codes = sorted(r.code for r in await model.all())
        assert codes == ["tx"], f"rows after the rolled-back transaction: {codes}"

    kit.run(go())


def test_unique_violation_in_savepoint(kit: Kit) -> None:
    async def go() -> None:
        model = kit.models.uniq
        await kit.clear(model)
        async with in_transaction():
            await model.create(code="kept")
            with pytest.raises(IntegrityError):
                async with in_transaction():
                    await model.create(code="kept")
            # The savepoint rolled back; the outer transaction goes on.
            await model.create(code="after")
        codes = sorted(r.code for r in await model.all())
        assert codes == ["after", "kept"], f"rows after a failed savepoint: {codes}"

    kit.run(go())


def test_foreign_key_violation_on_insert(kit: Kit) -> None:
    async def go() -> None:
        await kit.clear(kit.models.child, kit.models.parent)
        parent = await kit.models.parent.create()
        await kit.models.child.create(parent_id=parent.id)
        with pytest.raises(IntegrityError) as info:
            await kit.models.child.create(parent_id=parent.id + 1000)
        _check(info.value, "23503", "foreign key violation on insert")
        assert await kit.models.child.all().count() == 1

    kit.run(go())


def test_foreign_key_violation_on_delete(kit: Kit) -> None:
    """Deleting a row still referenced (ON DELETE RESTRICT)."""

    async def go() -> None:
        await kit.clear(kit.models.child, kit.models.parent)
        parent = await kit.models.parent.create()
        await kit.models.child.create(parent_id=parent.id)
        with pytest.raises(IntegrityError) as info:
            await kit.models.parent.filter(id=parent.id).delete()
        _check(info.value, "23503", "foreign key violation on delete of a referenced row")

    kit.run(go())


def _checked_insert(kit: Kit) -> str:
    return f"INSERT INTO {CHECKED_TABLE} (id, n) VALUES ({kit.ph(1)}, {kit.ph(2)})"


@pytest.mark.parametrize(
    ("row", "sqlstate", "what"),
    [
        pytest.param((1, None), "23502", "NOT NULL violation", id="not_null_23502"),
        pytest.param((1, -5), "23514", "CHECK violation", id="check_23514"),
    ],
)
def test_constraint_violation_class(kit: Kit, row: tuple[Any, ...], sqlstate: str, what: str) -> None:
    """NOT NULL and CHECK violations are IntegrityError with their own SQLSTATE, on the pool and
    in a transaction (which then rolls back cleanly)."""

    async def go() -> None:
        b = kit.backend
        with pytest.raises(IntegrityError) as info:
            await b.execute(_checked_insert(kit), list(row))
        _check(info.value, sqlstate, what)
        tx = await b.begin()
        try:
            with pytest.raises(IntegrityError) as inner:
                await tx.execute(_checked_insert(kit), list(row))
            _check(inner.value, sqlstate, f"{what} inside a transaction")
        finally:
            await tx.rollback()
        assert await b.execute(_checked_insert(kit), [7, 7]) == 1, "the pool is still usable"
        await b.execute("DELETE FROM yc_checked")

    kit.run(go())


def test_errors_are_library_exceptions_with_sqlstate(kit: Kit) -> None:
    """A syntax error is ProgrammingError; a failed statement leaves the pool usable."""

    async def go() -> None:
        with pytest.raises(ProgrammingError):
            await kit.backend.execute("SELEC nothing")
        with pytest.raises(OperationalError):
            await kit.backend.fetch("SELECT * FROM yc_no_such_table")
        assert await kit.backend.fetch("SELECT 1") == [(1,)]

    kit.run(go())
