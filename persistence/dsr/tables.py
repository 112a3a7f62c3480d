"""Tables of data-subject requests and of the durable job queue that carries them out.

Neither table holds a personal value: ids, statuses, times, sizes and digests only, so both
belong to the `evidence` class (kept for accountability) or are operational.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory as Cat
from domain.retention import RetentionClass as Ret
from persistence.base import Base, declare

_TS = DateTime(timezone=True)
_BIG = BigInteger().with_variant(Integer(), "sqlite")
_OPS = declare(Cat.TECHNICAL, Ret.OPERATIONAL)
_EVIDENCE = declare(Cat.EVIDENCE, Ret.EVIDENCE)


class JobRow(Base):
    """One unit of background work, leased by one worker at a time."""

    __tablename__ = "jobs"
    __table_args__ = (Index(None, "status", "run_after"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, info=_OPS)
    kind: Mapped[str] = mapped_column(String(30), info=_OPS)
    # The data-subject request the job fulfils (ids only).
    request_id: Mapped[UUID | None] = mapped_column(
        Uuid, info=declare(Cat.IDENTIFIER, Ret.OPERATIONAL)
    )
    status: Mapped[str] = mapped_column(String(20), info=_OPS)
    attempts: Mapped[int] = mapped_column(Integer, info=_OPS)
    max_attempts: Mapped[int] = mapped_column(Integer, info=_OPS)
    run_after: Mapped[datetime] = mapped_column(_TS, info=_OPS)
    lease_owner: Mapped[str | None] = mapped_column(String(100), info=_OPS)
    lease_expires_at: Mapped[datetime | None] = mapped_column(_TS, info=_OPS)
    progress: Mapped[int] = mapped_column(Integer, info=_OPS)
    # The exception type only: messages can quote data.
    last_error: Mapped[str | None] = mapped_column(String(200), info=_OPS)
    created_at: Mapped[datetime] = mapped_column(_TS, info=_OPS)
    updated_at: Mapped[datetime] = mapped_column(_TS, info=_OPS)


class DsrRequestRow(Base):
    """A data-subject request (export, erasure, restriction, objection) and its outcome."""

    __tablename__ = "dsr_requests"
    __table_args__ = (Index(None, "customer_id", "received_at"), Index(None, "status", "due_at"))

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    type: Mapped[str] = mapped_column(String(20), info=_EVIDENCE)
    status: Mapped[str] = mapped_column(String(20), info=_EVIDENCE)
    # `customer` or `staff`, and the staff id (never a name) for requests taken by letter.
    requested_by: Mapped[str] = mapped_column(String(20), info=_EVIDENCE)
    requested_by_id: Mapped[str | None] = mapped_column(
        String(100), info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    received_at: Mapped[datetime] = mapped_column(_TS, info=_EVIDENCE)
    due_at: Mapped[datetime] = mapped_column(_TS, info=_EVIDENCE)
    extended_at: Mapped[datetime | None] = mapped_column(_TS, info=_EVIDENCE)
    extension_reason: Mapped[str | None] = mapped_column(String(1000), info=_EVIDENCE)
    progress: Mapped[int] = mapped_column(Integer, info=_EVIDENCE)
    job_id: Mapped[UUID | None] = mapped_column(Uuid, info=_OPS)
    # Set while a request of a kind that allows one at a time is in progress: the unique
    # index makes "at most one export in progress per customer" hold under concurrency.
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True, info=_OPS)
    archive_size: Mapped[int | None] = mapped_column(_BIG, info=_OPS)
    archive_sha256: Mapped[str | None] = mapped_column(String(64), info=_OPS)
    expires_at: Mapped[datetime | None] = mapped_column(_TS, info=_EVIDENCE)
    completed_at: Mapped[datetime | None] = mapped_column(_TS, info=_EVIDENCE)
    # JSON: what was done (classes destroyed, kept, legal basis); never a personal value.
    result: Mapped[str | None] = mapped_column(Text, info=_EVIDENCE)
    # An erasure waits until then (the grace period), and can be cancelled before.
    erase_after: Mapped[datetime | None] = mapped_column(_TS, info=_EVIDENCE)
    # The customer's status before the grace period restricted processing (restored on cancel).
    held_status: Mapped[str | None] = mapped_column(String(20), info=_OPS)
