"""Hostile and careless bodies that a schema-driven fuzzer does not think of, on both engines.

Each case once answered 500 or was accepted when it should not be: JSON nested a thousand
deep, a cursor carrying a sequence number past 64 bits, strings and numbers standing in for
a consent decision, a member named twice, `If-Match: *` on the profile and on the contact
preferences, bodies that are not JSON, control characters in names, address lines and
correction requests.
Every answer must be a problem document with the right 4xx, and nothing may change.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from oauth_harness import World, running_world
from self_service_seed import Person, body, officer_token, seed_person
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.access_log import AuditQuery
from domain.pagination import CursorCodec, filtered_list
from persistence.crypto import MasterKey

MERGE = "application/merge-patch+json"
PROBLEM = "application/problem+json"
DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path) as created:
        yield created


@pytest.fixture
async def ada(world: World) -> Person:
    return await seed_person(world, "ada@example.org", transactions=1)


def _problem(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == response.status_code
    return problem


async def _etag(world: World, who: Person) -> str:
    response = await world.http.get("/v1/me/profile", headers=who.auth)
    etag: str = response.headers["etag"]
    return etag


async def _profile(world: World, who: Person) -> dict[str, Any]:
    profile: dict[str, Any] = body(await world.http.get("/v1/me/profile", headers=who.auth))
    return profile


@pytest.mark.parametrize("payload", [DEEP, DEEP_OBJECT, '{"given_name":' + DEEP + "}"])
async def test_deeply_nested_json_is_refused_on_every_json_write(
    world: World, ada: Person, payload: str
) -> None:
    before = await _profile(world, ada)
    patch = await world.http.patch(
        "/v1/me/profile",
        content=payload,
        headers={**ada.auth, "Content-Type": MERGE, "If-Match": await _etag(world, ada)},
    )
    _problem(patch, (400, 422))
    correction = await world.http.post(
        "/v1/me/corrections",
        content=payload,
        headers={**ada.auth, "Content-Type": "application/json"},
    )
    _problem(correction, (400, 422))
    consent = await world.http.put(
        "/v1/me/consents/marketing_email",
        content=payload,
        headers={**ada.auth, "Content-Type": "application/json"},
    )
    _problem(consent, (400, 422))
    assert await _profile(world, ada) == before


def _seq_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("seq", [2**63, 2**63 + 1, 2**64, 10**40])
async def test_a_cursor_past_64_bits_is_a_400(world: World, ada: Person, seq: int) -> None:
    cursor = _seq_cursor(seq)
    own = await world.http.get("/v1/me/access-log", params={"cursor": cursor}, headers=ada.auth)
    assert _problem(own, 400)["type"] == "urn:custodian:problem:invalid-cursor"
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    audit = await world.http.get(
        "/v1/privacy/audit-events", params={"cursor": cursor}, headers=officer
    )
    assert _problem(audit, 400)["type"] == "urn:custodian:problem:invalid-cursor"


async def test_the_largest_64_bit_cursor_is_still_a_page(world: World, ada: Person) -> None:
    # The boundary: 2^63 - 1 is a valid position (everything is below it), in a cursor
    # signed as the server signs them (a forged one is refused above).
    codec = CursorCodec(world.master_key.derive("pagination-cursor"))
    unfiltered = AuditQuery(subject_id=ada.id, hide_own_access_log_reads=True)
    cursor = codec.encode_seq(filtered_list(f"access-log:{ada.id}", unfiltered), 2**63 - 1)
    page = body(
        await world.http.get("/v1/me/access-log", params={"cursor": cursor}, headers=ada.auth)
    )
    assert page["items"], "the customer's own sign-in reads are in the log"


async def _current_notice(world: World, who: Person) -> str:
    consents = body(await world.http.get("/v1/me/consents", headers=who.auth))
    item = next(i for i in consents["items"] if i["purpose"] == "marketing_email")
    version: str = item["notice_version"]
    return version


@pytest.mark.parametrize("granted", ["true", "false", 1, 0, "0", "1", None, [], {}])
async def test_consent_decision_takes_only_json_booleans(
    world: World, ada: Person, granted: object
) -> None:
    notice = await _current_notice(world, ada)
    response = await world.http.put(
        "/v1/me/consents/marketing_email",
        json={"granted": granted, "notice_version": notice},
        headers=ada.auth,
    )
    _problem(response, (400, 422))
    history = body(await world.http.get("/v1/me/consents/history", headers=ada.auth))
    assert history["items"] == []


async def test_consent_decision_refuses_unknown_members(world: World, ada: Person) -> None:
    notice = await _current_notice(world, ada)
    response = await world.http.put(
        "/v1/me/consents/marketing_email",
        json={"granted": True, "notice_version": notice, "purpose": "research"},
        headers=ada.auth,
    )
    _problem(response, (400, 422))
    history = body(await world.http.get("/v1/me/consents/history", headers=ada.auth))
    assert history["items"] == []


DUPLICATE_CONSENT = '{"granted": true, "notice_version": "%s", "granted": false}'


@pytest.mark.parametrize(
    "template",
    [
        DUPLICATE_CONSENT,
        # The same name written with an escape is still the same name.
        '{"granted": true, "notice_version": "%s", "gr\\u0061nted": false}',
    ],
)
async def test_a_consent_decision_naming_a_member_twice_is_refused(
    world: World, ada: Person, template: str
) -> None:
    # Which of the two the customer meant cannot be known: nothing is recorded.
    response = await world.http.put(
        "/v1/me/consents/marketing_email",
        content=template % await _current_notice(world, ada),
        headers={**ada.auth, "Content-Type": "application/json"},
    )
    problem = _problem(response, 400)
    assert problem["type"] == "urn:custodian:problem:validation-failed"
    assert 'duplicate member "granted"' in problem["detail"]
    assert problem["errors"][0]["field"] == "granted"
    history = body(await world.http.get("/v1/me/consents/history", headers=ada.auth))
    assert history["items"] == []


async def test_a_profile_patch_naming_a_member_twice_is_refused(world: World, ada: Person) -> None:
    response = await world.http.patch(
        "/v1/me/profile",
        content='{"given_name": "Augusta", "given_name": "Grace"}',
        headers={**ada.auth, "Content-Type": MERGE, "If-Match": await _etag(world, ada)},
    )
    assert 'duplicate member "given_name"' in _problem(response, 400)["detail"]
    assert (await _profile(world, ada))["given_name"] == "Ada"


async def test_a_nested_object_naming_a_member_twice_is_refused(world: World, ada: Person) -> None:
    url = "/v1/me/contact-preferences"
    before = body(await world.http.get(url, headers=ada.auth))
    quiet = '{"start": "22:00", "end": "07:00", "time_zone": "UTC", "end": "09:00"}'
    response = await world.http.put(
        url,
        content=f'{{"channels": ["email"], "quiet_hours": {quiet}}}',
        headers={**ada.auth, "Content-Type": "application/json", "If-Match": '"0"'},
    )
    assert _problem(response, 400)["errors"][0]["field"] == "end"
    assert body(await world.http.get(url, headers=ada.auth)) == before


async def test_if_match_star_is_refused(world: World, ada: Person) -> None:
    # `*` would match any version and skip the lost-update check: refused as a missing
    # precondition (428), naming what to send instead.
    response = await world.http.patch(
        "/v1/me/profile",
        content=json.dumps({"given_name": "Augusta"}),
        headers={**ada.auth, "Content-Type": MERGE, "If-Match": "*"},
    )
    problem = _problem(response, 428)
    assert "ETag" in problem["detail"]
    assert (await _profile(world, ada))["given_name"] == "Ada"


@pytest.mark.parametrize("if_match", ["*", '"0", *', ""])
async def test_if_match_star_is_refused_on_the_contact_preferences(
    world: World, ada: Person, if_match: str
) -> None:
    # The same lost-update check as the profile's: `*` (alone or in a list) and an empty
    # value name no version.
    url = "/v1/me/contact-preferences"
    before = body(await world.http.get(url, headers=ada.auth))
    response = await world.http.put(
        url, json={"channels": ["email"]}, headers={**ada.auth, "If-Match": if_match}
    )
    problem = _problem(response, 428)
    assert problem["type"] == "urn:custodian:problem:precondition-required"
    assert "ETag" in problem["detail"]
    assert body(await world.http.get(url, headers=ada.auth)) == before


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("text/plain", '{"given_name": "Augusta"}'),
        ("application/xml", "<profile><given_name>Augusta</given_name></profile>"),
        ("text/xml", "<profile><given_name>Augusta</given_name></profile>"),
        ("application/x-www-form-urlencoded", "given_name=Augusta"),
    ],
)
async def test_a_patch_that_is_not_json_is_a_415(
    world: World, ada: Person, content_type: str, payload: str
) -> None:
    response = await world.http.patch(
        "/v1/me/profile",
        content=payload,
        headers={**ada.auth, "Content-Type": content_type, "If-Match": await _etag(world, ada)},
    )
    _problem(response, 415)
    assert (await _profile(world, ada))["given_name"] == "Ada"


@pytest.mark.parametrize("content_type", ["text/plain", MERGE])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/me/erasure"),
        ("POST", "/v1/me/corrections"),
        ("PUT", "/v1/me/consents/marketing_email"),
    ],
)
async def test_a_415_names_the_one_media_type_a_json_write_takes(
    world: World, ada: Person, method: str, path: str, content_type: str
) -> None:
    # Only the profile's PATCH is a merge patch; the other writes take application/json,
    # as the document says, and the answer names that alone.
    response = await world.http.request(
        method, path, content="{}", headers={**ada.auth, "Content-Type": content_type}
    )
    problem = _problem(response, 415)
    assert problem["detail"] == "The body must be JSON, sent as application/json."


async def test_the_profiles_415_names_both_media_types_it_takes(world: World, ada: Person) -> None:
    response = await world.http.patch(
        "/v1/me/profile",
        content="{}",
        headers={**ada.auth, "Content-Type": "text/plain", "If-Match": await _etag(world, ada)},
    )
    accepted = "application/json, application/merge-patch+json"
    assert _problem(response, 415)["detail"] == f"The body must be JSON, sent as {accepted}."
    assert response.headers["accept-patch"] == accepted


@pytest.mark.parametrize(
    "name", ["Ada\x00", "Ad\x00a", "A\x07da", "Ada\x1b[31m", "Ada\u200e", "Ada\x7f", "A\u2028da"]
)
@pytest.mark.parametrize("field", ["given_name", "family_name", "preferred_name"])
async def test_control_characters_in_names_are_a_422(
    world: World, ada: Person, field: str, name: str
) -> None:
    response = await world.http.patch(
        "/v1/me/profile",
        content=json.dumps({field: name}),
        headers={**ada.auth, "Content-Type": MERGE, "If-Match": await _etag(world, ada)},
    )
    problem = _problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == [field]
    profile = await _profile(world, ada)
    assert profile["given_name"] == "Ada"
    assert profile["family_name"] == "Lovelace"


@pytest.mark.parametrize("text", ["a\x00b", "x\ny", "a\u202eb", "London\n"])
@pytest.mark.parametrize("field", ["line1", "line2", "city", "region", "postal_code"])
async def test_control_characters_in_address_lines_are_a_422(
    world: World, ada: Person, field: str, text: str
) -> None:
    address = {"line1": "1 Analytical Row", "city": "London", "postal_code": "N1 9GU"}
    before = await _profile(world, ada)
    response = await world.http.patch(
        "/v1/me/profile",
        content=json.dumps({"address": {**address, "country": "GB", field: text}}),
        headers={**ada.auth, "Content-Type": MERGE, "If-Match": await _etag(world, ada)},
    )
    problem = _problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == [f"address.{field}"]
    assert await _profile(world, ada) == before


def _account_name_correction(ada: Person, **members: str) -> dict[str, Any]:
    target = {"type": "account", "id": str(ada.account_id), "field": "name"}
    return {"target": target, "requested_value": "Savings", "reason": "A typo", **members}


@pytest.mark.parametrize(
    ("member", "text"),
    [
        ("requested_value", "a\x00b"),
        ("requested_value", "Two\nlines"),  # an account's name is one line
        ("requested_value", "a\u202eb"),
        ("reason", "red\x1b[31m"),
        ("reason", "a\u202eb"),
    ],
)
async def test_control_characters_in_a_correction_request_are_a_422(
    world: World, ada: Person, member: str, text: str
) -> None:
    response = await world.http.post(
        "/v1/me/corrections", json=_account_name_correction(ada, **{member: text}), headers=ada.auth
    )
    problem = _problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == [member]
    listed = body(await world.http.get("/v1/me/corrections", headers=ada.auth))
    assert listed["items"] == []


async def test_a_correction_reason_may_span_lines_but_the_officers_may_hold_no_controls(
    world: World, ada: Person
) -> None:
    ask = _account_name_correction(ada, reason="It was renamed.\r\nSee my letter.")
    created = await world.http.post("/v1/me/corrections", json=ask, headers=ada.auth)
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["reason"] == "It was renamed.\r\nSee my letter."
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    decided = await world.http.post(
        f"/v1/privacy/corrections/{request['id']}/decision",
        json={"decision": "apply", "reason": "Confirmed\x00"},
        headers=officer,
    )
    assert [error["field"] for error in _problem(decided, 422)["errors"]] == ["reason"]
    seen = body(await world.http.get(f"/v1/me/corrections/{request['id']}", headers=ada.auth))
    assert seen["status"] == "submitted"


async def test_names_with_accents_apostrophes_and_spaces_still_pass(
    world: World, ada: Person
) -> None:
    response = await world.http.patch(
        "/v1/me/profile",
        content=json.dumps({"given_name": "Zoë Anne-Marie", "family_name": "O'Brien-Łukasz"}),
        headers={**ada.auth, "Content-Type": MERGE, "If-Match": await _etag(world, ada)},
    )
    updated = body(response)
    assert (updated["given_name"], updated["family_name"]) == ("Zoë Anne-Marie", "O'Brien-Łukasz")
