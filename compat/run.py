"""Run yara-orm 1.19.1's and Tortoise ORM's own tests against Yara ORM and against the real packages.

Nothing of theirs is committed: the sdists are downloaded from PyPI at run time (checked against
the index's sha256), the selected test files are copied into a work directory, imports are
rewritten mechanically (``tortoise`` -> ``yara_orm``, ``Tortoise`` -> ``YaraOrm``; yara-orm's
tests already import ``yara_orm``), and pytest runs each file once per backend in a separate
process, under our venv and under a venv holding the real package. It prints ``P passed, F
failed`` per file and in total, side by side, and writes a JSON report with every test that
passes on the real package and fails on ours (the list compat/DIFFERENCES.md explains).

    python compat/run.py                       # both suites, sqlite + postgres, ours + anchors
    python compat/run.py --suite yara --backend sqlite --target ours -k test_queryset

Needs the network (PyPI) the first time; the downloads and anchor venvs are cached in
--work (default ~/.cache/yara-compat).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
INDEX = "https://pypi.org/simple/{name}/"
TEST_REQUIREMENTS = ["pytest>=8", "pytest-asyncio>=1.0"]
FILE_TIMEOUT_S = 600


@dataclass
class Suite:
    name: str
    dist: str
    version: str
    files: list[str]
    conftest: str
    # extra files copied beside the tests (models modules, packages' __init__)
    support: list[str] = field(default_factory=list)
    anchor_requirements: list[str] = field(default_factory=list)
    ours_requirements: list[str] = field(default_factory=list)
    rewrite: bool = False

    @property
    def sdist_dir(self) -> str:
        return f"{self.dist.replace('-', '_')}-{self.version}"


# yara-orm 1.19.1's test files that exercise its public API only (their imports are `yara_orm`
# and its public modules; files about the CLI, migrations, dialect internals, the engine module,
# or backends we do not ship are left out).
YARA_FILES = [
    "test_agg_values_serialization.py",
    "test_aggregation.py",
    "test_audit_models.py",
    "test_audit_relations.py",
    "test_audit_values.py",
    "test_bulk_get_or_create.py",
    "test_cc_crud.py",
    "test_construction_semantics.py",
    "test_create_type_coercion.py",
    "test_crud.py",
    "test_datetime_tz.py",
    "test_enum.py",
    "test_filtering.py",
    "test_function_composition.py",
    "test_jd_json.py",
    "test_jd_temporal.py",
    "test_manual_sql.py",
    "test_meta_ordering.py",
    "test_models.py",
    "test_only_related_paths.py",
    "test_orm_query_gaps.py",
    "test_parity_gaps.py",
    "test_partial_decode.py",
    "test_prefetch.py",
    "test_prefetch_custom_queryset.py",
    "test_queryset.py",
    "test_relation_field_named_like_lookup.py",
    "test_rl_eager_relations.py",
    "test_selrel_annotate.py",
    "test_signals.py",
    "test_timezone.py",
    "test_typing_relations.py",
    "test_uuid_fk.py",
    "test_validators.py",
    "test_values_and_traversal.py",
]

# Tortoise ORM's top-level test files that use its public API through the `db` fixtures (files
# about its context internals, pypika query API, backends' clients or the CLI are left out).
TORTOISE_FILES = [
    "test_aggregation.py",
    "test_basic.py",
    "test_bulk.py",
    "test_callable_default.py",
    "test_case_when.py",
    "test_concurrency.py",
    "test_datetime_field_bug.py",
    "test_db_default_insert.py",
    "test_f.py",
    "test_filtering.py",
    "test_filters.py",
    "test_group_by.py",
    "test_inheritance.py",
    "test_latest_earliest.py",
    "test_manager.py",
    "test_manual_sql.py",
    "test_model_construct.py",
    "test_model_field_name_conflicts.py",
    "test_model_methods.py",
    "test_only.py",
    "test_order_by.py",
    "test_order_by_nested.py",
    "test_posix_regex_filter.py",
    "test_prefetching.py",
    "test_primary_key.py",
    "test_queryset_reuse.py",
    "test_relations.py",
    "test_relations_with_unique.py",
    "test_signals.py",
    "test_source_field.py",
    "test_transactions.py",
    "test_unique_together.py",
    "test_update.py",
    "test_validators.py",
    "test_values.py",
]

SUITES = {
    "yara": Suite(
        name="yara",
        dist="yara-orm",
        version="1.19.1",
        files=YARA_FILES,
        conftest="conftest_yara.py",
        anchor_requirements=["yara-orm==1.19.1"],
    ),
    "tortoise": Suite(
        name="tortoise",
        dist="tortoise-orm",
        version="1.1.9",
        files=TORTOISE_FILES,
        conftest="conftest_tortoise.py",
        support=["__init__.py", "testmodels.py"],
        anchor_requirements=["tortoise-orm[asyncpg]==1.1.9", "pydantic>=2"],
        rewrite=True,
    ),
}


# -- fetching -------------------------------------------------------------------------------------


def fetch_sdist(suite: Suite, work: Path) -> Path:
    """Download (once) and unpack the suite's sdist; return the unpacked directory."""
    target = work / "src" / suite.sdist_dir
    if target.is_dir():
        return target
    request = urllib.request.Request(
        INDEX.format(name=suite.dist), headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        index = json.load(resp)
    wanted = f"{suite.sdist_dir}.tar.gz"
    entry = next((f for f in index["files"] if f["filename"] == wanted), None)
    if entry is None:
        raise SystemExit(f"{wanted} not found on PyPI")
    with urllib.request.urlopen(entry["url"], timeout=120) as resp:
        data = resp.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["hashes"]["sha256"]:
        raise SystemExit(f"{wanted}: sha256 mismatch ({digest})")
    (work / "src").mkdir(parents=True, exist_ok=True)
    archive = work / "src" / wanted
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        tar.extractall(work / "src", filter="data")
    return target


# -- the rewrite ----------------------------------------------------------------------------------

_IMPORT_RE = re.compile(r"^(\s*)(from|import)\s+tortoise(?=[\s.])", re.MULTILINE)
_NAME_RE = re.compile(r"\bTortoise\b")
# ``tortoise.<module>`` in code (``tortoise.fields.CharField``), not text that happens to contain
# the word (``"tortoise.github.io"`` in a test of domain names): only Tortoise's module names.
_MODULES = (
    "apps|backends|cli|config|connection|context|contrib|converters|exceptions|expressions|"
    "fields|filters|functions|indexes|log|manager|migrations|models|query_api|query_utils|"
    "queryset|router|schema_quoting|signals|timezone|transactions|utils|validators|warnings"
)
_DOTTED_RE = re.compile(rf"\btortoise\.(?=(?:{_MODULES})\b)")


# Tortoise's SQL builder (pypika_tortoise) appears in user code for custom functions only:
# ``CustomFunction("NAME", [args])`` and subclasses of its ``terms.Function("NAME", *args)``.
# Their counterparts are ``yara_orm.functions.CustomFunction`` and ``SqlFunction``; a user
# porting the code changes that import line and nothing else.
_PYPIKA_IMPORT_RE = re.compile(
    r"^(\s*)from\s+pypika_tortoise(?:\.terms|\.functions)?\s+import\s+(.+)$", re.MULTILINE
)
_PYPIKA_NAMES = {"Function": "SqlFunction", "CustomFunction": "CustomFunction"}


def _rewrite_pypika(m: re.Match[str]) -> str:
    names = []
    for part in m.group(2).split(","):
        name, _, alias = part.strip().partition(" as ")
        ours = _PYPIKA_NAMES.get(name.strip(), name.strip())
        names.append(
            f"{ours} as {alias.strip()}"
            if alias
            else (ours if ours == name.strip() else f"{ours} as {name.strip()}")
        )
    return f"{m.group(1)}from yara_orm.functions import {', '.join(names)}"


def rewrite_tortoise(text: str) -> str:
    """Tortoise imports -> Yara ORM imports, and nothing else."""
    text = _PYPIKA_IMPORT_RE.sub(_rewrite_pypika, text)
    text = _IMPORT_RE.sub(lambda m: f"{m.group(1)}{m.group(2)} yara_orm", text)
    text = _DOTTED_RE.sub("yara_orm.", text)
    return _NAME_RE.sub("YaraOrm", text)


def prepare_tree(suite: Suite, src: Path, dest: Path, *, rewrite: bool) -> None:
    """Copy the selected tests (and the fixtures) into ``dest/tests``."""
    if dest.exists():
        shutil.rmtree(dest)
    tests = dest / "tests"
    tests.mkdir(parents=True)
    conftest = (HERE / suite.conftest).read_text()
    names = [*suite.files, *suite.support]
    for name in names:
        text = (src / "tests" / name).read_text()
        (tests / name).write_text(rewrite_tortoise(text) if rewrite else text)
    if not (tests / "__init__.py").exists() and suite.name == "tortoise":
        (tests / "__init__.py").write_text("")
    (dest / "conftest.py").write_text(rewrite_tortoise(conftest) if rewrite else conftest)
    (dest / "pytest.ini").write_text(
        "[pytest]\n"
        "asyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = session\n"
        "asyncio_default_test_loop_scope = session\n"
        "filterwarnings = ignore::DeprecationWarning\n"
    )


# -- environments ---------------------------------------------------------------------------------


def anchor_python(suite: Suite, work: Path) -> Path:
    """A venv with the real package (never our venv: yara-orm shares our import name)."""
    env = work / f"venv-{suite.dist}-{suite.version}"
    python = env / "bin" / "python"
    stamp = env / ".installed"
    if not stamp.exists():
        venv.create(env, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *suite.anchor_requirements, *TEST_REQUIREMENTS],
            check=True,
        )
        stamp.write_text("ok")
    return python


async def _create_database(admin_url: str, name: str) -> str:
    import asyncpg  # in requirements-dev.txt

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# -- running and counting -------------------------------------------------------------------------


@dataclass
class Result:
    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    note: str = ""


def parse_junit(path: Path) -> Result:
    result = Result()
    if not path.exists():
        return result
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed.add(name)
        elif case.find("skipped") is not None:
            result.skipped.add(name)
        else:
            result.passed.add(name)
    return result


def run_file(python: Path, tree: Path, name: str, backend: str, pg_url: str, keyword: str | None) -> Result:
    junit = tree / f".junit-{backend}-{name}.xml"
    junit.unlink(missing_ok=True)
    env = {
        **os.environ,
        "COMPAT_BACKEND": backend,
        "COMPAT_PG_URL": pg_url,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTHONPATH", None)
    cmd = [
        str(python),
        "-m",
        "pytest",
        f"tests/{name}",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
    ]
    if keyword:
        cmd += ["-k", keyword]
    try:
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=FILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        result = parse_junit(junit)
        result.note = f"timed out after {FILE_TIMEOUT_S}s"
        return result
    result = parse_junit(junit)
    if not (result.passed or result.failed or result.skipped):
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        result.note = " | ".join(tail)[:300]
        result.failed.add(f"{name}::<collection>")
    (tree / f".log-{backend}-{name}.txt").write_text(proc.stdout + proc.stderr)
    return result


def _result_path(work: Path, suite: Suite, target: str, backend: str, name: str) -> Path:
    return work / "results" / f"{suite.name}-{target}-{backend}-{name}.json"


def save_result(work: Path, suite: Suite, target: str, backend: str, name: str, result: Result) -> None:
    path = _result_path(work, suite, target, backend, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "passed": sorted(result.passed),
        "failed": sorted(result.failed),
        "skipped": sorted(result.skipped),
    }
    path.write_text(json.dumps({**data, "note": result.note}))


def load_result(work: Path, suite: Suite, target: str, backend: str, name: str) -> Result | None:
    path = _result_path(work, suite, target, backend, name)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Result(set(data["passed"]), set(data["failed"]), set(data["skipped"]), data.get("note", ""))


def fmt(r: Result | None) -> str:
    if r is None:
        return "-"
    return f"{len(r.passed)} passed, {len(r.failed)} failed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    ap.add_argument("--backend", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    ap.add_argument("--target", choices=["ours", "anchor", "both"], default="both")
    ap.add_argument(
        "--work", type=Path, default=Path(os.environ.get("YARA_COMPAT_DIR", "~/.cache/yara-compat"))
    )
    ap.add_argument(
        "--pg-url", default=os.environ.get("YARA_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    ap.add_argument("--file", action="append", help="only these test files (repeatable)")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression")
    ap.add_argument("--report", type=Path, help="JSON report path (default: <work>/report.json)")
    args = ap.parse_args(argv)

    work = args.work.expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    backends = [b for b in args.backend.split(",") if b]
    suites = list(SUITES.values()) if args.suite == "all" else [SUITES[args.suite]]
    targets = ["ours", "anchor"] if args.target == "both" else [args.target]
    ours_python = Path(os.environ.get("YARA_COMPAT_PYTHON", REPO / ".venv" / "bin" / "python"))

    report: dict[str, object] = {}
    exit_code = 0
    for suite in suites:
        src = fetch_sdist(suite, work)
        files = [f for f in suite.files if not args.file or f in args.file]
        results: dict[tuple[str, str, str], Result] = {}
        for target in targets:
            python = ours_python if target == "ours" else anchor_python(suite, work)
            tree = work / "trees" / f"{suite.name}-{target}"
            prepare_tree(suite, src, tree, rewrite=suite.rewrite and target == "ours")
            for backend in backends:
                pg_url = ""
                dbname = f"compat_{suite.name}_{target}"
                if backend == "postgres":
                    pg_url = asyncio.run(_create_database(args.pg_url, dbname))
                started = time.monotonic()
                for name in files:
                    results[(target, backend, name)] = run_file(
                        python, tree, name, backend, pg_url, args.keyword
                    )
                    if not args.keyword:
                        save_result(work, suite, target, backend, name, results[(target, backend, name)])
                if backend == "postgres":
                    asyncio.run(_drop_database(args.pg_url, dbname))
                print(
                    f"[{suite.name}/{target}/{backend}] {time.monotonic() - started:.0f}s",
                    file=sys.stderr,
                )
        if targets == ["ours"] and not args.keyword:
            # Compare with the anchor's last full run when it was not run this time.
            for backend in backends:
                for name in files:
                    cached = load_result(work, suite, "anchor", backend, name)
                    if cached is not None:
                        results[("anchor", backend, name)] = cached
            if any(key[0] == "anchor" for key in results):
                targets = ["ours", "anchor"]
        exit_code |= print_table(suite, files, backends, targets, results, report)
    out = args.report or work / "report.json"
    out.write_text(json.dumps(report, indent=2, sort_keys=True))
    print(f"\nreport: {out}")
    return exit_code


def print_table(
    suite: Suite,
    files: list[str],
    backends: list[str],
    targets: list[str],
    results: dict[tuple[str, str, str], Result],
    report: dict[str, object],
) -> int:
    label = {"ours": "yara_orm (ours)", "anchor": f"{suite.dist} {suite.version}"}
    print(f"\n## {suite.dist} {suite.version} tests ({len(files)} files)\n")
    for backend in backends:
        print(f"### {backend}\n")
        print(f"| file | {' | '.join(label[t] for t in targets)} |")
        print(f"|---|{'---|' * len(targets)}")
        totals = {t: Result() for t in targets}
        for name in files:
            cells = []
            for target in targets:
                r = results.get((target, backend, name))
                if r is not None:
                    totals[target].passed |= r.passed
                    totals[target].failed |= r.failed
                cells.append(fmt(r) + (f" ({r.note})" if r is not None and r.note else ""))
            print(f"| {name} | {' | '.join(cells)} |")
        print(f"| **total** | {' | '.join(fmt(totals[t]) for t in targets)} |\n")
        entry: dict[str, object] = {
            t: {"passed": len(totals[t].passed), "failed": len(totals[t].failed)} for t in targets
        }
        if "ours" in totals and "anchor" in totals:
            base = totals["anchor"].passed
            kept = base & totals["ours"].passed
            share = 100.0 * len(kept) / len(base) if base else 100.0
            print(
                f"ours passes {len(kept)} of the {len(base)} tests that pass on {suite.dist} "
                f"{suite.version}: {share:.1f}%\n"
            )
            entry["share_of_anchor_passes"] = round(share, 1)
            entry["regressions"] = sorted(base - totals["ours"].passed)
        elif "ours" in totals:
            entry["failed_tests"] = sorted(totals["ours"].failed)
        report[f"{suite.name}/{backend}"] = entry
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
