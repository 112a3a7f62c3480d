"""What the projection may know about a customer: a pseudonym and coarse attributes.

Nothing here can name a person: ages are 10-year bands, tenure and balances are bands, the
pseudonym is a keyed HMAC that cannot be computed (or reversed) without the projection key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

PSEUDONYM_BYTES = 32


def pseudonym(key: bytes, customer_id: UUID) -> str:
    """The customer's pseudonym under `key`: hex HMAC-SHA256 of the id's bytes.

    Stable for one key; a new key (rotation) gives unrelated pseudonyms."""
    if len(key) < PSEUDONYM_BYTES:
        raise ValueError("a projection key is at least 32 bytes")
    return hmac.new(key, customer_id.bytes, hashlib.sha256).hexdigest()


def month_of(moment: datetime | date) -> str:
    """The calendar month `YYYY-MM` of a moment (UTC for datetimes)."""
    return f"{moment.year:04d}-{moment.month:02d}"


def months_between(first: str, last: str) -> int:
    """Whole months from `first` to `last` (both `YYYY-MM`); negative when `last` is earlier."""
    y1, m1 = (int(p) for p in first.split("-"))
    y2, m2 = (int(p) for p in last.split("-"))
    return (y2 - y1) * 12 + (m2 - m1)


def months_in(first: str, last: str) -> int:
    """How many calendar months the span from `first` to `last` holds, both included
    (`2026-09` to `2026-10` holds two); zero when `last` is earlier."""
    return max(months_between(first, last) + 1, 0)


def add_months(month: str, count: int) -> str:
    """`month` (`YYYY-MM`) moved by `count` months."""
    year, mon = (int(p) for p in month.split("-"))
    index = year * 12 + (mon - 1) + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def age_band(date_of_birth: date, on: date) -> str:
    """The 10-year age band on `on`: `18-29` for the youngest adults, then `30-39`, ...,
    `80+` for the oldest (a band of one birth year would single people out)."""
    age = (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )
    if age < 30:
        return "18-29"
    if age >= 80:
        return "80+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


TENURE_BANDS: tuple[tuple[int, str], ...] = (
    (12, "<1y"),
    (36, "1-3y"),
    (60, "3-5y"),
    (120, "5-10y"),
)


def tenure_band(months: int) -> str:
    """How long the customer has been with us, in coarse bands (`<1y` ... `10y+`)."""
    for limit, label in TENURE_BANDS:
        if months < limit:
            return label
    return "10y+"


BALANCE_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(0), "negative"),
    (Decimal(1_000), "0-1k"),
    (Decimal(10_000), "1k-10k"),
    (Decimal(50_000), "10k-50k"),
)


def balance_band(balance: Decimal) -> str:
    """The customer's total balance in coarse bands (`negative`, `0-1k`, ..., `50k+`)."""
    for limit, label in BALANCE_BANDS:
        if balance < limit:
            return label
    return "50k+"


@dataclass(frozen=True, slots=True)
class CoarseAttributes:
    """A member's attributes as the projection holds them: bands and codes only."""

    age_band: str
    country: str
    channel: str
    tenure_band: str
    products: int
