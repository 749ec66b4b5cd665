"""Expected failures: what a backend declares it fails, with a reason or a link.

Declarations are strict: a declared test that passes fails the run (so they cannot go stale),
and a declaration matching no test of the suite is an error.

Test ids are the suite-relative pytest ids, e.g. ``test_types.py::test_roundtrip[FloatField]``;
a declaration may use the wildcards ``*`` and ``?`` (``test_lookups.py::test_lookup[contains*]``);
brackets are literal, as in the ids.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from pathlib import Path

from ..backends import BUILTIN_SCHEMES, find_backend, scheme_of

# The engine's own backends. Keep each entry a sentence plus, where one exists, an issue link.
_MYSQL_23000 = (
    "MySQL reports SQLSTATE 23000 for every integrity violation (the server's error number is in "
    "the error's detail)"
)

BUILTIN_EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "postgres": {},
    "sqlite": {},
    "mysql": {
        "test_integrity.py::test_unique_violation": _MYSQL_23000,
        "test_integrity.py::test_unique_violation_in_transaction_rolls_back": _MYSQL_23000,
        "test_integrity.py::test_foreign_key_violation_on_insert": _MYSQL_23000,
        "test_integrity.py::test_foreign_key_violation_on_delete": _MYSQL_23000,
        "test_integrity.py::test_constraint_violation_class[not_null_23502]": _MYSQL_23000,
        "test_integrity.py::test_constraint_violation_class[check_23514]": _MYSQL_23000,
        "test_isolation.py::test_deadlock_is_a_retryable_error": (
            "InnoDB reports a deadlock (a DeadlockError, retryable) with SQLSTATE 40001, not 40P01"
        ),
        "test_isolation.py::test_no_write_skew_at_serializable": (
            "InnoDB's SERIALIZABLE takes shared locks: write skew ends in a deadlock (DeadlockError, "
            "retryable), not a serialization failure"
        ),
        "test_types.py::test_data_exceptions_are_data_errors[out_of_range]": (
            "MySQL's CAST has no SMALLINT target (only SIGNED/UNSIGNED), so the probe is a syntax error"
        ),
    },
}


def declared_for(url: str, backend: str) -> dict[str, str]:
    """The expected failures a backend declares: the built-in table for engine schemes, the
    ``BackendSpec.expected_failures`` of a registered backend otherwise."""
    scheme = scheme_of(url)
    if scheme in BUILTIN_SCHEMES:
        return dict(BUILTIN_EXPECTED_FAILURES.get(backend, {}))
    return dict(find_backend(scheme).expected_failures)


def load_file(path: str | Path) -> dict[str, str]:
    """A JSON object ``{"test id or pattern": "reason or link"}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a JSON object mapping test ids to reasons")
    return data


def _glob(pattern: str) -> str:
    """An fnmatch pattern where only ``*`` and ``?`` are special (ids contain brackets)."""
    return "".join("[[]" if ch == "[" else "[]]" if ch == "]" else ch for ch in pattern)


def match(test_id: str, declared: Mapping[str, str]) -> str | None:
    """The reason declared for ``test_id``, or None."""
    if test_id in declared:
        return declared[test_id]
    for pattern, reason in declared.items():
        if fnmatch.fnmatchcase(test_id, _glob(pattern)):
            return reason
    return None


def unused(test_ids: list[str], declared: Mapping[str, str]) -> list[str]:
    """Declarations that match none of ``test_ids``."""
    return [
        p for p in declared if p not in test_ids and not any(match(t, {p: ""}) is not None for t in test_ids)
    ]
