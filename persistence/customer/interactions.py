"""Interactions, with what was said sealed under the customer's interactions key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.interactions import Channel, Interaction, InteractionDirection, InteractionKind
from domain.retention import RetentionClass
from persistence.customer.tables import InteractionRow
from persistence.keystore import KeyDestroyed, SqlKeyRing
from persistence.sealing import RowSealer, utc_in, utc_out
from persistence.sqlite_driver import short_read

_TABLE = InteractionRow.__tablename__
_CLASS = RetentionClass.INTERACTIONS


class SqlInteractionRepository:
    """domain.ports.InteractionRepository: summary, outcome and campaign sealed; time, channel,
    direction, kind and satisfaction plaintext for filtering and analytics."""

    def __init__(self, session: AsyncSession, keys: SqlKeyRing) -> None:
        self._session = session
        self._keys = keys

    async def add_many(self, interactions: Sequence[Interaction]) -> None:
        """Store interactions in one batch."""
        rows: list[dict[str, Any]] = []
        for interaction in interactions:
            cipher = await self._keys.cipher_for_writing(interaction.customer_id, _CLASS)
            sealer = RowSealer(cipher, _TABLE, interaction.id)
            rows.append(
                {
                    "id": interaction.id,
                    "customer_id": interaction.customer_id,
                    "occurred_at": utc_in(interaction.occurred_at),
                    "channel": interaction.channel.value,
                    "direction": interaction.direction.value,
                    "kind": interaction.kind.value,
                    "summary": sealer.seal("summary", interaction.summary),
                    "outcome": sealer.seal("outcome", interaction.outcome),
                    "satisfaction": interaction.satisfaction,
                    "campaign": sealer.seal("campaign", interaction.campaign),
                }
            )
        if rows:
            await self._session.execute(insert(InteractionRow), rows)

    async def get(self, customer_id: UUID, interaction_id: UUID) -> Interaction | None:
        """The customer's interaction, or None when missing, someone else's, or erased."""
        row = await self._session.scalar(
            short_read(
                select(InteractionRow).where(
                    InteractionRow.id == interaction_id, InteractionRow.customer_id == customer_id
                )
            )
        )
        if row is None:
            return None
        found = await self._decrypt(customer_id, [row])
        return found[0] if found else None

    async def list_for_customer(
        self,
        customer_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
        channel: Channel | None = None,
        kind: InteractionKind | None = None,
        occurred_from: datetime | None = None,
        occurred_to: datetime | None = None,
    ) -> list[Interaction]:
        """The customer's interactions, newest first, at most `limit`.

        `before` = (occurred_at, id) of the last interaction of the previous page (keyset
        paging); `occurred_from` is inclusive, `occurred_to` exclusive.
        """
        query = select(InteractionRow).where(InteractionRow.customer_id == customer_id)
        if before is not None:
            query = query.where(
                tuple_(InteractionRow.occurred_at, InteractionRow.id)
                < tuple_(utc_in(before[0]), before[1])
            )
        if channel is not None:
            query = query.where(InteractionRow.channel == channel.value)
        if kind is not None:
            query = query.where(InteractionRow.kind == kind.value)
        if occurred_from is not None:
            query = query.where(InteractionRow.occurred_at >= utc_in(occurred_from))
        if occurred_to is not None:
            query = query.where(InteractionRow.occurred_at < utc_in(occurred_to))
        rows = (
            await self._session.scalars(
                short_read(
                    query.order_by(
                        InteractionRow.occurred_at.desc(), InteractionRow.id.desc()
                    ).limit(limit)
                )
            )
        ).all()
        return await self._decrypt(customer_id, rows)

    async def _decrypt(
        self, customer_id: UUID, rows: Sequence[InteractionRow]
    ) -> list[Interaction]:
        if not rows:
            return []
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, _CLASS)
        except KeyDestroyed:
            return []
        return [_interaction(row, RowSealer(cipher, _TABLE, row.id)) for row in rows]


def _interaction(row: InteractionRow, sealer: RowSealer) -> Interaction:
    return Interaction(
        id=row.id,
        customer_id=row.customer_id,
        occurred_at=utc_out(row.occurred_at),
        channel=Channel(row.channel),
        direction=InteractionDirection(row.direction),
        kind=InteractionKind(row.kind),
        summary=sealer.text("summary", row.summary),
        outcome=sealer.optional("outcome", row.outcome),
        satisfaction=row.satisfaction,
        campaign=sealer.optional("campaign", row.campaign),
    )
