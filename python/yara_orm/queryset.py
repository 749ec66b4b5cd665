"""The lazy querysets (also importable from ``yara_orm``), under the module name yara-orm 1.19
and Tortoise use."""

from .expressions import Q
from .query.queryset import QuerySet, QuerySetSingle, ValuesQuery

__all__ = ["Q", "QuerySet", "QuerySetSingle", "ValuesQuery"]
