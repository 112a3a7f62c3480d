"""Accounts the customer holds and the transactions booked on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID


class AccountType(StrEnum):
    CURRENT = "current"
    SAVINGS = "savings"
    CREDIT_CARD = "credit_card"
    LOAN = "loan"
    SUBSCRIPTION = "subscription"
    LOYALTY = "loyalty"


class AccountStatus(StrEnum):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Account:
    """An account. Only the last four digits of its number are ever stored."""

    id: UUID
    customer_id: UUID
    type: AccountType
    name: str
    number_last4: str
    currency: str
    status: AccountStatus
    opened_at: datetime
    balance: Decimal
    closed_at: datetime | None = None

    @property
    def masked_number(self) -> str:
        """The number as shown to people: bullets and the last four digits."""
        return f"****{self.number_last4}"


class TransactionDirection(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class TransactionStatus(StrEnum):
    PENDING = "pending"
    BOOKED = "booked"
    REVERSED = "reversed"


class Transaction(NamedTuple):
    """A movement of money on an account. `amount` is positive; `direction` gives the sign.

    Immutable like the other entities, but a named tuple rather than a frozen dataclass: a
    page of transactions builds fifty of them, and a frozen dataclass sets each of its
    thirteen fields through `object.__setattr__`, about 2 µs a transaction against half a
    microsecond for the tuple. A changed copy is `transaction._replace(...)`."""

    id: UUID
    customer_id: UUID
    account_id: UUID
    booked_at: datetime
    value_date: date
    amount: Decimal
    currency: str
    direction: TransactionDirection
    status: TransactionStatus
    description: str
    category: str
    merchant: str | None = None
    reference: str | None = None
