"""``Prefetch`` and ``Q`` under Tortoise's ``tortoise.query_utils`` module name."""

from .expressions import Q
from .query.prefetch import Prefetch

__all__ = ["Prefetch", "Q"]
