"""Correcting my profile (If-Match, merge patch, history) and correction requests, as the
customer asks them and as the privacy officer reads and decides them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from oauth_harness import World
from self_service_seed import Person, audit_events, body, last_seq, officer_token, seed_person
from sqlalchemy import update

from persistence.customer.tables import CustomerRow
from persistence.database import session_factory

MERGE = "application/merge-patch+json"


@pytest.fixture
async def ada(world: World) -> Person:
    return await seed_person(world, "ada@example.org")


async def _patch(
    world: World, who: Person, patch: object, etag: str | None, content_type: str = MERGE
) -> object:
    headers = {**who.auth, "Content-Type": content_type}
    if etag is not None:
        headers["If-Match"] = etag
    return await world.http.patch("/v1/me/profile", content=json.dumps(patch), headers=headers)


async def test_patch_needs_if_match_and_refuses_a_stale_one(world: World, ada: Person) -> None:
    missing = await _patch(world, ada, {"given_name": "Augusta"}, None)
    assert missing.status_code == 428  # type: ignore[attr-defined]
    stale = await _patch(world, ada, {"given_name": "Augusta"}, '"99"')
    assert stale.status_code == 412  # type: ignore[attr-defined]
    profile = body(await world.http.get("/v1/me/profile", headers=ada.auth))
    assert profile["given_name"] == "Ada"


async def test_patch_changes_fields_and_keeps_the_history(world: World, ada: Person) -> None:
    read = await world.http.get("/v1/me/profile", headers=ada.auth)
    before = await last_seq(world)
    response = await _patch(
        world,
        ada,
        {
            "given_name": "Augusta",
            "phone": "+447700900123",
            "address": {
                "line1": "1 St James's Sq",
                "city": "London",
                "postal_code": "SW1Y",
                "country": "GB",
            },
        },
        read.headers["etag"],
        content_type="application/json",
    )
    updated = body(response)
    assert updated["given_name"] == "Augusta"
    assert updated["version"] == read.json()["version"] + 1
    assert response.headers["etag"] == f'"{updated["version"]}"'  # type: ignore[attr-defined]
    [event] = await audit_events(world, before)
    assert event.action == "profile.update"
    assert set(json.loads(event.fields)) == {"given_name", "phone", "address"}
    history = body(await world.http.get("/v1/me/profile/history", headers=ada.auth))
    changes = {c["field"]: c for c in history["items"]}
    assert changes["given_name"]["old_value"] == "Ada"
    assert changes["given_name"]["new_value"] == "Augusta"
    # The app the change came through, as the access log records it for the same request.
    assert event.client_id == "demo-app"
    assert changes["given_name"]["actor"] == {
        "type": "customer",
        "id": None,
        "role": None,
        "client": "demo-app",
    }
    # The old ETag is stale now.
    again = await _patch(world, ada, {"given_name": "Ada"}, read.headers["etag"])
    assert again.status_code == 412  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"version": 7}, "version"),
        ({"customer_id": "x"}, "customer_id"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "0770 090"}, "phone"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"given_name": ""}, "given_name"),
        ({"given_name": None}, "given_name"),
        ({"address": {"line1": "x", "city": "y", "postal_code": "z", "country": "XX"}}, "country"),
    ],
)
async def test_invalid_or_read_only_fields_are_422_naming_them(
    world: World, ada: Person, patch: dict[str, object], field: str
) -> None:
    etag = (await world.http.get("/v1/me/profile", headers=ada.auth)).headers["etag"]
    response = await _patch(world, ada, patch, etag)
    assert response.status_code == 422  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    assert any(field in error["field"] for error in problem["errors"])


async def test_email_taken_by_another_customer_is_409(world: World, ada: Person) -> None:
    await world.add_customer("bob@example.org")
    etag = (await world.http.get("/v1/me/profile", headers=ada.auth)).headers["etag"]
    response = await _patch(world, ada, {"email": "BOB@example.org"}, etag)
    assert response.status_code == 409  # type: ignore[attr-defined]


async def test_changing_the_email_needs_a_recent_sign_in(world: World, ada: Person) -> None:
    await world.add_customer("bob@example.org")
    etag = (await world.http.get("/v1/me/profile", headers=ada.auth)).headers["etag"]
    world.clock.advance(301)  # the token is still valid; the sign-in behind it is not recent
    before = await last_seq(world)
    # Another customer's address and a free one are refused alike: the 409 of the
    # uniqueness check is never reached, so an ordinary token cannot probe addresses.
    for email in ("BOB@example.org", "ada.lovelace@example.org"):
        stale = await _patch(world, ada, {"email": email, "given_name": "Augusta"}, etag)
        assert stale.status_code == 401, stale.text  # type: ignore[attr-defined]
        challenge = stale.headers["www-authenticate"]  # type: ignore[attr-defined]
        assert 'error="insufficient_user_authentication"' in challenge
        assert "max_age=300" in challenge
        problem = stale.json()  # type: ignore[attr-defined]
        assert problem["type"] == "urn:custodian:problem:recent-sign-in-required"
        assert stale.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    refused = await audit_events(world, before)
    assert [(e.action, e.outcome, json.loads(e.fields)) for e in refused] == [
        ("profile.update", "denied", ["email"]),
        ("profile.update", "denied", ["email"]),
    ]
    # Nothing was written, not even the other field of the patch.
    unchanged = body(await world.http.get("/v1/me/profile", headers=ada.auth))
    assert (unchanged["email"], unchanged["given_name"]) == ("ada@example.org", "Ada")
    assert f'"{unchanged["version"]}"' == etag
    # Other fields need no fresh sign-in.
    assert (await _patch(world, ada, {"given_name": "Augusta"}, etag)).status_code == 200  # type: ignore[attr-defined]

    fresh = replace(ada, token=(await world.tokens_for("ada@example.org"))["access_token"])
    etag = (await world.http.get("/v1/me/profile", headers=fresh.auth)).headers["etag"]
    taken = await _patch(world, fresh, {"email": "BOB@example.org"}, etag)
    assert taken.status_code == 409  # type: ignore[attr-defined]
    changed = await _patch(world, fresh, {"email": "ada.lovelace@example.org"}, etag)
    assert body(changed)["email"] == "ada.lovelace@example.org"


async def test_correction_request_lifecycle(world: World, ada: Person) -> None:
    transaction = ada.transaction_ids[0]
    ask = {
        "target": {"type": "transaction", "id": str(transaction), "field": "description"},
        "requested_value": "Refund from Shop",
        "reason": "It was a refund",
    }
    created = await world.http.post("/v1/me/corrections", json=ask, headers=ada.auth)
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "submitted"
    assert created.headers["location"] == f"/v1/me/corrections/{request['id']}"
    followed = await world.http.get(created.headers["location"], headers=ada.auth)
    assert followed.json() == request
    assert request["current_value"].startswith("Purchase")
    assert request["due_at"][:10] > request["received_at"][:10]
    duplicate = await world.http.post("/v1/me/corrections", json=ask, headers=ada.auth)
    assert duplicate.status_code == 409

    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    decided = await world.http.post(
        f"/v1/privacy/corrections/{request['id']}/decision",
        json={"decision": "apply", "reason": "Confirmed"},
        headers=officer,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["previous_value"] == request["current_value"]
    moved = body(await world.http.get(f"/v1/me/transactions/{transaction}", headers=ada.auth))
    assert moved["description"] == "Refund from Shop"
    seen = body(await world.http.get(f"/v1/me/corrections/{request['id']}", headers=ada.auth))
    assert seen["status"] == "applied"
    assert seen["decision"]["reason"] == "Confirmed"
    again = await world.http.post(
        f"/v1/privacy/corrections/{request['id']}/decision",
        json={"decision": "reject", "reason": "No"},
        headers=officer,
    )
    assert again.status_code == 409


async def test_correction_of_a_field_outside_the_allow_list_is_refused(
    world: World, ada: Person
) -> None:
    ask = {
        "target": {"type": "transaction", "id": str(ada.transaction_ids[0]), "field": "amount"},
        "requested_value": "0",
        "reason": "free money",
    }
    response = await world.http.post("/v1/me/corrections", json=ask, headers=ada.auth)
    assert 400 <= response.status_code < 500
    assert response.status_code != 404


async def test_the_officer_reads_what_each_customer_asked_audited_per_customer(
    world: World, ada: Person
) -> None:
    bob = await seed_person(world, "bob@example.org")
    asked = body(
        await world.http.post(
            "/v1/me/corrections",
            headers=ada.auth,
            json={
                "target": {"type": "account", "id": str(ada.account_id), "field": "name"},
                "requested_value": "<b>Household</b>",
                "reason": "We renamed it",
            },
        )
    )
    world.clock.advance(1)
    bobs = body(
        await world.http.post(
            "/v1/me/corrections",
            headers=bob.auth,
            json={
                "target": {
                    "type": "transaction",
                    "id": str(bob.transaction_ids[0]),
                    "field": "description",
                },
                "requested_value": "Refund",
                "reason": "It was a refund",
            },
        )
    )
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    # A customer's token cannot read other customers' requests.
    refused = await world.http.get("/v1/privacy/corrections", headers=ada.auth)
    assert refused.status_code == 403

    before = await last_seq(world)
    listed = body(
        await world.http.get("/v1/privacy/corrections", params={"pending": "true"}, headers=officer)
    )
    assert [item["id"] for item in listed["items"]] == [bobs["id"], asked["id"]]
    shown = listed["items"][1]
    assert shown == {**asked, "customer_id": str(ada.id)}
    assert shown["target"] == {"type": "account", "id": str(ada.account_id), "field": "name"}
    assert shown["current_value"] == "Everyday"
    assert (shown["requested_value"], shown["reason"]) == ("<b>Household</b>", "We renamed it")
    # Each request shown is a read of its customer's data, in that customer's access log.
    events = await audit_events(world, before)
    assert sorted(
        (e.action, e.resource_type, e.resource_id, e.subject_id, e.purpose, e.actor_type)
        for e in events
    ) == sorted(
        ("correction.read", "correction", item["id"], who, "rights_fulfilment", "staff")
        for item, who in ((asked, ada.id), (bobs, bob.id))
    )
    log = body(await world.http.get("/v1/me/access-log", headers=ada.auth))["items"]
    assert any(e["action"] == "correction.read" and e["actor"]["type"] == "staff" for e in log), log

    # Paged, and filtered by whether a decision is still awaited.
    first = body(await world.http.get("/v1/privacy/corrections?limit=1", headers=officer))
    rest = body(
        await world.http.get(
            "/v1/privacy/corrections",
            params={"limit": 1, "cursor": first["next_cursor"]},
            headers=officer,
        )
    )
    assert [i["id"] for i in first["items"] + rest["items"]] == [bobs["id"], asked["id"]]
    decided = await world.http.post(
        f"/v1/privacy/corrections/{asked['id']}/decision",
        json={"decision": "reject", "reason": "The account keeps its name"},
        headers=officer,
    )
    assert decided.status_code == 200, decided.text
    waiting = body(await world.http.get("/v1/privacy/corrections?pending=true", headers=officer))
    assert [item["id"] for item in waiting["items"]] == [bobs["id"]]
    done = body(await world.http.get("/v1/privacy/corrections?pending=false", headers=officer))
    assert [(i["id"], i["status"]) for i in done["items"]] == [(asked["id"], "rejected")]
    # An erased customer's requests have no texts left: they are not listed.
    async with session_factory(world.engine)() as session:
        await session.execute(
            update(CustomerRow).where(CustomerRow.id == bob.id).values(status="erased")
        )
        await session.commit()
    gone = body(await world.http.get("/v1/privacy/corrections?pending=true", headers=officer))
    assert gone["items"] == []
    wrong = await world.http.get("/v1/privacy/corrections?pending=maybe", headers=officer)
    assert (wrong.status_code, wrong.headers["content-type"]) == (400, "application/problem+json")
