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
import urllib.parse
from collections.abc import Iterable, Sized
from typing import Any

from .exceptions import ValidationError

__all__ = [
    "CommaSeparatedIntegerListValidator",
    "DomainNameValidator",
    "EmailValidator",
    "InvalidDomainName",
    "InvalidEmailAddress",
    "InvalidScheme",
    "InvalidURL",
    "MaxLengthValidator",
    "MaxValueValidator",
    "MinLengthValidator",
    "MinValueValidator",
    "NumericValidator",
    "RegexValidator",
    "URLValidator",
    "Validator",
    "validate_domain_name",
    "validate_email",
    "validate_ipv4_address",
    "validate_ipv6_address",
    "validate_ipv46_address",
    "validate_url",
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


# -- domain names, URLs and e-mail addresses --------------------------------------------------------
# Internationalised names are accepted as Unicode text: a label character is an ASCII letter or
# digit, or any non-ASCII character of the Basic Multilingual Plane (which keeps symbols outside
# it, such as most emoji, out of host names).

_LABEL_CHAR = "a-z0-9\u00a1-\uffff"
_LABEL = rf"[{_LABEL_CHAR}](?:[{_LABEL_CHAR}-]{{0,61}}[{_LABEL_CHAR}])?"
_TLD = r"(?:[a-z\u00a1-\uffff](?:[a-z\u00a1-\uffff-]{0,61}[a-z\u00a1-\uffff])?|xn--[a-z0-9-]{1,59})"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+{_TLD}\Z", re.IGNORECASE)
_IPV4_LIKE_RE = re.compile(r"^[0-9.]+\Z")


class InvalidDomainName(ValidationError):
    def __init__(self, message: str = "Invalid domain name") -> None:
        super().__init__(message)


class InvalidURL(ValidationError):
    def __init__(self, message: str = "Invalid URL") -> None:
        super().__init__(message)


class InvalidScheme(InvalidURL):
    def __init__(self, scheme: str = "") -> None:
        super().__init__(f"URL scheme {scheme!r} is not allowed")
        self.scheme = scheme


class InvalidEmailAddress(ValidationError):
    def __init__(self, message: str = "Invalid e-mail address") -> None:
        super().__init__(message)


class DomainNameValidator(Validator):
    """A fully qualified domain name (``example.com``, ``münchen.de``); ``accept_idna=False``
    accepts ASCII names only."""

    max_length = 255

    def __init__(self, accept_idna: bool = True) -> None:
        self.accept_idna = accept_idna

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or not value or len(value) > self.max_length:
            raise InvalidDomainName()
        if not self.accept_idna and not value.isascii():
            raise InvalidDomainName()
        if not _DOMAIN_RE.match(value):
            raise InvalidDomainName()


validate_domain_name = DomainNameValidator()


def _valid_host(host: str) -> bool:
    """A URL's host: an IP address, ``localhost`` or a domain name."""
    if host.lower() == "localhost":
        return True
    if ":" in host or _IPV4_LIKE_RE.match(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True
    try:
        validate_domain_name(host)
    except InvalidDomainName:
        return False
    return True


class URLValidator(Validator):
    """An absolute URL whose scheme is one of ``allowed_schemes`` (http, https, ftp, ftps by
    default) and whose host is a domain name, ``localhost`` or an IP address."""

    max_length = 2048
    max_host_length = 253
    default_schemes = ("http", "https", "ftp", "ftps")

    def __init__(self, allowed_schemes: Iterable[str] | None = None) -> None:
        schemes = self.default_schemes if allowed_schemes is None else allowed_schemes
        self.allowed_schemes = frozenset(s.lower() for s in schemes)

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or not value or len(value) > self.max_length:
            raise InvalidURL()
        if any(c.isspace() for c in value):
            raise InvalidURL()
        try:
            parts = urllib.parse.urlsplit(value)
            host = parts.hostname
            _ = parts.port  # an invalid port raises here
        except ValueError:
            raise InvalidURL() from None
        if not parts.scheme or not parts.netloc:
            raise InvalidURL()
        if parts.scheme.lower() not in self.allowed_schemes:
            raise InvalidScheme(parts.scheme.lower())
        if not host or len(host) > self.max_host_length or not _valid_host(host):
            raise InvalidURL()


validate_url = URLValidator()

_EMAIL_USER_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z", re.IGNORECASE
)


class EmailValidator(Validator):
    """``user@domain``: a dot-atom local part and a domain name or an address literal
    (``user@[192.168.1.1]``). With ``allowed_domains`` only those domains are accepted (and
    need not be public names: ``localhost``)."""

    max_length = 320

    def __init__(self, allowed_domains: Iterable[str] | None = None) -> None:
        self.allowed_domains = frozenset(d.lower() for d in allowed_domains or ())

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or "@" not in value or len(value) > self.max_length:
            raise InvalidEmailAddress()
        user, _, domain = value.rpartition("@")
        if not _EMAIL_USER_RE.match(user) or not domain:
            raise InvalidEmailAddress()
        if self.allowed_domains:
            if domain.lower() not in self.allowed_domains:
                raise InvalidEmailAddress()
            return
        if domain.startswith("[") and domain.endswith("]"):
            try:
                ipaddress.ip_address(domain[1:-1])
            except ValueError:
                raise InvalidEmailAddress() from None
            return
        try:
            validate_domain_name(domain)
        except InvalidDomainName:
            raise InvalidEmailAddress() from None


validate_email = EmailValidator()
