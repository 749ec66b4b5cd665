"""Expected failures are strict: an unexpected pass, or a declaration naming no test, fails the run."""

from __future__ import annotations

import json
from pathlib import Path

from ._run import run_kit

PASSING = "test_types.py::test_edge_values[BooleanField]"


def _declare(tmp_path: Path, declared: dict[str, str]) -> str:
    path = tmp_path / "expected.json"
    path.write_text(json.dumps(declared))
    return str(path)


def test_declared_failure_that_passes_fails_the_run(sqlite_url: str, tmp_path: Path) -> None:
    file = _declare(tmp_path, {PASSING: "pretend this is broken (https://example.invalid/1)"})
    run = run_kit(sqlite_url, tmp_path, "--expected-failures", file, "-k", "BooleanField")
    assert run.status != 0, run.output
    entry = run.outcome(PASSING)
    assert entry["outcome"] == "fail"
    assert "unexpected pass" in entry["message"] and "XPASS(strict)" in entry["message"]
    assert run.report is not None and run.report["ok"] is False
    assert "DOES NOT CONFORM" in run.output


def test_declared_failure_that_fails_is_an_xfail(sqlite_url: str, tmp_path: Path) -> None:
    # Plant a real failure (booleans read back inverted) and declare it: the run passes.
    patch = """
        from yara_orm.fields.data import BooleanField
        BooleanField.db_value = lambda self, value: not value
    """
    file = _declare(tmp_path, {"test_types.py::test_edge_values[Bool*]": "booleans are inverted (planted)"})
    run = run_kit(
        sqlite_url,
        tmp_path,
        "--expected-failures",
        file,
        "-k",
        "test_edge_values and BooleanField",
        patch=patch,
    )
    assert run.status == 0, run.output
    entry = run.outcome(PASSING)
    assert entry == entry | {"outcome": "xfail", "reason": "booleans are inverted (planted)"}


def test_stale_declaration_fails_the_run(sqlite_url: str, tmp_path: Path) -> None:
    file = _declare(tmp_path, {"test_types.py::test_no_such_test": "gone"})
    run = run_kit(sqlite_url, tmp_path, "--expected-failures", file, "-k", "BooleanField")
    assert run.status != 0
    assert "test_types.py::test_no_such_test" in run.output and "do not exist" in run.output


def test_declaration_patterns() -> None:
    from yara_orm.conformance.expectations import match, unused

    ids = ["test_types.py::test_roundtrip[FloatField]", "test_lookups.py::test_lookup[contains_percent]"]
    declared = {"test_types.py::test_roundtrip[Float*]": "why", "test_lookups.py::test_lookup[x]": "stale"}
    assert match(ids[0], declared) == "why"
    assert match(ids[1], declared) is None
    assert unused(ids, declared) == ["test_lookups.py::test_lookup[x]"]
    # Brackets are literal, not character classes.
    assert match("test_a.py::t[b]", {"test_a.py::t[abc]": "r"}) is None
