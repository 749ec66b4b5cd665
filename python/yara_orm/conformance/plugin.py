"""The pytest plugin of the conformance kit.

Registered through the ``pytest11`` entry point (and passed with ``-p yara_orm.conformance.plugin``
by the CLI), it does nothing unless ``--yara-url`` is given. Then it:

* probes the backend (name, server version, capability manifest) before collection;
* skips tests whose capability the backend does not declare, with the reason shown;
* marks the backend's declared expected failures ``xfail(strict=True)``: an unexpected pass fails
  the run, and a declaration that matches no test is an error;
* pins hypothesis (derandomized, bounded examples) unless ``--yara-long``;
* writes the JSON report (``--yara-report``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from ..backends import load_spec, register_backend, scheme_of
from . import expectations

if TYPE_CHECKING:
    from .kit import Probe

# hypothesis and the kit are imported only when --yara-url is given: installed through the
# pytest11 entry point, this module is loaded by every pytest session of a project that has
# yara-orm, with or without the [conformance] extra.

SUITE_DIR = Path(__file__).parent / "suite"
REPORT_VERSION = 1
DEFAULT_EXAMPLES = 20
LONG_EXAMPLES = 400

_probe_key: pytest.StashKey[Probe] = pytest.StashKey()
_sessions = itertools.count(1)
_state_key = pytest.StashKey["_State"]()


class _State:
    def __init__(self, declared: dict[str, str], examples: int, long: bool) -> None:
        self.declared = declared
        self.examples = examples
        self.long = long
        self.results: dict[str, dict[str, Any]] = {}
        self.started = time.monotonic()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("yara-conformance", "Yara ORM backend conformance kit")
    group.addoption(
        "--yara-url", default=os.environ.get("YARA_CONFORMANCE_URL"), help="database URL to certify"
    )
    group.addoption("--yara-report", default=None, help="write the JSON report here")
    group.addoption(
        "--yara-backend",
        default=os.environ.get("YARA_CONFORMANCE_BACKEND"),
        help="import path 'package.module:SPEC' of a BackendSpec to serve the URL's scheme",
    )
    group.addoption(
        "--yara-thorough",
        "--yara-long",
        dest="yara_long",
        action="store_true",
        help="a longer, randomized property search with shrinking",
    )
    group.addoption(
        "--yara-expected-failures",
        default=None,
        help="JSON file {test id or pattern: reason}, added to the backend's own declarations",
    )


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def test_id(item: pytest.Item) -> str | None:
    """The suite-relative id (``test_types.py::test_roundtrip[IntField]``), None outside the suite."""
    try:
        rel = Path(item.path).resolve().relative_to(SUITE_DIR.resolve())
    except ValueError:
        return None
    _, _, rest = item.nodeid.partition("::")
    return f"{rel.as_posix()}::{rest}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires(capability): run only if the backend declares it")
    url = config.getoption("--yara-url")
    if not url:
        return
    from hypothesis import HealthCheck, Phase, settings

    from .kit import probe

    backend_path = config.getoption("--yara-backend")
    if backend_path:
        try:
            register_backend(scheme_of(url), load_spec(backend_path))
        except Exception as exc:
            raise pytest.UsageError(f"conformance: --backend {backend_path}: {exc}") from exc
    try:
        found = asyncio.run(probe(url))
    except Exception as exc:
        raise pytest.UsageError(
            f"conformance: cannot open {redact(url)}: {type(exc).__name__}: {exc}"
        ) from exc
    config.stash[_probe_key] = found
    declared = expectations.declared_for(url, found.backend)
    extra = config.getoption("--yara-expected-failures")
    if extra:
        declared.update(expectations.load_file(extra))
    long = bool(config.getoption("yara_long"))
    examples = LONG_EXAMPLES if long else DEFAULT_EXAMPLES
    config.stash[_state_key] = _State(declared, examples, long)
    # Shrinking a failure through a database can take minutes: the bounded profile reports the
    # first failing example as found (the messages name type and value); --yara-long shrinks.
    phases = list(Phase) if long else [Phase.explicit, Phase.reuse, Phase.generate]
    settings.register_profile(
        "yara-conformance",
        phases=phases,
        max_examples=examples,
        derandomize=not long,
        database=None,
        deadline=None,
        print_blob=long,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    settings.load_profile("yara-conformance")


def pytest_report_header(config: pytest.Config) -> list[str]:
    found = config.stash.get(_probe_key, None)
    if found is None:
        return []
    return [f"yara conformance: {found.backend} {found.server_version} at {redact(found.url)}"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(_state_key, None)
    found = config.stash.get(_probe_key, None)
    if state is None or found is None:
        return
    ids: list[str] = []
    for item in items:
        tid = test_id(item)
        if tid is None:
            continue
        ids.append(tid)
        for mark in item.iter_markers("requires"):
            cap = str(mark.args[0])
            if not found.capabilities.get(cap):
                item.add_marker(pytest.mark.skip(reason=f"backend does not declare capability {cap!r}"))
        reason = expectations.match(tid, state.declared)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"declared by the backend: {reason}"))
    stale = expectations.unused(ids, state.declared)
    if stale:
        raise pytest.UsageError(
            "conformance: expected failures declared for tests that do not exist (stale or misspelt): "
            + ", ".join(sorted(stale))
        )


def _reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(getattr(report, "wasxfail", "") or report.longreprtext)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    state = _session_state
    if state is None:
        return
    tid = _ids.get(report.nodeid)
    if tid is None:
        return
    entry = state.results.setdefault(tid, {"id": tid, "outcome": "pass", "duration_s": 0.0})
    entry["duration_s"] = round(entry["duration_s"] + report.duration, 4)
    if report.when == "call" and hasattr(report, "wasxfail") and report.skipped:
        entry.update(outcome="xfail", reason=str(report.wasxfail).removeprefix("declared by the backend: "))
        return
    if report.skipped:
        entry.update(outcome="skip", reason=_reason(report))
    elif report.failed:
        message = report.longreprtext
        if report.when == "call" and "XPASS(strict)" in message:
            message = f"unexpected pass of a declared expected failure: {message}"
        if len(message) > 6000:  # keep the assertion (start) and hypothesis' explanation (end)
            message = f"{message[:4000]}\n[... {len(message) - 6000} characters ...]\n{message[-2000:]}"
        entry.update(outcome="fail", message=message)
        entry.pop("reason", None)


# The running session's state, for the logreport hook (which gets no config).
_session_state: _State | None = None
_ids: dict[str, str] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    global _session_state
    state = session.config.stash.get(_state_key, None)
    if state is None:
        return
    _session_state = state
    _ids.clear()
    for item in session.items:
        tid = test_id(item)
        if tid is not None:
            _ids[item.nodeid] = tid


def optional_protocol(offered: dict[str, bool], tests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each optional protocol part: whether the backend offers it and, if so, whether the
    tests certifying it (``test_optional.py::test_<part>...``) all passed."""
    out: dict[str, dict[str, Any]] = {}
    for part, has in offered.items():
        mine = [t for t in tests if t["id"].startswith(f"test_optional.py::test_{part}")]
        if not has:
            status = "not offered"
        elif not mine:
            status = "not run"
        elif all(t["outcome"] == "pass" for t in mine):
            status = "certified"
        else:
            status = "failed"
        out[part] = {"offered": has, "status": status, "tests": [t["id"] for t in mine]}
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(_state_key, None)
    found = config.stash.get(_probe_key, None)
    path = config.getoption("--yara-report")
    if state is None or found is None or not path:
        return
    tests = sorted(state.results.values(), key=lambda e: str(e["id"]))
    summary = {k: 0 for k in ("pass", "skip", "xfail", "fail")}
    for entry in tests:
        summary[entry["outcome"]] += 1
    report = {
        "report_version": REPORT_VERSION,
        "url": redact(found.url),
        "backend": found.backend,
        "server_version": found.server_version,
        "capabilities": found.capabilities,
        "expected_failures": state.declared,
        "settings": {
            "max_examples": state.examples,
            "derandomize": not state.long,
            "long": state.long,
        },
        "duration_s": round(time.monotonic() - state.started, 2),
        "exit_status": int(exitstatus),
        "ok": int(exitstatus) == 0 and summary["fail"] == 0,
        "summary": summary,
        "optional_protocol": optional_protocol(found.optional, tests),
        "tests": tests,
    }
    Path(path).write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def kit(request: pytest.FixtureRequest) -> Any:
    """The backend under test, its capabilities and the suite's models, created in the database."""
    found = request.config.stash.get(_probe_key, None)
    state = request.config.stash.get(_state_key, None)
    if found is None or state is None:
        pytest.fail("the conformance suite needs a backend: pass --yara-url URL (or YARA_CONFORMANCE_URL)")
    from .kit import Kit, build_models

    # Unique per session, also when one process runs the suite several times.
    models = build_models(found.capabilities, tag=f"_{os.getpid()}_{next(_sessions)}")
    with asyncio.Runner() as runner:
        current = Kit(found, models, runner, state.examples, state.long)
        runner.run(current.setup())
        try:
            yield current
        finally:
            runner.run(current.teardown())
