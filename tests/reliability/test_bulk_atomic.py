"""bulk_create is all or nothing, however it is split into batches (defect 5)."""

from __future__ import annotations

import pytest

from yara_orm import Connection, in_transaction
from yara_orm.exceptions import IntegrityError

from .models import Unique


@pytest.mark.parametrize("n", [50, 500])  # 500: the bulk-load (COPY) path on PostgreSQL
async def test_batched_bulk_create_failing_late_commits_nothing(orm: Connection, n: int) -> None:
    await Unique.create(code=n - 10)  # row n-10 of the batch conflicts
    objs = [Unique(code=i) for i in range(n)]
    with pytest.raises(IntegrityError):
        await Unique.bulk_create(objs, batch_size=n // 5)
    assert await Unique.all().count() == 1


async def test_batched_bulk_create_in_a_transaction_keeps_the_transaction_usable(orm: Connection) -> None:
    await Unique.create(code=45)
    async with in_transaction():
        await Unique.create(code=1000)
        with pytest.raises(IntegrityError):
            await Unique.bulk_create([Unique(code=i) for i in range(50)], batch_size=10)
        # Only the bulk_create was undone (a savepoint): the transaction goes on.
        await Unique.create(code=1001)
    assert sorted(await Unique.all().values_list("code", flat=True)) == [45, 1000, 1001]


async def test_batched_bulk_create_succeeds_whole(orm: Connection) -> None:
    await Unique.bulk_create([Unique(code=i) for i in range(95)], batch_size=10)
    assert await Unique.all().count() == 95
