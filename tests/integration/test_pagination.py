"""Keyset pagination through the real API: a customer with thousands of transactions walks
every page and gets each transaction exactly once, newest first (ties broken by id), also
while new transactions arrive between page requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from oauth_harness import World
from self_service_seed import Person, body, seed_person, transactions_for

from persistence.database import session_factory
from persistence.uow import SqlUnitOfWork

COUNT = 2500  # two per hour, so many share a booking time and the id decides their order
PAGE = 200


async def _walk(world: World, person: Person, on_page: Any = None) -> list[dict[str, Any]]:
    url = f"/v1/me/accounts/{person.account_id}/transactions"
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        page = body(await world.http.get(url, params=params, headers=person.auth))
        assert len(page["items"]) <= PAGE
        items.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        if on_page is not None:
            await on_page(pages)


def _expected_order(transactions: list[Any]) -> list[str]:
    # Newest first; equal booking times by id, descending (as UUIDs compare).
    ordered = sorted(transactions, key=lambda t: (t.booked_at, t.id), reverse=True)
    return [str(t.id) for t in ordered]


async def test_walking_every_page_returns_each_transaction_once_in_order(world: World) -> None:
    person = await seed_person(world, "many@example.org", transactions=0)
    seeded = transactions_for(person.id, person.account_id, COUNT)
    async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
        await uow.transactions.add_many(seeded)
        await uow.commit()
    walked = await _walk(world, person)
    ids = [item["id"] for item in walked]
    assert len(ids) == COUNT
    assert ids == _expected_order(seeded)
    times = [item["booked_at"] for item in walked]
    assert times == sorted(times, reverse=True)


async def test_new_transactions_during_the_walk_cause_no_duplicates_or_gaps(world: World) -> None:
    person = await seed_person(world, "busy@example.org", transactions=0)
    seeded = transactions_for(person.id, person.account_id, COUNT)
    async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
        await uow.transactions.add_many(seeded)
        await uow.commit()
    newest = max(t.booked_at for t in seeded)
    arrived: list[Any] = []

    async def book_more(pages: int) -> None:
        # Three new transactions, newer than anything the walk started with.
        fresh = transactions_for(
            person.id, person.account_id, 3, start=newest + timedelta(days=pages)
        )
        arrived.extend(fresh)
        async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
            await uow.transactions.add_many(fresh)
            await uow.commit()

    walked = [item["id"] for item in await _walk(world, person, book_more)]
    assert len(arrived) >= 3 * (COUNT // PAGE - 1)  # the walk really was interleaved
    assert len(walked) == len(set(walked)), "a transaction came back twice"
    fresh_ids = {str(t.id) for t in arrived}
    old = [i for i in walked if i not in fresh_ids]
    assert old == _expected_order(seeded), "old transactions lost or reordered"
    # The walk started before them, and they are newer than its first page: none appears.
    assert not fresh_ids & set(walked)
    # A new walk sees everything.
    again = [item["id"] for item in await _walk(world, person)]
    assert set(again) == {str(t.id) for t in seeded} | fresh_ids
