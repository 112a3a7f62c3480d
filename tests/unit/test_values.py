"""Value objects refuse what a customer could not mean, and accept what they could."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.values import (
    Email,
    Money,
    PhoneNumber,
    PostalAddress,
    bounded_text,
    country_code,
    currency_code,
    decimal_amount,
    language_tag,
    past_date,
)


@pytest.mark.parametrize("value", ["ada@example.org", "Ada.King+tag@Sub.Example.CO.UK", "x@y.io"])
def test_valid_emails(value: str) -> None:
    assert Email(value).value == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ada",
        "ada@",
        "@example.org",
        "ada@example",
        "ada@@example.org",
        "ada @example.org",
        "ada@example.c",
        "a" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
    ],
)
def test_invalid_emails(value: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        Email(value)
    assert caught.value.field == "email"


def test_email_compares_normalized_for_lookups() -> None:
    assert Email("Ada@Example.ORG").normalized == "ada@example.org"


@pytest.mark.parametrize("value", ["+447700900123", "+12025550123", "+4915112345678"])
def test_valid_e164(value: str) -> None:
    assert str(PhoneNumber(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        "07700900123",
        "+44 7700 900123",
        "+0447700900123",
        "+1234",
        "+1234567890123456",
        "+44770090012a",
        "",
    ],
)
def test_invalid_e164(value: str) -> None:
    with pytest.raises(InvalidValue, match=r"E\.164"):
        PhoneNumber(value)


def test_country_codes() -> None:
    assert country_code("GB") == "GB"
    for bad in ("gb", "UK", "GBR", "", "XX"):
        with pytest.raises(InvalidValue):
            country_code(bad)


def test_currency_codes() -> None:
    assert currency_code("EUR") == "EUR"
    for bad in ("eur", "EURO", "XYZ", ""):
        with pytest.raises(InvalidValue):
            currency_code(bad)


def test_language_tags() -> None:
    assert language_tag("en-GB") == "en-GB"
    with pytest.raises(InvalidValue):
        language_tag("English")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.34", Decimal("12.34")),
        ("-0.01", Decimal("-0.01")),
        ("0", Decimal(0)),
        ("1E+2", Decimal(100)),
    ],
)
def test_decimal_amounts_are_exact(text: str, expected: Decimal) -> None:
    assert decimal_amount(text) == expected
    assert str(decimal_amount("0.10")) == "0.10"  # never through float: no 0.1000000000000000055


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-inf",
        "twelve",
        "",
        "1,5",
        Decimal("NaN"),
        Decimal("Infinity"),
    ],
)
def test_decimal_amounts_refuse_nan_infinity_and_words(value: str | Decimal) -> None:
    with pytest.raises(InvalidValue) as caught:
        decimal_amount(value, field="balance")
    assert caught.value.field == "balance"


def test_money_validates_both_parts() -> None:
    assert Money(Decimal("1.00"), "GBP").currency == "GBP"
    with pytest.raises(InvalidValue):
        Money(Decimal("NaN"), "GBP")
    with pytest.raises(InvalidValue):
        Money(Decimal("1.00"), "gbp")


def test_dates_must_be_in_the_past() -> None:
    today = date(2024, 6, 1)
    assert past_date(date(1990, 1, 1), "date_of_birth", today=today) == date(1990, 1, 1)
    for not_past in (today, date(2024, 6, 2), date(2100, 1, 1)):
        with pytest.raises(InvalidValue, match="past"):
            past_date(not_past, "date_of_birth", today=today)


def test_bounded_text_strips_and_checks_length() -> None:
    assert bounded_text("  Ada  ", "given_name", max_length=5) == "Ada"
    with pytest.raises(InvalidValue):
        bounded_text("   ", "given_name", max_length=5)
    with pytest.raises(InvalidValue):
        bounded_text("Adelaide", "given_name", max_length=5)


def test_postal_address_validates_every_part() -> None:
    PostalAddress(line1="1 Road", city="Town", postal_code="AB1 2CD", country="GB")
    with pytest.raises(InvalidValue) as caught:
        PostalAddress(line1="1 Road", city="Town", postal_code="AB1 2CD", country="ZZ")
    assert caught.value.field == "country"
    with pytest.raises(InvalidValue) as caught:
        PostalAddress(line1="", city="Town", postal_code="AB1 2CD", country="GB")
    assert caught.value.field == "address.line1"
