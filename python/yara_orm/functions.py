"""Functions and aggregates for ``annotate()``, ``aggregate()``, ``filter()`` and ``update()``."""

from .query.aggregates import Aggregate, Avg, Count, Max, Min, Sum
from .query.functions import (
    Abs,
    Cast,
    Coalesce,
    Concat,
    Extract,
    Function,
    Length,
    Lower,
    Now,
    Random,
    Round,
    Trim,
    Trunc,
    Upper,
)

__all__ = [
    "Abs",
    "Aggregate",
    "Avg",
    "Cast",
    "Coalesce",
    "Concat",
    "Count",
    "Extract",
    "Function",
    "Length",
    "Lower",
    "Max",
    "Min",
    "Now",
    "Random",
    "Round",
    "Sum",
    "Trim",
    "Trunc",
    "Upper",
]
