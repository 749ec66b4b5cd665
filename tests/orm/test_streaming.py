"""Streaming keeps memory bounded: peak memory while iterating does not grow with the row count."""

from __future__ import annotations

import tracemalloc

from yara_orm import Connection

from .models import Row


async def _peak_while_streaming(limit: int) -> tuple[int, int]:
    count = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        async for row in Row.filter(n__lt=limit).order_by("id").iterator(chunk_size=500):
            count += 1
            assert row.n < limit
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return count, peak


async def test_streaming_memory_does_not_grow_with_rows(orm: Connection) -> None:
    total = 100_000
    batch = 20_000
    for start in range(0, total, batch):
        await Row.bulk_create([Row(n=i, label=f"row number {i}") for i in range(start, start + batch)])
    small_count, small_peak = await _peak_while_streaming(20_000)
    large_count, large_peak = await _peak_while_streaming(total)
    assert (small_count, large_count) == (20_000, total)
    # Five times the rows: the peak stays within noise of the small run (a full fetch of
    # 100k instances would need tens of megabytes).
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)
    assert large_peak < 8 * 1024 * 1024


async def test_full_fetch_for_comparison_grows(orm: Connection) -> None:
    """Sanity check of the measurement: materialising everything does grow with N."""
    await Row.bulk_create([Row(n=i, label=f"row number {i}") for i in range(20_000)])
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        rows = await Row.all()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(rows) == 20_000
    assert peak > 2 * 1024 * 1024
