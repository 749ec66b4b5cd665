"""A project as migrations see it: the config dict, its apps' models and migration folders.

The config is the one ``YaraOrm.init`` takes (``{"connections": ..., "apps": {"shop":
{"models": ["shop.models"], "default_connection": "default"}}}``), found through
``--config module:VAR`` or the ``YARA_CONFIG`` environment variable (same form).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dialects import Dialect, get_dialect
from ..exceptions import ConfigurationError, MigrationError
from ..models import wiring
from ..models.model import Model
from ..orm import _models_in, _url_from_credentials
from .graph import MigrationGraph, load_app
from .state import ProjectState, state_from_models

ENV_VAR = "YARA_CONFIG"


def load_config(spec: str | None) -> dict[str, Any]:
    """The config dict named by ``module:VAR`` (or ``$YARA_CONFIG``)."""
    spec = spec or os.environ.get(ENV_VAR)
    if not spec:
        raise ConfigurationError(
            f"no config: pass --config module:VARIABLE (the dict YaraOrm.init takes) or set {ENV_VAR}"
        )
    module_name, sep, var = spec.partition(":")
    if not sep or not var:
        raise ConfigurationError(f"--config must look like module:VARIABLE, got {spec!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import config module {module_name!r}: {exc}") from exc
    config = getattr(module, var, None)
    if not isinstance(config, dict) or "connections" not in config:
        raise ConfigurationError(
            f"{spec} must be a dict with 'connections' and 'apps' (as YaraOrm.init takes)"
        )
    return config


@dataclass
class Project:
    config: dict[str, Any]
    directory: Path = Path("migrations")
    models: dict[str, list[type[Model]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        apps = self.config.get("apps")
        if not apps:
            raise ConfigurationError("the config has no 'apps': migrations are kept per app")
        found: dict[str, list[type[Model]]] = {}
        for app, spec in apps.items():
            modules = spec.get("models") if isinstance(spec, dict) else spec
            models: list[type[Model]] = []
            for item in modules or ():
                if item == "aerich.models":
                    continue  # a Tortoise config's aerich entry: our migrations table replaces it
                models += _models_in(item)
            found[app] = models
        everything = wiring.setup([m for ms in found.values() for m in ms])
        owner = {m: app for app, ms in found.items() for m in ms}
        for model in everything:
            if model in owner and model._meta.app is None:
                model._meta.app = owner[model]
        for app, ms in found.items():
            for m in ms:
                m._meta.app = app
        self.models = found

    @property
    def apps(self) -> list[str]:
        return list(self.models)

    def app_dir(self, app: str) -> Path:
        return self.directory / app

    def connection_name(self, app: str) -> str:
        spec = self.config["apps"][app]
        names = list(self.config["connections"])
        default = "default" if "default" in names else names[0]
        return (spec.get("default_connection") if isinstance(spec, dict) else None) or default

    def url(self, connection: str) -> str:
        spec = self.config["connections"].get(connection)
        if isinstance(spec, str):
            return spec  # as YaraOrm.init passes it: sqlite://relative.db, sqlite:///absolute.db
        if isinstance(spec, dict):
            url, _options = _url_from_credentials(connection, spec)
            return url
        raise ConfigurationError(f"unknown connection {connection!r}")

    def connections(self) -> dict[str, list[str]]:
        """Connection name -> the apps stored there."""
        out: dict[str, list[str]] = {}
        for app in self.apps:
            out.setdefault(self.connection_name(app), []).append(app)
        return out

    def graph(self) -> MigrationGraph:
        migrations = []
        for app in self.apps:
            migrations += load_app(app, self.app_dir(app))
        graph = MigrationGraph(migrations)
        return graph

    def models_state(self) -> ProjectState:
        return state_from_models(self.models)

    def check_app(self, app: str) -> None:
        if app not in self.models:
            raise MigrationError(f"unknown app {app!r}; the config's apps are {', '.join(self.apps)}")


def dialect_for_url(url: str) -> Dialect:
    """The dialect of a database URL, without connecting (``sqlmigrate``, ``lint``)."""
    scheme = url.partition("://")[0].lower()
    backend = {"postgresql": "postgres", "postgres": "postgres", "sqlite": "sqlite"}.get(scheme, scheme)
    return get_dialect(backend)
