"""Restriction (Art. 18) blocks what it must and lifts cleanly; an objection to direct
marketing (Art. 21) withdraws every marketing purpose at once and nothing else."""

from __future__ import annotations

import pytest
from oauth_harness import World
from self_service_seed import (
    Person,
    audit_events,
    body,
    break_glass,
    last_seq,
    officer_token,
    seed_person,
)
from sqlalchemy import select

from domain.identity import StaffRole
from persistence.database import session_factory
from persistence.dsr.tables import DsrRequestRow

SUPPORT_REDIRECT = "http://127.0.0.1:8767/callback"


@pytest.fixture(autouse=True)
async def support_desk(world: World) -> None:
    """The support agents' client, registered for every test here."""
    await world.add_client(
        "support-desk", public=False, scopes="support:read", redirect_uris=(SUPPORT_REDIRECT,)
    )


async def agent_headers(world: World) -> dict[str, str]:
    await world.add_staff("agent@example.com", StaffRole.SUPPORT_AGENT)
    tokens = await world.tokens_for(
        "agent@example.com",
        client_id="support-desk",
        scope="support:read",
        redirect_uri=SUPPORT_REDIRECT,
    )
    return {"Authorization": f"Bearer {tokens['access_token']}", "X-Ticket": "TCK-1"}


async def granted(world: World, person: Person) -> dict[str, bool]:
    listed = body(await world.http.get("/v1/me/consents", headers=person.auth))
    return {item["purpose"]: item["granted"] for item in listed["items"]}


async def officer_reports(world: World, kind: str) -> list[dict[str, object]]:
    """The reports of every request of `kind`, as the officer's request detail shows them."""
    auth = {"Authorization": f"Bearer {await officer_token(world)}"}
    queue = body(await world.http.get("/v1/privacy/requests", params={"type": kind}, headers=auth))
    reports = []
    for entry in queue["items"]:
        detail = body(await world.http.get(f"/v1/privacy/requests/{entry['id']}", headers=auth))
        # The detail is the queue entry itself, with its timeline and report next to it.
        assert {k: detail[k] for k in entry} == entry
        reports.append(detail["report"])
    return reports


async def test_restriction_blocks_support_except_legal_claims_and_lifts(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    agent = await agent_headers(world)
    url = f"/v1/support/customers/{ada.id}/accounts"
    before = await last_seq(world)
    restricted = await world.http.put(
        "/v1/me/restriction",
        headers=ada.auth,
        json={"restricted": True, "reason": "accuracy_contested"},
    )
    assert body(restricted) == {
        "restricted": True,
        "status": "restricted",
        "withdrawn_purposes": [],
    }
    assert [e.action for e in await audit_events(world, before)] == ["restriction.set"]
    refused = await world.http.get(url, headers={**agent, "X-Access-Purpose": "complaint_handling"})
    assert refused.status_code == 403
    await break_glass(world, ada.id, "TCK-1")
    legal = await world.http.get(url, headers={**agent, "X-Access-Purpose": "legal_claim"})
    assert legal.status_code == 200
    # The customer still reads their own data while restricted.
    assert (await world.http.get("/v1/me/profile", headers=ada.auth)).status_code == 200

    lifted = await world.http.put(
        "/v1/me/restriction", headers=ada.auth, json={"restricted": False}
    )
    assert body(lifted)["status"] == "active"
    again = await world.http.get(url, headers={**agent, "X-Access-Purpose": "complaint_handling"})
    assert again.status_code == 200
    async with session_factory(world.engine)() as session:
        kinds = (
            await session.scalars(
                select(DsrRequestRow.type).where(DsrRequestRow.customer_id == ada.id)
            )
        ).all()
    assert sorted(kinds) == ["restriction", "restriction"]
    reports = await officer_reports(world, "restriction")
    assert sorted(reports, key=lambda r: str(r["restricted"])) == [
        {"type": "restriction", "restricted": False, "ground": None},
        {"type": "restriction", "restricted": True, "ground": "accuracy_contested"},
    ]


async def test_objection_withdraws_every_marketing_purpose_and_nothing_else(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    for purpose in ("marketing_email", "marketing_sms", "analytics"):
        response = await world.http.put(
            f"/v1/me/consents/{purpose}",
            headers=ada.auth,
            json={"granted": True, "notice_version": "1"},
        )
        assert response.status_code == 200, response.text
    objected = body(
        await world.http.put(
            "/v1/me/restriction",
            headers=ada.auth,
            json={"restricted": False, "object_to_direct_marketing": True},
        )
    )
    assert objected["withdrawn_purposes"] == ["marketing_email", "marketing_sms"]
    state = await granted(world, ada)
    assert not state["marketing_email"]
    assert not state["marketing_sms"]
    assert state["analytics"]  # not direct marketing: untouched
    history = body(await world.http.get("/v1/me/consents/history", headers=ada.auth))
    assert len(history["items"]) == 5  # three grants, two signed withdrawals
    assert await officer_reports(world, "objection") == [
        {"type": "objection", "purposes_withdrawn": ["marketing_email", "marketing_sms"]}
    ]


async def test_a_bad_restriction_body_is_a_problem(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    for bad in (
        {},
        {"restricted": "yes"},
        {"restricted": True, "reason": "boredom"},
        {"restricted": True, "extra": 1},
    ):
        response = await world.http.put("/v1/me/restriction", headers=ada.auth, json=bad)
        assert response.status_code == 400, bad
        assert response.headers["content-type"].startswith("application/problem+json")
