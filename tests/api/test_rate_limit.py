"""A rate limit per person and client on /v1, per client and address on /oauth/token: 429
problem+json with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from oauth_harness import (
    APP_REDIRECT,
    CUSTOMER_SCOPE,
    World,
    running_world,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from api.rate_limit import TokenBuckets
from persistence.crypto import MasterKey

API_LIMIT = 5
TOKEN_LIMIT = 3


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(
        db_url,
        engine,
        master_key,
        tmp_path,
        rate_limit_per_minute=API_LIMIT,
        token_rate_limit_per_minute=TOKEN_LIMIT,
    ) as created:
        await created.add_client(
            "other-app", public=True, scopes=CUSTOMER_SCOPE, redirect_uris=(APP_REDIRECT,)
        )
        yield created


async def test_a_client_over_its_limit_gets_429_with_retry_after(world: World) -> None:
    await world.add_customer("busy@example.com")
    tokens = await world.tokens_for("busy@example.com", scope="profile:read")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    statuses = [(await world.http.get("/v1/me", headers=bearer)).status_code for _ in range(6)]
    assert statuses == [200] * API_LIMIT + [429]
    refused = await world.http.get("/v1/me", headers=bearer)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status"] == 429
    assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert refused.json()["type"] == "urn:custodian:problem:rate-limited"
    assert refused.content == msgspec.json.encode(refused.json())


async def test_another_client_keeps_its_own_allowance(world: World) -> None:
    await world.add_customer("one@example.com")
    busy = await world.tokens_for("one@example.com", scope="profile:read")
    calm = await world.tokens_for("one@example.com", client_id="other-app", scope="profile:read")
    for _ in range(API_LIMIT):
        await world.http.get("/v1/me", headers={"Authorization": f"Bearer {busy['access_token']}"})
    other = await world.http.get(
        "/v1/me", headers={"Authorization": f"Bearer {calm['access_token']}"}
    )
    assert other.status_code == 200


async def test_another_user_of_the_same_client_keeps_their_own_allowance(world: World) -> None:
    # One user of a shared app (the portal, a mobile app) cannot spend everyone's requests.
    await world.add_customer("greedy@example.com")
    await world.add_customer("patient@example.com")
    greedy = await world.tokens_for("greedy@example.com", scope="profile:read")
    patient = await world.tokens_for("patient@example.com", scope="profile:read")
    greedy_auth = {"Authorization": f"Bearer {greedy['access_token']}"}
    for _ in range(API_LIMIT):
        await world.http.get("/v1/me", headers=greedy_auth)
    assert (await world.http.get("/v1/me", headers=greedy_auth)).status_code == 429
    answered = await world.http.get(
        "/v1/me", headers={"Authorization": f"Bearer {patient['access_token']}"}
    )
    assert answered.status_code == 200


async def test_token_endpoint_is_limited_per_client(world: World) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "demo-app"}
    statuses = [(await world.http.post("/oauth/token", data=form)).status_code for _ in range(4)]
    assert statuses[:TOKEN_LIMIT] == [400] * TOKEN_LIMIT  # the server did look at them
    assert statuses[TOKEN_LIMIT] == 429
    other = {**form, "client_id": "other-app"}
    assert (await world.http.post("/oauth/token", data=other)).status_code == 400


def test_buckets_refill_with_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, monotonic=lambda: now[0])  # one a second
    assert all(buckets.take("a") == 0 for _ in range(60))
    assert buckets.take("a") == pytest.approx(1.0)
    now[0] += 2.0
    assert buckets.take("a") == 0
    assert buckets.take("b") == 0
