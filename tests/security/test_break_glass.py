"""Break-glass: a held (restricted or erased) customer's data is read by support only under
an officer-approved, time-boxed grant for that agent and ticket; a stated purpose alone is
refused; the grant is recorded, listed for officers and shown in the customer's access log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from oauth_harness import World, running_world
from self_service_seed import body, break_glass, officer_token, seed_person
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.identity import StaffRole
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.oauth.identity import StaffUserRow

SUPPORT_REDIRECT = "http://127.0.0.1:8767/callback"


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path) as created:
        await created.add_client(
            "support-desk", public=False, scopes="support:read", redirect_uris=(SUPPORT_REDIRECT,)
        )
        yield created


async def _agent(world: World, email: str = "agent@example.com") -> dict[str, str]:
    await world.add_staff(email, StaffRole.SUPPORT_AGENT)
    tokens = await world.tokens_for(
        email, client_id="support-desk", scope="support:read", redirect_uri=SUPPORT_REDIRECT
    )
    return {
        "Authorization": f"Bearer {tokens['access_token']}",
        "X-Access-Purpose": "legal_claim",
        "X-Ticket": "LC-9",
    }


async def test_a_stated_legal_claim_needs_an_approved_time_boxed_grant(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    restricted = await world.http.put(
        "/v1/me/restriction", json={"restricted": True}, headers=ada.auth
    )
    assert restricted.status_code == 200
    agent = await _agent(world)
    url = f"/v1/support/customers/{ada.id}/accounts"
    assert (await world.http.get(url, headers=agent)).status_code == 403
    await break_glass(world, ada.id, "OTHER-1")  # another ticket does not count
    assert (await world.http.get(url, headers=agent)).status_code == 403
    grant = await break_glass(world, ada.id, "LC-9", hours=1)
    allowed = await world.http.get(url, headers=agent)
    assert allowed.status_code == 200, allowed.text
    # The officers see it while it runs; the customer sees it in their access log.
    officer = {"Authorization": f"Bearer {await officer_token(world, 'o2@example.org')}"}
    listed = body(await world.http.get("/v1/privacy/access-grants", headers=officer))
    assert grant["id"] in [g["id"] for g in listed["items"]]
    log = body(await world.http.get("/v1/me/access-log", headers=ada.auth))
    assert "access_grant.create" in [e["action"] for e in log["items"]]
    # An hour later the glass is whole again (with fresh tokens: the old ones expired).
    world.clock.advance(3601)
    fresh = await world.tokens_for(
        "agent@example.com",
        client_id="support-desk",
        scope="support:read",
        redirect_uri=SUPPORT_REDIRECT,
    )
    agent["Authorization"] = f"Bearer {fresh['access_token']}"
    assert (await world.http.get(url, headers=agent)).status_code == 403
    officer = {"Authorization": f"Bearer {await officer_token(world, 'o3@example.org')}"}
    later = body(await world.http.get("/v1/privacy/access-grants", headers=officer))
    assert grant["id"] not in [g["id"] for g in later["items"]]


async def test_a_grant_is_for_one_agent_only(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    await world.http.put("/v1/me/restriction", json={"restricted": True}, headers=ada.auth)
    first = await _agent(world)
    await break_glass(world, ada.id, "LC-9")
    second = await _agent(world, "agent2@example.com")
    url = f"/v1/support/customers/{ada.id}/profile"
    assert (await world.http.get(url, headers=first)).status_code == 200
    assert (await world.http.get(url, headers=second)).status_code == 403


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"hours": 0}, 400),
        ({"hours": 73}, 400),
        ({"ticket": "no spaces"}, 400),
        ({"customer_id": str(uuid.uuid4())}, 404),
        ({"staff_id": str(uuid.uuid4())}, 404),
        ({"reason": "extra"}, 400),
    ],
)
async def test_a_grant_is_checked(world: World, change: dict[str, object], status: int) -> None:
    ada = await seed_person(world, "ada@example.org")
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    await world.add_staff("agent@example.com", StaffRole.SUPPORT_AGENT)
    agent_id = await _staff_id(world)
    grant = {"customer_id": str(ada.id), "staff_id": agent_id, "ticket": "T-1"}
    response = await world.http.post(
        "/v1/privacy/access-grants", json={**grant, "hours": 2, **change}, headers=officer
    )
    # A made-up staff id is a 404 too, so the checks of the body come first.
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def _staff_id(world: World) -> str:
    async with session_factory(world.engine)() as session:
        found = await session.scalars(
            select(StaffUserRow.id).where(StaffUserRow.role == StaffRole.SUPPORT_AGENT.value)
        )
        return str(found.one())


async def test_only_an_officer_grants(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    agent = await _agent(world)
    refused = await world.http.post(
        "/v1/privacy/access-grants",
        json={"customer_id": str(ada.id), "staff_id": str(ada.id), "ticket": "T", "hours": 1},
        headers={"Authorization": agent["Authorization"]},
    )
    assert refused.status_code == 403
