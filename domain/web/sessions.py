"""A browser's session with the portal or the console, and the port that keeps it.

The browser holds only a random session token; the server keeps, per session, what the
sign-in left it (the access and refresh tokens) or, before that, what the sign-in in progress
needs (the `state` and the PKCE verifier). The store keeps the secrets sealed and finds a
session by the token's digest, so a copy of the table signs nobody in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SessionSecrets:
    """What only the server may know about a session; never shown in a repr."""

    state: str | None = field(default=None, repr=False)
    verifier: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    access_expires_at: int | None = None
    """Unix time after which the access token must be refreshed."""
    scope: str | None = None
    """The scopes the access token was granted (space-separated)."""
    language: str | None = None
    """The language of the signed-in person's profile, when known (pages follow it)."""
    next_path: str | None = None
    """Where to go once the sign-in completes (a path of the same app)."""


@dataclass(frozen=True, slots=True)
class WebSession:
    """One session of one app (`portal` or `console`), keyed by the digest of its token."""

    token_digest: str
    app: str
    secrets: SessionSecrets
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    """The absolute end, however active the session is."""

    @property
    def signed_in(self) -> bool:
        """Whether the sign-in completed (the session holds an access token)."""
        return self.secrets.access_token is not None

    def idle_since(self, now: datetime, idle: timedelta) -> bool:
        """Whether the session has ended: idle for longer than `idle`, or past its end."""
        return now >= self.expires_at or now - self.last_seen_at > idle

    def touched(self, now: datetime) -> WebSession:
        """The same session, seen at `now`."""
        return replace(self, last_seen_at=now)


class WebSessionStore(Protocol):
    """Keeps web sessions; each call is its own transaction."""

    async def save(self, session: WebSession) -> None:
        """Insert or replace the session with this digest."""
        ...

    async def find(self, token_digest: str) -> WebSession | None:
        """The session with this digest, or None."""
        ...

    async def delete(self, token_digest: str) -> None:
        """Forget the session (nothing happens when it is not there)."""
        ...

    async def delete_ended(self, before: datetime) -> int:
        """Forget every session whose absolute end is before `before`; how many."""
        ...
