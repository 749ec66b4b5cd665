"""``YaraOrm``: open connections, register models, create schemas, close.

Accepts a database URL or a Tortoise-style config dict::

    await YaraOrm.init("sqlite:///app.db", modules={"models": ["app.models"]})
    await YaraOrm.init({
        "connections": {"default": "postgres://...", "logs": "sqlite:///logs.db"},
        "apps": {"models": {"models": ["app.models"], "default_connection": "default"}},
    })
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Coroutine, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import quote

from . import schema, timezone
from .connection import Connection, connections
from .dialects import get_dialect
from .exceptions import ConfigurationError, ConnectionConfigError
from .models import wiring
from .models.model import Model
from .pool import connect
from .registry import MODEL_REGISTRY

T = TypeVar("T")

_SQLITE_ENGINES = ("sqlite",)
_POSTGRES_ENGINES = ("asyncpg", "psycopg", "postgres")


class _RouterChain:
    """Several routers (Tortoise's ``routers=[...]``): the first one with an answer decides."""

    def __init__(self, routers: list[Any]) -> None:
        self.routers = routers

    def _ask(self, method: str, model: Any) -> Any:
        for router in self.routers:
            fn = getattr(router, method, None)
            answer = fn(model) if fn is not None else None
            if answer is not None:
                return answer
        return None

    def db_for_read(self, model: Any) -> Any:
        return self._ask("db_for_read", model)

    def db_for_write(self, model: Any) -> Any:
        return self._ask("db_for_write", model)


def _router_chain(spec: Any) -> Any:
    """A router object from a router, a class, a dotted path (``"app.routers.Primary"``) or a
    list of those; None for none."""
    items = list(spec) if isinstance(spec, list | tuple) else ([] if spec is None else [spec])
    routers: list[Any] = []
    for item in items:
        if isinstance(item, str):
            module_name, _, attr = item.rpartition(".")
            try:
                item = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ConfigurationError(f"cannot import router {item!r}: {exc}") from exc
        routers.append(item() if isinstance(item, type) else item)
    if not routers:
        return None
    return routers[0] if len(routers) == 1 else _RouterChain(routers)


def _url_from_credentials(name: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    engine = str(spec.get("engine", ""))
    creds = dict(spec.get("credentials") or {})
    if any(key in engine for key in _SQLITE_ENGINES):
        path = creds.pop("file_path", None)
        if not path:
            raise ConnectionConfigError(f"connection {name!r}: sqlite credentials need file_path")
        # ``sqlite://`` + the path as given: the engine reads ``sqlite://db.sqlite3`` as relative
        # and ``sqlite:///abs/db.sqlite3`` as absolute.
        url = f"sqlite://{path}"
        return url, creds
    if any(key in engine for key in _POSTGRES_ENGINES):
        user = quote(str(creds.pop("user", "postgres")), safe="")
        password = creds.pop("password", None)
        host = creds.pop("host", "127.0.0.1")
        port = creds.pop("port", 5432)
        database = creds.pop("database", "postgres")
        auth = f"{user}:{quote(str(password), safe='')}" if password else user
        for key in ("minsize", "maxsize"):
            value = creds.pop(key, None)
            if key == "minsize" and value is not None:
                creds["min_size"] = value
            if key == "maxsize" and value is not None:
                creds["max_size"] = value
        url = f"postgres://{auth}@{host}:{port}/{database}"
        schema = creds.pop("schema", None)
        if schema:
            # In the URL, not the options: the migrations CLI connects by URL alone.
            url += f"?search_path={quote(str(schema), safe='')}"
        return url, creds
    raise ConnectionConfigError(
        f"connection {name!r}: unknown engine {engine!r}; use a URL (postgres://..., sqlite:///...)"
    )


def _models_in(item: Any) -> list[type[Model]]:
    if isinstance(item, type) and issubclass(item, Model):
        return [item]
    module: ModuleType
    if isinstance(item, ModuleType):
        module = item
    elif isinstance(item, str):
        try:
            module = importlib.import_module(item)
        except ImportError as exc:
            raise ConfigurationError(f"cannot import models module {item!r}: {exc}") from exc
    else:
        raise ConfigurationError(
            f"modules entries must be module names, modules or Model classes, got {item!r}"
        )
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Model)
        and value is not Model
        and not value._meta.abstract
    ]
    names = getattr(module, "__models__", None)
    if names is not None:
        found = [m for m in found if m.__name__ in names or m in names]
    return found


class YaraOrm:
    """The ORM's lifecycle (class-level state, like Tortoise's ``Tortoise`` class)."""

    apps: dict[str, dict[str, type[Model]]] = {}
    _inited = False
    router: Any = None

    @classmethod
    async def init(
        cls,
        config: str | dict[str, Any] | None = None,
        *,
        db_url: str | None = None,
        modules: dict[str, Iterable[Any]] | None = None,
        config_file: str | None = None,
        use_tz: bool = False,
        timezone: str = "UTC",
        router: Any = None,
        routers: Any = None,
        **options: Any,
    ) -> None:
        """Open the connections and bind the models. ``options`` go to every pool (max_size,
        statement_timeout...)."""
        if config_file is not None:
            config = json.loads(Path(config_file).read_text())  # noqa: ASYNC240 - once, at startup
        if isinstance(config, str):
            db_url, config = config, None
        if config is None:
            if db_url is None:
                raise ConfigurationError("YaraOrm.init() needs a database URL or a config dict")
            apps: dict[str, Any] = {
                app: {"models": list(items), "default_connection": "default"}
                for app, items in (modules or {}).items()
            } or {"models": {"models": None, "default_connection": "default"}}
            config = {"connections": {"default": db_url}, "apps": apps}
        elif modules is not None:
            raise ConfigurationError("pass modules inside the config dict's apps, not alongside it")
        if not isinstance(config, dict) or "connections" not in config:
            raise ConfigurationError("the config dict needs a 'connections' mapping (and usually 'apps')")
        if cls._inited:
            await cls.close()
        set_tz = config.get("timezone", timezone)
        _tz_module.set_timezone(set_tz, bool(config.get("use_tz", use_tz)))
        cls.router = _router_chain(router or routers or config.get("routers"))
        connections.router = cls.router

        opened: list[Connection] = []
        try:
            for name, spec in config["connections"].items():
                conn_options: dict[str, Any]
                if isinstance(spec, str):
                    url, conn_options = spec, {}
                elif isinstance(spec, dict):
                    url, conn_options = _url_from_credentials(name, spec)
                else:
                    raise ConnectionConfigError(
                        f"connection {name!r} must be a URL or an engine/credentials dict"
                    )
                pool = await connect(url, **{**options, **conn_options})
                conn = Connection(name, pool, get_dialect(pool.backend, pool.capabilities()))
                opened.append(conn)
                connections._add(conn)
            cls._register_apps(config.get("apps"), list(config["connections"]))
        except BaseException:
            for conn in opened:
                await conn.pool.close()
            await connections.close_all()
            raise
        cls._inited = True

    @classmethod
    def _register_apps(cls, apps: dict[str, Any] | None, connection_names: list[str]) -> None:
        default_conn = "default" if "default" in connection_names else connection_names[0]
        if not apps:
            apps = {"models": {"models": None, "default_connection": default_conn}}
        cls.apps = {}
        for app_name, app in apps.items():
            module_list = app.get("models") if isinstance(app, dict) else app
            app_conn = (app.get("default_connection") if isinstance(app, dict) else None) or default_conn
            if module_list is None:
                # Join models are added by wiring.setup for the relations that use them.
                found = [
                    m
                    for m in MODEL_REGISTRY
                    if not m._meta.abstract and not getattr(m._meta, "auto_through", False)
                ]
            else:
                found = []
                for item in module_list:
                    found += _models_in(item)
            registry: dict[str, type[Model]] = {}
            # Resolves relation targets, adds reverse sides and the auto-created join models.
            found = wiring.setup(found)
            for model in dict.fromkeys(found):
                meta = model._meta
                if meta.app is None or module_list is not None:
                    meta.app = app_name
                name = meta.default_connection or app_conn
                meta.bind(connections.get(name), name)
                registry[model.__name__] = model
            cls.apps[app_name] = registry

    @classmethod
    async def add_connection(cls, name: str, db_url: str, **options: Any) -> Connection:
        """Open one more named connection after ``init`` (for ``using_db=name`` or raw SQL);
        models stay bound where they are."""
        cls._require_init()
        if name in connections:
            raise ConfigurationError(f"a connection named {name!r} is already open")
        pool = await connect(db_url, **options)
        conn = Connection(name, pool, get_dialect(pool.backend, pool.capabilities()))
        connections._add(conn)
        return conn

    @classmethod
    def models(cls, connection_name: str | None = None) -> list[type[Model]]:
        out = [m for app in cls.apps.values() for m in app.values()]
        if connection_name is not None:
            out = [m for m in out if m._meta.connection_name == connection_name]
        return out

    @classmethod
    def get_model(cls, name: str) -> type[Model]:
        app, _, model = name.rpartition(".")
        for app_name, registry in cls.apps.items():
            if (not app or app == app_name) and model in registry:
                return registry[model]
        raise ConfigurationError(f"no registered model {name!r}")

    @classmethod
    def _require_init(cls) -> None:
        if not cls._inited:
            raise ConfigurationError("YaraOrm is not initialised: call `await YaraOrm.init(...)` first")

    @classmethod
    async def generate_schemas(cls, safe: bool = True, models: Iterable[type[Model]] | None = None) -> None:
        """CREATE TABLE (IF NOT EXISTS when ``safe``) for the registered models (or ``models``),
        referenced tables first."""
        cls._require_init()
        chosen = list(models) if models is not None else cls.models()
        if models is not None:
            # The join tables of the chosen models' many-to-many fields belong to them.
            for model in list(chosen):
                for m2m in model._meta.declared_relations:
                    through = getattr(m2m, "through_model", None)
                    auto = through is not None and getattr(through._meta, "auto_through", False)
                    if through is not None and auto and through not in chosen:
                        chosen.append(through)
        for conn in connections.all():
            bound = [m for m in chosen if m._meta.db is conn]
            for statement in schema.schema_statements(bound, conn.dialect, safe):
                await conn.pool.execute(statement)

    @classmethod
    def get_schema_sql(cls, connection_name: str | None = None, safe: bool = False) -> str:
        """The DDL generate_schemas would run, per connection."""
        cls._require_init()
        parts = []
        for conn in connections.all():
            if connection_name is not None and conn.name != connection_name:
                continue
            bound = [m for m in cls.models() if m._meta.db is conn]
            if bound:
                parts.append(schema.describe_schema(bound, conn.dialect, safe))
        return "\n".join(parts)

    @classmethod
    async def close(cls) -> None:
        """Close every connection and unbind the models."""
        for app in cls.apps.values():
            for model in app.values():
                model._meta.bind(None, None)
        cls.apps = {}
        cls._inited = False
        connections.router = None
        await connections.close_all()

    close_connections = close

    @classmethod
    def is_inited(cls) -> bool:
        return cls._inited


_tz_module = timezone


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` in a fresh event loop and close the ORM's connections afterwards."""

    async def main() -> T:
        try:
            return await coro
        finally:
            await YaraOrm.close()

    return asyncio.run(main())
