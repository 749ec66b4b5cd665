"""Every public name of yara-orm 1.19.1 and Tortoise ORM 1.1.9 (anchor_names.txt, read from their
releases) is importable from the matching Yara ORM module, so "change the import, keep the code"
holds and a gap cannot come back unnoticed.

Names we do not provide yet are listed in PENDING with the reason; the test also fails when a
pending name appears, so the list only shrinks."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

import yara_orm

ANCHOR_NAMES = Path(__file__).with_name("anchor_names.txt")

# Tortoise's module and class names, as a mechanical import rewrite maps them to ours.
MODULE_MAP = {"tortoise": "yara_orm"}
NAME_MAP = {"Tortoise": "YaraOrm"}

PENDING: dict[tuple[str, str], str] = {
    ("yara_orm", "RawText"): "untyped text parameters are not in the engine's Value enum yet",
    ("yara_orm", "register_field_kind"): "custom field kinds subclass Field instead",
    ("yara_orm", "unregister_field_kind"): "custom field kinds subclass Field instead",
    ("yara_orm", "MigrationManager"): "the migrations package lands separately",
    ("yara_orm", "UniqueConstraint"): "lands with the migrations package (Meta.unique_together works today)",
    ("yara_orm", "CheckConstraint"): "lands with the CHECK-constraint DDL work",
    ("yara_orm", "register_query_hook"): "count_statements() covers statement observation today",
    ("yara_orm", "clear_query_hooks"): "count_statements() covers statement observation today",
    ("yara_orm", "register_query_annotator"): "SQL comment annotators are not implemented yet",
    ("yara_orm", "clear_query_annotators"): "SQL comment annotators are not implemented yet",
    ("tortoise", "TortoiseConfig"): "a TypedDict of the config dict; the dict itself is accepted",
}


def anchor_names() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    module = ""
    for raw in ANCHOR_NAMES.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            module = line.strip("[]")
            continue
        out.append((module, line))
    return out


def ours(module: str) -> str:
    head, _, rest = module.partition(".")
    return MODULE_MAP.get(head, head) + (f".{rest}" if rest else "")


def has(module: str, name: str) -> bool:
    if name == "__version__":
        return hasattr(importlib.import_module(ours(module)), "__version__")
    mod = importlib.import_module(ours(module))
    attr = NAME_MAP.get(name, name)
    # A subpackage (``yara_orm.migrations``) counts whether or not something imported it yet.
    return hasattr(mod, attr) or importlib.util.find_spec(f"{mod.__name__}.{attr}") is not None


NAMES = anchor_names()


def test_the_anchor_list_was_read() -> None:
    modules = {m for m, _ in NAMES}
    assert {"yara_orm", "tortoise", "tortoise.fields", "yara_orm.validators"} <= modules
    assert len(NAMES) > 150


@pytest.mark.parametrize(("module", "name"), [n for n in NAMES if n not in PENDING])
def test_anchor_name_is_importable(module: str, name: str) -> None:
    assert has(module, name), f"{ours(module)} lacks {NAME_MAP.get(name, name)} ({module}.{name})"


@pytest.mark.parametrize(("module", "name"), sorted(PENDING))
def test_pending_name_is_still_missing(module: str, name: str) -> None:
    # When one of these lands, drop it from PENDING (and the anchor check above takes over).
    assert (module, name) in NAMES
    assert not has(module, name), f"{module}.{name} exists now: remove it from PENDING"


def test_yara_anchor_names_are_in_our_all() -> None:
    # ``from yara_orm import *`` must bring them too, not just attribute access.
    wanted = {name for module, name in NAMES if module == "yara_orm" and (module, name) not in PENDING}
    assert wanted <= set(yara_orm.__all__), sorted(wanted - set(yara_orm.__all__))


def test_all_lists_only_real_names() -> None:
    for name in yara_orm.__all__:
        # A subpackage listed there is imported by ``from yara_orm import *`` itself.
        assert hasattr(yara_orm, name) or importlib.util.find_spec(f"yara_orm.{name}"), name


@pytest.mark.parametrize(
    "module",
    [
        "yara_orm.validators",
        "yara_orm.functions",
        "yara_orm.expressions",
        "yara_orm.exceptions",
        "yara_orm.signals",
        "yara_orm.transactions",
        "yara_orm.timezone",
        "yara_orm.contrib.pydantic",
        "yara_orm.contrib.test",
    ],
)
def test_public_module_exists(module: str) -> None:
    importlib.import_module(module)
