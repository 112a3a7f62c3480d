"""The portal's other requests over HTTP: interactions, a correction asked from the page
that shows the data, restriction with objection, contact preferences with their lost-update
check."""

from __future__ import annotations

import httpx
import pytest
from oauth_harness import ISSUER, World
from self_service_seed import Person, seed_person
from web_harness import hidden_fields, register_web_clients, sign_in

ADA = "ada@example.com"


@pytest.fixture
async def person(world: World) -> Person:
    """A seeded customer with an account, transactions and interactions; the portal's client."""
    await register_web_clients(world)
    return await seed_person(world, ADA)


def browser(world: World) -> httpx.AsyncClient:
    """A cookie jar of its own on the in-process app."""
    return httpx.AsyncClient(transport=world.http._transport, base_url=ISSUER)


async def test_a_correction_asked_from_an_interaction(world: World, person: Person) -> None:
    async with browser(world) as http:
        await sign_in(http, ADA)
        listing = await http.get("/portal/interactions")
        assert "Asked about card" in listing.text
        target = (
            f"/portal/corrections?type=interaction&id={person.interaction_ids[0]}&field=summary"
        )
        form_page = await http.get(target)
        assert 'name="requested_value"' in form_page.text
        fields = hidden_fields(form_page.text)
        empty = await http.post("/portal/corrections", data={**fields, "requested_value": ""})
        assert empty.status_code == 422
        assert 'aria-invalid="true"' in empty.text
        sent = await http.post(
            "/portal/corrections",
            data={**fields, "requested_value": "Asked about my debit card", "reason": "Typo"},
        )
        assert sent.status_code == 303
        mine = await http.get(sent.headers["location"])
        assert "Asked about my debit card" in mine.text
        assert "Your correction request was sent" in mine.text
    api = await world.http.get("/v1/me/corrections", headers=person.auth)
    assert [c["requested_value"] for c in api.json()["items"]] == ["Asked about my debit card"]


async def test_restriction_and_objection(world: World, person: Person) -> None:
    async with browser(world) as http:
        await sign_in(http, ADA)
        csrf = hidden_fields((await http.get("/portal/restriction")).text)["csrf_token"]
        answer = await http.post(
            "/portal/restriction",
            data={
                "csrf_token": csrf,
                "restricted": "true",
                "reason": "accuracy_contested",
                "object": "true",
            },
        )
        assert answer.status_code == 200
        assert "now restricted" in answer.text
        lifted = await http.post(
            "/portal/restriction", data={"csrf_token": csrf, "restricted": "false"}
        )
        assert "not restricted" in lifted.text


async def test_contact_preferences_with_a_stale_form(world: World, person: Person) -> None:
    async with browser(world) as first, browser(world) as second:
        await sign_in(first, ADA)
        await sign_in(second, ADA)
        old = hidden_fields((await first.get("/portal/contact-preferences")).text)
        new = hidden_fields((await second.get("/portal/contact-preferences")).text)
        saved = await second.post(
            "/portal/contact-preferences",
            data={**new, "channels": ["email"], "weekly_limit": "1"},
        )
        assert saved.status_code == 303
        page = await second.get(saved.headers["location"])
        assert 'value="email" checked' in page.text
        stale = await first.post("/portal/contact-preferences", data={**old, "channels": ["sms"]})
        assert stale.status_code == 409
        assert "changed somewhere else" in stale.text
    api = await world.http.get("/v1/me/contact-preferences", headers=person.auth)
    assert api.json()["channels"] == ["email"]
    assert api.json()["weekly_limit"] == 1
