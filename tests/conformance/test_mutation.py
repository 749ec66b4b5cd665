"""The kit's own quality, measured: it certifies a correct wrapper of a built-in backend and
fails on every planted fault of ``mutants.FAULTS`` (a fault-injecting wrapper, one fault a run).

Each run is the real CLI with ``--backend tests.conformance.mutants:SPEC`` (the import-path
route a third-party author uses), stopped at its first failure (``-- -x``): the kit fails as
soon as any test catches the fault. Runs go two at a time; SQLite ones on a scratch file each,
PostgreSQL ones on a scratch database each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from yara_orm import connect

from .mutants import FAULTS

ROOT = Path(__file__).resolve().parents[2]
SPEC = "tests.conformance.mutants:SPEC"
PARALLEL = 2


def _kit(url: str, fault: str, on: str, report: Path, *extra: str) -> tuple[int, str, dict[str, Any] | None]:
    env = {**os.environ, "YARA_MUTANT": fault, "YARA_MUTANT_ON": on, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "yara_orm.conformance", url, "--backend", SPEC, "--report", str(report), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
        cwd=ROOT,
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return done.returncode, done.stdout + done.stderr, data


async def _admin(url: str, sql: str) -> None:
    pool = await connect(url, max_size=1)
    try:
        await pool.execute(sql)
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def pg_scratch(pg_admin_url: str) -> Iterator[Any]:
    """A factory of scratch PostgreSQL databases, all dropped at the end."""
    import asyncio

    made: list[str] = []

    def make() -> str:
        name = f"yara_mutant_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(pg_admin_url, f'CREATE DATABASE "{name}"'))
        made.append(name)
        return urlunsplit(urlsplit(pg_admin_url)._replace(path=f"/{name}"))

    yield make
    for name in made:
        asyncio.run(_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _url(on: str, tmp: Path, key: str, pg: Any) -> str:
    if on == "postgres":
        return "mutant+" + pg()
    return f"mutant+sqlite:///{tmp / (key + '.db')}"


@pytest.mark.postgres
@pytest.mark.parametrize("on", ["sqlite", "postgres"])
def test_clean_wrapper_conforms(on: str, tmp_path: Path, pg_scratch: Any) -> None:
    """Without a fault the wrapper is certified, with every optional part."""
    status, output, report = _kit(_url(on, tmp_path, "clean", pg_scratch), "", on, tmp_path / "r.json")
    assert status == 0, output
    assert report is not None and report["ok"] is True
    parts = report["optional_protocol"]
    want_copy = "certified" if on == "postgres" else "not offered"
    assert {k: v["status"] for k, v in parts.items()} == {
        "fetch_instances": "certified",
        "copy_in": want_copy,
        "fetch_chunk_instances": "certified",
    }, parts
    assert f"fetch_instances certified, copy_in {want_copy}" in output


@pytest.mark.postgres
def test_kit_catches_every_planted_fault(tmp_path: Path, pg_scratch: Any) -> None:
    assert len(FAULTS) >= 40 and len({f.name for f in FAULTS}) == len(FAULTS)
    areas = {f.area for f in FAULTS}
    assert areas >= {"values", "lookups", "ordering", "transactions", "isolation", "errors", "batching"}
    assert areas >= {"streaming", "counts", "protocol"}
    # Scratch databases are made here, in the test's thread, not in the workers.
    urls = {f.name: _url(f.on, tmp_path, f.name, pg_scratch) for f in FAULTS}
    started = time.monotonic()

    def run(fault: Any) -> tuple[str, int, str, dict[str, Any] | None, float]:
        t0 = time.monotonic()
        status, output, report = _kit(
            urls[fault.name], fault.name, fault.on, tmp_path / f"{fault.name}.json", "--", "-x"
        )
        return fault.name, status, output, report, time.monotonic() - t0

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(run, FAULTS))
    missed = []
    for name, status, output, report, _ in results:
        failed = [t["id"] for t in (report or {}).get("tests", []) if t["outcome"] == "fail"]
        if status == 0 or not failed:
            missed.append(f"{name}: exit {status}, failed tests {failed}\n{output[-1500:]}")
    caught = len(FAULTS) - len(missed)
    print(f"\nmutation suite: {caught}/{len(FAULTS)} faults caught in {time.monotonic() - started:.1f} s")
    for name, _, _, report, seconds in sorted(results, key=lambda r: -r[4])[:5]:
        first = next((t["id"] for t in (report or {}).get("tests", []) if t["outcome"] == "fail"), None)
        print(f"  {name:<36} {seconds:5.1f} s  first caught by {first}")
    assert not missed, f"the kit certified {len(missed)} faulty backend(s):\n" + "\n".join(missed)
