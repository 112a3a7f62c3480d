"""Tables of the purpose catalogue and the consent ledger (migration 0005).

`purpose_notices` holds every version of every purpose's notice (seeded by the migration);
`consent_events` is the append-only ledger with each event's signed receipt; `consent_locks`
has one row per (customer, purpose) that a change locks first, so concurrent changes to the
same purpose are serialised and each gets the next ledger position. The ledger holds ids,
purpose codes and decisions, no personal data values: it is kept as evidence after erasure.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory, RetentionClass
from persistence.base import Base, declare


class PurposeNoticeRow(Base):
    """One version of one purpose's notice. The highest revision is the current notice."""

    __tablename__ = "purpose_notices"

    purpose: Mapped[str] = mapped_column(
        String(40),
        primary_key=True,
        info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL),
    )
    revision: Mapped[int] = mapped_column(
        Integer,
        primary_key=True,
        autoincrement=False,
        info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL),
    )
    ordinal: Mapped[int] = mapped_column(
        Integer, info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
    notice_version: Mapped[str] = mapped_column(
        String(40), info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
    legal_basis: Mapped[str] = mapped_column(
        String(40), info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
    description: Mapped[str] = mapped_column(
        Text, info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
    data_categories: Mapped[str] = mapped_column(
        Text, info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )  # JSON list
    recipients: Mapped[str] = mapped_column(
        Text, info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )  # JSON list
    retention: Mapped[str] = mapped_column(
        String(200), info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
    withdrawable: Mapped[bool] = mapped_column(
        Boolean, info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
    published_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )


class ConsentEventRow(Base):
    """One consent decision. Never updated: a change is a new row at the next position."""

    __tablename__ = "consent_events"
    __table_args__ = (UniqueConstraint("customer_id", "purpose", "position"),)

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, index=True, info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    purpose: Mapped[str] = mapped_column(
        String(40), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    position: Mapped[int] = mapped_column(
        Integer, info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
    granted: Mapped[bool] = mapped_column(
        Boolean, info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    notice_version: Mapped[str] = mapped_column(
        String(40), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    actor_type: Mapped[str] = mapped_column(
        String(16), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    actor_id: Mapped[str | None] = mapped_column(
        String(128), info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    actor_role: Mapped[str | None] = mapped_column(
        String(64), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    client_id: Mapped[str | None] = mapped_column(
        String(128), info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    collection_method: Mapped[str] = mapped_column(
        String(80), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    # The compact JWS: signed ids, codes and decisions only (pseudonymous principal).
    receipt: Mapped[str] = mapped_column(
        Text, info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )


class ConsentLockRow(Base):
    """The row a change of one customer's purpose locks first (see module docstring)."""

    __tablename__ = "consent_locks"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    purpose: Mapped[str] = mapped_column(
        String(40), primary_key=True, info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
    changes: Mapped[int] = mapped_column(
        Integer, info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
