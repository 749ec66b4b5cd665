"""Expressions: ``Q``, ``F``, ``Value``, ``Case``/``When``, ``Subquery``/``OuterRef``, ``Exists``,
``RawSQL``."""

from .query.expressions import (
    Case,
    CombinedExpression,
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

__all__ = [
    "Case",
    "CombinedExpression",
    "Exists",
    "Expression",
    "F",
    "OrderBy",
    "OuterRef",
    "Q",
    "RawSQL",
    "Subquery",
    "Value",
    "When",
]
