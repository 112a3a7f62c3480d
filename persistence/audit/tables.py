"""The audit log's tables: the append-only event chain and its recorded head.

`audit_events` holds one row per `domain.audit.events.AuditEvent`: ids, names and hashes, never a
personal data value, so it needs no encryption and survives erasure as evidence.
`audit_head` is a single row holding the last appended (seq, hash). Every append updates it
in the same transaction, which both serialises appenders (its row is the chain's lock) and
lets verification notice events deleted from, or added to, the end of the log.

Migration 0002 creates both tables and the triggers that refuse UPDATE and DELETE on
`audit_events`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory, RetentionClass
from persistence.base import Base, declare

HEAD_ROW_ID = 1
"""The primary key of the one and only `audit_head` row."""

# BIGINT on PostgreSQL (an audit log of every read outgrows 2**31 events); on SQLite an
# INTEGER PRIMARY KEY is the rowid itself, so rows are stored in seq order without a
# second index, and it is 64-bit there anyway.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class AuditEventRow(Base):
    """One appended audit event. Rows are never updated or deleted (database triggers)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The customer's access log and the officer's per-subject search, newest first.
        Index("ix_audit_events_subject_id_seq", "subject_id", "seq"),
    )

    # The application assigns seq from audit_head; the database must not invent one.
    seq: Mapped[int] = mapped_column(
        SeqType,
        primary_key=True,
        autoincrement=False,
        info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE),
    )
    id: Mapped[UUID] = mapped_column(
        Uuid, unique=True, info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    at: Mapped[datetime] = mapped_column(
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
    subject_id: Mapped[UUID | None] = mapped_column(
        Uuid, info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    action: Mapped[str] = mapped_column(
        String(64), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    resource_type: Mapped[str] = mapped_column(
        String(64), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    resource_id: Mapped[str | None] = mapped_column(
        String(128), info=declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
    )
    # Names of the fields touched, as a JSON list: names only, never their values.
    fields: Mapped[str] = mapped_column(
        Text, info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    purpose: Mapped[str | None] = mapped_column(
        String(64), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    outcome: Mapped[str] = mapped_column(
        String(16), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    request_id: Mapped[str | None] = mapped_column(
        String(128), info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
    prev_hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
    hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )


class AuditHeadRow(Base):
    """The last appended event's (seq, hash); seq 0 and the genesis hash for an empty log."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ROW_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(
        Integer,
        primary_key=True,
        autoincrement=False,
        info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL),
    )
    seq: Mapped[int] = mapped_column(
        SeqType, info=declare(DataCategory.IDENTIFIER, RetentionClass.OPERATIONAL)
    )
    hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )
