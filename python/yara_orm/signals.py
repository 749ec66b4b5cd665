"""Model signals: async handlers run around ``save()``/``create()`` and ``delete()``.

::

    @pre_save(User)
    async def stamp(sender, instance, using_db, update_fields): ...

Handlers run in registration order and are awaited one after another. Bulk paths
(``bulk_create``, ``bulk_update``, queryset ``update()``/``delete()``) send no signals: they never
build per-row instances, which is what makes them fast. ``active`` lets the save path skip all of
this with one attribute read when no handler is registered.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .models.model import Model

Handler = Callable[..., Awaitable[Any]]
H = TypeVar("H", bound=Handler)


class Signals(enum.StrEnum):
    pre_save = "pre_save"
    post_save = "post_save"
    pre_delete = "pre_delete"
    post_delete = "post_delete"


# signal -> [(models or None for every model, handler)]
_handlers: dict[str, list[tuple[tuple[type[Model], ...] | None, Handler]]] = {s.value: [] for s in Signals}
active = False


def _register(signal: str, senders: tuple[type[Model], ...]) -> Callable[[H], H]:
    def decorate(handler: H) -> H:
        global active
        _handlers[signal].append((senders or None, handler))
        active = True
        return handler

    return decorate


def pre_save(*senders: type[Model]) -> Callable[[H], H]:
    """``handler(sender, instance, using_db, update_fields)`` before an INSERT or UPDATE."""
    return _register("pre_save", senders)


def post_save(*senders: type[Model]) -> Callable[[H], H]:
    """``handler(sender, instance, created, using_db, update_fields)`` after it."""
    return _register("post_save", senders)


def pre_delete(*senders: type[Model]) -> Callable[[H], H]:
    """``handler(sender, instance, using_db)`` before a DELETE."""
    return _register("pre_delete", senders)


def post_delete(*senders: type[Model]) -> Callable[[H], H]:
    """``handler(sender, instance, using_db)`` after it."""
    return _register("post_delete", senders)


def disconnect(signal: str, handler: Handler) -> None:
    """Remove a handler registered for ``signal`` ("pre_save", ...)."""
    global active
    _handlers[signal] = [(s, h) for s, h in _handlers[signal] if h is not handler]
    active = any(_handlers.values())


async def _send(signal: str, instance: Model, *args: Any) -> None:
    sender = type(instance)
    for senders, handler in list(_handlers[signal]):
        if senders is None or sender in senders:
            await handler(sender, instance, *args)


async def send_pre_save(instance: Model, using_db: Any, update_fields: Any) -> None:
    await _send("pre_save", instance, using_db, update_fields)


async def send_post_save(instance: Model, created: bool, using_db: Any, update_fields: Any) -> None:
    await _send("post_save", instance, created, using_db, update_fields)


async def send_pre_delete(instance: Model, using_db: Any) -> None:
    await _send("pre_delete", instance, using_db)


async def send_post_delete(instance: Model, using_db: Any) -> None:
    await _send("post_delete", instance, using_db)


__all__ = ["Signals", "disconnect", "post_delete", "post_save", "pre_delete", "pre_save"]
