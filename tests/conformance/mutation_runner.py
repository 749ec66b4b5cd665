"""Run the conformance CLI once per planted fault, in this one process (the suite is imported and
the interpreter started once, not once per fault): ``python -m tests.conformance.mutation_runner
--url URL --on sqlite|postgres --out DIR [FAULT ...]``.

Each run is ``python -m yara_orm.conformance URL --backend tests.conformance.mutants:SPEC -- -x``
with ``YARA_MUTANT`` set to the fault (empty: the clean wrapper). Writes ``DIR/summary.json``:
one entry per run with the exit status, the failed test ids and the seconds it took.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import sys
import time
from pathlib import Path

from yara_orm.conformance.cli import main as kit_main

SPEC = "tests.conformance.mutants:SPEC"


def run_one(url: str, fault: str, out: Path) -> dict[str, object]:
    os.environ["YARA_MUTANT"] = fault
    if url.startswith("mutant+sqlite:///"):
        # A file per run: a fault may leave a transaction open on the last one.
        url = f"mutant+sqlite:///{out / (fault or 'clean')}.db"
    report = out / f"{fault or 'clean'}.json"
    started = time.monotonic()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        argv = [url, "--backend", SPEC, "--report", str(report)]
        # A faulty backend: stop at the first test that catches it.
        status = kit_main([*argv, "--", "-x"] if fault else argv)
    # Drop what the failed run still holds (a transaction left open by a fault) before the next.
    gc.collect()
    data = json.loads(report.read_text()) if report.exists() else {}
    failed = [t["id"] for t in data.get("tests", []) if t["outcome"] == "fail"]
    return {
        "fault": fault,
        "status": int(status),
        "failed": failed,
        "optional_protocol": {k: v["status"] for k, v in data.get("optional_protocol", {}).items()},
        "seconds": round(time.monotonic() - started, 2),
        "output": buffer.getvalue()[-3000:],
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--on", required=True, choices=["sqlite", "postgres"])
    p.add_argument("--out", required=True)
    p.add_argument("faults", nargs="*", help="fault names; '' (the default) is the clean wrapper")
    ns = p.parse_args()
    os.environ["YARA_MUTANT_ON"] = ns.on
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    results = [run_one(ns.url, fault, out) for fault in (ns.faults or [""])]
    (out / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
