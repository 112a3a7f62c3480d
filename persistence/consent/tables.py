"""Tables of the purpose catalogue and the consent ledger (migration 0005).

`purpose_notices` holds every version of every purpose's notice (seeded by the migration);
`consent_events` is the append-only ledger with each event's signed receipt; `consent_locks`
has one row per (customer, purpose) that a change locks first, so concurrent changes to the
same purpose are serialised and each gets the next ledger position. The ledger holds ids,
purpose codes and decisions, no personal data values: it is kept as evidence after erasure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory, RetentionClass
from persistence.base import Base


def _evidence(category: DataCategory) -> dict[str, Any]:
    return {"category": category, "retention": RetentionClass.EVIDENCE}


def _catalogue() -> dict[str, Any]:
    return {"category": DataCategory.TECHNICAL, "retention": RetentionClass.OPERATIONAL}


class PurposeNoticeRow(Base):
    """One version of one purpose's notice. The highest revision is the current notice."""

    __tablename__ = "purpose_notices"

    purpose: Mapped[str] = mapped_column(String(40), primary_key=True, info=_catalogue())
    revision: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, info=_catalogue()
    )
    ordinal: Mapped[int] = mapped_column(Integer, info=_catalogue())
    notice_version: Mapped[str] = mapped_column(String(40), info=_catalogue())
    legal_basis: Mapped[str] = mapped_column(String(40), info=_catalogue())
    description: Mapped[str] = mapped_column(Text, info=_catalogue())
    data_categories: Mapped[str] = mapped_column(Text, info=_catalogue())  # JSON list
    recipients: Mapped[str] = mapped_column(Text, info=_catalogue())  # JSON list
    retention: Mapped[str] = mapped_column(String(200), info=_catalogue())
    withdrawable: Mapped[bool] = mapped_column(Boolean, info=_catalogue())
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=_catalogue())


class ConsentEventRow(Base):
    """One consent decision. Never updated: a change is a new row at the next position."""

    __tablename__ = "consent_events"
    __table_args__ = (UniqueConstraint("customer_id", "purpose", "position"),)

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=_evidence(DataCategory.IDENTIFIER)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, index=True, info=_evidence(DataCategory.IDENTIFIER)
    )
    purpose: Mapped[str] = mapped_column(String(40), info=_evidence(DataCategory.EVIDENCE))
    position: Mapped[int] = mapped_column(Integer, info=_evidence(DataCategory.TECHNICAL))
    granted: Mapped[bool] = mapped_column(Boolean, info=_evidence(DataCategory.EVIDENCE))
    notice_version: Mapped[str] = mapped_column(String(40), info=_evidence(DataCategory.EVIDENCE))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=_evidence(DataCategory.EVIDENCE)
    )
    actor_type: Mapped[str] = mapped_column(String(16), info=_evidence(DataCategory.EVIDENCE))
    actor_id: Mapped[str | None] = mapped_column(
        String(128), info=_evidence(DataCategory.IDENTIFIER)
    )
    actor_role: Mapped[str | None] = mapped_column(
        String(64), info=_evidence(DataCategory.EVIDENCE)
    )
    client_id: Mapped[str | None] = mapped_column(
        String(128), info=_evidence(DataCategory.IDENTIFIER)
    )
    collection_method: Mapped[str] = mapped_column(
        String(80), info=_evidence(DataCategory.EVIDENCE)
    )
    # The compact JWS: signed ids, codes and decisions only (pseudonymous principal).
    receipt: Mapped[str] = mapped_column(Text, info=_evidence(DataCategory.EVIDENCE))


class ConsentLockRow(Base):
    """The row a change of one customer's purpose locks first (see module docstring)."""

    __tablename__ = "consent_locks"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=_evidence(DataCategory.IDENTIFIER)
    )
    purpose: Mapped[str] = mapped_column(
        String(40), primary_key=True, info=_evidence(DataCategory.TECHNICAL)
    )
    changes: Mapped[int] = mapped_column(Integer, info=_evidence(DataCategory.TECHNICAL))
