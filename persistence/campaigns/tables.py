"""Tables of campaign coordination (migration 0009).

`campaign_contacts` is the ledger of marketing contacts campaign tools recorded: ids, codes
and times only (what was said lives sealed in the customer's interactions). `contact_locks`
has one row per customer that recording a contact locks first, so two campaigns racing for
a customer's last free slot are decided one after the other. `contact_preferences` holds
what the customer asked for: channel codes, quiet hours and limits, no free text.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory as Cat
from domain.retention import RetentionClass as Ret
from persistence.base import Base, declare

_TS = DateTime(timezone=True)
_CONTACT = declare(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
_PREFERENCE = declare(Cat.BEHAVIOURAL, Ret.CONTACT)


class CampaignContactRow(Base):
    """One marketing contact a campaign tool recorded as sent."""

    __tablename__ = "campaign_contacts"
    __table_args__ = (
        Index(None, "customer_id", "sent_at"),
        UniqueConstraint("client_id", "idempotency_key"),
    )

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.INTERACTIONS)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.INTERACTIONS)
    )
    campaign_id: Mapped[str] = mapped_column(String(50), info=_CONTACT)
    channel: Mapped[str] = mapped_column(String(10), info=_CONTACT)
    sent_at: Mapped[datetime] = mapped_column(_TS, info=_CONTACT)
    # The service client that recorded it and its idempotency key (no personal data).
    client_id: Mapped[str] = mapped_column(
        String(128), info=declare(Cat.TECHNICAL, Ret.INTERACTIONS)
    )
    idempotency_key: Mapped[str] = mapped_column(
        String(100), info=declare(Cat.TECHNICAL, Ret.INTERACTIONS)
    )


class ContactLockRow(Base):
    """The row recording a contact for one customer locks first (see module docstring)."""

    __tablename__ = "contact_locks"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.OPERATIONAL)
    )
    decisions: Mapped[int] = mapped_column(Integer, info=declare(Cat.TECHNICAL, Ret.OPERATIONAL))


class ContactPreferenceRow(Base):
    """The customer's contact preferences; `version` is the ETag."""

    __tablename__ = "contact_preferences"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid,
        ForeignKey("customers.id"),
        primary_key=True,
        info=declare(Cat.IDENTIFIER, Ret.CONTACT),
    )
    # Space-separated channel codes ("email sms"); empty: no marketing on any channel.
    channels: Mapped[str] = mapped_column(String(40), info=_PREFERENCE)
    quiet_start: Mapped[str | None] = mapped_column(String(5), info=_PREFERENCE)
    quiet_end: Mapped[str | None] = mapped_column(String(5), info=_PREFERENCE)
    time_zone: Mapped[str | None] = mapped_column(String(64), info=_PREFERENCE)
    weekly_limit: Mapped[int | None] = mapped_column(Integer, info=_PREFERENCE)
    monthly_limit: Mapped[int | None] = mapped_column(Integer, info=_PREFERENCE)
    version: Mapped[int] = mapped_column(Integer, info=declare(Cat.TECHNICAL, Ret.CONTACT))
    updated_at: Mapped[datetime] = mapped_column(_TS, info=declare(Cat.TECHNICAL, Ret.CONTACT))
