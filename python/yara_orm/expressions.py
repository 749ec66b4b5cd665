"""Expressions: ``Q``, ``F``, ``Value``, ``Case``/``When``, ``Subquery``/``OuterRef``, ``Exists``,
``RawSQL``, and ``Array`` for binding a sequence as a PostgreSQL array."""

from typing import Any

from .query.aggregates import Aggregate
from .query.expressions import (
    Case,
    CombinedExpression,
    Connector,
    Exists,
    Expression,
    F,
    OrderBy,
    OuterRef,
    Q,
    RawSQL,
    Subquery,
    Value,
    When,
)
from .query.functions import Function


class Array(list[Any]):
    """A list bound as a PostgreSQL array parameter (``WHERE id = ANY($1)`` with
    ``[Array(ids)]``). Plain lists bind as arrays too; the name keeps yara-orm 1.19 code working,
    where a bare list meant JSON."""


__all__ = [
    "Aggregate",
    "Array",
    "Case",
    "CombinedExpression",
    "Connector",
    "Exists",
    "Expression",
    "F",
    "Function",
    "OrderBy",
    "OuterRef",
    "Q",
    "RawSQL",
    "Subquery",
    "Value",
    "When",
]
