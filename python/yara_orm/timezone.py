"""The timezone naive datetimes are taken to be in (``YaraOrm.init(timezone=...)``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .exceptions import ConfigurationError

_default: dt.tzinfo = dt.UTC
_use_tz = False


def set_timezone(name: str, use_tz: bool = False) -> None:
    global _default, _use_tz
    try:
        _default = dt.UTC if name.upper() == "UTC" else ZoneInfo(name)
    except Exception as exc:
        raise ConfigurationError(f"unknown timezone {name!r}: use an IANA name such as 'UTC'") from exc
    _use_tz = use_tz


def get_default_timezone() -> dt.tzinfo:
    return _default


def now() -> dt.datetime:
    """The current instant, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def make_aware(value: dt.datetime) -> dt.datetime:
    """Aware values are normalised to UTC; naive ones are read in the configured timezone."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=_default)
    return value.astimezone(dt.UTC)
