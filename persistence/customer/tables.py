"""Tables for customers, profiles, accounts, transactions and interactions.

Personal values are stored only sealed (persistence.crypto) under the customer's data key for
the column's retention class; the plaintext columns are ids, statuses, times and codes that
queries filter and sort on. Each column declares its data category and retention class.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory, RetentionClass
from persistence.base import UTC_DATETIME, UUID_KEY, Base, declare, sealed

Cat = DataCategory
Ret = RetentionClass


class CustomerRow(Base):
    """The aggregate root: ids, status and coarse codes only, nothing sealed."""

    __tablename__ = "customers"

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    status: Mapped[str] = mapped_column(String(20), info=declare(Cat.TECHNICAL, Ret.EVIDENCE))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.EVIDENCE)
    )
    acquisition_channel: Mapped[str] = mapped_column(
        String(20), info=declare(Cat.BEHAVIOURAL, Ret.EVIDENCE)
    )
    # Links two people: cleared on erasure, hence the contact class.
    referred_by: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id"), index=True, info=declare(Cat.IDENTIFIER, Ret.CONTACT)
    )


class ProfileRow(Base):
    """One per customer: every personal field sealed under the contact key."""

    __tablename__ = "profiles"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid,
        ForeignKey("customers.id"),
        primary_key=True,
        info=declare(Cat.IDENTIFIER, Ret.EVIDENCE),
    )
    # Blind index (HMAC of the normalised email under a master-derived key): equality look-ups
    # without storing the address. Not covered by the per-customer key, so erasure must clear it.
    email_index: Mapped[bytes | None] = mapped_column(
        LargeBinary(32), unique=True, info=declare(Cat.CONTACT, Ret.CONTACT)
    )
    given_name: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    family_name: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    preferred_name: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT)
    )
    email: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    phone: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    address_line1: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    address_line2: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    address_city: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    address_region: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT)
    )
    address_postal_code: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT)
    )
    address_country: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT)
    )
    date_of_birth: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.DEMOGRAPHIC, Ret.CONTACT)
    )
    language: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.DEMOGRAPHIC, Ret.CONTACT))
    version: Mapped[int] = mapped_column(Integer, info=declare(Cat.TECHNICAL, Ret.CONTACT))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.CONTACT)
    )


class ProfileChangeRow(Base):
    """The history of profile edits the customer can read; values sealed (contact key)."""

    __tablename__ = "profile_changes"
    __table_args__ = (Index(None, "customer_id", "version", "id"),)

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.CONTACT)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.CONTACT)
    )
    version: Mapped[int] = mapped_column(Integer, info=declare(Cat.TECHNICAL, Ret.CONTACT))
    field: Mapped[str] = mapped_column(String(50), info=declare(Cat.TECHNICAL, Ret.CONTACT))
    old_value: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    new_value: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.CONTACT, Ret.CONTACT))
    actor: Mapped[str] = mapped_column(String(20), info=declare(Cat.TECHNICAL, Ret.CONTACT))
    # A staff or service id (never a person's name): who did it, for the customer to see.
    actor_id: Mapped[str | None] = mapped_column(
        String(100), info=declare(Cat.IDENTIFIER, Ret.CONTACT)
    )
    # The OAuth client (app) the change came through; null for changes stored before
    # revision 0015, which did not record it.
    client_id: Mapped[str | None] = mapped_column(
        String(100), info=declare(Cat.TECHNICAL, Ret.CONTACT)
    )
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.CONTACT)
    )


class AccountRow(Base):
    """An account; name, last four digits and balance sealed (financial key)."""

    __tablename__ = "accounts"
    __table_args__ = (Index(None, "customer_id", "opened_at", "id"),)

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.FINANCIAL)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.FINANCIAL)
    )
    type: Mapped[str] = mapped_column(String(20), info=declare(Cat.FINANCIAL, Ret.FINANCIAL))
    name: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL))
    number_last4: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    balance: Mapped[bytes] = mapped_column(LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL))
    currency: Mapped[str] = mapped_column(String(3), info=declare(Cat.FINANCIAL, Ret.FINANCIAL))
    status: Mapped[str] = mapped_column(String(20), info=declare(Cat.TECHNICAL, Ret.FINANCIAL))
    opened_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    closed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.FINANCIAL, Ret.FINANCIAL)
    )


class TransactionRow(Base):
    """A booked movement; amount and free texts sealed (financial key)."""

    __tablename__ = "transactions"
    __table_args__ = (
        # One index for every read, each of which names the customer: a page of one of
        # their accounts (newest first, id breaking ties) walks it in order and stops after
        # the page. Led by the account alone, it let PostgreSQL's planner take customer and
        # account for independent conditions, merge two indexes and sort all of the
        # account's rows for each page; beside a second index on (customer_id, booked_at),
        # the planner could take that one for a customer it had no statistics for, and sort.
        Index(None, "customer_id", "account_id", "booked_at", "id"),
    )

    id: Mapped[UUID] = mapped_column(
        UUID_KEY, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.FINANCIAL)
    )
    account_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id"), info=declare(Cat.IDENTIFIER, Ret.FINANCIAL)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.FINANCIAL)
    )
    booked_at: Mapped[datetime] = mapped_column(
        UTC_DATETIME, info=declare(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    value_date: Mapped[date] = mapped_column(Date, info=declare(Cat.FINANCIAL, Ret.FINANCIAL))
    currency: Mapped[str] = mapped_column(String(3), info=declare(Cat.FINANCIAL, Ret.FINANCIAL))
    direction: Mapped[str] = mapped_column(String(10), info=declare(Cat.FINANCIAL, Ret.FINANCIAL))
    status: Mapped[str] = mapped_column(String(20), info=declare(Cat.TECHNICAL, Ret.FINANCIAL))
    category: Mapped[str] = mapped_column(String(50), info=declare(Cat.FINANCIAL, Ret.FINANCIAL))
    # Amount, description, merchant and reference, sealed as one value
    # (persistence.customer.transaction_fields); rows stored before revision 0014 hold them
    # in the four columns after it instead, one value each, and leave this one empty.
    sealed_fields: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    amount: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    description: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    merchant: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL)
    )
    reference: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=sealed(Cat.FINANCIAL, Ret.FINANCIAL)
    )


class InteractionRow(Base):
    """A contact on some channel; what was said sealed (interactions key)."""

    __tablename__ = "interactions"
    __table_args__ = (Index(None, "customer_id", "occurred_at", "id"),)

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.INTERACTIONS)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.INTERACTIONS)
    )
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    channel: Mapped[str] = mapped_column(
        String(20), info=declare(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    direction: Mapped[str] = mapped_column(
        String(10), info=declare(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    kind: Mapped[str] = mapped_column(String(20), info=declare(Cat.BEHAVIOURAL, Ret.INTERACTIONS))
    summary: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    outcome: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    satisfaction: Mapped[int | None] = mapped_column(
        SmallInteger, info=declare(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    campaign: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
