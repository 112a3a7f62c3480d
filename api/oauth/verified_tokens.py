"""The resource guard's memory of access tokens it has already verified, per process.

Verifying an access token costs an ES256 signature check, and asking whether it was revoked
costs a database round trip; an app presents the same token on every request until it
expires. `VerifiedTokens` remembers each verified token's claims by the SHA-256 digest of the
token (the token itself is not kept) until the token expires, and asks the database about
revocation again only once `recheck` has passed since the last answer for that token. So:

- a revoked token, a revoked family (sign-out, refresh-token replay, erasure, a disabled
  client or staff member) stops being accepted by every server process within `recheck`
  (default one second: `CUSTODIAN_REVOCATION_CHECK_MS`); with `recheck` 0 every request asks;
- expiry is checked on every request against the injected clock, as without the cache;
- the revocation endpoint makes this process forget what it revoked at once;
- one revocation lookup per token at a time: requests that find one running wait for its
  answer rather than asking again (a token used by many concurrent requests asked once for
  each of them when `recheck` had passed); with `recheck` 0 each request asks on its own;
- a refused token is not remembered (forgeries cost a verification each, and fill nothing);
- at most `capacity` tokens are remembered, the least recently used leaving first.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from api.oauth.access_tokens import AccessClaims, AccessTokenCodec, TokenRejected
from domain.identity import Caller

DEFAULT_CAPACITY = 10_000


class RevocationLookup(Protocol):
    async def __call__(self, grant_id: UUID, jti: str) -> bool:
        """Whether the token's family or the token itself was revoked."""
        ...

    async def aclose(self) -> None:
        """Release what the lookup holds (connections)."""
        ...


@dataclass(slots=True)
class _Entry:
    claims: AccessClaims
    checked_at: float
    """When the database last said "not revoked" (the monotonic clock)."""


class VerifiedTokens:
    """Claims of tokens verified before, with revocation re-checked every `recheck` seconds."""

    def __init__(
        self,
        codec: AccessTokenCodec,
        is_revoked: RevocationLookup,
        *,
        recheck: float,
        capacity: int = DEFAULT_CAPACITY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if recheck < 0 or capacity < 1:
            raise ValueError("recheck must be >= 0 and capacity >= 1")
        self._codec = codec
        self._is_revoked = is_revoked
        self._recheck = recheck
        self._capacity = capacity
        self._monotonic = monotonic
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lookups: dict[bytes, asyncio.Future[bool]] = {}  # running, by token digest
        self.verifications = 0
        """Signature checks done (for tests and benchmarks)."""
        self.revocation_checks = 0
        """Revocation lookups done (for tests and benchmarks)."""

    def __len__(self) -> int:
        return len(self._entries)

    async def caller(self, token: str, *, now: int) -> Caller | None:
        """The caller of a valid, unrevoked token of ours; None for any other token."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        entry = self._entries.get(digest)
        if entry is None:
            try:
                self.verifications += 1
                claims = self._codec.verify(token, now=now)
            except TokenRejected:
                return None
            entry = _Entry(claims, checked_at=float("-inf"))
        elif now >= entry.claims.expires_at + self._codec.leeway:
            del self._entries[digest]
            return None
        if self._monotonic() - entry.checked_at >= self._recheck and await self._revoked(
            digest, entry
        ):
            self._entries.pop(digest, None)
            return None
        self._remember(digest, entry)
        return entry.claims.caller

    async def _revoked(self, digest: bytes, entry: _Entry) -> bool:
        """Ask whether the token was revoked, or wait for the lookup already running for it.

        A request that joins a running lookup gets an answer read after it fell due, less
        than the lookup's duration before the request: the bound `recheck` still holds."""
        if self._recheck == 0:
            return await self._lookup(entry)
        running = self._lookups.get(digest)
        if running is None or running.get_loop() is not asyncio.get_running_loop():
            running = asyncio.ensure_future(self._lookup(entry))
            self._lookups[digest] = running
            running.add_done_callback(lambda done: self._finished(digest, done))
        # Shielded: a caller that goes away does not cancel the answer for the others.
        return await asyncio.shield(running)

    def _finished(self, digest: bytes, lookup: asyncio.Future[bool]) -> None:
        if self._lookups.get(digest) is lookup:
            del self._lookups[digest]

    async def _lookup(self, entry: _Entry) -> bool:
        self.revocation_checks += 1
        asked_at = self._monotonic()
        revoked = await self._is_revoked(entry.claims.grant_id, entry.claims.jti)
        if not revoked:
            entry.checked_at = asked_at
        return revoked

    def forget(self, *, grant_id: UUID | None = None, jti: str | None = None) -> None:
        """Drop the tokens of family `grant_id`, or the token `jti`: revoked in this process,
        they are refused here at once rather than within `recheck`."""
        gone = [
            digest
            for digest, entry in self._entries.items()
            if entry.claims.grant_id == grant_id or entry.claims.jti == jti
        ]
        for digest in gone:
            del self._entries[digest]

    def _remember(self, digest: bytes, entry: _Entry) -> None:
        self._entries[digest] = entry
        self._entries.move_to_end(digest)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
