"""The CLI on SQLite: exit status, the JSON report's format and the summary table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from yara_orm.conformance.expectations import BUILTIN_EXPECTED_FAILURES

from ._run import run_kit

OUTCOMES = {"pass", "skip", "xfail", "fail"}


def test_cli_on_sqlite_reports_every_test(sqlite_url: str, tmp_path: Path) -> None:
    run = run_kit(sqlite_url, tmp_path)
    assert run.status == 0, run.output
    report = run.report
    assert report is not None
    assert report["backend"] == "sqlite"
    assert report["server_version"].count(".") >= 1
    assert report["capabilities"]["max_bind_params"] > 0
    assert report["ok"] is True and report["exit_status"] == 0
    assert report["settings"] == {"max_examples": 20, "derandomize": True, "long": False}
    ids = [t["id"] for t in report["tests"]]
    assert len(ids) == len(set(ids)) >= 80
    for test in report["tests"]:
        assert test["outcome"] in OUTCOMES, test
        if test["outcome"] in ("skip", "xfail"):
            assert test["reason"], test
    counts = {k: sum(t["outcome"] == k for t in report["tests"]) for k in OUTCOMES}
    assert counts == report["summary"]
    # Every area of the suite is there.
    for area in (
        "test_types.py",
        "test_wide.py",
        "test_lookups.py",
        "test_integrity.py",
        "test_transactions.py",
        "test_bulk.py",
    ):
        assert any(i.startswith(area) for i in ids), area
    for name in ("FloatField", "DecimalField", "DatetimeField", "JSONField", "UUIDField"):
        assert f"test_types.py::test_roundtrip[{name}]" in ids
    # The built-in declaration for SQLite shows up as an expected failure with its reason.
    for test_id, reason in BUILTIN_EXPECTED_FAILURES["sqlite"].items():
        assert run.outcome(test_id) | {"duration_s": 0} == {
            "id": test_id,
            "outcome": "xfail",
            "reason": reason,
            "duration_s": 0,
        }
    # The readable summary.
    assert "Yara ORM conformance: backend sqlite" in run.output
    assert "RESULT: CONFORMS" in run.output
    if BUILTIN_EXPECTED_FAILURES["sqlite"]:
        assert "XFAIL" in run.output


def test_cli_usage_and_unreachable_database(tmp_path: Path) -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "yara_orm.conformance", "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and "--report" in helped.stdout and "--long" in helped.stdout
    run = run_kit("nosuchscheme://x/y", tmp_path)
    assert run.status != 0
    assert "no backend for URL scheme 'nosuchscheme'" in run.output


TRACING = Path(__file__).resolve().parents[2] / "conformance" / "examples" / "tracing_backend"


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(TRACING)}


def test_cli_certifies_a_backend_given_by_import_path(tmp_path: Path) -> None:
    """The README's route for a backend that is not installed: ``--backend module:SPEC``."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "yara_orm.conformance", f"tracing+sqlite:///{tmp_path / 't.db'}"),
            *("--backend", "tracing_backend:BACKEND", "--report", str(tmp_path / "r.json"), "-k", "protocol"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backend tracing_sqlite" in done.stdout and "RESULT: CONFORMS" in done.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "yara_orm.conformance",
            "tracing+sqlite:///x.db",
            "--backend",
            "tracing_backend",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=60,
    )
    assert bad.returncode != 0 and "package.module:NAME" in bad.stdout + bad.stderr


def test_pytest_plugin_shares_the_process_with_a_registering_module(tmp_path: Path) -> None:
    """``pytest -p my_module`` imports the author's module first, in the same process: a backend
    it registers with ``register_backend`` (no entry point) is the one certified."""
    (tmp_path / "register_tracing.py").write_text(
        "from yara_orm.backends import register_backend\n"
        "from tracing_backend import BACKEND\n"
        "register_backend('tracing+sqlite', BACKEND)\n"
    )
    report = tmp_path / "r.json"
    env = {**_env(), "PYTHONPATH": f"{TRACING}:{tmp_path}"}
    args = [
        "-p",
        "register_tracing",
        "--pyargs",
        "yara_orm.conformance.suite",
    ]
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"),
            *("--yara-url", f"tracing+sqlite:///{tmp_path / 'p.db'}", "--yara-report", str(report)),
            *("-k", "test_protocol or test_optional"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["backend"] == "tracing_sqlite" and data["ok"] is True
    assert {k: v["status"] for k, v in data["optional_protocol"].items()} == {
        "fetch_instances": "certified",
        "copy_in": "not offered",
        "fetch_chunk_instances": "certified",
        "execute_insert": "not offered",
    }
