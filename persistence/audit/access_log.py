"""`domain.audit.access_log.AuditReader`: filtered reads of `audit_events`, newest first or in
chain order (streamed in keyset batches, constant memory)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from domain.audit.access_log import ACCESS_LOG_RESOURCE, AuditQuery
from domain.audit.events import ActorType, AuditEvent
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow
from persistence.audit.verify import decode_event

_RAW: list[ColumnElement[Any]] = [
    type_coerce(c, NullType()).label(c.name) for c in AuditEventRow.__table__.columns
]


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    e = AuditEventRow
    found: list[ColumnElement[bool]] = []
    if query.subject_id is not None:
        found.append(e.subject_id == query.subject_id)
    if query.actor_id is not None:
        found.append(e.actor_id == query.actor_id)
    if query.actor_type is not None:
        found.append(e.actor_type == query.actor_type)
    if query.action is not None:
        found.append(e.action == query.action)
    if query.resource_type is not None:
        found.append(e.resource_type == query.resource_type)
    if query.outcome is not None:
        found.append(e.outcome == query.outcome)
    # Stored as UTC; compare naive UTC values so SQLite's text comparison agrees.
    if query.from_ is not None:
        found.append(e.at >= query.from_.astimezone(UTC))
    if query.to is not None:
        found.append(e.at < query.to.astimezone(UTC))
    if query.before_seq is not None:
        found.append(e.seq < query.before_seq)
    if query.hide_own_access_log_reads:
        found.append(
            not_(
                and_(
                    e.resource_type == ACCESS_LOG_RESOURCE, e.actor_type == ActorType.CUSTOMER.value
                )
            )
        )
    return found


class SqlAuditReader:
    """Reads audit events in the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def newest_first(self, query: AuditQuery, limit: int) -> list[AuditEvent]:
        """Up to `limit` matching events, highest seq first."""
        rows = (
            (
                await self._session.execute(
                    select(*_RAW)
                    .where(*_conditions(query))
                    .order_by(AuditEventRow.seq.desc())
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
        return [decode_event(row) for row in rows]

    async def oldest_after(
        self, query: AuditQuery, after_seq: int, upto_seq: int, limit: int
    ) -> list[AuditEvent]:
        """Up to `limit` matching events with after_seq < seq <= upto_seq, lowest seq first."""
        rows = (
            (
                await self._session.execute(
                    select(*_RAW)
                    .where(
                        *_conditions(query),
                        AuditEventRow.seq > after_seq,
                        AuditEventRow.seq <= upto_seq,
                    )
                    .order_by(AuditEventRow.seq)
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
        return [decode_event(row) for row in rows]

    async def head_seq(self) -> int:
        """The recorded head's seq (0 for an empty log)."""
        seq = (
            await self._session.execute(
                select(AuditHeadRow.seq).where(AuditHeadRow.id == HEAD_ROW_ID)
            )
        ).scalar_one()
        return int(seq)
