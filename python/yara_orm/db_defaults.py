"""Database-side column defaults (see :mod:`yara_orm.fields.db_defaults`); ``Now`` here is the
query function, which also works as a default."""

from .fields.db_defaults import DatabaseDefault, RandomHex, SqlDefault
from .query.functions import Now

__all__ = ["DatabaseDefault", "Now", "RandomHex", "SqlDefault"]
