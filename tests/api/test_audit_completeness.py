"""Audit completeness: every /v1/me route (enumerated from the router; a route missing from
EXPECTED fails the test, so a new route cannot go unaudited by oversight) appends exactly the
expected audit event(s) for one successful call; someone else's id is a 404 that appends one
`denied` event; a token without the route's scope is a 403 that appends one `denied` event.
Refusals by the guard carry the request id in their problem body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from oauth_harness import World
from self_service_seed import (
    app_of,
    audit_events,
    last_seq,
    resource_ids,
    seed_person,
    successful_call,
    url_for,
    v1_operations,
)

_TYPED = re.compile(r"\{(\w+):\w+\}")


@dataclass(frozen=True)
class Expect:
    """The events one successful call appends: (action, resource type) in order, and the
    path parameter naming someone else's resource (None: the route takes no id)."""

    events: tuple[tuple[str, str], ...]
    id_param: str | None = None


EXPECTED: dict[tuple[str, str], Expect] = {
    # Who the token says I am: read from the token alone, no customer data touched.
    ("GET", "/v1/me"): Expect(()),
    ("GET", "/v1/me/profile"): Expect((("profile.read", "profile"),)),
    ("PATCH", "/v1/me/profile"): Expect((("profile.update", "profile"),)),
    ("GET", "/v1/me/profile/history"): Expect((("profile.history.read", "profile"),)),
    ("GET", "/v1/me/accounts"): Expect((("account.list", "account"),)),
    ("GET", "/v1/me/accounts/{account_id}"): Expect((("account.read", "account"),), "account_id"),
    # The list is of one account's transactions: the account is the resource read.
    ("GET", "/v1/me/accounts/{account_id}/transactions"): Expect(
        (("transaction.list", "account"),), "account_id"
    ),
    ("GET", "/v1/me/transactions/{transaction_id}"): Expect(
        (("transaction.read", "transaction"),), "transaction_id"
    ),
    ("GET", "/v1/me/interactions"): Expect((("interaction.list", "interaction"),)),
    ("GET", "/v1/me/interactions/{interaction_id}"): Expect(
        (("interaction.read", "interaction"),), "interaction_id"
    ),
    ("POST", "/v1/me/corrections"): Expect((("correction.create", "correction"),)),
    ("GET", "/v1/me/corrections"): Expect((("correction.list", "correction"),)),
    ("GET", "/v1/me/corrections/{correction_id}"): Expect(
        (("correction.read", "correction"),), "correction_id"
    ),
    ("GET", "/v1/me/consents"): Expect((("read", "consents"),)),
    ("GET", "/v1/me/consents/history"): Expect((("read", "consent_history"),)),
    ("PUT", "/v1/me/consents/{purpose}"): Expect((("grant", "consent"),)),
    ("GET", "/v1/me/access-log"): Expect((("read", "access_log"),)),
    ("GET", "/v1/me/access-log/{event_id}/proof"): Expect((("prove", "access_log"),), "event_id"),
    ("GET", "/v1/me/processing"): Expect((("processing.read", "processing"),)),
    ("GET", "/v1/me/exports"): Expect((("export.list", "dsr_request"),)),
    ("POST", "/v1/me/exports"): Expect((("export.request", "dsr_request"),)),
    ("GET", "/v1/me/exports/{export_id}"): Expect((("export.read", "dsr_request"),), "export_id"),
    ("GET", "/v1/me/exports/{export_id}/archive"): Expect(
        (("export.download", "dsr_request"),), "export_id"
    ),
    ("POST", "/v1/me/erasure"): Expect((("erasure.request", "dsr_request"),)),
    ("GET", "/v1/me/erasure/{erasure_id}"): Expect(
        (("erasure.read", "dsr_request"),), "erasure_id"
    ),
    ("DELETE", "/v1/me/erasure/{erasure_id}"): Expect(
        (("erasure.cancel", "dsr_request"),), "erasure_id"
    ),
    # Lifting a restriction that is not in place changes nothing, but the call is audited.
    ("PUT", "/v1/me/restriction"): Expect((("restriction.lift", "customer"),)),
    ("GET", "/v1/me/contact-preferences"): Expect(
        (("contact_preferences.read", "contact_preferences"),)
    ),
    ("PUT", "/v1/me/contact-preferences"): Expect(
        (("contact_preferences.update", "contact_preferences"),)
    ),
}


def _me_routes(world: World) -> list[tuple[str, str, Any]]:
    # Templates as the OpenAPI document writes them: `{account_id}`, not `{account_id:str}`.
    return [
        (m, _TYPED.sub(r"{\1}", p), h)
        for m, p, h in v1_operations(app_of(world))
        if p == "/v1/me" or p.startswith("/v1/me/")
    ]


async def test_every_route_appends_exactly_its_events(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    ids = await resource_ids(world, ada)
    routes = _me_routes(world)
    unlisted = sorted({(m, p) for m, p, _ in routes} - set(EXPECTED))
    assert not unlisted, f"routes without an expected audit event: {unlisted}"
    for method, path, _ in routes:
        url, kwargs = await successful_call(world, ada, method, path, ids)
        before = await last_seq(world)
        response = await world.http.request(method, url, **kwargs)
        assert response.status_code < 300, (method, path, response.text)
        events = await audit_events(world, before)
        seen = [(e.action, e.resource_type) for e in events]
        assert seen == list(EXPECTED[(method, path)].events), (method, path)
        for event in events:
            assert event.outcome == "allowed", (method, path)
            assert event.subject_id == ada.id, (method, path)
            assert event.actor_id == str(ada.id), (method, path)
            assert event.client_id == "demo-app", (method, path)
            assert event.request_id == response.headers["X-Request-ID"], (method, path)


async def test_someone_elses_id_is_a_404_audited_as_denied(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    bob = await seed_person(world, "bob@example.org")
    bob_ids = await resource_ids(world, bob)
    checked = 0
    for method, path, _ in _me_routes(world):
        expect = EXPECTED[(method, path)]
        if expect.id_param is None:
            continue
        before = await last_seq(world)
        response = await world.http.request(method, url_for(path, bob_ids), headers=ada.auth)
        assert response.status_code == 404, (method, path)
        events = await audit_events(world, before)
        assert [(e.action, e.resource_type, e.outcome, e.subject_id) for e in events] == [
            (*expect.events[0], "denied", ada.id)
        ], (method, path)
        assert events[0].resource_id == bob_ids[expect.id_param], (method, path)
        checked += 1
    assert checked >= 5


async def test_a_missing_scope_is_a_403_audited_as_denied(world: World) -> None:
    await world.add_customer("narrow@example.org")
    customer = world.customers["narrow@example.org"]
    tokens = {
        scope: (await world.tokens_for("narrow@example.org", scope=scope))["access_token"]
        for scope in ("profile:read", "accounts:read")
    }
    for method, path, handler in _me_routes(world):
        required = handler.opt["scopes"]
        token = tokens["accounts:read" if "profile:read" in required else "profile:read"]
        before = await last_seq(world)
        response = await world.http.request(
            method, url_for(path, {}), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403, (method, path)
        assert response.json()["request_id"] == response.headers["X-Request-ID"]
        events = await audit_events(world, before)
        declared = handler.opt.get("audit")
        action = declared[0] if declared else handler.operation_id
        assert [(e.action, e.outcome, e.subject_id, e.actor_id) for e in events] == [
            (action, "denied", customer, str(customer))
        ], (method, path)
        # No token: 401, with the request id, and nobody to name in the audit log.
        before = await last_seq(world)
        anonymous = await world.http.request(method, url_for(path, {}))
        assert anonymous.status_code == 401
        assert anonymous.json()["request_id"] == anonymous.headers["X-Request-ID"]
        assert await audit_events(world, before) == []
