"""Everything the OAuth routes and the resource guard need, wired by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api.oauth.access_tokens import AccessTokenCodec
from api.oauth.context import Prefetched
from api.oauth.server import CustodianServer, OAuthSettings
from api.oauth.verified_tokens import RevocationLookup, VerifiedTokens
from domain.clock import Clock
from domain.oauth.login import ThrottlePolicy
from domain.oauth.ports import IdentityUnitOfWork, PasswordHasher


@dataclass(frozen=True, slots=True)
class OAuthServices:
    """The authorization server's collaborators. `page_key` signs CSRF and consent tickets;
    `is_revoked` is the guard's lock-free revocation lookup, `verified` the guard's memory of
    tokens it verified (shared with the revocation endpoint, which makes it forget)."""

    settings: OAuthSettings
    codec: AccessTokenCodec
    hasher: PasswordHasher
    uow_factory: Callable[[], IdentityUnitOfWork]
    clock: Clock
    throttle: ThrottlePolicy
    page_key: bytes
    is_revoked: RevocationLookup
    verified: VerifiedTokens

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
