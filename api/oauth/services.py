"""Everything the OAuth routes and the resource guard need, wired by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from api.oauth.access_tokens import AccessTokenCodec
from api.oauth.context import Prefetched
from api.oauth.server import CustodianServer, OAuthSettings
from domain.clock import Clock
from domain.oauth.login import ThrottlePolicy
from domain.oauth.ports import IdentityUnitOfWork, PasswordHasher


class RevocationLookup(Protocol):
    async def __call__(self, grant_id: UUID, jti: str) -> bool:
        """Whether the token's family or the token itself was revoked."""
        ...

    async def aclose(self) -> None:
        """Release what the lookup holds (connections)."""
        ...


@dataclass(frozen=True, slots=True)
class OAuthServices:
    """The authorization server's collaborators. `page_key` signs CSRF and consent tickets;
    `is_revoked` is the guard's lock-free revocation lookup."""

    settings: OAuthSettings
    codec: AccessTokenCodec
    hasher: PasswordHasher
    uow_factory: Callable[[], IdentityUnitOfWork]
    clock: Clock
    throttle: ThrottlePolicy
    page_key: bytes
    is_revoked: RevocationLookup

    def server(self, ctx: Prefetched) -> CustodianServer:
        """An Authlib server bound to one request's records."""
        return CustodianServer(ctx, self.settings, self.codec)

    async def aclose(self) -> None:
        """Release the revocation reader and the hashing threads (at shutdown)."""
        await self.is_revoked.aclose()

    def now(self) -> datetime:
        """The current time from the injected clock."""
        return self.clock.now()

    def url(self, path: str) -> str:
        """An absolute URL under the issuer."""
        return self.settings.issuer.rstrip("/") + path
