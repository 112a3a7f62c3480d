"""Single use of consent tickets: the first answer to a consent screen wins.

A ticket is stateless (signed), so without a record of its use a replayed form could grant
a second code for the same sign-in. Uses are kept only until the ticket would have expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.oauth.identity import ConsentTicketUseRow

TICKET_USES = cast(Table, ConsentTicketUseRow.__table__)


class SqlConsentTickets:
    """Records ticket uses by digest; implements domain.oauth.ports.ConsentTicketUses."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def use(self, ticket_hash: str, expires_at: datetime, now: datetime) -> bool:
        """Record the use; False when the ticket was used before (one statement, so two
        concurrent answers cannot both win)."""
        table = TICKET_USES
        await self._session.execute(delete(table).where(table.c.expires_at < now))
        insert = (
            postgresql.insert
            if self._session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        statement = (
            insert(table)
            .values(ticket_hash=ticket_hash, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[table.c.ticket_hash])
        )
        result = await self._session.execute(statement)
        return bool(getattr(result, "rowcount", 0) == 1)
