"""Erasure happens only on purpose: its own scope, a recent sign-in (`auth_time`), a typed
confirmation, and a grace period in which the customer can cancel and processing is
restricted; the officer's queue shows it pending."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oauth_harness import APP_REDIRECT, ERASE, World, running_world
from self_service_seed import body, officer_token
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.cli.main import build_parser
from api.composition import build_job_worker
from api.oauth.flow_client import Pkce, authorize_params, form_fields
from domain.identity import CUSTOMER_SCOPES
from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import session_factory
from persistence.dsr.tables import DsrRequestRow, JobRow

EVERYTHING = " ".join(sorted(CUSTOMER_SCOPES))


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path, erasure_grace_days=7) as made:
        await made.add_customer("ada@example.org")
        yield made


async def _token(world: World, scope: str = EVERYTHING) -> dict[str, str]:
    tokens = await world.tokens_for("ada@example.org", scope=scope)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _status(world: World) -> str:
    async with session_factory(world.engine)() as session:
        status: str = (await session.scalars(select(CustomerRow.status))).one()
    return status


async def _requests(world: World) -> list[DsrRequestRow]:
    async with session_factory(world.engine)() as session:
        return list((await session.scalars(select(DsrRequestRow))).all())


async def test_erasure_needs_its_own_scope(world: World) -> None:
    everything_else = " ".join(sorted(CUSTOMER_SCOPES - {"dsr:erase"}))
    auth = await _token(world, everything_else)
    refused = await world.http.post("/v1/me/erasure", json=ERASE, headers=auth)
    assert refused.status_code == 403
    assert await _requests(world) == []


async def test_erasure_needs_a_recent_sign_in(world: World) -> None:
    auth = await _token(world)
    world.clock.advance(301)
    stale = await world.http.post("/v1/me/erasure", json=ERASE, headers=auth)
    assert stale.status_code == 401
    challenge = stale.headers["www-authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge
    assert "max_age=300" in challenge
    assert stale.json()["type"] == "urn:custodian:problem:recent-sign-in-required"
    assert await _requests(world) == []
    fresh = await world.http.post("/v1/me/erasure", json=ERASE, headers=await _token(world))
    assert fresh.status_code == 202, fresh.text


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"confirmation": ""},
        {"confirmation": "yes"},
        {"confirmation": None},
        {"confirmation": "Erase my data"},
    ],
)
async def test_erasure_needs_the_typed_confirmation(world: World, payload: Any) -> None:
    answer = await world.http.post("/v1/me/erasure", json=payload, headers=await _token(world))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["confirmation"]
    assert await _requests(world) == []


async def test_a_pending_erasure_restricts_processing_and_can_be_cancelled(world: World) -> None:
    auth = await _token(world)
    asked = await world.http.post(
        "/v1/me/erasure", json={"confirmation": "erase my data"}, headers=auth
    )
    assert asked.status_code == 202, asked.text
    pending = asked.json()
    assert pending["status"] == "queued"
    assert asked.headers["location"] == f"/v1/me/erasure/{pending['id']}"
    followed = body(await world.http.get(asked.headers["location"], headers=auth))
    assert (followed["id"], followed["status"], followed["report"]) == (
        pending["id"],
        "queued",
        None,
    )
    # Asking again answers the pending one, at the same place.
    repeated = await world.http.post("/v1/me/erasure", json=ERASE, headers=auth)
    assert repeated.status_code == 200
    assert repeated.headers["location"] == asked.headers["location"]
    assert pending["erase_after"].startswith(
        (world.clock.now() + timedelta(days=7)).date().isoformat()
    )
    assert await _status(world) == "restricted"
    # Lifting the restriction would undo the grace period's protection.
    lift = await world.http.put("/v1/me/restriction", json={"restricted": False}, headers=auth)
    assert lift.status_code == 409
    # The worker leaves it alone until the grace period ends.
    worker = build_job_worker(world.settings, world.services)
    assert not await worker.run_once()
    # The officer sees it pending, with the legal deadline.
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    queue = body(await world.http.get("/v1/privacy/requests", headers=officer))["items"]
    [entry] = [item for item in queue if item["id"] == pending["id"]]
    assert entry["pending_erasure"] is True
    assert entry["erase_after"] == pending["erase_after"]
    assert entry["due_at"] == pending["due_at"]

    cancelled = await world.http.delete(f"/v1/me/erasure/{pending['id']}", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await _status(world) == "active"
    again = await world.http.delete(f"/v1/me/erasure/{pending['id']}", headers=auth)
    assert again.status_code == 409
    assert not await worker.run_once()  # the job is gone
    shown = body(await world.http.get(f"/v1/me/erasure/{pending['id']}", headers=auth))
    assert shown["status"] == "cancelled"
    # A new request can be made later.
    anew = await world.http.post("/v1/me/erasure", json=ERASE, headers=auth)
    assert anew.status_code == 202


async def test_after_the_grace_period_the_erasure_runs_and_cannot_be_cancelled(
    world: World,
) -> None:
    auth = await _token(world)
    pending = body(await world.http.post("/v1/me/erasure", json=ERASE, headers=auth))
    async with session_factory(world.engine)() as session:  # seven days later
        await session.execute(
            update(JobRow).values(run_after=world.clock.now() - timedelta(seconds=1))
        )
        await session.commit()
    worker = build_job_worker(world.settings, world.services)
    assert await worker.run_once()
    assert await _status(world) == "erased"
    [row] = await _requests(world)
    assert row.status == "completed"
    late = await world.http.delete(f"/v1/me/erasure/{pending['id']}", headers=auth)
    assert late.status_code in (401, 409)  # signed out everywhere by the erasure


async def test_someone_elses_erasure_cannot_be_cancelled(world: World) -> None:
    mine = body(await world.http.post("/v1/me/erasure", json=ERASE, headers=await _token(world)))
    await world.add_customer("bob@example.org")
    bob = await world.tokens_for("bob@example.org", scope=EVERYTHING)
    refused = await world.http.delete(
        f"/v1/me/erasure/{mine['id']}", headers={"Authorization": f"Bearer {bob['access_token']}"}
    )
    assert refused.status_code == 404
    assert (await _requests(world))[0].status == "queued"
    unknown = await world.http.delete(f"/v1/me/erasure/{uuid.uuid4()}", headers=await _token(world))
    assert unknown.status_code == 404


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return claims


async def test_tokens_carry_when_the_person_signed_in_and_a_refresh_keeps_it(
    world: World,
) -> None:
    signed_in = int(world.clock.now().timestamp())
    tokens = await world.tokens_for("ada@example.org", scope="profile:read")
    assert _claims(tokens["access_token"])["auth_time"] == signed_in
    world.clock.advance(120)
    renewed = await world.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "demo-app",
        }
    )
    assert _claims(renewed.json()["access_token"])["auth_time"] == signed_in


async def _authorize(world: World, **extra: str) -> Any:
    params = authorize_params("demo-app", APP_REDIRECT, "profile:read", Pkce.new())
    return await world.http.get("/oauth/authorize", params={**params, **extra})


async def test_authorize_honours_prompt_and_max_age(world: World) -> None:
    fresh = await _authorize(world, prompt="login", max_age="0")
    assert fresh.status_code == 200
    assert 'name="password"' in fresh.text
    assert "max_age" in form_fields(fresh.text)  # carried through the sign-in form
    none = await _authorize(world, prompt="none")
    assert none.status_code == 302
    assert "error=login_required" in none.headers["location"]
    malformed = await _authorize(world, max_age="soon")
    assert "error=invalid_request" in malformed.headers["location"]


async def _consent_page(world: World, scope: str) -> str:
    params = authorize_params("demo-app", APP_REDIRECT, scope, Pkce.new())
    page = await world.http.get("/oauth/authorize", params=params)
    signed_in = await world.http.post(
        "/oauth/authorize",
        data={
            **form_fields(page.text),
            "email": "ada@example.org",
            "password": "correct horse battery staple",
        },
    )
    assert signed_in.status_code == 200
    return signed_in.text


async def test_the_consent_page_warns_before_granting_erasure(world: World) -> None:
    warned = await _consent_page(world, "profile:read dsr:erase")
    assert "Warning:" in warned
    assert "cannot be undone" in warned
    plain = await _consent_page(world, "profile:read dsr:write")
    assert "Warning:" not in plain


def test_custodian_token_demo_does_not_ask_for_erasure() -> None:
    args = build_parser().parse_args(["token", "--demo"])
    asked = set(args.scope.split())
    assert "dsr:erase" not in asked
    assert asked == CUSTOMER_SCOPES - {"dsr:erase"}
