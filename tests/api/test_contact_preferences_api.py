"""The customer's contact preferences: read with the current contact status, replaced only
with a current If-Match, audited, and obeyed by every campaign and by the officer's view."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from oauth_harness import CONSOLE_REDIRECT, World

from domain.identity import StaffRole

URL = "/v1/me/contact-preferences"


async def _customer(world: World, email: str) -> tuple[uuid.UUID, dict[str, str]]:
    customer_id = await world.add_customer(email)
    tokens = await world.tokens_for(email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for purpose in ("marketing_email", "marketing_sms"):
        granted = await world.http.put(
            f"/v1/me/consents/{purpose}",
            headers=headers,
            json={"granted": True, "notice_version": "1"},
        )
        assert granted.status_code == 200, granted.text
    return customer_id, headers


async def _service(world: World) -> dict[str, str]:
    response = await world.token({"grant_type": "client_credentials"}, "campaign-service")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_defaults_then_a_conditional_replace(world: World) -> None:
    _, headers = await _customer(world, "ada@example.com")
    read = await world.http.get(URL, headers=headers)
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == '"0"'
    body = read.json()
    assert body["channels"] == ["email", "sms"]
    assert body["quiet_hours"] is None
    assert body["organisation_limits"] == {
        "weekly_limit": 2,
        "monthly_limit": 6,
        "complaint_cool_off_days": 14,
    }
    assert body["status"]["contacts_last_7_days"] == 0
    assert [c["contactable"] for c in body["status"]["channels"]] == [True, True]

    # Quiet hours that start two hours from now: the status below must not depend on the
    # time of day the test runs at.
    now = datetime.now(ZoneInfo("Europe/Amsterdam"))
    quiet = {
        "start": (now + timedelta(hours=2)).strftime("%H:00"),
        "end": (now + timedelta(hours=3)).strftime("%H:00"),
        "time_zone": "Europe/Amsterdam",
    }
    wanted = {"channels": ["email"], "quiet_hours": quiet, "weekly_limit": 1}
    missing = await world.http.put(URL, headers=headers, json=wanted)
    assert missing.status_code == 428
    stale = await world.http.put(URL, headers={**headers, "If-Match": '"7"'}, json=wanted)
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    saved = await world.http.put(URL, headers={**headers, "If-Match": '"0"'}, json=wanted)
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] == '"1"'
    assert saved.json()["quiet_hours"] == wanted["quiet_hours"]
    assert saved.json()["weekly_limit"] == 1
    sms = next(c for c in saved.json()["status"]["channels"] if c["channel"] == "sms")
    assert [r["code"] for r in sms["reasons"]] == ["channel_not_wanted"]
    # The old ETag is now stale.
    again = await world.http.put(URL, headers={**headers, "If-Match": '"0"'}, json=wanted)
    assert again.status_code == 412

    log = (await world.http.get("/v1/me/access-log", headers=headers, params={"limit": 50})).json()[
        "items"
    ]
    actions = [e["action"] for e in log]
    assert "contact_preferences.update" in actions
    assert "contact_preferences.read" in actions


async def test_limits_above_the_organisations_and_bad_values_are_refused(world: World) -> None:
    _, headers = await _customer(world, "ada@example.com")
    conditional = {**headers, "If-Match": '"0"'}
    too_many = await world.http.put(
        URL, headers=conditional, json={"channels": ["email"], "weekly_limit": 3}
    )
    assert too_many.status_code == 422
    assert [e["field"] for e in too_many.json()["errors"]] == ["weekly_limit"]
    zone = await world.http.put(
        URL,
        headers=conditional,
        json={
            "channels": [],
            "quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Nowhere/Land"},
        },
    )
    assert zone.status_code == 422
    for bad in ({"channels": ["fax"]}, {"channels": ["email"], "quiet_hours": {"start": "9"}}):
        response = await world.http.put(URL, headers=conditional, json=bad)
        assert response.status_code == 400, bad
        assert response.headers["content-type"] == "application/problem+json"


async def test_campaigns_and_the_officer_obey_the_customers_preferences(world: World) -> None:
    ada, headers = await _customer(world, "ada@example.com")
    saved = await world.http.put(
        URL, headers={**headers, "If-Match": '"0"'}, json={"channels": ["email"], "weekly_limit": 1}
    )
    assert saved.status_code == 200, saved.text
    service = await _service(world)
    checked = await world.http.post(
        "/v1/campaigns/spring-sale/audience-checks",
        headers=service,
        json={"channel": "sms", "customer_ids": [str(ada)]},
    )
    assert [r["code"] for r in checked.json()["items"][0]["reasons"]] == ["channel_not_wanted"]
    sent = await world.http.post(
        "/v1/campaigns/spring-sale/contacts",
        headers=service,
        json={"customer_id": str(ada), "channel": "email", "idempotency_key": "a"},
    )
    assert sent.status_code == 201, sent.text
    # One a week is what Ada asked for: the next campaign is told when it may try again.
    status = (await world.http.get(URL, headers=headers)).json()["status"]
    assert status["contacts_last_7_days"] == 1
    assert status["weekly_limit"] == 1
    assert status["next_allowed_at"] is not None
    assert [c["campaign_id"] for c in status["recent_contacts"]] == ["spring-sale"]

    await world.add_staff("officer@example.com", StaffRole.PRIVACY_OFFICER)
    officer_tokens = await world.tokens_for(
        "officer@example.com",
        client_id="privacy-console",
        scope="dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    officer = {"Authorization": f"Bearer {officer_tokens['access_token']}"}
    answer = (
        await world.http.get(
            f"/v1/privacy/customers/{ada}/contactability",
            headers=officer,
            params={"channel": "email"},
        )
    ).json()
    assert answer["contactable"] is False
    assert answer["reason_codes"] == ["weekly_limit"]
    assert answer["earliest_allowed_at"] == status["next_allowed_at"]
    assert answer["contacts_last_7_days"] == 1
