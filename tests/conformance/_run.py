"""Run the conformance CLI in a subprocess (its own event loop and hypothesis state)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Run:
    status: int
    output: str
    report: dict[str, Any] | None

    def outcome(self, test_id: str) -> dict[str, Any]:
        assert self.report is not None, self.output
        for test in self.report["tests"]:
            if test["id"] == test_id:
                return dict(test)
        raise AssertionError(f"{test_id} not in the report:\n{self.output}")


def run_kit(url: str, tmp: Path, *args: str, patch: str = "") -> Run:
    """``python -m yara_orm.conformance url --report ... *args``, with ``patch`` (Python source)
    executed first in the child to plant a bug."""
    report = tmp / f"report-{len(list(tmp.glob('report-*.json')))}.json"
    argv = [url, "--report", str(report), *args]
    script = (
        textwrap.dedent(patch)
        + f"\nimport sys\nfrom yara_orm.conformance.cli import main\nsys.exit(main({argv!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return Run(done.returncode, done.stdout + done.stderr, data)
