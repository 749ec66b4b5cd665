"""A bug planted in a value conversion makes the kit fail with a message naming type and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._run import run_kit

TRUNCATE_MICROSECONDS = """
    from yara_orm.fields.data import DatetimeField
    _orig = DatetimeField.db_value
    DatetimeField.db_value = lambda self, value: _orig(self, value).replace(microsecond=0)
"""

LOSE_SIGN_OF_ZERO = """
    from yara_orm.fields.data import FloatField
    FloatField.db_value = lambda self, value: 0.0 if value == 0 else value
"""


def test_truncated_microseconds_named(sqlite_url: str, tmp_path: Path) -> None:
    run = run_kit(sqlite_url, tmp_path, "-k", "DatetimeField or wide", patch=TRUNCATE_MICROSECONDS)
    assert run.status != 0, run.output
    edge = run.outcome("test_types.py::test_edge_values[DatetimeField]")
    assert edge["outcome"] == "fail"
    message = edge["message"]
    assert "DatetimeField round-trip changed the value" in message
    assert "999999" in message  # the value written, microseconds included
    prop = run.outcome("test_types.py::test_roundtrip[DatetimeField]")
    assert prop["outcome"] == "fail" and "DatetimeField round-trip changed the value" in prop["message"]
    wide = run.outcome("test_wide.py::test_wide_rows")
    assert wide["outcome"] == "fail"
    assert "culprit column(s): c" in wide["message"] and "(DatetimeField) alone" in wide["message"]
    assert "DOES NOT CONFORM" in run.output


@pytest.mark.postgres
def test_lost_sign_of_zero_named(pg_url: str, tmp_path: Path) -> None:
    run = run_kit(pg_url, tmp_path, "-k", "FloatField", patch=LOSE_SIGN_OF_ZERO)
    assert run.status != 0, run.output
    edge = run.outcome("test_types.py::test_edge_values[FloatField]")
    assert edge["outcome"] == "fail"
    assert "FloatField round-trip changed the value" in edge["message"]
    assert "wrote -0.0" in edge["message"] and "read back 0.0" in edge["message"]
