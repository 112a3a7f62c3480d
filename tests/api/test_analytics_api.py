"""The analyst's API over real HTTP on both engines: aggregates only, with population,
suppression and as-of; every query audited without a subject; customers and support
agents refused; bad input answered with problem+json."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from analytics_seed import seed_population, set_analytics
from oauth_harness import CONSOLE_REDIRECT, World, running_world
from self_service_seed import audit_events, last_seq, seed_person
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.analytics.attributes import add_months, month_of
from domain.identity import StaffRole
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.uow import SqlUnitOfWork

NOW = month_of(datetime.now(UTC))
BEFORE = add_months(NOW, -1)
MEMBERS = 21
ROUTES = [
    f"/v1/analytics/segments?by=country,tier&period={NOW}",
    f"/v1/analytics/tiers/movement?from={BEFORE}&to={NOW}",
    f"/v1/analytics/customers/flow?from={add_months(NOW, -24)}&to={NOW}&segment=channel",
    f"/v1/analytics/referrals?period={NOW}",
    f"/v1/analytics/experience?from={BEFORE}&to={NOW}&segment=country",
]


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path) as created:
        units = lambda: SqlUnitOfWork(session_factory(engine), master_key)  # noqa: E731
        ids = await seed_population(units, MEMBERS + 9)
        for customer_id in ids[:MEMBERS]:
            await set_analytics(units, customer_id, granted=True)
        yield created


async def _staff_token(world: World, role: StaffRole, scope: str) -> str:
    client = f"{role.value}-console"
    await world.add_client(client, public=False, scopes=scope, redirect_uris=(CONSOLE_REDIRECT,))
    email = f"{role.value}@example.org"
    await world.add_staff(email, role)
    tokens = await world.tokens_for(
        email, client_id=client, scope=scope, redirect_uri=CONSOLE_REDIRECT
    )
    token: str = tokens["access_token"]
    return token


async def _service_token(world: World) -> str:
    issued = await world.token({"grant_type": "client_credentials"}, "analytics-service")
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_every_route_answers_aggregates_with_population_and_suppression(
    world: World,
) -> None:
    token = await _staff_token(world, StaffRole.ANALYST, "analytics:read")
    for route in ROUTES:
        response = await world.http.get(route, headers=_auth(token))
        assert response.status_code == 200, (route, response.text)
        body = response.json()
        assert body["consenting_customers"] == MEMBERS
        assert body["min_cohort"] == 10
        assert datetime.fromisoformat(body["as_of"].replace("Z", "+00:00")).tzinfo is not None
        cells = [cell for table in body["tables"] for cell in table["cells"]]
        assert body["cells"] == len(cells)
        assert body["suppressed_cells"] == sum(cell["suppressed"] for cell in cells)
        for cell in cells:
            if cell["suppressed"]:
                assert cell["customers"] is None
                assert cell["values"] == {}
            else:
                assert cell["customers"] >= 10
        # Never a pseudonym (64 hex digits) nor a customer id.
        assert not re.search(r"[0-9a-f]{32}", response.text.replace("-", ""))


async def test_segments_count_every_member_and_hide_small_cells(world: World) -> None:
    token = await _service_token(world)
    coarse = await world.http.get(
        f"/v1/analytics/segments?by=referred&period={NOW}", headers=_auth(token)
    )
    fine = await world.http.get(
        f"/v1/analytics/segments?by=country,age_band,tier&period={NOW}", headers=_auth(token)
    )
    assert coarse.status_code == fine.status_code == 200
    published = [c for c in coarse.json()["tables"][0]["cells"] if not c["suppressed"]]
    assert sum(c["customers"] for c in published) in {0, MEMBERS}
    assert fine.json()["suppressed_cells"] >= 1  # 21 members over many cells: some small


async def test_every_query_is_audited_without_a_subject(world: World) -> None:
    token = await _service_token(world)
    seq = await last_seq(world)
    response = await world.http.get(ROUTES[0], headers=_auth(token))
    assert response.status_code == 200
    events = [e for e in await audit_events(world, seq) if e.action == "analytics.query"]
    assert len(events) == 1
    event = events[0]
    assert event.subject_id is None
    assert event.actor_type == "service"
    assert event.resource_id == f"segments?by=country,tier&period={NOW}"
    body = response.json()
    assert f"cells={body['cells']}" in event.fields
    assert f"suppressed={body['suppressed_cells']}" in event.fields


async def test_customers_and_support_agents_are_refused(world: World) -> None:
    person = await seed_person(world, "ada@example.org")
    support = await _staff_token(world, StaffRole.SUPPORT_AGENT, "support:read")
    for token in (person.token, support):
        for route in ROUTES:
            response = await world.http.get(route, headers=_auth(token))
            assert response.status_code == 403, route
            assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("segments?by=surname&period=2026-01", 400),
        ("segments?period=2026-01", 400),
        ("segments?by=country,tier,channel,products&period=2026-01", 400),
        ("segments?by=country&period=2026-13", 400),
        ("tiers/movement?from=2026-05&to=2026-01", 422),
        ("tiers/movement?to=2026-01", 400),
        ("customers/flow?from=2020-01&to=2026-01", 422),
        ("experience?segment=country,tier", 400),
        ("referrals?period=january", 400),
    ],
)
async def test_bad_input_is_a_problem(world: World, query: str, status: int) -> None:
    token = await _service_token(world)
    response = await world.http.get(f"/v1/analytics/{query}", headers=_auth(token))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status


async def _set_consent(world: World, auth: dict[str, str], granted: bool) -> None:
    consents = (await world.http.get("/v1/me/consents", headers=auth)).json()["items"]
    analytics = next(i for i in consents if i["purpose"] == "analytics")
    response = await world.http.put(
        "/v1/me/consents/analytics",
        json={"granted": granted, "notice_version": analytics["notice_version"]},
        headers=auth,
    )
    assert response.status_code in {200, 201}, response.text


async def test_a_customer_sees_whether_and_since_when_they_are_in_the_population(
    world: World,
) -> None:
    ada = await seed_person(world, "ada@example.org")
    service = _auth(await _service_token(world))

    async def standing() -> dict[str, Any]:
        response = await world.http.get("/v1/me/processing", headers=ada.auth)
        assert response.status_code == 200, response.text
        analytics: dict[str, Any] = response.json()["analytics"]
        return analytics

    async def population() -> int:
        response = await world.http.get(ROUTES[3], headers=service)
        count: int = response.json()["consenting_customers"]
        return count

    assert await standing() == {"member": False, "since": None}
    await _set_consent(world, ada.auth, granted=True)
    joined = await standing()
    assert joined["member"] is True
    assert joined["since"] is not None
    assert await population() == MEMBERS + 1
    await _set_consent(world, ada.auth, granted=False)
    assert await standing() == {"member": False, "since": None}
    assert await population() == MEMBERS  # the withdrawal's response came after its removal
