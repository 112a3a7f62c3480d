"""GET /v1/me/exports (my exports, signed cursor), `Location` on the 202, `Retry-After` on the
409 of an archive not ready yet."""

from __future__ import annotations

from oauth_harness import World
from self_service_seed import audit_events, body, last_seq, officer_token, seed_person


async def test_a_new_export_says_where_to_follow_it(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    created = await world.http.post("/v1/me/exports", headers=ada.auth)
    assert created.status_code == 202
    location = created.headers["location"]
    assert location == f"/v1/me/exports/{created.json()['id']}"
    followed = await world.http.get(location, headers=ada.auth)
    assert followed.status_code == 200
    assert followed.json()["id"] == created.json()["id"]


async def test_an_archive_not_ready_says_when_to_retry(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    created = (await world.http.post("/v1/me/exports", headers=ada.auth)).json()
    early = await world.http.get(f"/v1/me/exports/{created['id']}/archive", headers=ada.auth)
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")
    assert int(early.headers["retry-after"]) > 0
    assert early.json()["status"] == 409


async def test_my_exports_are_listed_newest_first_and_only_mine(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    bob = await seed_person(world, "bob@example.org")
    # Distinct request times, all in the past: the worker leases jobs by the wall clock.
    world.clock.advance(-10)
    ids = []
    for _ in range(3):
        created = await world.http.post("/v1/me/exports", headers=ada.auth)
        ids.append(created.json()["id"])
        await world.run_jobs()  # done, so the next request starts a new export
        world.clock.advance(1)
    await world.http.post("/v1/me/exports", headers=bob.auth)
    seq = await last_seq(world)
    first = body(await world.http.get("/v1/me/exports?limit=2", headers=ada.auth))
    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    assert first["next_cursor"]
    second = body(
        await world.http.get(
            "/v1/me/exports", params={"limit": 2, "cursor": first["next_cursor"]}, headers=ada.auth
        )
    )
    assert [item["id"] for item in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None
    assert all(item["status"] == "ready" for item in first["items"] + second["items"])
    events = await audit_events(world, after_seq=seq)
    assert [e.action for e in events] == ["export.list", "export.list"]
    assert all(e.subject_id == ada.id for e in events)


async def test_a_cursor_of_another_customer_is_refused(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    bob = await seed_person(world, "bob@example.org")
    world.clock.advance(-10)
    for _ in range(2):
        await world.http.post("/v1/me/exports", headers=ada.auth)
        await world.run_jobs()
        world.clock.advance(1)
    cursor = body(await world.http.get("/v1/me/exports?limit=1", headers=ada.auth))["next_cursor"]
    stolen = await world.http.get("/v1/me/exports", params={"cursor": cursor}, headers=bob.auth)
    assert stolen.status_code == 400
    assert stolen.headers["content-type"].startswith("application/problem+json")


async def test_an_officer_export_says_where_to_follow_it_in_the_queue(world: World) -> None:
    ada = await seed_person(world, "ada@example.org")
    auth = {"Authorization": f"Bearer {await officer_token(world)}"}
    created = await world.http.post(f"/v1/privacy/customers/{ada.id}/exports", headers=auth)
    assert created.status_code == 202
    location = created.headers["location"]
    assert location == f"/v1/privacy/requests/{created.json()['id']}"
    followed = await world.http.get(location, headers=auth)
    assert followed.status_code == 200
