"""The package's import layering (scripts/check_layers.py, also run by ``make lint``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts" / "check_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = module
    spec.loader.exec_module(module)
    return module


def test_package_is_a_one_way_stack_of_layers() -> None:
    assert _checker().check() == []


def test_checker_catches_an_upward_and_a_local_import(tmp_path: Path) -> None:
    checker = _checker()
    pkg = tmp_path / "yara_orm"
    (pkg / "fields").mkdir(parents=True)
    (pkg / "query").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "exceptions.py").write_text("")
    (pkg / "fields" / "__init__.py").write_text("from ..query import build\n")
    (pkg / "query" / "__init__.py").write_text("")
    (pkg / "query" / "build.py").write_text(
        "from .. import fields\n\ndef f():\n    from ..exceptions import X\n"
    )
    checker.PACKAGE_DIR = pkg
    checker.ROOT = tmp_path
    problems = checker.check()
    assert any("upward import of yara_orm.query.build" in p for p in problems), problems
    assert any("function-local import of yara_orm.exceptions" in p for p in problems), problems
    assert any(p.startswith("import cycle:") for p in problems), problems


def test_leaf_modules_import_without_the_model_layer() -> None:
    # The registry and relation metadata must not need models/ or query/ to be importable.
    checker = _checker()
    graph, _local, _paths = checker.scan()
    for leaf in ("yara_orm.registry", "yara_orm.relations", "yara_orm.fields.relational"):
        targets = {t for _line, t in graph[leaf]}
        assert not any(t.startswith(("yara_orm.models", "yara_orm.query")) for t in targets), (leaf, targets)
