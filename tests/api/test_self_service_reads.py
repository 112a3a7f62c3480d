"""The customer reads their own data: shapes, masking, filters, cursors, and the audit trail."""

from __future__ import annotations

import pytest
from oauth_harness import World
from self_service_seed import Person, audit_events, body, last_seq, seed_person


@pytest.fixture
async def ada(world: World) -> Person:
    return await seed_person(world, "ada@example.org", transactions=7)


async def test_profile_comes_with_its_version_as_etag_and_is_audited(
    world: World, ada: Person
) -> None:
    before = await last_seq(world)
    response = await world.http.get(
        "/v1/me/profile", headers={**ada.auth, "X-Request-ID": "req-123"}
    )
    profile = body(response)
    assert profile["email"] == "ada@example.org"
    assert response.headers["etag"] == f'"{profile["version"]}"'
    [event] = await audit_events(world, before)
    assert (event.action, event.outcome, event.actor_type) == (
        "profile.read",
        "allowed",
        "customer",
    )
    assert event.subject_id == ada.id
    assert event.request_id == response.headers["x-request-id"]


async def test_account_number_is_only_ever_masked(world: World, ada: Person) -> None:
    listed = body(await world.http.get("/v1/me/accounts", headers=ada.auth))
    [account] = listed["items"]
    assert account["masked_number"] == "****4321"
    single = await world.http.get(f"/v1/me/accounts/{ada.account_id}", headers=ada.auth)
    assert "4321" in single.text
    assert "number_last4" not in single.text


async def test_transactions_page_newest_first_with_a_cursor(world: World, ada: Person) -> None:
    url = f"/v1/me/accounts/{ada.account_id}/transactions"
    first = body(await world.http.get(url, params={"limit": 4}, headers=ada.auth))
    assert len(first["items"]) == 4
    second = body(
        await world.http.get(
            url, params={"limit": 4, "cursor": first["next_cursor"]}, headers=ada.auth
        )
    )
    assert second["next_cursor"] is None
    items = first["items"] + second["items"]
    assert sorted(t["id"] for t in items) == sorted(str(i) for i in ada.transaction_ids)
    assert {t["account_id"] for t in items} == {str(ada.account_id)}
    keys = [(t["booked_at"], t["id"]) for t in items]
    assert keys == sorted(keys, reverse=True)


async def test_transaction_filters(world: World, ada: Person) -> None:
    url = f"/v1/me/accounts/{ada.account_id}/transactions"
    pending = body(await world.http.get(url, params={"status": "pending"}, headers=ada.auth))
    assert pending["items"]
    assert {t["status"] for t in pending["items"]} == {"pending"}
    window = body(
        await world.http.get(
            url,
            params={"from": "2025-06-01T13:00:00Z", "to": "2025-06-01T14:00:00Z"},
            headers=ada.auth,
        )
    )
    assert {t["booked_at"][:19] for t in window["items"]} == {"2025-06-01T13:00:00"}


@pytest.mark.parametrize("cursor", ["garbage", "AAAA", "x" * 300])
async def test_a_bad_cursor_is_a_400_problem(world: World, ada: Person, cursor: str) -> None:
    response = await world.http.get(
        "/v1/me/interactions", params={"cursor": cursor}, headers=ada.auth
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_tampered_cursor_is_a_400(world: World, ada: Person) -> None:
    url = f"/v1/me/accounts/{ada.account_id}/transactions"
    cursor = body(await world.http.get(url, params={"limit": 2}, headers=ada.auth))["next_cursor"]
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    response = await world.http.get(url, params={"cursor": flipped}, headers=ada.auth)
    assert response.status_code == 400
    # A cursor from one list is refused on another.
    other = await world.http.get("/v1/me/interactions", params={"cursor": cursor}, headers=ada.auth)
    assert other.status_code == 400


@pytest.mark.parametrize(
    "other",
    [
        {},
        {"status": "pending"},
        {"status": "booked", "from": "2025-06-01T13:00:00Z"},
    ],
)
async def test_a_transaction_cursor_continues_only_its_own_filters(
    world: World, ada: Person, other: dict[str, str]
) -> None:
    # Its position means "after this row of the booked transactions": under other filters it
    # would start another list part-way through.
    url = f"/v1/me/accounts/{ada.account_id}/transactions"
    booked = {"status": "booked", "limit": "2"}
    cursor = body(await world.http.get(url, params=booked, headers=ada.auth))["next_cursor"]
    same = await world.http.get(url, params={**booked, "cursor": cursor}, headers=ada.auth)
    assert {t["status"] for t in body(same)["items"]} == {"booked"}
    response = await world.http.get(url, params={**other, "cursor": cursor}, headers=ada.auth)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:custodian:problem:invalid-cursor"


async def test_an_interaction_cursor_continues_only_its_own_filters(
    world: World, ada: Person
) -> None:
    url = "/v1/me/interactions"
    chats = {"channel": "chat", "limit": "1"}
    cursor = body(await world.http.get(url, params=chats, headers=ada.auth))["next_cursor"]
    rest = body(await world.http.get(url, params={**chats, "cursor": cursor}, headers=ada.auth))
    assert [i["channel"] for i in rest["items"]] == ["chat"]
    for other in ({}, {"channel": "phone"}, {"channel": "chat", "kind": "complaint"}):
        response = await world.http.get(url, params={**other, "cursor": cursor}, headers=ada.auth)
        assert response.status_code == 400, other
        assert response.json()["type"] == "urn:custodian:problem:invalid-cursor"


@pytest.mark.parametrize("limit", [0, 201, -1])
async def test_limit_out_of_range_is_a_400(world: World, ada: Person, limit: int) -> None:
    response = await world.http.get(
        "/v1/me/interactions", params={"limit": limit}, headers=ada.auth
    )
    assert response.status_code == 400


async def test_interactions_filter_by_channel_and_read_one(world: World, ada: Person) -> None:
    chats = body(
        await world.http.get("/v1/me/interactions", params={"channel": "chat"}, headers=ada.auth)
    )
    assert len(chats["items"]) == 2
    assert (
        body(
            await world.http.get(
                "/v1/me/interactions", params={"channel": "phone"}, headers=ada.auth
            )
        )["items"]
        == []
    )
    one = body(
        await world.http.get(f"/v1/me/interactions/{ada.interaction_ids[0]}", headers=ada.auth)
    )
    assert one["summary"] == "Asked about card 0"


@pytest.mark.parametrize(
    "path",
    ["/v1/me/transactions/not-a-uuid", "/v1/me/accounts/00000000-0000-0000-0000-000000000000"],
)
async def test_missing_or_malformed_ids_are_404_and_audited_denied(
    world: World, ada: Person, path: str
) -> None:
    before = await last_seq(world)
    response = await world.http.get(path, headers=ada.auth)
    assert response.status_code == 404
    [event] = await audit_events(world, before)
    assert event.outcome == "denied"


@pytest.mark.parametrize("list_path", ["transactions", "/v1/me/interactions", "/v1/me/access-log"])
async def test_a_to_before_from_is_a_422_naming_to(
    world: World, ada: Person, list_path: str
) -> None:
    """The same on every list that takes the two (an equal pair is an empty range)."""
    url = (
        f"/v1/me/accounts/{ada.account_id}/transactions"
        if list_path == "transactions"
        else list_path
    )
    reversed_range = {"from": "2025-06-02T00:00:00Z", "to": "2025-06-01T00:00:00Z"}
    response = await world.http.get(url, params=reversed_range, headers=ada.auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["message"], e["source"]) for e in response.json()["errors"]] == [
        ("to", "must not be before from", "query")
    ]
    empty = {"from": "2025-06-01T00:00:00Z", "to": "2025-06-01T00:00:00Z"}
    same = await world.http.get(url, params=empty, headers=ada.auth)
    assert same.status_code == 200, same.text
    assert same.json()["items"] == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("from", "9999-12-31T23:59:59-23:59"), ("to", "0001-01-01T00:00:00+23:59")],
)
async def test_a_time_its_offset_takes_past_the_calendar_is_a_400(
    world: World, ada: Person, name: str, value: str
) -> None:
    """Valid text whose offset moves it past year 9999 or before year 1 (was a 500)."""
    url = f"/v1/me/accounts/{ada.account_id}/transactions"
    response = await world.http.get(url, params={name: value}, headers=ada.auth)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == [name]
