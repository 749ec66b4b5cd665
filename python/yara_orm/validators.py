"""Field validators: ``fields.IntField(validators=[MinValueValidator(0)])``.

A validator is any callable taking the value and raising
:class:`~yara_orm.exceptions.ValidationError` when it is not acceptable. They run on
``save()``/``create()``/``bulk_create()``/``bulk_update()`` before any SQL; the field prefixes
the message with its name (``"age: Value should be greater or equal to 0"``). ``None`` in a
nullable field is not passed to validators.
"""

from __future__ import annotations

import abc
import decimal
import ipaddress
import math
import re
from collections.abc import Sized
from typing import Any

from .exceptions import ValidationError

__all__ = [
    "CommaSeparatedIntegerListValidator",
    "MaxLengthValidator",
    "MaxValueValidator",
    "MinLengthValidator",
    "MinValueValidator",
    "NumericValidator",
    "RegexValidator",
    "Validator",
    "validate_ipv4_address",
    "validate_ipv6_address",
    "validate_ipv46_address",
]


class Validator(abc.ABC):
    """Base class of the built-in validators (plain callables work too)."""

    @abc.abstractmethod
    def __call__(self, value: Any) -> None: ...


class RegexValidator(Validator):
    """The value (as text) must match ``pattern`` somewhere (``re.search``; anchor with ^$)."""

    def __init__(self, pattern: str | re.Pattern[str], flags: int | re.RegexFlag = 0) -> None:
        self.regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)

    def __call__(self, value: Any) -> None:
        if not self.regex.search(str(value)):
            raise ValidationError(f"Value '{value}' does not match regex '{self.regex.pattern}'")


class MaxLengthValidator(Validator):
    """``len(value) <= max_length``."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def __call__(self, value: Any) -> None:
        if value is None:
            raise ValidationError("Value must not be None")
        if not isinstance(value, Sized):
            raise ValidationError(f"Value {value!r} has no length")
        if len(value) > self.max_length:
            raise ValidationError(f"Length of '{value}' {len(value)} > {self.max_length}")


class MinLengthValidator(Validator):
    """``len(value) >= min_length``."""

    def __init__(self, min_length: int) -> None:
        self.min_length = min_length

    def __call__(self, value: Any) -> None:
        if value is None:
            raise ValidationError("Value must not be None")
        if not isinstance(value, Sized):
            raise ValidationError(f"Value {value!r} has no length")
        if len(value) < self.min_length:
            raise ValidationError(f"Length of '{value}' {len(value)} < {self.min_length}")


class NumericValidator(Validator):
    """The value must be numeric: a finite int, float or Decimal (not bool), or a string that
    parses as one. The value validators below share its type check."""

    types: tuple[type, ...] = (int, float, decimal.Decimal)

    def __call__(self, value: Any) -> None:
        if isinstance(value, str):
            try:
                value = decimal.Decimal(value.strip())
            except decimal.InvalidOperation:
                raise ValidationError(f"{value!r} is not numeric") from None
        self._check(value)
        if not (value.is_finite() if isinstance(value, decimal.Decimal) else math.isfinite(value)):
            raise ValidationError(f"{value!r} is not a finite number")

    def _check(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, self.types):
            raise ValidationError(f"Value must be a numeric value, got {type(value).__name__} {value!r}")


class MinValueValidator(NumericValidator):
    """``value >= min_value``."""

    def __init__(self, min_value: int | float | decimal.Decimal) -> None:
        self._check(min_value)
        self.min_value = min_value

    def __call__(self, value: Any) -> None:
        self._check(value)
        if value < self.min_value:
            raise ValidationError(f"Value should be greater or equal to {self.min_value}")


class MaxValueValidator(NumericValidator):
    """``value <= max_value``."""

    def __init__(self, max_value: int | float | decimal.Decimal) -> None:
        self._check(max_value)
        self.max_value = max_value

    def __call__(self, value: Any) -> None:
        self._check(value)
        if value > self.max_value:
            raise ValidationError(f"Value should be less or equal to {self.max_value}")


class CommaSeparatedIntegerListValidator(Validator):
    """Text like ``"1,2,3"`` (``allow_negative=True`` also accepts ``"-1,2"``)."""

    def __init__(self, allow_negative: bool = False) -> None:
        sign = "-?" if allow_negative else ""
        self.regex = re.compile(rf"^{sign}\d+(?:,{sign}\d+)*\Z")
        self.allow_negative = allow_negative

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or not self.regex.match(value):
            raise ValidationError(f"Value '{value}' is not a comma-separated list of integers")


def validate_ipv4_address(value: Any) -> None:
    """An IPv4 address in dotted form."""
    try:
        ipaddress.IPv4Address(value)
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise ValidationError(f"'{value}' is not a valid IPv4 address.") from None


def validate_ipv6_address(value: Any) -> None:
    """An IPv6 address."""
    try:
        ipaddress.IPv6Address(value)
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise ValidationError(f"'{value}' is not a valid IPv6 address.") from None


def validate_ipv46_address(value: Any) -> None:
    """An IPv4 or an IPv6 address."""
    try:
        validate_ipv4_address(value)
    except ValidationError:
        try:
            validate_ipv6_address(value)
        except ValidationError:
            raise ValidationError(f"'{value}' is not a valid IPv4 or IPv6 address.") from None
