"""The privacy officer's queue: filters, overdue flag, the single audited extension, the
timeline, an export taken by letter (audited as rights_fulfilment), and one deadline rule
for every kind of request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from oauth_harness import ERASE, World
from self_service_seed import audit_events, body, last_seq, officer_token, seed_person
from sqlalchemy import update

from api.composition import build_job_worker
from persistence.database import session_factory
from persistence.dsr.tables import DsrRequestRow


async def test_overdue_requests_are_flagged_and_extended_once(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    bob = await seed_person(world, "bob@example.org")
    late = body(await world.http.post("/v1/me/exports", headers=ada.auth))
    fresh = body(await world.http.post("/v1/me/erasure", json=ERASE, headers=bob.auth))
    async with session_factory(world.engine)() as session:
        await session.execute(
            update(DsrRequestRow)
            .where(DsrRequestRow.id == uuid.UUID(late["id"]))
            .values(
                received_at=world.clock.now() - timedelta(days=40),
                due_at=world.clock.now() - timedelta(days=10),
            )
        )
        await session.commit()
    auth = {"Authorization": f"Bearer {await officer_token(world)}"}

    overdue = body(
        await world.http.get("/v1/privacy/requests", params={"overdue": "true"}, headers=auth)
    )
    assert [(r["id"], r["overdue"]) for r in overdue["items"]] == [(late["id"], True)]
    erasures = body(
        await world.http.get("/v1/privacy/requests", params={"type": "erasure"}, headers=auth)
    )
    assert [(r["id"], r["overdue"]) for r in erasures["items"]] == [(fresh["id"], False)]
    paged = body(await world.http.get("/v1/privacy/requests", params={"limit": 1}, headers=auth))
    rest = body(
        await world.http.get(
            "/v1/privacy/requests",
            headers=auth,
            params={"limit": 1, "cursor": paged["next_cursor"]},
        )
    )
    assert {paged["items"][0]["id"], rest["items"][0]["id"]} == {late["id"], fresh["id"]}

    before = await last_seq(world)
    url = f"/v1/privacy/requests/{late['id']}/extension"
    extended = body(
        await world.http.post(
            url,
            headers=auth,
            json={"days": 45, "reason": "The archive needs records from a closed branch."},
        )
    )
    assert extended["extended"]
    assert not extended["overdue"]
    [event] = await audit_events(world, before)
    assert (event.action, event.purpose, event.subject_id) == (
        "dsr_request.extend",
        "rights_fulfilment",
        ada.id,
    )
    again = await world.http.post(url, headers=auth, json={"days": 10, "reason": "more"})
    assert again.status_code == 409
    too_long = await world.http.post(
        f"/v1/privacy/requests/{fresh['id']}/extension",
        headers=auth,
        json={"days": 90, "reason": "x"},
    )
    assert too_long.status_code == 400

    detail = body(await world.http.get(f"/v1/privacy/requests/{late['id']}", headers=auth))
    assert detail["extension_reason"].startswith("The archive needs")
    assert [e["action"] for e in detail["timeline"]] == ["export.request", "dsr_request.extend"]
    requested, extension = detail["timeline"]
    assert requested["actor"] == {"type": "customer", "id": None, "role": None, "client": None}
    assert extension["actor"]["type"] == "staff"
    uuid.UUID(extension["actor"]["id"])  # the officer's staff id
    assert (detail["id"], detail["type"], detail["extended"]) == (late["id"], "export", True)
    assert detail["report"] is None  # an export's result is its archive
    assert detail["requested_by"] == {
        "type": "customer",
        "id": None,
        "role": None,
        "client": None,
    }
    missing = await world.http.get(f"/v1/privacy/requests/{uuid.uuid4()}", headers=auth)
    assert missing.status_code == 404

    # Every status the queue shows can be asked for, a cancelled request's included.
    cancelled = await world.http.delete(f"/v1/me/erasure/{fresh['id']}", headers=bob.auth)
    assert cancelled.status_code == 200, cancelled.text
    by_status = body(
        await world.http.get("/v1/privacy/requests", params={"status": "cancelled"}, headers=auth)
    )
    assert [(r["id"], r["status"]) for r in by_status["items"]] == [(fresh["id"], "cancelled")]


async def test_an_officer_exports_for_a_request_received_by_letter(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    auth = {"Authorization": f"Bearer {await officer_token(world)}"}
    before = await last_seq(world)
    created = await world.http.post(f"/v1/privacy/customers/{ada.id}/exports", headers=auth)
    assert created.status_code == 202, created.text
    [event] = await audit_events(world, before)
    assert (event.action, event.purpose, event.actor_type, event.subject_id) == (
        "export.request",
        "rights_fulfilment",
        "staff",
        ada.id,
    )
    # The queue names the officer who took it, as the request's timeline does.
    detail = body(await world.http.get(created.headers["location"], headers=auth))
    [taken] = [e for e in detail["timeline"] if e["action"] == "export.request"]
    assert detail["requested_by"] == taken["actor"]
    assert detail["requested_by"]["type"] == "staff"
    assert detail["requested_by"]["id"] == event.actor_id
    queue = body(await world.http.get("/v1/privacy/requests", headers=auth))["items"]
    assert [r["requested_by"] for r in queue] == [detail["requested_by"]]
    assert await build_job_worker(world.settings, world.services).run_once()
    # The customer sees it (and its generation) like their own.
    mine = body(await world.http.get(f"/v1/me/exports/{created.json()['id']}", headers=ada.auth))
    assert mine["status"] == "ready"
    unknown = await world.http.post(f"/v1/privacy/customers/{uuid.uuid4()}/exports", headers=auth)
    assert unknown.status_code == 404
    # A customer token cannot reach the queue.
    assert (await world.http.get("/v1/privacy/requests", headers=ada.auth)).status_code == 403


async def test_every_request_is_due_one_calendar_month_after_receipt(world: World) -> None:
    # 3 December: thirty days would end on 2 January, the calendar month on 3 January.
    world.clock.current = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    ada = await seed_person(world, "ada@example.org")
    bob = await seed_person(world, "bob@example.org")
    export = body(await world.http.post("/v1/me/exports", headers=ada.auth))
    erasure = body(await world.http.post("/v1/me/erasure", json=ERASE, headers=bob.auth))
    correction = body(
        await world.http.post(
            "/v1/me/corrections",
            headers=ada.auth,
            json={
                "target": {"type": "account", "id": str(ada.account_id), "field": "name"},
                "requested_value": "Household",
                "reason": "We renamed it",
            },
        )
    )
    due = "2027-01-03T09:30:00Z"
    assert [export["due_at"], erasure["due_at"], correction["due_at"]] == [due, due, due]

    # The one extension reaches three calendar months after receipt, no further.
    auth = {"Authorization": f"Bearer {await officer_token(world)}"}
    url = f"/v1/privacy/requests/{export['id']}/extension"
    too_far = await world.http.post(url, headers=auth, json={"days": 60, "reason": "records"})
    assert too_far.status_code == 422, too_far.text
    assert [e["field"] for e in too_far.json()["errors"]] == ["days"]
    assert "2027-03-03" in too_far.json()["errors"][0]["message"]
    extended = body(
        await world.http.post(url, headers=auth, json={"days": 59, "reason": "records"})
    )
    assert extended["due_at"] == "2027-03-03T09:30:00Z"
