"""Schema migrations: plain-Python files per app, made from the models, applied and reverted
on every backend. See docs/migrations.md and ``yara migrations --help``."""

from . import operations
from .autodetector import Autodetector, Changes
from .executor import Executor, Recorder, make_plan, open_connection, sql_for
from .graph import Migration, MigrationGraph, load_app
from .introspect import Introspector, diff_schemas, introspect, register_introspector
from .lint import LintWarning, lint_migration
from .operations import *  # noqa: F403 (every operation, as operations.__all__ lists them)
from .state import HistoricalApps, ModelState, ProjectState, state_from_models

__all__ = [
    *operations.__all__,
    "Autodetector",
    "Changes",
    "Executor",
    "HistoricalApps",
    "Introspector",
    "LintWarning",
    "Migration",
    "MigrationGraph",
    "ModelState",
    "ProjectState",
    "Recorder",
    "diff_schemas",
    "introspect",
    "lint_migration",
    "load_app",
    "make_plan",
    "open_connection",
    "operations",
    "register_introspector",
    "sql_for",
    "state_from_models",
]
