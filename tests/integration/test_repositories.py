"""Every entity survives a round trip through its repository, on both engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, timedelta, timezone
from uuid import uuid4

import persistence_samples as samples
import pytest
from older_transactions import add_in_the_older_form
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.customer.accounts import TransactionStatus
from domain.customer.corrections import TargetType
from domain.customer.interactions import Channel
from domain.customer.profile import ChangeActor, CustomerStatus, Profile, ProfileChange
from domain.errors import Conflict, NotFound
from domain.retention import RetentionClass
from domain.values import Email
from persistence.customer.tables import TransactionRow
from persistence.uow import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]


async def test_customer_and_profile_round_trip(uow_factory: UowFactory) -> None:
    referrer = samples.customer()
    customer = samples.customer(referred_by=referrer.id)
    profile = samples.profile(customer.id)
    bare = Profile(
        customer_id=referrer.id, given_name="Bo", family_name="Ng", email=Email("bo@example.org")
    )
    async with uow_factory() as uow:
        await uow.customers.add(referrer, bare)
        await uow.customers.add(customer, profile)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.customers.get(customer.id) == customer
        assert await uow.customers.get_profile(customer.id) == profile
        assert await uow.customers.get_profile(referrer.id) == bare
        assert await uow.customers.get(uuid4()) is None
        assert await uow.customers.get_profile(uuid4()) is None


async def test_times_come_back_as_the_same_instant_in_utc(uow_factory: UowFactory) -> None:
    plus_two = timezone(timedelta(hours=2))
    customer = replace(samples.customer(), created_at=samples.T0.astimezone(plus_two))
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.customers.get(customer.id)
    assert stored is not None
    assert stored.created_at == samples.T0
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_transaction_times_come_back_as_the_same_instant_in_utc(
    uow_factory: UowFactory,
) -> None:
    # booked_at has a column type of its own that reads SQLite's text as UTC-aware
    # (persistence.base.UTC_DATETIME): the page, one transaction and a keyset step agree.
    customer = samples.customer()
    acct = samples.account(customer.id)
    plus_two = timezone(timedelta(hours=2))
    booked = samples.T0.astimezone(plus_two) + timedelta(microseconds=7)
    transaction = samples.transaction(acct, booked_at=booked)
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.accounts.add(acct)
        await uow.transactions.add_many([transaction])
        await uow.commit()
    async with uow_factory() as uow:
        [listed] = await uow.transactions.list_for_account(customer.id, acct.id)
        one = await uow.transactions.get(customer.id, transaction.id)
        after = await uow.transactions.list_for_account(
            customer.id, acct.id, before=(listed.booked_at, listed.id)
        )
    assert one is not None
    for stored in (listed.booked_at, one.booked_at):
        assert stored == booked
        assert stored.tzinfo is UTC
    assert after == []


async def test_nothing_is_kept_without_commit(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
    async with uow_factory() as uow:
        assert await uow.customers.get(customer.id) is None
        assert not await uow.keys.has_key(customer.id, RetentionClass.CONTACT)


async def test_find_by_email_ignores_case(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(
            customer, samples.profile(customer.id, email="Ada.King@Example.ORG")
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.customers.find_by_email(Email("ada.king@example.org")) == customer
        assert await uow.customers.find_by_email(Email("ADA.KING@EXAMPLE.ORG")) == customer
        assert await uow.customers.find_by_email(Email("ada.queen@example.org")) is None


async def test_two_customers_cannot_share_an_email(uow_factory: UowFactory) -> None:
    first, second = samples.customer(), samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(first, samples.profile(first.id, email="same@example.org"))
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.customers.add(second, samples.profile(second.id, email="SAME@example.org"))
        # The unit of work is still usable after the refused insert (savepoint).
        assert await uow.customers.get(first.id) == first


async def test_profile_update_checks_the_version(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    profile = samples.profile(customer.id)
    async with uow_factory() as uow:
        await uow.customers.add(customer, profile)
        await uow.commit()
    changed = replace(profile, family_name="King", phone=None, address=None)
    async with uow_factory() as uow:
        updated = await uow.customers.update_profile(changed, expected_version=1, at=samples.T0)
        await uow.commit()
    assert updated.version == 2
    async with uow_factory() as uow:
        assert await uow.customers.get_profile(customer.id) == replace(changed, version=2)
        with pytest.raises(Conflict):
            await uow.customers.update_profile(changed, expected_version=1, at=samples.T0)
        with pytest.raises(NotFound):
            await uow.customers.update_profile(
                replace(changed, customer_id=uuid4()), expected_version=1, at=samples.T0
            )


async def test_profile_changes_round_trip_newest_first(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    changes = [
        ProfileChange(
            id=uuid4(),
            customer_id=customer.id,
            version=v,
            field="family_name",
            old_value=f"Name {v - 1}",
            new_value=None if v == 3 else f"Name {v}",
            actor=ChangeActor.CUSTOMER,
            actor_id=None,
            at=samples.T0 + samples.hours(v),
            client_id=None if v == 2 else "demo-app",
        )
        for v in (2, 3, 4)
    ]
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.customers.add_profile_changes(changes)
        await uow.commit()
    async with uow_factory() as uow:
        newest_first = await uow.customers.list_profile_changes(customer.id)
        first_page = await uow.customers.list_profile_changes(customer.id, limit=2)
        last = first_page[-1]
        rest = await uow.customers.list_profile_changes(customer.id, before=(last.version, last.id))
    assert newest_first == changes[::-1]
    assert first_page + rest == newest_first


async def test_status_change(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        assert await uow.customers.set_status(customer.id, CustomerStatus.RESTRICTED)
        assert not await uow.customers.set_status(uuid4(), CustomerStatus.RESTRICTED)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.customers.get(customer.id)
    assert stored is not None
    assert stored.status is CustomerStatus.RESTRICTED


async def test_accounts_round_trip_and_stay_private(uow_factory: UowFactory) -> None:
    customer, other = samples.customer(), samples.customer()
    older = samples.account(customer.id)
    newer = replace(
        samples.account(customer.id, opened_at=samples.T0 + samples.hours(1)),
        closed_at=samples.T0 + samples.hours(5),
    )
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.customers.add(other, samples.profile(other.id))
        await uow.accounts.add(newer)
        await uow.accounts.add(older)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.accounts.get(customer.id, older.id) == older
        assert await uow.accounts.list_for_customer(customer.id) == [older, newer]
        assert await uow.accounts.get(other.id, older.id) is None
        assert await uow.accounts.list_for_customer(other.id) == []


async def test_transactions_round_trip_page_and_filter(uow_factory: UowFactory) -> None:
    customer, other = samples.customer(), samples.customer()
    acct = samples.account(customer.id)
    # Two at the same instant: the id breaks the tie in paging.
    times = [samples.T0 + samples.hours(h) for h in (0, 1, 1, 2, 3)]
    transactions = [
        samples.transaction(acct, booked_at=t, description=f"Purchase {i}")
        for i, t in enumerate(times)
    ]
    pending = samples.transaction(
        acct, booked_at=samples.T0 + samples.hours(4), status=TransactionStatus.PENDING
    )
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.customers.add(other, samples.profile(other.id))
        await uow.accounts.add(acct)
        await uow.transactions.add_many([*transactions, pending])
        await uow.commit()
    expected = sorted(transactions, key=lambda t: (t.booked_at, t.id), reverse=True)
    async with uow_factory() as uow:
        repo = uow.transactions
        assert await repo.get(customer.id, transactions[0].id) == transactions[0]
        assert await repo.get(other.id, transactions[0].id) is None
        assert await repo.list_for_account(other.id, acct.id) == []
        booked = await repo.list_for_account(customer.id, acct.id, status=TransactionStatus.BOOKED)
        assert booked == expected
        pages, before = [], None
        while True:
            page = await repo.list_for_account(
                customer.id, acct.id, limit=2, before=before, status=TransactionStatus.BOOKED
            )
            if not page:
                break
            pages.extend(page)
            before = (page[-1].booked_at, page[-1].id)
        assert pages == expected
        window = await repo.list_for_account(
            customer.id,
            acct.id,
            booked_from=samples.T0 + samples.hours(1),
            booked_to=samples.T0 + samples.hours(3),
        )
        assert {t.id for t in window} == {t.id for t in transactions[1:4]}


async def test_transaction_on_someone_elses_account_is_refused(uow_factory: UowFactory) -> None:
    customer, other = samples.customer(), samples.customer()
    acct = samples.account(customer.id)
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.customers.add(other, samples.profile(other.id))
        await uow.accounts.add(acct)
        stray = samples.transaction(acct)._replace(customer_id=other.id)
        with pytest.raises(NotFound):
            await uow.transactions.add_many([stray])


async def test_interactions_round_trip_page_and_filter(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    items = [
        samples.interaction(
            customer.id,
            occurred_at=samples.T0 + samples.hours(h),
            channel=Channel.CHAT if h % 2 else Channel.PHONE,
        )
        for h in range(5)
    ]
    bare = replace(
        samples.interaction(customer.id, occurred_at=samples.T0 - samples.hours(1)),
        outcome=None,
        satisfaction=None,
        campaign=None,
    )
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.interactions.add_many([*items, bare])
        await uow.commit()
    async with uow_factory() as uow:
        repo = uow.interactions
        assert await repo.get(customer.id, bare.id) == bare
        assert await repo.get(uuid4(), bare.id) is None
        everything = await repo.list_for_customer(customer.id)
        assert everything == [*items[::-1], bare]
        first = await repo.list_for_customer(customer.id, limit=3)
        rest = await repo.list_for_customer(
            customer.id, before=(first[-1].occurred_at, first[-1].id)
        )
        assert first + rest == everything
        chats = await repo.list_for_customer(customer.id, channel=Channel.CHAT)
        assert chats == [items[3], items[1]]
        window = await repo.list_for_customer(
            customer.id, occurred_from=samples.T0, occurred_to=samples.T0 + samples.hours(2)
        )
        assert window == [items[1], items[0]]


async def test_transactions_stored_in_the_older_form_read_and_correct_like_the_others(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    # Rows written before revision 0014 hold one sealed value per field; a database upgraded
    # from it keeps them. They page, read and correct like rows written now.
    customer = samples.customer()
    acct = samples.account(customer.id)
    transactions = [
        samples.transaction(acct, booked_at=samples.T0 + samples.hours(h), description=f"Item {h}")
        for h in range(4)
    ]
    older, newer = transactions[::2], transactions[1::2]
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.accounts.add(acct)
        await add_in_the_older_form(uow, older)
        await uow.transactions.add_many(newer)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.transactions.list_for_account(customer.id, acct.id) == transactions[::-1]
        assert await uow.transactions.get(customer.id, older[1].id) == older[1]
        assert await uow.transactions.get(customer.id, newer[1].id) == newer[1]
    async with uow_factory().reading() as uow:
        # On the driver's connection: a page of newer rows only, and one that mixes the forms.
        listed = uow.transactions.list_for_account
        assert await listed(customer.id, acct.id, limit=1) == [newer[1]]
        assert await listed(customer.id, acct.id) == transactions[::-1]
    async with uow_factory() as uow:
        assert await uow.corrections.current_value(
            customer.id, TargetType.TRANSACTION, older[0].id, "description"
        ) == (True, "Item 0")
        assert await uow.corrections.current_value(
            customer.id, TargetType.TRANSACTION, newer[0].id, "description"
        ) == (True, "Item 1")
        await uow.corrections.set_value(
            customer.id, TargetType.TRANSACTION, older[0].id, "description", "Corrected"
        )
        await uow.corrections.set_value(
            customer.id, TargetType.TRANSACTION, newer[0].id, "description", "Also corrected"
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.transactions.get(customer.id, older[0].id) == older[0]._replace(
            description="Corrected"
        )
        assert await uow.transactions.get(customer.id, newer[0].id) == newer[0]._replace(
            description="Also corrected"
        )
    # The corrected older row is now in the one-value form, its four columns empty.
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                select(
                    TransactionRow.sealed_fields,
                    TransactionRow.amount,
                    TransactionRow.description,
                    TransactionRow.merchant,
                    TransactionRow.reference,
                ).where(TransactionRow.id == older[0].id)
            )
        ).one()
    assert stored[0] is not None
    assert stored[1:] == (None, None, None, None)
