"""`domain.audit.proofs.AuditTree` on the stored tree, in the unit of work's transaction."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit.events import AuditEvent
from domain.audit.tree_heads import ConsistencyProof, InclusionProof, NoSuchTreeHead, TreeHead
from domain.errors import NotFound
from persistence.audit.tables import AuditEventRow
from persistence.audit.tree import (
    consistency_proof,
    inclusion_proof,
    latest_tree_head,
    list_tree_heads,
)
from persistence.audit.verify import decode_event

_EVENT_COLUMNS = list(AuditEventRow.__table__.columns)


class SqlAuditTree:
    """Reads events, signed heads and proofs through the session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def event_of(self, event_id: UUID, subject_id: UUID) -> AuditEvent | None:
        """The event with this id about `subject_id`, or None (someone else's is None too)."""
        row = (
            (
                await self._session.execute(
                    select(*_EVENT_COLUMNS).where(
                        AuditEventRow.id == event_id, AuditEventRow.subject_id == subject_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else decode_event(row)

    async def newest_head(self) -> TreeHead | None:
        """The newest signed tree head, or None."""
        return await latest_tree_head(self._session)

    async def inclusion(self, seq: int, head: TreeHead) -> InclusionProof:
        """The inclusion proof of event `seq` against `head`."""
        return await inclusion_proof(self._session, seq, head)

    async def consistency(self, first: int, second: int) -> ConsistencyProof:
        """The consistency proof between two signed heads; NotFound when one is missing."""
        try:
            return await consistency_proof(self._session, first, second)
        except NoSuchTreeHead as error:
            raise NotFound(str(error)) from None

    async def heads(self, below: int | None, limit: int) -> list[TreeHead]:
        """Signed heads, newest first."""
        return await list_tree_heads(self._session, below=below, limit=limit)
