"""The customer's access log and support's purpose-bound reads, through HTTP with real
tokens: who looked, why, under which ticket; nobody else sees it; no infinite mirror."""

from __future__ import annotations

from uuid import UUID

import pytest
from oauth_harness import CONSOLE_REDIRECT, World
from self_service_seed import break_glass
from sqlalchemy import update

from domain.identity import StaffRole
from persistence.customer.tables import CustomerRow

SUPPORT_REDIRECT = "http://127.0.0.1:8767/callback"
READ = "access-log:read consents:read"


@pytest.fixture(autouse=True)
async def support_desk(world: World) -> None:
    """The support agents' client, registered for every test here."""
    await world.add_client(
        "support-desk", public=False, scopes="support:read", redirect_uris=(SUPPORT_REDIRECT,)
    )


async def _bearer(world: World, email: str, **kwargs: str) -> dict[str, str]:
    tokens = await world.tokens_for(email, **kwargs)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _agent(world: World) -> dict[str, str]:
    await world.add_staff("agent@example.com", StaffRole.SUPPORT_AGENT)
    return await _bearer(
        world,
        "agent@example.com",
        client_id="support-desk",
        scope="support:read",
        redirect_uri=SUPPORT_REDIRECT,
    )


def _support_headers(
    auth: dict[str, str], purpose: str = "complaint_handling", ticket: str = "TCK-4711"
) -> dict[str, str]:
    return {**auth, "X-Access-Purpose": purpose, "X-Ticket": ticket}


async def test_support_read_shows_in_the_customers_log_with_purpose_and_ticket(
    world: World,
) -> None:
    ada = await world.add_customer("ada@example.com")
    await world.add_customer("bob@example.com")
    agent = await _agent(world)
    profile = await world.http.get(
        f"/v1/support/customers/{ada}/profile", headers=_support_headers(agent)
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["family_name"] == "Lovelace"
    accounts = await world.http.get(
        f"/v1/support/customers/{ada}/accounts",
        headers=_support_headers(agent, "fraud_investigation", "FRAUD-9"),
    )
    assert accounts.status_code == 200, accounts.text

    ada_auth = await _bearer(world, "ada@example.com", scope=READ)
    log = await world.http.get("/v1/me/access-log", headers=ada_auth)
    assert log.status_code == 200, log.text
    staff = [e for e in log.json()["items"] if e["actor"]["type"] == "staff"]
    assert [(e["resource_type"], e["purpose"], e["ticket"]) for e in staff] == [
        ("accounts", "fraud_investigation", "FRAUD-9"),
        ("profile", "complaint_handling", "TCK-4711"),
    ]
    who = staff[0]["actor"]
    assert who["role"] == "support_agent"
    assert who["client"] == "support-desk"
    UUID(who["id"])  # an id, never the colleague's name or email
    assert "agent@example.com" not in log.text

    bob_auth = await _bearer(world, "bob@example.com", scope=READ)
    bob_log = await world.http.get("/v1/me/access-log", headers=bob_auth)
    assert bob_log.status_code == 200
    assert all(e["actor"]["type"] != "staff" for e in bob_log.json()["items"])
    assert "TCK-4711" not in bob_log.text


async def test_missing_or_unknown_purpose_or_ticket_is_400(world: World) -> None:
    ada = await world.add_customer("ada@example.com")
    agent = await _agent(world)
    url = f"/v1/support/customers/{ada}/profile"
    # Each error names the header as the client sends it, missing or with a wrong value.
    for headers, named in (
        ({**agent, "X-Ticket": "T-1"}, "X-Access-Purpose"),
        ({**agent, "X-Access-Purpose": "customer_request"}, "X-Ticket"),
        (_support_headers(agent, purpose="curiosity"), "X-Access-Purpose"),
        (_support_headers(agent, ticket="no spaces allowed"), "X-Ticket"),
    ):
        response = await world.http.get(url, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [(e["field"], e["source"]) for e in response.json()["errors"]] == [(named, "header")]
    ada_auth = await _bearer(world, "ada@example.com", scope=READ)
    log = (await world.http.get("/v1/me/access-log", headers=ada_auth)).json()["items"]
    assert all(e["actor"]["type"] != "staff" for e in log)


async def test_restricted_customer_is_refused_except_for_a_legal_claim(world: World) -> None:
    ada = await world.add_customer("ada@example.com")
    agent = await _agent(world)
    async with world.engine.begin() as connection:
        await connection.execute(
            update(CustomerRow).where(CustomerRow.id == ada).values(status="restricted")
        )
    url = f"/v1/support/customers/{ada}/interactions"
    refused = await world.http.get(url, headers=_support_headers(agent))
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:custodian:problem:processing-restricted"
    # A stated legal claim alone is refused: it needs an officer's grant for the ticket.
    claimed = await world.http.get(url, headers=_support_headers(agent, "legal_claim", "LC-1"))
    assert claimed.status_code == 403
    await break_glass(world, ada, "LC-1")
    allowed = await world.http.get(url, headers=_support_headers(agent, "legal_claim", "LC-1"))
    assert allowed.status_code == 200, allowed.text


async def test_unknown_customer_is_404(world: World) -> None:
    agent = await _agent(world)
    for customer in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = await world.http.get(
            f"/v1/support/customers/{customer}/profile", headers=_support_headers(agent)
        )
        assert response.status_code == 404


async def test_own_log_reads_are_not_mirrored_but_officer_reads_are(world: World) -> None:
    ada = await world.add_customer("ada@example.com")
    ada_auth = await _bearer(world, "ada@example.com", scope=READ)
    for _ in range(3):
        assert (await world.http.get("/v1/me/access-log", headers=ada_auth)).status_code == 200
    await world.http.get("/v1/me/consents", headers=ada_auth)
    await world.add_staff("officer@example.com", StaffRole.PRIVACY_OFFICER)
    officer = await _bearer(
        world,
        "officer@example.com",
        client_id="privacy-console",
        scope="audit:read",
        redirect_uri=CONSOLE_REDIRECT,
    )
    search = await world.http.get(
        "/v1/privacy/audit-events", headers=officer, params={"subject": str(ada)}
    )
    assert search.status_code == 200, search.text
    log = (await world.http.get("/v1/me/access-log", headers=ada_auth)).json()["items"]
    seen = [(e["actor"]["type"], e["resource_type"]) for e in log]
    assert seen[:2] == [("staff", "audit_events"), ("customer", "consents")]
    assert log[0]["actor"]["role"] == "privacy_officer"
    # Sign-in and the consent read are listed; the customer's own access-log reads are not.
    assert all(resource != "access_log" for _, resource in seen)


async def test_pages_filters_and_bad_cursor(world: World) -> None:
    await world.add_customer("ada@example.com")
    ada_auth = await _bearer(world, "ada@example.com", scope=READ)
    for _ in range(5):
        await world.http.get("/v1/me/consents", headers=ada_auth)
    first = await world.http.get("/v1/me/access-log", headers=ada_auth, params={"limit": 2})
    body = first.json()
    assert len(body["items"]) == 2
    assert body["next_cursor"]
    seen = [e["at"] for e in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        page = (
            await world.http.get(
                "/v1/me/access-log", headers=ada_auth, params={"limit": 2, "cursor": cursor}
            )
        ).json()
        seen += [e["at"] for e in page["items"]]
        cursor = page["next_cursor"]
    everything = (
        await world.http.get("/v1/me/access-log", headers=ada_auth, params={"limit": 200})
    ).json()
    assert everything["next_cursor"] is None
    assert seen == [e["at"] for e in everything["items"]]
    assert len(seen) >= 5
    assert seen == sorted(seen, reverse=True)
    staff_only = await world.http.get(
        "/v1/me/access-log", headers=ada_auth, params={"actor_type": "staff"}
    )
    assert staff_only.json()["items"] == []
    future = await world.http.get(
        "/v1/me/access-log", headers=ada_auth, params={"from": "2999-01-01T00:00:00Z"}
    )
    assert future.json()["items"] == []
    bad = await world.http.get("/v1/me/access-log", headers=ada_auth, params={"cursor": "garbage!"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_a_cursor_continues_only_the_filters_it_came_from(world: World) -> None:
    await world.add_customer("ada@example.com")
    ada_auth = await _bearer(world, "ada@example.com", scope=READ)
    for _ in range(3):
        await world.http.get("/v1/me/consents", headers=ada_auth)
    mine = {"actor_type": "customer", "limit": "1"}
    first = await world.http.get("/v1/me/access-log", headers=ada_auth, params=mine)
    cursor = first.json()["next_cursor"]
    same = await world.http.get(
        "/v1/me/access-log", headers=ada_auth, params={**mine, "cursor": cursor}
    )
    assert same.status_code == 200, same.text
    for other in (
        {},
        {"actor_type": "staff"},
        {"actor_type": "customer", "from": "2000-01-01T00:00:00Z"},
    ):
        refused = await world.http.get(
            "/v1/me/access-log", headers=ada_auth, params={**other, "cursor": cursor}
        )
        assert refused.status_code == 400, other
        assert refused.json()["type"] == "urn:custodian:problem:invalid-cursor"
