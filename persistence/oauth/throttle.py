"""The failed-sign-in counters, updated atomically.

A failure is counted by one `INSERT ... ON CONFLICT DO UPDATE` (both engines), never by
reading and writing back: fifty concurrent failures count fifty, so parallel guessing
cannot slip under the limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.oauth.ports import ThrottleState
from persistence.oauth.identity import LoginThrottleRow, utc
from persistence.oauth.keys import IdentityKeys

LOGIN_THROTTLE = cast(Table, LoginThrottleRow.__table__)


class SqlLoginThrottle:
    """Failure counters keyed by a blind index of (kind, identifier)."""

    def __init__(self, session: AsyncSession, keys: IdentityKeys) -> None:
        self._session = session
        self._keys = keys

    def _key(self, kind: str, identifier: str) -> str:
        return self._keys.blind_index(f"throttle/{kind}", identifier)

    async def get(self, kind: str, identifier: str) -> ThrottleState | None:
        """The counted failures for the key, or None."""
        row = await self._session.get(LoginThrottleRow, self._key(kind, identifier))
        if row is None:
            return None
        last = utc(row.last_failure_at) if row.last_failure_at else None
        return ThrottleState(row.failures, utc(row.window_started), last)

    async def count_failure(
        self, kind: str, identifier: str, now: datetime, window: timedelta
    ) -> ThrottleState:
        """Count one failure in one statement; a window older than `window` restarts."""
        table = LOGIN_THROTTLE
        insert = (
            postgresql.insert
            if self._session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        # In ON CONFLICT DO UPDATE every expression sees the row as it was before the update.
        expired = table.c.window_started <= now - window
        statement = (
            insert(table)
            .values(
                key=self._key(kind, identifier), failures=1, window_started=now, last_failure_at=now
            )
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((expired, 1), else_=table.c.failures + 1),
                    "window_started": case((expired, now), else_=table.c.window_started),
                    "last_failure_at": now,
                },
            )
            .returning(table.c.failures, table.c.window_started, table.c.last_failure_at)
        )
        row = (await self._session.execute(statement)).one()
        return ThrottleState(row.failures, utc(row.window_started), utc(row.last_failure_at))

    async def clear(self, kind: str, identifier: str) -> None:
        """Forget the key's failures."""
        await self._session.execute(
            delete(LoginThrottleRow).where(LoginThrottleRow.key == self._key(kind, identifier))
        )
