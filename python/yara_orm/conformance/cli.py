"""``python -m yara_orm.conformance URL [--backend MODULE:SPEC]``: run the suite against one
database and report.

Exit status: 0 when every test passed, was skipped for a capability the backend does not
declare, or failed as the backend declared; pytest's non-zero status otherwise (a failure, an
unexpected pass of a declared failure, a stale declaration, an unreachable database).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from .plugin import SUITE_DIR

PLUGIN = "yara_orm.conformance.plugin"


def _plugin_autoloaded() -> bool:
    """True when the installed distribution's pytest11 entry point already loads the plugin."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.value.split(":")[0] == PLUGIN for ep in metadata.entry_points(group="pytest11"))


# The protocol's own checks first: they are the quickest and name a broken method directly (and
# a run stopped at its first failure, ``-- -x``, then reports the most basic problem).
# The one moving many rows (bulk) comes last.
SUITE_ORDER = (
    "test_protocol.py",
    "test_integrity.py",
    "test_transactions.py",
    "test_isolation.py",
    "test_optional.py",
    "test_lookups.py",
    "test_types.py",
    "test_wide.py",
    "test_bulk.py",
)


def suite_files() -> list[str]:
    """Every test module of the suite, in :data:`SUITE_ORDER` and then any others by name."""
    found = sorted(p.name for p in SUITE_DIR.glob("test_*.py"))
    ordered = [n for n in SUITE_ORDER if n in found] + [n for n in found if n not in SUITE_ORDER]
    return [str(SUITE_DIR / n) for n in ordered]


def build_args(ns: argparse.Namespace, report: Path, ini: Path) -> list[str]:
    args = [
        *suite_files(),
        "-c",
        str(ini),
        "--rootdir",
        str(SUITE_DIR),
        "-p",
        "no:cacheprovider",
        "--yara-url",
        ns.url,
        "--yara-report",
        str(report),
        "-q" if not ns.verbose else "-v",
        "-rfE",
        "--tb=short",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if not _plugin_autoloaded():
        args[:0] = ["-p", PLUGIN]
    if ns.long:
        args.append("--yara-thorough")
    if ns.backend:
        args += ["--yara-backend", ns.backend]
    if ns.expected_failures:
        args += ["--yara-expected-failures", ns.expected_failures]
    if ns.k:
        args += ["-k", ns.k]
    return args + list(ns.pytest_args)


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failed)\b:")


def _headline(message: str) -> str:
    """The line of a failure message that says what went wrong."""
    lines = [line.removeprefix("E").strip() for line in message.splitlines()]
    for line in lines:
        if _EXCEPTION_LINE.match(line) or "unexpected pass" in line or "XPASS" in line:
            return line
    return next((line for line in reversed(lines) if line), "")


def summary_table(report: dict[str, Any], every: bool = False) -> str:
    """The readable summary printed after a run: the tests that did not simply pass (all of them
    with ``every``), then the counts and the verdict."""
    lines = [
        f"Yara ORM conformance: backend {report['backend']} (server {report['server_version']})",
        f"  url {report['url']}  ·  {report['duration_s']} s  ·  "
        f"{report['settings']['max_examples']} examples per property"
        + ("  ·  long search" if report["settings"]["long"] else "  ·  derandomized"),
        "",
    ]
    shown = [t for t in report["tests"] if every or t["outcome"] != "pass"]
    width = min(max([len(t["id"]) for t in shown] + [10]), 78)
    lines.append(f"  {'test':<{width}}  outcome  reason")
    lines.append(f"  {'-' * width}  -------  ------")
    for test in shown:
        outcome = test["outcome"].upper()
        detail = test.get("reason") or _headline(test.get("message", ""))
        tid = test["id"] if len(test["id"]) <= width else "…" + test["id"][-(width - 1) :]
        lines.append(f"  {tid:<{width}}  {outcome:<7}  {detail[:120] if outcome != 'PASS' else ''}".rstrip())
    s = report["summary"]
    lines += [
        "",
        f"  {s['pass']} passed, {s['fail']} failed, {s['skip']} skipped, {s['xfail']} expected failures",
        "  optional protocol: "
        + ", ".join(f"{part} {v['status']}" for part, v in report.get("optional_protocol", {}).items()),
        f"  RESULT: {'CONFORMS' if report['ok'] else 'DOES NOT CONFORM'}",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m yara_orm.conformance",
        description="Certify a Yara ORM backend: run the conformance suite against URL.",
    )
    p.add_argument("url", help="database URL (postgres://, sqlite:///, or a registered backend's scheme)")
    p.add_argument("--report", help="write the JSON report to this file")
    p.add_argument(
        "--backend",
        metavar="MODULE:SPEC",
        help="import path of the BackendSpec serving URL's scheme (no entry point or install needed)",
    )
    p.add_argument(
        "--thorough",
        "--long",
        dest="long",
        action="store_true",
        help="400 examples per property, randomized, with shrinking",
    )
    p.add_argument("--expected-failures", help="JSON file {test id or pattern: reason} to declare")
    p.add_argument("-k", help="only tests matching this pytest -k expression")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" goes to pytest untouched (argparse would try to read it).
    extra = args[args.index("--") + 1 :] if "--" in args else []
    ns = parser().parse_args(args[: args.index("--")] if "--" in args else args)
    ns.pytest_args = [*ns.pytest_args, *extra]
    with tempfile.TemporaryDirectory(prefix="yara-conformance-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8")
        report_path = Path(ns.report) if ns.report else Path(tmp) / "report.json"
        status = int(pytest.main(build_args(ns, report_path, ini)))
        if report_path.exists():
            report = json.loads(report_path.read_text(encoding="utf-8"))
            print()
            print(summary_table(report, every=ns.verbose))
            if ns.report:
                print(f"  report: {report_path}")
        else:
            print(f"conformance: no report was produced (pytest exit status {status})", file=sys.stderr)
    return status
