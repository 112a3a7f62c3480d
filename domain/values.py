"""Value objects: validated at construction, immutable, compared by value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidValue
from domain.reference_data import COUNTRY_CODES, CURRENCY_CODES

# A pragmatic address check: one @, a dotted domain, no spaces. Deliverability is proven by
# sending mail, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class Email:
    """An email address, kept as given but compared case-insensitively via `normalized`."""

    value: str

    def __post_init__(self) -> None:
        if len(self.value) > 254 or not _EMAIL.match(self.value):
            raise InvalidValue("email", "is not a valid email address")

    @property
    def normalized(self) -> str:
        """The form used for look-ups: trimmed and lower-cased."""
        return self.value.strip().lower()

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number in E.164 form: `+` and up to 15 digits, no spaces."""

    value: str

    def __post_init__(self) -> None:
        if not _E164.match(self.value):
            raise InvalidValue("phone", "must be in E.164 form, e.g. +447700900123")

    def __str__(self) -> str:
        return self.value


def country_code(value: str) -> str:
    """Return `value` if it is an ISO 3166-1 alpha-2 code, else raise InvalidValue."""
    if value not in COUNTRY_CODES:
        raise InvalidValue("country", "must be an ISO 3166-1 alpha-2 code, e.g. GB")
    return value


def currency_code(value: str) -> str:
    """Return `value` if it is an ISO 4217 currency code, else raise InvalidValue."""
    if value not in CURRENCY_CODES:
        raise InvalidValue("currency", "must be an ISO 4217 code, e.g. EUR")
    return value


def language_tag(value: str) -> str:
    """Return `value` if it looks like a BCP 47 language tag (`en`, `en-GB`)."""
    if not _LANGUAGE.match(value):
        raise InvalidValue("language", "must be a language tag such as en or en-GB")
    return value


def decimal_amount(value: str | Decimal, field: str = "amount") -> Decimal:
    """Parse a decimal amount exactly (never through float); reject NaN and infinities."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidValue(field, "must be a decimal number such as 12.34") from None
    if not amount.is_finite():
        raise InvalidValue(field, "must be a finite decimal number")
    return amount


def bounded_text(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """Return `value` stripped, if its length is within bounds."""
    text = value.strip()
    if not min_length <= len(text) <= max_length:
        raise InvalidValue(field, f"must be {min_length} to {max_length} characters")
    return text


# Characters no name or address line contains but that change how text is shown or parsed
# downstream: C0/C1 controls (NUL ends strings in C libraries, ESC drives terminals), line
# and paragraph separators, and the bidirectional overrides that make a name display as
# something else. Joiners (U+200C, U+200D) stay allowed: Persian and Indic names need them.
_NOT_IN_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
LINE_CHARACTERS_PATTERN = _NOT_IN_A_LINE.pattern
"""A regular expression matching any character a line of text (a name, an address line) may
not contain."""
# Free text (the reason given for a request) may break lines and hold tabs; nothing else of
# the above.
_NOT_IN_FREE_TEXT = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)
FREE_TEXT_CHARACTERS_PATTERN = _NOT_IN_FREE_TEXT.pattern
"""A regular expression matching any character free text may not contain."""


def _refuse(not_allowed: re.Pattern[str], value: str, field: str, message: str) -> None:
    # A lone surrogate is no character: it cannot be stored as UTF-8 text.
    if not_allowed.search(value) or any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise InvalidValue(field, message)


def refuse_line_breaks_and_controls(value: str, field: str) -> None:
    """InvalidValue unless `value` is one line of text: no control, separator or
    bidirectional-override character, not even at its ends (where stripping would remove
    some)."""
    _refuse(_NOT_IN_A_LINE, value, field, "must not contain control or formatting characters")


def line_of_text(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """Return one line of text (a name, a record's field) stripped, if it holds no control,
    separator or bidirectional-override character and its length is within bounds."""
    refuse_line_breaks_and_controls(value, field)
    return bounded_text(value, field, max_length=max_length, min_length=min_length)


def free_text(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """Return free text stripped, if its length is within bounds and it holds no control or
    bidirectional-override character other than line breaks and tabs."""
    _refuse(
        _NOT_IN_FREE_TEXT,
        value,
        field,
        "must not contain control or formatting characters other than line breaks",
    )
    return bounded_text(value, field, max_length=max_length, min_length=min_length)


def person_name(value: str, field: str, *, max_length: int = 100) -> str:
    """Return a name stripped, if it is a `line_of_text` within bounds."""
    return line_of_text(value, field, max_length=max_length)


def past_date(value: date, field: str, *, today: date) -> date:
    """Return `value` if it lies before `today` (a date of birth cannot be in the future)."""
    if value >= today:
        raise InvalidValue(field, "must be in the past")
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        decimal_amount(self.amount)
        currency_code(self.currency)


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A postal address; `country` is ISO 3166-1 alpha-2."""

    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        bounded_text(self.line1, "address.line1", max_length=200)
        bounded_text(self.city, "address.city", max_length=100)
        bounded_text(self.postal_code, "address.postal_code", max_length=20)
        if self.line2 is not None:
            bounded_text(self.line2, "address.line2", max_length=200, min_length=0)
        if self.region is not None:
            bounded_text(self.region, "address.region", max_length=100, min_length=0)
        country_code(self.country)
