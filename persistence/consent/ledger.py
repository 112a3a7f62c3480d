"""`domain.consent.ledger.ConsentLedger` on the purpose_notices / consent_events / consent_locks
tables, inside a unit of work's session."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit.events import Actor, ActorType
from domain.consent.ledger import ConsentEvent
from domain.consent.purposes import PurposeNotice
from persistence.consent.tables import ConsentEventRow, ConsentLockRow, PurposeNoticeRow


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _notice(row: PurposeNoticeRow) -> PurposeNotice:
    return PurposeNotice(
        purpose=row.purpose,
        notice_version=row.notice_version,
        legal_basis=row.legal_basis,
        description=row.description,
        data_categories=tuple(json.loads(row.data_categories)),
        recipients=tuple(json.loads(row.recipients)),
        retention=row.retention,
        withdrawable=row.withdrawable,
        published_at=_utc(row.published_at),
    )


def _event(row: ConsentEventRow) -> ConsentEvent:
    actor = Actor(ActorType(row.actor_type), row.actor_id, row.client_id, row.actor_role)
    return ConsentEvent(
        id=row.id,
        customer_id=row.customer_id,
        purpose=row.purpose,
        granted=row.granted,
        notice_version=row.notice_version,
        recorded_at=_utc(row.recorded_at),
        position=row.position,
        actor=actor,
        collection_method=row.collection_method,
        receipt=row.receipt,
    )


class SqlConsentLedger:
    """The ledger in the unit of work's transaction. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def notices(self) -> list[PurposeNotice]:
        """The current (highest revision) notice of every purpose, in catalogue order."""
        rows = (
            await self._session.scalars(
                select(PurposeNoticeRow).order_by(
                    PurposeNoticeRow.ordinal, PurposeNoticeRow.revision
                )
            )
        ).all()
        current: dict[str, PurposeNoticeRow] = {}
        for row in rows:
            current[row.purpose] = row  # later revisions replace earlier ones
        return [_notice(row) for row in current.values()]

    async def lock(self, customer_id: UUID, purpose: str) -> None:
        """Create the lock row if needed, then write to it: the write holds the row lock
        (PostgreSQL) or the database write lock (SQLite) until the transaction ends."""
        dialect = self._session.get_bind().dialect.name
        values = {"customer_id": customer_id, "purpose": purpose, "changes": 0}
        if dialect == "postgresql":
            await self._session.execute(
                postgresql.insert(ConsentLockRow).values(values).on_conflict_do_nothing()
            )
        else:
            await self._session.execute(
                sqlite.insert(ConsentLockRow).values(values).on_conflict_do_nothing()
            )
        await self._session.execute(
            update(ConsentLockRow)
            .where(ConsentLockRow.customer_id == customer_id, ConsentLockRow.purpose == purpose)
            .values(changes=ConsentLockRow.changes + 1)
            .execution_options(synchronize_session=False)
        )

    async def latest(self, customer_id: UUID, purpose: str) -> ConsentEvent | None:
        """The newest event of the customer for the purpose, or None."""
        row = (
            await self._session.scalars(
                select(ConsentEventRow)
                .where(
                    ConsentEventRow.customer_id == customer_id, ConsentEventRow.purpose == purpose
                )
                .order_by(ConsentEventRow.position.desc())
                .limit(1)
            )
        ).first()
        return _event(row) if row is not None else None

    async def latest_all(self, customer_id: UUID) -> dict[str, ConsentEvent]:
        """The newest event per purpose of the customer."""
        newest = (
            select(ConsentEventRow.purpose, func.max(ConsentEventRow.position).label("position"))
            .where(ConsentEventRow.customer_id == customer_id)
            .group_by(ConsentEventRow.purpose)
            .subquery()
        )
        rows = (
            await self._session.scalars(
                select(ConsentEventRow)
                .join(
                    newest,
                    (ConsentEventRow.purpose == newest.c.purpose)
                    & (ConsentEventRow.position == newest.c.position),
                )
                .where(ConsentEventRow.customer_id == customer_id)
            )
        ).all()
        return {row.purpose: _event(row) for row in rows}

    async def append(self, event: ConsentEvent) -> None:
        """Insert the event; a duplicate position (a broken lock) fails loudly."""
        await self._session.execute(
            insert(ConsentEventRow).values(
                id=event.id,
                customer_id=event.customer_id,
                purpose=event.purpose,
                position=event.position,
                granted=event.granted,
                notice_version=event.notice_version,
                recorded_at=event.recorded_at,
                actor_type=event.actor.type.value,
                actor_id=event.actor.id,
                actor_role=event.actor.role,
                client_id=event.actor.client_id,
                collection_method=event.collection_method,
                receipt=event.receipt,
            )
        )

    async def history(self, customer_id: UUID) -> list[ConsentEvent]:
        """Every event of the customer, oldest first (by time, then ledger position)."""
        rows = (
            await self._session.scalars(
                select(ConsentEventRow)
                .where(ConsentEventRow.customer_id == customer_id)
                .order_by(
                    ConsentEventRow.recorded_at, ConsentEventRow.purpose, ConsentEventRow.position
                )
            )
        ).all()
        return [_event(row) for row in rows]
