"""The audit log's tables: the append-only event chain and its recorded head.

`audit_events` holds one row per `domain.audit.events.AuditEvent`: ids, names and hashes, never a
personal data value, so it needs no encryption and survives erasure as evidence.
`audit_head` is a single row holding the last appended (seq, hash). Every append updates it
in the same transaction, which both serialises appenders (its row is the chain's lock) and
lets verification notice events deleted from, or added to, the end of the log.

`audit_tree_nodes` and `audit_tree_heads` hold the RFC 9162 Merkle tree over the events and
its signed heads.

Migration 0002 creates the first two tables and the triggers that refuse UPDATE and DELETE on
`audit_events`; migration 0007 the tree's tables, their triggers, and the SQLite trigger
that refuses INSERT OR REPLACE of an existing event.
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
    SmallInteger,
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
    # The Merkle tree's right edge after `seq` leaves (domain.audit.merkle.Frontier.encode):
    # at most 64 hashes, so an append extends the tree in O(log n) without reading a leaf.
    frontier: Mapped[bytes | None] = mapped_column(
        LargeBinary, info=declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
    )


class AuditTreeNodeRow(Base):
    """The hash of one perfect subtree of the Merkle tree over `audit_events`.

    Written once, when the append that completes the subtree commits; never updated or
    deleted (database triggers). Level 0 holds each event's leaf hash (index = seq - 1).
    Proofs are built from these rows alone.
    """

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(
        SmallInteger,
        primary_key=True,
        autoincrement=False,
        info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE),
    )
    index: Mapped[int] = mapped_column(
        "idx",
        SeqType,
        primary_key=True,
        autoincrement=False,
        info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE),
    )
    hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )


class AuditTreeHeadRow(Base):
    """A signed tree head: the root of the first `tree_size` events, signed with Ed25519.

    Append-only (database triggers). An officer keeps copies outside the database (the
    witness file) so that a rewrite or truncation of the log is caught even when the
    rows here are removed with the triggers.
    """

    __tablename__ = "audit_tree_heads"

    tree_size: Mapped[int] = mapped_column(
        SeqType,
        primary_key=True,
        autoincrement=False,
        info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE),
    )
    root_hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
    signed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    kid: Mapped[str] = mapped_column(
        String(100), info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
    signature: Mapped[str] = mapped_column(
        Text, info=declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)
    )
