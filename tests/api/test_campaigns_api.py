"""The campaign API as a campaign tool and the customer see it: audience checks, recorded
contacts under the caps, and what shows up in the customer's interactions and access log."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from oauth_harness import World
from sqlalchemy import func, select

from persistence.audit.tables import AuditEventRow
from persistence.campaigns.tables import CampaignContactRow

CAMPAIGN_SCOPE = "campaigns:write"


async def service_headers(world: World) -> dict[str, str]:
    response = await world.token({"grant_type": "client_credentials"}, "campaign-service")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == CAMPAIGN_SCOPE
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def customer_headers(world: World, email: str) -> dict[str, str]:
    tokens = await world.tokens_for(email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def consenting_customer(
    world: World, email: str, purpose: str = "marketing_email"
) -> tuple[uuid.UUID, dict[str, str]]:
    customer_id = await world.add_customer(email)
    headers = await customer_headers(world, email)
    granted = await world.http.put(
        f"/v1/me/consents/{purpose}",
        headers=headers,
        json={"granted": True, "notice_version": "1"},
    )
    assert granted.status_code == 200, granted.text
    return customer_id, headers


async def record(
    world: World, service: dict[str, str], campaign: str, customer: uuid.UUID, key: str
) -> tuple[int, dict[str, object]]:
    response = await world.http.post(
        f"/v1/campaigns/{campaign}/contacts",
        headers=service,
        json={"customer_id": str(customer), "channel": "email", "idempotency_key": key},
    )
    body: dict[str, object] = response.json()
    return response.status_code, body


async def test_audience_check_answers_yes_no_and_why_without_personal_data(world: World) -> None:
    ada, ada_headers = await consenting_customer(world, "ada@example.com")
    bob = await world.add_customer("bob@example.com")
    stranger = uuid.uuid4()
    service = await service_headers(world)
    response = await world.http.post(
        "/v1/campaigns/spring-sale/audience-checks",
        headers=service,
        json={"channel": "email", "customer_ids": [str(ada), str(bob), str(stranger)]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    answers = {item["customer_id"]: item for item in body["items"]}
    assert [item["customer_id"] for item in body["items"]] == [str(ada), str(bob), str(stranger)]
    assert answers[str(ada)]["contactable"] is True
    assert answers[str(ada)]["reasons"] == []
    assert answers[str(bob)]["contactable"] is False
    assert [r["code"] for r in answers[str(bob)]["reasons"]] == ["no_consent"]
    # An unknown id reads exactly like a customer who never consented.
    stranger_answer = dict(answers[str(stranger)], customer_id=str(bob))
    assert stranger_answer == answers[str(bob)]
    for secret in ("ada@example.com", "bob@example.com", "Ada", "Lovelace"):
        assert secret not in response.text

    log = (await world.http.get("/v1/me/access-log", headers=ada_headers)).json()["items"]
    checks = [e for e in log if e["action"] == "campaign.audience_check"]
    assert len(checks) == 1
    assert checks[0]["purpose"] == "campaign:spring-sale"
    assert checks[0]["resource_id"] == "email"
    assert checks[0]["actor"]["type"] == "service"
    assert checks[0]["actor"]["client"] == "campaign-service"
    assert checks[0]["actor"]["id"] is None  # a service's own id is the officers' to read


async def test_contacts_are_capped_across_campaigns_and_appear_in_interactions(
    world: World,
) -> None:
    ada, ada_headers = await consenting_customer(world, "ada@example.com")
    service = await service_headers(world)
    status, first = await record(world, service, "spring-sale", ada, "k1")
    assert status == 201, first
    # Retrying with the same key answers the same contact, and records nothing new.
    again_status, again = await record(world, service, "spring-sale", ada, "k1")
    assert again_status == 200
    assert again["id"] == first["id"]
    status, _ = await record(world, service, "loyalty-week", ada, "k2")
    assert status == 201
    status, refused = await record(world, service, "autumn-offer", ada, "k3")
    assert status == 409
    assert refused["type"] == "urn:custodian:problem:not-contactable"
    assert [r["code"] for r in refused["reasons"]] == ["weekly_limit"]  # type: ignore[union-attr]
    first_sent = datetime.fromisoformat(str(first["sent_at"]))
    assert datetime.fromisoformat(str(refused["earliest_allowed_at"])) == first_sent + timedelta(
        days=7
    )
    # The same key for another customer is refused, not silently replayed.
    bob, _ = await consenting_customer(world, "bob@example.com")
    status, reused = await record(world, service, "spring-sale", bob, "k1")
    assert status == 409
    assert "idempotency key" in str(reused["detail"])

    interactions = (
        await world.http.get(
            "/v1/me/interactions", headers=ada_headers, params={"kind": "marketing"}
        )
    ).json()["items"]
    assert sorted(i["campaign"] for i in interactions) == ["loyalty-week", "spring-sale"]
    assert {i["channel"] for i in interactions} == {"email"}
    log = (await world.http.get("/v1/me/access-log", headers=ada_headers)).json()["items"]
    outcomes = sorted(
        (e["purpose"], e["outcome"]) for e in log if e["action"] == "campaign.contact_record"
    )
    assert outcomes == [
        ("campaign:autumn-offer", "denied"),
        ("campaign:loyalty-week", "allowed"),
        ("campaign:spring-sale", "allowed"),
    ]

    checked = await world.http.post(
        "/v1/campaigns/autumn-offer/audience-checks",
        headers=service,
        json={"channel": "sms", "customer_ids": [str(ada)]},
    )
    codes = {r["code"] for r in checked.json()["items"][0]["reasons"]}
    assert codes == {"no_consent", "weekly_limit"}  # caps count every channel


async def test_two_campaigns_racing_for_the_last_slot_exactly_one_wins(world: World) -> None:
    ada, _ = await consenting_customer(world, "ada@example.com")
    service = await service_headers(world)
    status, _ = await record(world, service, "first", ada, "only-one")
    assert status == 201
    results = await asyncio.gather(
        *(record(world, service, f"racer-{n}", ada, f"race-{n}") for n in range(4))
    )
    assert sorted(status for status, _ in results) == [201, 409, 409, 409]
    async with world.engine.connect() as connection:
        stored = await connection.scalar(
            select(func.count())
            .select_from(CampaignContactRow)
            .where(CampaignContactRow.customer_id == ada)
        )
    assert stored == 2


async def test_bad_requests_and_wrong_callers(world: World) -> None:
    ada, ada_headers = await consenting_customer(world, "ada@example.com")
    service = await service_headers(world)
    url = "/v1/campaigns/spring-sale/audience-checks"
    too_many = {"channel": "email", "customer_ids": [str(uuid.uuid4()) for _ in range(1001)]}
    assert (await world.http.post(url, headers=service, json=too_many)).status_code == 400
    empty = {"channel": "email", "customer_ids": []}
    assert (await world.http.post(url, headers=service, json=empty)).status_code == 400
    pigeon = {"channel": "pigeon", "customer_ids": [str(ada)]}
    bad = await world.http.post(url, headers=service, json=pigeon)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    odd_campaign = await world.http.post(
        "/v1/campaigns/%20bad%20/audience-checks",
        headers=service,
        json={"channel": "email", "customer_ids": [str(ada)]},
    )
    assert odd_campaign.status_code == 400
    # A customer's token cannot ask about anyone; a service cannot read preferences.
    as_customer = await world.http.post(
        url, headers=ada_headers, json={"channel": "email", "customer_ids": [str(ada)]}
    )
    assert as_customer.status_code == 403
    as_service = await world.http.get("/v1/me/contact-preferences", headers=service)
    assert as_service.status_code == 403
    # Another service's token (analytics:read) may not ask either; nothing about Ada is read.
    analytics = await world.token({"grant_type": "client_credentials"}, "analytics-service")
    other = {"Authorization": f"Bearer {analytics.json()['access_token']}"}
    before = await _events_about(world, ada)
    for path in ("audience-checks", "contacts"):
        refused = await world.http.post(
            f"/v1/campaigns/spring-sale/{path}",
            headers=other,
            json={"channel": "email", "customer_ids": [str(ada)]},
        )
        assert refused.status_code == 403, path
    assert await _events_about(world, ada) == before


async def _events_about(world: World, customer: uuid.UUID) -> int:
    async with world.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(AuditEventRow)
            .where(AuditEventRow.subject_id == customer)
        )
    return int(count or 0)
