"""The privacy officer's audit API through HTTP with real tokens: search with filters and
cursor, JSON Lines export in chain order, and verification with the latest checkpoint."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from typing import Any

from oauth_harness import CONSOLE_REDIRECT, World
from sqlalchemy import text

from api.cli.audit import run_audit_checkpoint
from domain.identity import StaffRole

EVENTS = "/v1/privacy/audit-events"


async def _officer(world: World) -> dict[str, str]:
    await world.add_staff("officer@example.com", StaffRole.PRIVACY_OFFICER)
    tokens = await world.tokens_for(
        "officer@example.com",
        client_id="privacy-console",
        scope="audit:read",
        redirect_uri=CONSOLE_REDIRECT,
    )
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _customer_activity(world: World) -> tuple[str, dict[str, str]]:
    ada = await world.add_customer("ada@example.com")
    tokens = await world.tokens_for("ada@example.com", scope="consents:read consents:write")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    for granted in (True, False):
        response = await world.http.put(
            "/v1/me/consents/research",
            headers=auth,
            json={"granted": granted, "notice_version": "1"},
        )
        assert response.status_code == 200
    return str(ada), auth


async def test_search_filters_and_pages_newest_first(world: World) -> None:
    ada, _ = await _customer_activity(world)
    officer = await _officer(world)
    grants = await world.http.get(
        EVENTS, headers=officer, params={"subject": ada, "action": "grant"}
    )
    assert grants.status_code == 200, grants.text
    [grant] = grants.json()["items"]
    assert (grant["resource_type"], grant["resource_id"], grant["purpose"]) == (
        "consent",
        "research",
        "research",
    )
    assert grant["subject_id"] == ada
    # Officers read everything the log knows about who acted.
    assert grant["actor"] == {"type": "customer", "id": ada, "role": None, "client": "demo-app"}
    both = await world.http.get(
        EVENTS, headers=officer, params={"subject": ada, "resource_type": "consent", "limit": 1}
    )
    page = both.json()
    assert [e["action"] for e in page["items"]] == ["withdraw"]
    rest = await world.http.get(
        EVENTS,
        headers=officer,
        params={"subject": ada, "resource_type": "consent", "cursor": page["next_cursor"]},
    )
    assert [e["action"] for e in rest.json()["items"]] == ["grant"]
    assert rest.json()["next_cursor"] is None
    denied = await world.http.get(EVENTS, headers=officer, params={"outcome": "denied"})
    assert denied.json()["items"] == []
    bad = await world.http.get(EVENTS, headers=officer, params={"outcome": "maybe"})
    assert bad.status_code == 400


async def test_customers_and_other_staff_are_refused(world: World) -> None:
    _, customer = await _customer_activity(world)
    assert (await world.http.get(EVENTS, headers=customer)).status_code == 403
    assert (await world.http.get(f"{EVENTS}/export")).status_code == 401
    assert (
        await world.http.get("/v1/privacy/audit/verification", headers=customer)
    ).status_code == 403


async def test_export_is_json_lines_in_chain_order_and_is_audited(world: World) -> None:
    ada, _ = await _customer_activity(world)
    officer = await _officer(world)
    response = await world.http.get(f"{EVENTS}/export", headers=officer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(lines))
    # The export ends at the head as it was when it began; the export itself is recorded
    # right after that point.
    exports = await world.http.get(EVENTS, headers=officer, params={"action": "export"})
    [export] = exports.json()["items"]
    assert export["seq"] == lines[-1]["seq"] + 1
    only_ada = await world.http.get(
        f"{EVENTS}/export", headers=officer, params={"subject": ada, "resource_type": "consent"}
    )
    assert [json.loads(x)["action"] for x in only_ada.text.splitlines()] == ["grant", "withdraw"]


async def _verification(world: World, officer: dict[str, str]) -> dict[str, Any]:
    response = await world.http.get("/v1/privacy/audit/verification", headers=officer)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_verification_reports_an_intact_chain_then_locates_an_alteration(
    world: World,
) -> None:
    await _customer_activity(world)
    officer = await _officer(world)
    report = await _verification(world, officer)
    assert report["intact"] is True
    assert report["first_failure"] is None
    assert report["events_checked"] == report["head_seq"] > 0
    assert report["latest_checkpoint"] is None
    drop = {
        "postgresql": ["DROP TRIGGER audit_events_append_only ON audit_events"],
        "sqlite": ["DROP TRIGGER audit_events_no_update"],
    }[world.engine.dialect.name]
    async with world.engine.begin() as connection:
        for statement in drop:
            await connection.execute(text(statement))
        await connection.execute(
            text("UPDATE audit_events SET action = 'read' WHERE action = 'withdraw'")
        )
        seq = (
            await connection.execute(
                text(
                    "SELECT seq FROM audit_events"
                    " WHERE action = 'read' AND resource_type = 'consent'"
                )
            )
        ).scalar_one()
    broken = await _verification(world, officer)
    assert broken["intact"] is False
    assert broken["first_failure"]["seq"] == seq
    assert "altered" in broken["first_failure"]["reason"]


async def test_verification_shows_the_latest_signed_checkpoint(world: World) -> None:
    await _customer_activity(world)
    officer = await _officer(world)
    async with world.engine.begin() as connection:
        head_seq = (await connection.execute(text("SELECT seq FROM audit_head"))).scalar_one()
    # What an operator's `custodian audit checkpoint` does (in a thread: it runs its own loop).
    assert (
        await asyncio.to_thread(
            run_audit_checkpoint,
            world.settings.database_url,
            world.settings.master_key,
            out=io.StringIO(),
        )
        == 0
    )
    report = await _verification(world, officer)
    checkpoint = report["latest_checkpoint"]
    assert checkpoint["seq"] == checkpoint["event_count"] == head_seq
    assert report["checkpoints_checked"] == 1
    assert report["checkpoint_failure"] is None
    jwks = (await world.http.get("/.well-known/jwks.json")).json()
    assert checkpoint["kid"] in {key["kid"] for key in jwks["keys"]}


async def test_a_to_before_from_is_a_422_on_search_and_export(world: World) -> None:
    officer = await _officer(world)
    reversed_range = {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    for path in (EVENTS, f"{EVENTS}/export"):
        response = await world.http.get(path, headers=officer, params=reversed_range)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["to"]
