"""Sign-in throttling that slows guessing without letting anyone lock the owner out, never
reveals which emails exist, counts every failure under concurrency, and keeps an audit
trail without secrets; consent tickets answer once; a refresh re-checks the person."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from oauth_harness import APP_REDIRECT, CONSOLE_REDIRECT, ISSUER, PASSWORD, World, running_world
from self_service_seed import app_of
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.oauth.flow_client import Pkce, authorize_params, form_fields
from domain.customer.profile import CustomerStatus
from domain.identity import StaffRole
from domain.oauth.throttle import PAIR, ThrottlePolicy
from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import session_factory
from persistence.oauth.identity import StaffUserRow
from persistence.oauth.uow import SqlIdentityUnitOfWork

POLICY = ThrottlePolicy(
    pair_free=3,
    pair_base_delay=timedelta(seconds=2),
    pair_max_delay=timedelta(minutes=15),
    per_address=6,
    address_window=timedelta(minutes=15),
    account_free=5,
    account_step=timedelta(milliseconds=1),
    account_max_pause=timedelta(milliseconds=5),
)
ATTACKER = "127.0.0.2"


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path, throttle=POLICY) as created:
        await created.add_customer("ada@example.com")
        yield created


@pytest.fixture
async def attacker(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A browser connecting from another address than the owner's (127.0.0.1)."""
    transport = httpx.ASGITransport(app=app_of(world), client=(ATTACKER, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        yield http


async def _sign_in(
    http: httpx.AsyncClient, email: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await http.get("/oauth/authorize", params=params)
    return await http.post(
        "/oauth/authorize",
        data={**form_fields(page.text), "email": email, "password": password},
        headers=headers or {},
    )


async def test_a_hundred_wrong_passwords_from_one_address_do_not_lock_the_owner_out(
    world: World, attacker: httpx.AsyncClient
) -> None:
    statuses = [
        (await _sign_in(attacker, "ada@example.com", f"guess-{n}")).status_code for n in range(100)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses[3:]) == {429}
    # The attacker's address waits, even with the right password...
    assert (await _sign_in(attacker, "ada@example.com", PASSWORD)).status_code == 429
    # ...the owner, from their own address, signs in at once.
    owner = await _sign_in(world.http, "ada@example.com", PASSWORD)
    assert owner.status_code == 200
    assert 'value="allow"' in owner.text


async def test_an_attacker_who_waits_out_every_delay_only_slows_the_account(
    world: World, attacker: httpx.AsyncClient
) -> None:
    counted = 0
    for n in range(12):
        response = await _sign_in(attacker, "ada@example.com", f"guess-{n}")
        if response.status_code == 429:
            world.clock.advance(int(response.headers["retry-after"]))
            response = await _sign_in(attacker, "ada@example.com", f"guess-{n}")
        assert response.status_code == 401
        counted += 1
    assert counted == 12  # far past account_free: the account is slowed, not locked
    owner = await _sign_in(world.http, "ada@example.com", PASSWORD)
    assert owner.status_code == 200


async def test_delays_grow_for_the_pair_and_reset_after_success(
    world: World, attacker: httpx.AsyncClient
) -> None:
    waits = []
    for n in range(6):
        response = await _sign_in(attacker, "ada@example.com", f"guess-{n}")
        if response.status_code == 429:
            waits.append(int(response.headers["retry-after"]))
            world.clock.advance(waits[-1])
            response = await _sign_in(attacker, "ada@example.com", f"guess-{n}")
        assert response.status_code == 401
    assert waits == [2, 4, 8]
    blocked = await _sign_in(attacker, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    world.clock.advance(int(blocked.headers["retry-after"]))
    assert (await _sign_in(attacker, "ada@example.com", PASSWORD)).status_code == 200
    for _ in range(3):  # the success cleared the pair: three free attempts again
        assert (await _sign_in(attacker, "ada@example.com", "wrong")).status_code == 401


async def test_unknown_email_and_wrong_password_look_the_same(world: World) -> None:
    known = [await _sign_in(world.http, "ada@example.com", "wrong") for _ in range(4)]
    world.clock.advance(15 * 60)  # let the address budget recover between the two series
    unknown = [await _sign_in(world.http, "nobody@example.com", "wrong") for _ in range(4)]
    assert (
        [r.status_code for r in known] == [r.status_code for r in unknown] == [401, 401, 401, 429]
    )
    for a, b in zip(known, unknown, strict=True):
        # The hidden fields carry each request's own state and PKCE challenge; the typed
        # email is echoed back. Everything else must be identical.
        assert _visible(a.text, "ada@example.com") == _visible(b.text, "nobody@example.com")
        assert a.headers.get("retry-after") == b.headers.get("retry-after")


def _visible(page: str, email: str) -> str:
    return re.sub(r'<input type="hidden"[^>]*>', "", page).replace(email, "")


async def test_one_address_guessing_many_accounts_is_stopped(
    world: World, attacker: httpx.AsyncClient
) -> None:
    for number in range(6):
        response = await _sign_in(attacker, f"guess{number}@example.com", "wrong")
        assert response.status_code == 401
    blocked = await _sign_in(attacker, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers
    # Only that address: the owner is not affected.
    assert (await _sign_in(world.http, "ada@example.com", PASSWORD)).status_code == 200


async def test_x_forwarded_for_is_not_believed_without_a_trusted_proxy(
    world: World, attacker: httpx.AsyncClient
) -> None:
    for n in range(3):
        await _sign_in(attacker, "ada@example.com", f"guess-{n}")
    # Claiming to be somebody else does not start a fresh pair.
    for claimed in ("10.0.0.9", "127.0.0.1", "203.0.113.7, 127.0.0.1"):
        spoofed = await _sign_in(
            attacker, "ada@example.com", "wrong", headers={"X-Forwarded-For": claimed}
        )
        assert spoofed.status_code == 429


async def test_fifty_concurrent_failures_count_fifty(world: World) -> None:
    sessions = session_factory(world.engine)

    async def fail_once() -> None:
        async with SqlIdentityUnitOfWork(sessions, world.master_key) as uow:
            await uow.throttle.count_failure(
                PAIR, "ada@example.com\x00" + ATTACKER, world.clock.now(), timedelta(days=1)
            )
            await uow.commit()

    await asyncio.gather(*(fail_once() for _ in range(50)))
    async with SqlIdentityUnitOfWork(sessions, world.master_key) as uow:
        state = await uow.throttle.get(PAIR, "ada@example.com\x00" + ATTACKER)
    assert state is not None
    assert state.failures == 50


async def test_a_consent_ticket_answers_only_once(world: World) -> None:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    login = {**form_fields(page.text), "email": "ada@example.com", "password": PASSWORD}
    consent = await world.http.post("/oauth/authorize", data=login)
    answer = {**form_fields(consent.text), "decision": "allow"}
    first = await world.http.post("/oauth/authorize", data=answer)
    assert first.status_code == 302
    assert "code=" in first.headers["location"]
    replay = await world.http.post("/oauth/authorize", data=answer)
    assert replay.status_code == 400
    assert "location" not in replay.headers


async def _refresh(world: World, client_id: str, refresh_token: str) -> httpx.Response:
    return await world.token(
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
        client_id,
    )


async def test_a_refresh_stops_when_the_staff_role_changes(world: World) -> None:
    await world.add_staff("officer@example.org", StaffRole.PRIVACY_OFFICER)
    tokens = await world.tokens_for(
        "officer@example.org",
        client_id="privacy-console",
        scope="audit:read dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    renewed = await _refresh(world, "privacy-console", tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    async with session_factory(world.engine)() as session:
        await session.execute(update(StaffUserRow).values(role=StaffRole.SUPPORT_AGENT.value))
        await session.commit()
    refused = await _refresh(world, "privacy-console", renewed.json()["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    await _assert_audited(world, "oauth.refresh.holder_changed")


async def test_a_refresh_stops_when_the_staff_member_is_disabled(world: World) -> None:
    await world.add_staff("officer@example.org", StaffRole.PRIVACY_OFFICER)
    tokens = await world.tokens_for(
        "officer@example.org",
        client_id="privacy-console",
        scope="dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    async with session_factory(world.engine)() as session:
        await session.execute(update(StaffUserRow).values(disabled=True))
        await session.commit()
    refused = await _refresh(world, "privacy-console", tokens["refresh_token"])
    assert refused.json()["error"] == "invalid_grant"


async def test_a_refresh_stops_when_the_customer_is_erased(world: World) -> None:
    tokens = await world.tokens_for("ada@example.com", scope="profile:read")
    async with session_factory(world.engine)() as session:
        await session.execute(update(CustomerRow).values(status=CustomerStatus.ERASED.value))
        await session.commit()
    refused = await _refresh(world, "demo-app", tokens["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # The whole family is revoked: the access token stops working too.
    assert (await world.me(tokens["access_token"])).status_code == 401


async def _assert_audited(world: World, action: str) -> None:
    async with world.engine.connect() as connection:
        rows: Any = (
            await connection.execute(
                text("SELECT outcome FROM audit_events WHERE action = :action"), {"action": action}
            )
        ).all()
    assert [row.outcome for row in rows] == ["denied"]


async def test_sign_ins_are_audited_without_secrets(world: World) -> None:
    await _sign_in(world.http, "ada@example.com", "wrong-password-canary")
    tokens = await world.tokens_for("ada@example.com", scope="profile:read")
    async with world.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT action, outcome, actor_type, actor_id, resource_id, client_id "
                    "FROM audit_events ORDER BY seq"
                )
            )
        ).all()
    actions = [(row.action, row.outcome) for row in rows]
    assert ("auth.login", "denied") in actions
    assert ("auth.login", "allowed") in actions
    assert ("oauth.authorize", "allowed") in actions
    assert ("oauth.token.issued", "allowed") in actions
    dumped = repr(rows)
    for secret in (
        "wrong-password-canary",
        PASSWORD,
        "ada@example.com",
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in dumped
