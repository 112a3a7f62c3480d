"""`load_demo`: deterministic, idempotent, realistic, and readable through the repositories."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from throwaway_db import pg_create, pg_drop, pg_url, sqlite_copy, sqlite_url

from domain.customer.accounts import (
    Account,
    AccountType,
    Transaction,
    TransactionDirection,
    TransactionStatus,
)
from domain.customer.interactions import Channel, Interaction
from domain.customer.profile import Customer, Profile
from domain.retention import RetentionClass
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.demo.generate import (
    demo_customer_id,
    demo_identity,
    demo_transaction_ids,
    generate_customer,
)
from persistence.demo.loader import DemoSummary, load_demo
from persistence.demo.store import TransactionBulkWriter
from persistence.migrate import upgrade
from persistence.uow import SqlUnitOfWork

AS_OF = date(2025, 6, 15)
SEED = 7
CUSTOMERS = 5
HISTORY_START = datetime(2023, 6, 1, tzinfo=UTC)  # 24 whole months before June 2025
HISTORY_END = datetime(2025, 6, 15, tzinfo=UTC)


@dataclass
class Person:
    """One demo customer as the repositories give them back, decrypted."""

    customer: Customer
    profile: Profile
    accounts: list[Account]
    transactions: list[Transaction]
    interactions: list[Interaction]


async def load(
    engine: AsyncEngine, key: MasterKey, customers: int = CUSTOMERS, workers: int | None = None
) -> DemoSummary:
    return await load_demo(
        engine, key, customers=customers, seed=SEED, as_of=AS_OF, workers=workers
    )


async def read_back(engine: AsyncEngine, key: MasterKey, ids: list[UUID]) -> list[Person]:
    people = []
    async with SqlUnitOfWork(session_factory(engine), key) as uow:
        for customer_id in ids:
            customer = await uow.customers.get(customer_id)
            profile = await uow.customers.get_profile(customer_id)
            assert customer is not None
            assert profile is not None
            accounts = await uow.accounts.list_for_customer(customer_id)
            transactions = [
                transaction
                for account in accounts
                for transaction in await uow.transactions.list_for_account(
                    customer_id, account.id, limit=100_000
                )
            ]
            interactions = await uow.interactions.list_for_customer(customer_id, limit=1000)
            people.append(Person(customer, profile, accounts, transactions, interactions))
    return people


async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    counts = {}
    async with engine.connect() as connection:
        for table in (
            "customers",
            "profiles",
            "accounts",
            "transactions",
            "interactions",
            "data_keys",
        ):
            counts[table] = (
                await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))
            ).scalar_one()
    return counts


@pytest.fixture
def other_db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second migrated database, of the same kind as the test's own."""
    if db_kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        yield sqlite_url(sqlite_copy(template, tmp_path / "other.sqlite"))
        return
    name = pg_create()
    try:
        asyncio.run(upgrade(pg_url(name)))
        yield pg_url(name)
    finally:
        pg_drop(name)


@pytest.fixture
async def other_engine(other_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(other_db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_seed_gives_the_same_people_in_any_database(
    engine: AsyncEngine, other_engine: AsyncEngine
) -> None:
    first_key, second_key = MasterKey.generate(), MasterKey.generate()
    # Prepared in this process and in a worker process: the same people either way.
    first = await load(engine, first_key, workers=0)
    second = await load(other_engine, second_key, workers=1)
    ids = [demo_customer_id(SEED, index) for index in range(CUSTOMERS)]
    assert [s.customer_id for s in first.sign_ins] == ids
    assert first.sign_ins == second.sign_ins
    assert (first.accounts, first.transactions, first.interactions) == (
        second.accounts,
        second.transactions,
        second.interactions,
    )
    # Decrypted under two different master keys, every value agrees.
    assert await read_back(engine, first_key, ids) == await read_back(other_engine, second_key, ids)


async def test_loading_twice_adds_nothing_and_a_larger_load_extends(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    first = await load(engine, master_key)
    after_first = await table_counts(engine)
    assert after_first["customers"] == after_first["profiles"] == CUSTOMERS
    assert after_first["transactions"] == first.transactions > 0

    again = await load(engine, master_key)
    assert (again.customers_created, again.customers_existing) == (0, CUSTOMERS)
    assert (again.accounts, again.transactions, again.interactions) == (0, 0, 0)
    assert again.sign_ins == first.sign_ins
    assert await table_counts(engine) == after_first

    larger = await load(engine, master_key, customers=CUSTOMERS + 2)
    assert (larger.customers_created, larger.customers_existing) == (2, CUSTOMERS)
    assert larger.sign_ins[:CUSTOMERS] == first.sign_ins
    counts = await table_counts(engine)
    assert counts["customers"] == CUSTOMERS + 2
    assert counts["transactions"] == after_first["transactions"] + larger.transactions


async def test_demo_customers_look_like_real_ones(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    summary = await load(engine, master_key)
    ids = [sign_in.customer_id for sign_in in summary.sign_ins]
    people = await read_back(engine, master_key, ids)

    emails = [str(person.profile.email) for person in people]
    assert len(set(emails)) == CUSTOMERS
    assert emails == [sign_in.email for sign_in in summary.sign_ins]
    channels: Counter[Channel] = Counter()
    for person in people:
        profile = person.profile
        assert profile.phone is not None
        assert profile.address is not None
        assert profile.date_of_birth is not None
        assert 18 <= (AS_OF - profile.date_of_birth).days // 365 <= 85
        assert person.customer.referred_by in (None, *ids)

        kinds = [account.type for account in person.accounts]
        assert 1 <= len(kinds) <= 4
        assert kinds.count(AccountType.CURRENT) == 1
        currencies = {account.currency for account in person.accounts}
        assert len(currencies) == 1
        assert {t.currency for t in person.transactions} == currencies
        assert all(t.amount > 0 for t in person.transactions)
        assert all(HISTORY_START <= t.booked_at < HISTORY_END for t in person.transactions)
        assert any(
            t.category == "income" and t.direction == "credit" for t in person.transactions
        ), "every customer is paid a salary"
        channels.update(interaction.channel for interaction in person.interactions)
        assert all(i.satisfaction is None or 1 <= i.satisfaction <= 5 for i in person.interactions)
        assert all(i.campaign is not None for i in person.interactions if i.kind == "marketing")

    transactions = [t for person in people for t in person.transactions]
    assert set(channels) == set(Channel)
    booked_at = sorted(t.booked_at for t in transactions)
    assert (booked_at[-1] - booked_at[0]).days >= 700, "about two years of history"
    statuses = Counter(t.status for t in transactions)
    assert statuses[TransactionStatus.BOOKED] > 0.95 * len(transactions)
    assert statuses[TransactionStatus.PENDING] > 0
    assert len({t.merchant for t in transactions if t.merchant}) >= 20
    # About thirty transactions a month per account (fewer for accounts opened lately).
    accounts = sum(len(person.accounts) for person in people)
    assert 10 * 24 * accounts < len(transactions) < 60 * 25 * accounts


async def test_sign_in_emails_find_their_customers(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    summary = await load(engine, master_key, customers=2)
    async with SqlUnitOfWork(session_factory(engine), master_key) as uow:
        for sign_in in summary.sign_ins:
            found = await uow.customers.find_by_email(Email(sign_in.email.upper()))
            assert found is not None
            assert found.id == sign_in.customer_id


async def test_account_balances_match_their_booked_transactions(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    # Accounts opened during the history start from zero, so their balance is exactly what
    # their booked transactions add up to.
    summary = await load(engine, master_key)
    people = await read_back(engine, master_key, [s.customer_id for s in summary.sign_ins])
    checked = 0
    for person in people:
        for account in person.accounts:
            if account.opened_at < HISTORY_START:
                continue
            booked = [
                t
                for t in person.transactions
                if t.account_id == account.id and t.status == TransactionStatus.BOOKED
            ]
            total = sum(
                (t.amount if t.direction == "credit" else -t.amount for t in booked), Decimal(0)
            )
            assert account.balance == total
            checked += 1
    assert checked > 0


def test_generation_depends_only_on_seed_index_and_day() -> None:
    assert generate_customer(SEED, 3, AS_OF) == generate_customer(SEED, 3, AS_OF)
    assert generate_customer(SEED, 3, AS_OF).customer.id == demo_customer_id(SEED, 3)
    assert generate_customer(SEED, 3, AS_OF) != generate_customer(SEED + 1, 3, AS_OF)
    identity = demo_identity(SEED, 3, AS_OF)
    person = generate_customer(SEED, 3, AS_OF)
    assert (identity.customer, identity.profile) == (person.customer, person.profile)


def test_transaction_ids_are_reproducible_and_ascend_in_storing_order() -> None:
    # Ascending ids make a load append to the primary-key index (see demo_transaction_ids).
    first = list(islice(demo_transaction_ids(SEED, 3), 5000))
    assert first == list(islice(demo_transaction_ids(SEED, 3), 5000))
    assert first == sorted(first)
    assert [i.hex for i in first] == sorted(i.hex for i in first), "SQLite compares hex text"
    assert len(set(first)) == len(first)
    assert next(demo_transaction_ids(SEED, 4)) > first[-1]
    assert not set(first) & set(islice(demo_transaction_ids(SEED + 1, 3), 5000))
    assert {i.version for i in first} == {8}


@pytest.mark.parametrize("customers", [0, -1])
async def test_a_load_of_no_customers_is_refused(customers: int) -> None:
    engine = make_engine("sqlite+aiosqlite://")
    try:
        with pytest.raises(ValueError, match="customers must be from 1"):
            await load_demo(engine, MasterKey.generate(), customers=customers, seed=SEED)
    finally:
        await engine.dispose()


async def test_bulk_rows_are_stored_exactly_as_the_repository_stores_them(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    # Same moment through both paths: the stored values must be identical, or keyset paging
    # (which compares stored booked_at values) would interleave the two kinds of row wrongly.
    summary = await load(engine, master_key, customers=1)
    customer_id = summary.sign_ins[0].customer_id
    moment = datetime(2025, 2, 28, 23, 59, 59, 5, tzinfo=UTC)
    writer = TransactionBulkWriter(engine.dialect.name)
    bulk_id, repository_id = uuid4(), uuid4()
    async with SqlUnitOfWork(session_factory(engine), master_key) as uow:
        account = (await uow.accounts.list_for_customer(customer_id))[0]
        await uow.transactions.add_many(
            [
                Transaction(
                    id=repository_id,
                    customer_id=customer_id,
                    account_id=account.id,
                    booked_at=moment,
                    value_date=moment.date(),
                    amount=Decimal("12.30"),
                    currency=account.currency,
                    direction=TransactionDirection.DEBIT,
                    status=TransactionStatus.BOOKED,
                    description="CARD PAYMENT",
                    category="shopping",
                )
            ]
        )
        cipher = await uow.keys.cipher_for_writing(customer_id, RetentionClass.FINANCIAL)
        movement = (moment, 1230, "debit", "booked", "CARD PAYMENT", "shopping", None, None)
        rows = writer.rows(cipher, account, [movement], iter([bulk_id]))
        await writer.insert(await writer.driver_connection(uow.session), rows)
        await uow.commit()
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                text(
                    "SELECT id, booked_at, value_date, account_id, customer_id, currency, "
                    "direction, status, category FROM transactions WHERE id IN (:a, :b)"
                ),
                {"a": _stored_id(engine, bulk_id), "b": _stored_id(engine, repository_id)},
            )
        ).all()
    assert len(stored) == 2
    (first_id, *first), (second_id, *second) = stored
    assert first == second
    assert {first_id, second_id} == {_stored_id(engine, bulk_id), _stored_id(engine, repository_id)}
    async with SqlUnitOfWork(session_factory(engine), master_key) as uow:
        bulk = await uow.transactions.get(customer_id, bulk_id)
        by_repository = await uow.transactions.get(customer_id, repository_id)
    assert bulk is not None
    assert by_repository is not None
    assert bulk._replace(id=repository_id) == by_repository


def _stored_id(engine: AsyncEngine, value: UUID) -> object:
    return value.hex if engine.dialect.name == "sqlite" else value
