"""The resource guard's memory of verified tokens: one signature check per token, revocation
asked again once the recheck interval has passed, expiry checked on every request."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from api.oauth.access_tokens import AccessTokenCodec
from api.oauth.verified_tokens import VerifiedTokens
from domain.identity import Caller, SubjectKind
from persistence.signing_keys import SigningKeyStore

ISSUER = "http://127.0.0.1:8000"
NOW = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


class Revocations:
    """The database's answer, and how often it was asked."""

    def __init__(self) -> None:
        self.revoked_grants: set[UUID] = set()
        self.revoked_jtis: set[str] = set()
        self.asked = 0

    async def __call__(self, grant_id: UUID, jti: str) -> bool:
        self.asked += 1
        return grant_id in self.revoked_grants or jti in self.revoked_jtis

    async def aclose(self) -> None:
        return None


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def codec(tmp_path: Path) -> AccessTokenCodec:
    store = SigningKeyStore(tmp_path, "jwt", keep_retired=timedelta(seconds=660))
    store.ensure(datetime.fromtimestamp(NOW, UTC))
    return AccessTokenCodec(store, issuer=ISSUER, audience=f"{ISSUER}/v1", ttl=600)


def _issue(codec: AccessTokenCodec, grant_id: UUID | None = None) -> tuple[str, UUID, str]:
    caller = Caller(
        SubjectKind.CUSTOMER, "demo-app", frozenset({"profile:read"}), subject_id=uuid.uuid4()
    )
    grant = grant_id or uuid.uuid4()
    issued = codec.issue(caller=caller, grant_id=grant, now=NOW)
    return issued.token, grant, issued.jti


def _run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_a_token_is_verified_once_and_revocation_asked_once_per_interval(
    codec: AccessTokenCodec,
) -> None:
    revocations, ticks = Revocations(), Ticks()
    tokens = VerifiedTokens(codec, revocations, recheck=1.0, monotonic=ticks)
    token, _, _ = _issue(codec)
    for _ in range(5):
        caller = _run(tokens.caller(token, now=NOW + 1))
        assert caller is not None
        assert caller.client_id == "demo-app"
    assert tokens.verifications == 1
    assert revocations.asked == 1
    ticks.now += 1.0
    assert _run(tokens.caller(token, now=NOW + 2)) is not None
    assert revocations.asked == 2


def test_a_revocation_elsewhere_is_refused_within_the_interval(codec: AccessTokenCodec) -> None:
    revocations, ticks = Revocations(), Ticks()
    tokens = VerifiedTokens(codec, revocations, recheck=1.0, monotonic=ticks)
    token, grant, _ = _issue(codec)
    assert _run(tokens.caller(token, now=NOW)) is not None
    revocations.revoked_grants.add(grant)  # another process signed the customer out
    ticks.now += 0.5
    assert _run(tokens.caller(token, now=NOW)) is not None  # inside the bound: remembered
    ticks.now += 0.5
    assert _run(tokens.caller(token, now=NOW)) is None
    assert len(tokens) == 0


def test_with_no_interval_every_request_asks(codec: AccessTokenCodec) -> None:
    revocations = Revocations()
    tokens = VerifiedTokens(codec, revocations, recheck=0, monotonic=Ticks())
    token, _, jti = _issue(codec)
    assert _run(tokens.caller(token, now=NOW)) is not None
    revocations.revoked_jtis.add(jti)
    assert _run(tokens.caller(token, now=NOW)) is None
    assert revocations.asked == 2


class SlowRevocations(Revocations):
    """Answers only when the test lets it, so lookups overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()

    async def __call__(self, grant_id: UUID, jti: str) -> bool:
        self.asked += 1
        await self.answer.wait()
        return grant_id in self.revoked_grants or jti in self.revoked_jtis


def test_concurrent_requests_of_a_token_share_one_lookup(codec: AccessTokenCodec) -> None:
    async def scenario(recheck: float, revoked: bool) -> tuple[list[Caller | None], int]:
        revocations = SlowRevocations()
        tokens = VerifiedTokens(codec, revocations, recheck=recheck, monotonic=Ticks())
        token, grant, _ = _issue(codec)
        if revoked:
            revocations.revoked_grants.add(grant)
        requests = [asyncio.ensure_future(tokens.caller(token, now=NOW)) for _ in range(8)]
        await asyncio.sleep(0)  # every request is waiting for a lookup
        # One request going away does not cancel the lookup the others wait for.
        requests[0].cancel()
        revocations.answer.set()
        answers = await asyncio.gather(*requests[1:])
        return answers, revocations.asked

    answers, asked = _run(scenario(1.0, revoked=False))
    assert asked == 1
    assert all(caller is not None for caller in answers)
    answers, asked = _run(scenario(1.0, revoked=True))
    assert asked == 1
    assert answers == [None] * 7
    # With no interval every request asks on its own.
    answers, asked = _run(scenario(0, revoked=True))
    assert asked == 8
    assert answers == [None] * 7


def test_forget_refuses_at_once_in_this_process(codec: AccessTokenCodec) -> None:
    revocations = Revocations()
    tokens = VerifiedTokens(codec, revocations, recheck=60, monotonic=Ticks())
    first, grant, _ = _issue(codec)
    sibling, _, _ = _issue(codec, grant)
    other, _, other_jti = _issue(codec)
    for token in (first, sibling, other):
        assert _run(tokens.caller(token, now=NOW)) is not None
    revocations.revoked_grants.add(grant)
    tokens.forget(grant_id=grant)
    assert _run(tokens.caller(first, now=NOW)) is None
    assert _run(tokens.caller(sibling, now=NOW)) is None
    revocations.revoked_jtis.add(other_jti)
    tokens.forget(jti=other_jti)
    assert _run(tokens.caller(other, now=NOW)) is None


def test_expiry_is_checked_on_every_request(codec: AccessTokenCodec) -> None:
    tokens = VerifiedTokens(codec, Revocations(), recheck=60, monotonic=Ticks())
    token, _, _ = _issue(codec)
    assert _run(tokens.caller(token, now=NOW + 599)) is not None
    assert _run(tokens.caller(token, now=NOW + 600 + codec.leeway)) is None
    assert len(tokens) == 0


def test_refused_tokens_are_not_remembered_and_capacity_is_bounded(
    codec: AccessTokenCodec,
) -> None:
    tokens = VerifiedTokens(codec, Revocations(), recheck=60, capacity=2, monotonic=Ticks())
    token, _, _ = _issue(codec)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _run(tokens.caller(forged, now=NOW)) is None
    assert _run(tokens.caller("not a token", now=NOW)) is None
    assert len(tokens) == 0
    issued = [_issue(codec)[0] for _ in range(3)]
    for each in issued:
        assert _run(tokens.caller(each, now=NOW)) is not None
    assert len(tokens) == 2
    verified = tokens.verifications
    assert _run(tokens.caller(issued[0], now=NOW)) is not None  # evicted: verified again
    assert tokens.verifications == verified + 1
