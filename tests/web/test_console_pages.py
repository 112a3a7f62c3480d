"""The console's pages over HTTP (no browser): a privacy officer signs in through the same
flow as customers, works the queue, decides a correction knowing what was asked (an audited
read) and sees the audit log verified;
the analytics dashboard needs a sign-in that holds analytics:read."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oauth_harness import ISSUER, PASSWORD, World
from self_service_seed import audit_events, last_seq, seed_person
from web_harness import hidden_fields, register_web_clients, sign_in

from api.oauth.flow_client import sign_in_and_consent
from domain.identity import StaffRole

OFFICER = "officer@example.org"
ANALYST = "analyst@example.org"
ADA = "ada@example.com"


@pytest.fixture
async def console(world: World) -> World:
    """The world with the web clients, an officer, an analyst and a seeded customer."""
    await register_web_clients(world)
    await world.add_staff(OFFICER, StaffRole.PRIVACY_OFFICER)
    await world.add_staff(ANALYST, StaffRole.ANALYST)
    return world


def _card(page: str, correction_id: str) -> str:
    """The section of the corrections page about one request."""
    start = page.index(f"{correction_id}</h2>")
    return page[start : page.index("</section>", start)]


def browser(world: World) -> httpx.AsyncClient:
    """A cookie jar of its own on the in-process app."""
    return httpx.AsyncClient(transport=world.http._transport, base_url=ISSUER)


async def test_officer_works_the_queue_and_decides_a_correction(console: World) -> None:
    person = await seed_person(console, ADA)
    exported = await console.http.post("/v1/me/exports", headers=person.auth)
    assert exported.status_code == 202
    asked = await console.http.post(
        "/v1/me/corrections",
        headers=person.auth,
        json={
            "target": {"type": "account", "id": str(person.account_id), "field": "name"},
            "requested_value": "Household",
            "reason": "We renamed it <script>alert(1)</script>",
        },
    )
    assert asked.status_code == 201, asked.text
    correction_id = asked.json()["id"]
    async with browser(console) as http:
        await sign_in(http, OFFICER, start="/console/login")
        queue = await http.get("/console")
        assert queue.status_code == 200
        assert exported.json()["id"] in queue.text
        timeline = await http.get(f"/console/requests/{exported.json()['id']}")
        assert "export.request" in timeline.text
        before = await last_seq(console)
        listing = await http.get("/console/corrections")
        assert correction_id in listing.text
        # What the customer asked, shown (escaped) so the officer does not decide blind.
        card = _card(listing.text, correction_id)
        assert f"account {person.account_id}" in card
        assert ">name<" in card
        assert re.search(r'class="asked-current">Everyday<', card)
        assert re.search(r'class="asked-value">Household<', card)
        assert "We renamed it &lt;script&gt;alert(1)&lt;/script&gt;" in card
        assert "<script>alert" not in listing.text
        assert asked.json()["due_at"][:10] in card
        assert str(person.id) in card
        # Showing it is a read of the customer's data, audited like the API's other reads.
        [shown] = [e for e in await audit_events(console, before) if e.action == "correction.read"]
        assert (shown.subject_id, shown.resource_id, shown.purpose, shown.actor_type) == (
            person.id,
            correction_id,
            "rights_fulfilment",
            "staff",
        )
        csrf = hidden_fields(listing.text)["csrf_token"]
        empty = await http.post(
            f"/console/corrections/{correction_id}",
            data={"csrf_token": csrf, "decision": "apply", "reason": " "},
        )
        assert empty.status_code == 422
        assert 'aria-invalid="true"' in empty.text
        decided = await http.post(
            f"/console/corrections/{correction_id}",
            data={"csrf_token": csrf, "decision": "apply", "reason": "Matches our records"},
        )
        assert decided.status_code == 200, decided.text
        assert re.search(r'id="correction-status">applied<', decided.text)
        # Decided, it leaves the list of requests awaiting a decision.
        after = await http.get("/console/corrections")
        assert correction_id not in after.text
        assert "No correction request awaits a decision." in after.text
        wrong = await http.get("/console/audit", params={"subject": "not-a-uuid"})
        assert wrong.status_code == 400
        assert re.search(r'id="f-subject"[^>]*aria-invalid="true"', wrong.text)
        audit = await http.get("/console/audit", params={"action": "correction.decide"})
        assert "Verified" in audit.text
        assert "correction.decide" in audit.text
        analytics = await http.get("/console/analytics")
        assert "analytics:read" in analytics.text  # the officer's sign-in lacks it
    account = await console.http.get(f"/v1/me/accounts/{person.account_id}", headers=person.auth)
    assert account.json()["name"] == "Household"


async def test_a_customer_cannot_use_the_console(console: World) -> None:
    await console.add_customer(ADA)
    async with browser(console) as http:
        begun = await http.get("/console/login")
        assert begun.status_code == 303
        params = {k: v[0] for k, v in parse_qs(urlsplit(begun.headers["location"]).query).items()}
        redirect = await sign_in_and_consent(http, params, ADA, PASSWORD)
        assert redirect.params.get("error") == "invalid_scope"
        back = urlsplit(redirect.location)
        told = await http.get(f"{back.path}?{back.query}")
        # Told why, not that the sign-in "was cancelled, expired or did not match".
        assert told.status_code == 403
        assert "This account cannot use these pages" in told.text
        assert (await http.get("/console/audit")).status_code == 303


async def test_analyst_sees_the_dashboard(console: World) -> None:
    async with browser(console) as http:
        await sign_in(http, ANALYST, start="/console/login?as=analyst")
        page = await http.get("/console/analytics")
        assert page.status_code == 200, page.text
        assert "Value-tier movement" in page.text
        assert (await http.get("/console/audit")).status_code == 403
