"""``python -m yara_orm migrations ...``."""

from .cli import entry

entry()
