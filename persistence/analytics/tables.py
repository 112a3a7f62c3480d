"""Tables of the analytics projection (migration 0008).

Rows are keyed by pseudonym (HMAC of the customer id under the projection key) and hold
bands, codes and monthly sums only: no name, email, phone, address, exact birth date,
account number, transaction description, merchant or free text. Every column is of the
`analytics` retention class: derived data, deleted when its customer leaves the projection
and rebuilt from the source tables at will. `generation` tells which projection key a row
was made under, so a rotation can build the new rows beside the old and switch at once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory as Cat
from domain.retention import RetentionClass as Ret
from persistence.base import Base, declare

_PSEUDONYM = declare(Cat.IDENTIFIER, Ret.ANALYTICS)
_BEHAVIOUR = declare(Cat.BEHAVIOURAL, Ret.ANALYTICS)
_MONEY = declare(Cat.FINANCIAL, Ret.ANALYTICS)
_DEMOGRAPHIC = declare(Cat.DEMOGRAPHIC, Ret.ANALYTICS)
_TECH = declare(Cat.TECHNICAL, Ret.ANALYTICS)
_AMOUNT = Numeric(14, 2)


def _pseudonym_column() -> Any:
    return mapped_column(String(64), primary_key=True, info=_PSEUDONYM)


class AnalyticsStateRow(Base):
    """The one row saying which projection key is current (and, during a rotation, which
    one is being built). Locked by every membership change and rebuild batch."""

    __tablename__ = "analytics_state"

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, info=declare(Cat.TECHNICAL, Ret.OPERATIONAL)
    )
    generation: Mapped[int] = mapped_column(Integer, info=declare(Cat.TECHNICAL, Ret.OPERATIONAL))
    # Random salt of the projection key (the key is HKDF(master) keyed by it): replacing it
    # makes every pseudonym new, and nothing links the old ones to the new.
    key_salt: Mapped[bytes] = mapped_column(
        LargeBinary(32), info=declare(Cat.TECHNICAL, Ret.OPERATIONAL)
    )
    next_salt: Mapped[bytes | None] = mapped_column(
        LargeBinary(32), info=declare(Cat.TECHNICAL, Ret.OPERATIONAL)
    )
    rebuilt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.OPERATIONAL)
    )


class AnalyticsMemberRow(Base):
    """A member of the projection: coarse attributes only."""

    __tablename__ = "analytics_members"
    __table_args__ = (Index(None, "generation"),)

    pseudonym: Mapped[str] = _pseudonym_column()
    generation: Mapped[int] = mapped_column(Integer, info=_TECH)
    age_band: Mapped[str] = mapped_column(String(8), info=_DEMOGRAPHIC)
    country: Mapped[str] = mapped_column(String(2), info=_DEMOGRAPHIC)
    channel: Mapped[str] = mapped_column(String(20), info=_BEHAVIOUR)
    tenure_band: Mapped[str] = mapped_column(String(8), info=_BEHAVIOUR)
    products: Mapped[int] = mapped_column(SmallInteger, info=_MONEY)
    joined_month: Mapped[str] = mapped_column(String(7), info=_BEHAVIOUR)
    left_month: Mapped[str | None] = mapped_column(String(7), info=_BEHAVIOUR)
    referred: Mapped[bool] = mapped_column(Boolean, info=_BEHAVIOUR)
    referrals_made: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)
    # Month granularity: when the consent that admitted them was given is the customer's
    # own business (they can read it); the projection needs no more than the month.
    member_since: Mapped[str] = mapped_column(String(7), info=_TECH)


class AnalyticsMonthRow(Base):
    """One member's facts for one calendar month."""

    __tablename__ = "analytics_months"
    __table_args__ = (Index(None, "month", "tier"),)

    pseudonym: Mapped[str] = _pseudonym_column()
    month: Mapped[str] = mapped_column(String(7), primary_key=True, info=_TECH)
    tier: Mapped[str] = mapped_column(String(10), info=_MONEY)
    balance_band: Mapped[str] = mapped_column(String(10), info=_MONEY)
    revenue: Mapped[Decimal] = mapped_column(_AMOUNT, info=_MONEY)
    transactions: Mapped[int] = mapped_column(Integer, info=_MONEY)
    transaction_value: Mapped[Decimal] = mapped_column(_AMOUNT, info=_MONEY)
    marketing_contacts: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)
    referrals_made: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)


class AnalyticsContactRow(Base):
    """One member's contacts on one channel in one month."""

    __tablename__ = "analytics_contacts"
    __table_args__ = (Index(None, "month", "channel"),)

    pseudonym: Mapped[str] = _pseudonym_column()
    month: Mapped[str] = mapped_column(String(7), primary_key=True, info=_TECH)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True, info=_BEHAVIOUR)
    # The month's tier and balance band again, so experience by tier needs no join.
    tier: Mapped[str] = mapped_column(String(10), info=_MONEY)
    balance_band: Mapped[str] = mapped_column(String(10), info=_MONEY)
    contacts: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)
    complaints: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)
    satisfaction_sum: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)
    satisfaction_n: Mapped[int] = mapped_column(Integer, info=_BEHAVIOUR)
