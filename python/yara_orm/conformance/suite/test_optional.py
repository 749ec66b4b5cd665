"""The optional protocol parts a backend offers (``yara_orm.backends.OPTIONAL_PARTS``), each
certified against the plain path it replaces. A part the backend does not offer is skipped with
that reason, and the report lists it as "not offered".

* ``fetch_instances`` must build exactly the instances that ``fetch`` + the ORM's decoding
  builds, on the pool and in a transaction;
* ``copy_in`` must store exactly the rows given (``bulk_create`` of many rows goes through it),
  and roll back with its transaction;
* ``fetch_chunk_instances`` must stream exactly the instances ``fetch_chunk`` + decoding gives;
* ``execute_insert`` must report the key of the row it stored, and the keys of a multi-row
  INSERT as the ``insert_id_step`` capability says (``bulk_create`` assigns them through it
  where the backend has no RETURNING), on the pool and in a transaction.
"""

from __future__ import annotations

from typing import Any

import pytest

from yara_orm.conformance.kit import Kit
from yara_orm.transactions import in_transaction

ROWS = 250  # over the ORM's COPY threshold, and more than one cursor chunk


def _needs(kit: Kit, part: str) -> None:
    if not kit.probe.optional.get(part):
        pytest.skip(f"backend does not offer the optional protocol part {part!r}")


def _first_difference(got: list[Any], want: list[Any]) -> Any:
    return next(((a, b) for a, b in zip(got, want, strict=False) if a != b), None)


def _state(obj: Any) -> dict[str, Any]:
    return {f.model_field_name: obj.__dict__.get(f.model_field_name) for f in obj._meta.fields}


async def _fill(kit: Kit) -> None:
    model = kit.models.bulk
    await kit.clear(model)
    # Plain INSERTs: this fill must not depend on copy_in.
    for start in range(0, ROWS, 50):
        await model.bulk_create(
            [model(a=i, b=f"r{i}", c=None if i % 7 == 0 else i / 8) for i in range(start, start + 50)],
            batch_size=10,
        )


def _compiled(kit: Kit, qs: Any) -> tuple[str, list[Any], Any, Any]:
    sql, params, decoder, spec = kit.compile(qs)
    assert spec is not None, "the kit's models decode through an engine decode plan"
    return sql, params, decoder, spec


def test_fetch_instances(kit: Kit) -> None:
    _needs(kit, "fetch_instances")

    async def go() -> None:
        await _fill(kit)
        model = kit.models.bulk
        for qs in (
            model.all().order_by("a"),
            model.filter(c__isnull=True).order_by("-a"),
            model.filter(a__lt=0),
        ):
            sql, params, decoder, spec = _compiled(kit, qs)
            plain = [_state(o) for o in decoder(await kit.backend.fetch(sql, params))]
            fast = [_state(o) for o in await kit.backend.fetch_instances(sql, params, spec)]
            assert fast == plain, (
                f"fetch_instances built {len(fast)} instances, fetch + decoding {len(plain)}; "
                f"first difference: {_first_difference(fast, plain)}"
            )
        sql, params, decoder, spec = _compiled(kit, model.filter(a__lt=0))
        tx = await kit.backend.begin()
        try:
            table = kit.quote(model._meta.table)
            await tx.execute(f"INSERT INTO {table} (a, b) VALUES ({kit.ph(1)}, {kit.ph(2)})", [-1, "in tx"])
            got = [o.b for o in await tx.fetch_instances(sql, params, spec)]
        finally:
            await tx.rollback()
        assert got == ["in tx"], f"fetch_instances inside a transaction must see its writes: {got}"

    kit.run(go())


def test_copy_in(kit: Kit) -> None:
    _needs(kit, "copy_in")

    async def go() -> None:
        model = kit.models.bulk
        await kit.clear(model)
        objs = [model(id=i + 1, a=i, b=f"c{i}", c=None if i % 5 == 0 else i / 4) for i in range(ROWS)]
        await model.bulk_create(objs)
        rows = await model.all().order_by("id").values_list("id", "a", "b", "c")
        want = [(i + 1, i, f"c{i}", None if i % 5 == 0 else i / 4) for i in range(ROWS)]
        assert rows == want, f"copy_in stored {len(rows)} rows, first differences: " + str(
            [(a, b) for a, b in zip(rows, want, strict=False) if a != b][:3]
        )
        await kit.clear(model)
        try:
            async with in_transaction():
                await model.bulk_create([model(id=i + 1, a=i, b="t") for i in range(ROWS)])
                assert await model.all().count() == ROWS
                raise LookupError("roll back")
        except LookupError:
            pass
        left = await model.all().count()
        assert left == 0, f"copy_in inside a rolled-back transaction left {left} rows"

    kit.run(go())


@pytest.mark.requires("streaming")
@pytest.mark.parametrize("chunk_size", [1, 64, 1000])
def test_fetch_chunk_instances(kit: Kit, chunk_size: int) -> None:
    _needs(kit, "fetch_chunk_instances")

    async def go() -> None:
        await _fill(kit)
        sql, params, decoder, spec = _compiled(kit, kit.models.bulk.all().order_by("a"))
        plain = [_state(o) for o in decoder(await kit.backend.fetch(sql, params))]
        cursor = await kit.backend.cursor(sql, params, chunk_size)
        got: list[dict[str, Any]] = []
        try:
            for _ in range(ROWS + 2):
                chunk = await cursor.fetch_chunk_instances(spec)
                assert len(chunk) <= chunk_size, f"a chunk of {len(chunk)} for chunk_size={chunk_size}"
                if not chunk:
                    break
                got += [_state(o) for o in chunk]
        finally:
            await cursor.close()
        assert got == plain, (
            f"fetch_chunk_instances streamed {len(got)} instances, fetch + decoding {len(plain)}; "
            f"first difference: {_first_difference(got, plain)}"
        )

    kit.run(go())


def test_execute_insert(kit: Kit) -> None:
    _needs(kit, "execute_insert")

    async def go() -> None:
        model = kit.models.bulk
        await kit.clear(model)
        table = kit.quote(model._meta.table)
        insert = f"INSERT INTO {table} (a, b) VALUES ({kit.ph(1)}, {kit.ph(2)})"
        select = f"SELECT a FROM {table} WHERE id = {kit.ph(1)}"
        affected, key = await kit.backend.execute_insert(insert, [-1, "pool"])
        assert affected == 1 and key is not None, f"execute_insert reported {(affected, key)}"
        assert await kit.backend.fetch_one(select, [key]) == (-1,), f"key {key} is not the row stored"
        tx = await kit.backend.begin()
        try:
            affected, key = await tx.execute_insert(insert, [-2, "tx"])
            assert affected == 1 and key is not None
            assert await tx.fetch_one(select, [key]) == (-2,), f"key {key} in a transaction"
        finally:
            await tx.rollback()
        objs = [model(a=i, b=f"k{i}") for i in range(ROWS)]
        await model.bulk_create(objs)
        stored = dict(await model.filter(a__gte=0).values_list("id", "a"))
        given = {o.id: o.a for o in objs}
        assert given == stored, (
            f"bulk_create assigned {len(given)} distinct keys for {ROWS} rows; first differences: "
            + str([(k, v, stored.get(k)) for k, v in given.items() if stored.get(k) != v][:3])
        )

    kit.run(go())
