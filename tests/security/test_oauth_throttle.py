"""Sign-in throttling per account and per address, without revealing which emails exist,
and the sign-in audit trail (no passwords, no tokens)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from oauth_harness import APP_REDIRECT, PASSWORD, World, running_world
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.oauth.flow_client import Pkce, authorize_params, form_fields
from domain.oauth.login import ThrottlePolicy
from persistence.crypto import MasterKey

POLICY = ThrottlePolicy(per_account=3, per_address=6, window=timedelta(minutes=15))


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path, throttle=POLICY) as created:
        await created.add_customer("ada@example.com")
        yield created


async def _sign_in(world: World, email: str, password: str) -> httpx.Response:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    return await world.http.post(
        "/oauth/authorize", data={**form_fields(page.text), "email": email, "password": password}
    )


async def test_account_is_throttled_then_let_back_after_the_window(world: World) -> None:
    for _ in range(3):
        assert (await _sign_in(world, "ada@example.com", "wrong")).status_code == 401
    blocked = await _sign_in(world, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    assert "Too many failed sign-ins" in blocked.text
    world.clock.advance(15 * 60)
    allowed = await _sign_in(world, "ada@example.com", PASSWORD)
    assert allowed.status_code == 200
    assert 'value="allow"' in allowed.text


async def test_success_clears_the_account_failures(world: World) -> None:
    for _ in range(2):
        await _sign_in(world, "ada@example.com", "wrong")
    assert (await _sign_in(world, "ada@example.com", PASSWORD)).status_code == 200
    for _ in range(2):
        assert (await _sign_in(world, "ada@example.com", "wrong")).status_code == 401
    assert (await _sign_in(world, "ada@example.com", PASSWORD)).status_code == 200


async def test_unknown_email_and_wrong_password_look_the_same(world: World) -> None:
    known = [await _sign_in(world, "ada@example.com", "wrong") for _ in range(4)]
    world.clock.advance(15 * 60)  # let the address budget recover between the two series
    unknown = [await _sign_in(world, "nobody@example.com", "wrong") for _ in range(4)]
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


async def test_address_is_throttled_across_accounts(world: World) -> None:
    for number in range(6):
        response = await _sign_in(world, f"guess{number}@example.com", "wrong")
        assert response.status_code == 401
    blocked = await _sign_in(world, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers


async def test_sign_ins_are_audited_without_secrets(world: World) -> None:
    await _sign_in(world, "ada@example.com", "wrong-password-canary")
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
