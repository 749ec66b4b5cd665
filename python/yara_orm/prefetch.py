"""``Prefetch`` under yara-orm 1.19's ``yara_orm.prefetch`` module name."""

from .query.prefetch import Prefetch

__all__ = ["Prefetch"]
