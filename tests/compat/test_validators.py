"""The domain name, URL and e-mail validators Tortoise users attach to fields."""

from __future__ import annotations

import pytest

from yara_orm.exceptions import ValidationError
from yara_orm.validators import (
    DomainNameValidator,
    EmailValidator,
    InvalidDomainName,
    InvalidEmailAddress,
    InvalidScheme,
    InvalidURL,
    URLValidator,
    validate_domain_name,
    validate_email,
    validate_url,
)


@pytest.mark.parametrize("value", ["example.com", "a.b.example.org", "UP-per.net", "münchen.de", "❤️.site"])
def test_domain_names_accepted(value: str) -> None:
    validate_domain_name(value)


@pytest.mark.parametrize("value", ["", "com", "-a.com", "a-.com", "under_score.com", "💻.tech", "a..com"])
def test_domain_names_refused(value: str) -> None:
    with pytest.raises(InvalidDomainName):
        validate_domain_name(value)
    assert issubclass(InvalidDomainName, ValidationError)


def test_ascii_only_domain_names() -> None:
    with pytest.raises(InvalidDomainName):
        DomainNameValidator(accept_idna=False)("münchen.de")
    DomainNameValidator(accept_idna=False)("muenchen.de")


@pytest.mark.parametrize(
    "value",
    [
        "https://www.example.com/p?q=1#f",
        "ftp://ftp.example.com/file",
        "http://localhost:8080",
        "http://8.8.8.8:80",
        "https://[2001:db8::1]:443",
        "http://user:pw@example.com",
    ],
)
def test_urls_accepted(value: str) -> None:
    validate_url(value)


@pytest.mark.parametrize(
    "value",
    ["", "no-scheme", "http://", "http:// a.com", "http://[::zz]", "http://256.1.1.1", "http://a.com:99999"],
)
def test_urls_refused(value: str) -> None:
    with pytest.raises(InvalidURL):
        validate_url(value)


def test_url_length_and_schemes() -> None:
    with pytest.raises(InvalidURL):
        validate_url("http://example.com/" + "a" * 2100)
    with pytest.raises(InvalidURL):
        validate_url("http://" + "a" * 254 + ".com")
    web = URLValidator(allowed_schemes=["http", "https"])
    web("https://example.com")
    with pytest.raises(InvalidScheme):
        web("ftp://example.com")


@pytest.mark.parametrize("value", ["u@example.com", "a.b+tag@ex.co.uk", "u@[192.168.1.1]", "u@[::1]"])
def test_emails_accepted(value: str) -> None:
    validate_email(value)


@pytest.mark.parametrize(
    "value", ["", "plain", "u@", "@example.com", "u@.com", "u@com.", "u@a..com", "u@@a.com", "u@nodot"]
)
def test_emails_refused(value: str) -> None:
    with pytest.raises(InvalidEmailAddress):
        validate_email(value)


def test_email_allowed_domains() -> None:
    only = EmailValidator(allowed_domains=["example.com", "localhost"])
    only("u@example.com")
    only("u@localhost")  # an allowlisted name need not be a public domain
    with pytest.raises(InvalidEmailAddress):
        only("u@evil.com")
    EmailValidator([])("u@any.domain")  # an empty allowlist means any valid domain
