"""The timezone naive datetimes are taken to be in (``YaraOrm.init(timezone=...)``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .exceptions import ConfigurationError

UTC = dt.UTC
_default: dt.tzinfo = dt.UTC
_use_tz = False


def set_timezone(name: str, use_tz: bool = False) -> None:
    global _default, _use_tz
    try:
        _default = dt.UTC if name.upper() == "UTC" else ZoneInfo(name)
    except Exception as exc:
        raise ConfigurationError(f"unknown timezone {name!r}: use an IANA name such as 'UTC'") from exc
    _use_tz = use_tz


def _set_config(timezone: str | None = None, use_tz: bool | None = None) -> None:
    """yara-orm 1.19's setter (its test fixtures call it): change the timezone and/or
    ``use_tz``, leaving the one not given as it is."""
    set_timezone(get_timezone() if timezone is None else timezone, _use_tz if use_tz is None else use_tz)


def get_default_timezone() -> dt.tzinfo:
    return _default


def now() -> dt.datetime:
    """The current instant, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def to_utc(value: dt.datetime) -> dt.datetime:
    """Aware values are normalised to UTC; naive ones are read in the configured timezone."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=_default)
    return value.astimezone(dt.UTC)


# -- the helpers of yara-orm 1.19's and Tortoise's timezone modules ---------------------------------


def parse_timezone(name: str) -> dt.tzinfo:
    """An IANA name as a tzinfo; ConfigurationError for an unknown one."""
    try:
        return dt.UTC if name.upper() == "UTC" else ZoneInfo(name)
    except Exception as exc:
        raise ConfigurationError(f"unknown timezone {name!r}: use an IANA name such as 'UTC'") from exc


def get_timezone() -> str:
    """The configured timezone's name."""
    return "UTC" if _default is dt.UTC else str(_default)


def get_use_tz() -> bool:
    return _use_tz


def is_aware(value: dt.datetime | dt.time) -> bool:
    return value.utcoffset() is not None


def is_naive(value: dt.datetime | dt.time) -> bool:
    return value.utcoffset() is None


def _zone(timezone: str | dt.tzinfo | None) -> dt.tzinfo:
    if timezone is None:
        return _default
    return parse_timezone(timezone) if isinstance(timezone, str) else timezone


def make_aware(value: dt.datetime, timezone: str | dt.tzinfo | None = None) -> dt.datetime:
    """A naive datetime read as wall-clock time in ``timezone`` (the configured one by default)."""
    if is_aware(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value!r}")
    return value.replace(tzinfo=_zone(timezone))


def make_naive(value: dt.datetime, timezone: str | dt.tzinfo | None = None) -> dt.datetime:
    """An aware datetime as naive wall-clock time in ``timezone`` (the configured one by default)."""
    if is_naive(value):
        raise ValueError(f"make_naive expects an aware datetime, got {value!r}")
    return value.astimezone(_zone(timezone)).replace(tzinfo=None)


def localtime(value: dt.datetime | None = None, timezone: str | dt.tzinfo | None = None) -> dt.datetime:
    """``value`` (now by default) in ``timezone``; a naive value is taken to be UTC."""
    if value is None:
        value = now()
    if is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone(timezone))
