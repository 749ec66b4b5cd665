"""The kit's own quality, measured: it certifies a correct wrapper of a built-in backend and
fails on every planted fault of ``mutants.FAULTS`` (a fault-injecting wrapper, one fault a run).

Each run is the real CLI with ``--backend tests.conformance.mutants:SPEC`` (the import-path
route a third-party author uses), stopped at its first failure (``-- -x``): the kit fails as
soon as any test catches the fault. ``mutation_runner`` makes the runs of one backend in one
process; the SQLite and the PostgreSQL runner go side by side.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from yara_orm import connect

from .mutants import FAULTS

ROOT = Path(__file__).resolve().parents[2]


def _runner(url: str, on: str, out: Path, faults: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "tests.conformance.mutation_runner",
        "--url",
        url,
        "--on",
        on,
        "--out",
        str(out),
    ]
    return subprocess.Popen(
        [*cmd, *faults], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


async def _admin(url: str, sql: str) -> None:
    pool = await connect(url, max_size=1)
    try:
        await pool.execute(sql)
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def results(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, dict[str, Any]]]:
    """Every run's outcome by fault name ("" for the clean wrapper, "clean@postgres" for it on
    PostgreSQL): the SQLite runs and the PostgreSQL runs go side by side, one process each."""
    tmp = tmp_path_factory.mktemp("mutants")
    name = f"yara_mutant_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg_admin_url, f'CREATE DATABASE "{name}"'))
    pg = urlunsplit(urlsplit(pg_admin_url)._replace(path=f"/{name}"))
    started = time.monotonic()
    try:
        procs = {
            on: _runner(url, on, tmp / on, ["", *(f.name for f in FAULTS if f.on == on)])
            for on, url in (
                ("sqlite", f"mutant+sqlite:///{tmp / 'scratch.db'}"),
                ("postgres", f"mutant+{pg}"),
            )
        }
        out: dict[str, dict[str, Any]] = {}
        for on, proc in procs.items():
            output, _ = proc.communicate(timeout=900)
            assert proc.returncode == 0, f"the {on} mutation runner failed:\n{output[-3000:]}"
            for entry in json.loads((tmp / on / "summary.json").read_text()):
                out[entry["fault"] or f"clean@{on}"] = entry
    finally:
        asyncio.run(_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"\nmutation suite: {len(FAULTS)} faults and 2 clean runs in {time.monotonic() - started:.1f} s")
    yield out


@pytest.mark.postgres
@pytest.mark.parametrize("on", ["sqlite", "postgres"])
def test_clean_wrapper_conforms(results: dict[str, dict[str, Any]], on: str) -> None:
    """Without a fault the wrapper is certified, each optional part it offers included."""
    clean = results[f"clean@{on}"]
    assert clean["status"] == 0 and clean["failed"] == [], clean["output"]
    assert clean["optional_protocol"] == {
        "fetch_instances": "certified",
        "copy_in": "certified" if on == "postgres" else "not offered",
        "fetch_chunk_instances": "certified",
        "execute_insert": "not offered",
    }, clean["optional_protocol"]


@pytest.mark.postgres
def test_kit_catches_every_planted_fault(results: dict[str, dict[str, Any]]) -> None:
    assert len(FAULTS) >= 40 and len({f.name for f in FAULTS}) == len(FAULTS)
    areas = {f.area for f in FAULTS}
    assert areas == {
        "values",
        "lookups",
        "ordering",
        "transactions",
        "isolation",
        "errors",
        "batching",
        "streaming",
        "counts",
        "protocol",
    }
    missed = [
        f"{f.name} ({f.what}): exit {results[f.name]['status']}\n{results[f.name]['output'][-1500:]}"
        for f in FAULTS
        if results[f.name]["status"] == 0 or not results[f.name]["failed"]
    ]
    caught = len(FAULTS) - len(missed)
    print(f"\nmutation suite: {caught}/{len(FAULTS)} planted faults caught")
    for f in FAULTS:
        r = results[f.name]
        print(f"  {f.on:<8} {f.name:<36} {r['seconds']:5.1f} s  {(r['failed'] or ['MISSED'])[0]}")
    assert not missed, f"the kit certified {len(missed)} faulty backend(s):\n" + "\n".join(missed)
