"""`custodian demo`: load synthetic customers with two years of history, idempotently.

The people come from `persistence.demo.generate` (deterministic for a seed), prepared in
worker processes (`persistence.demo.workers`: generated, transactions sealed under a new
financial data key), and stored here through the repositories of a `SqlUnitOfWork`
(customers, profiles, accounts, interactions, sealed under the customer's data keys) except
the transactions, which take the bulk path of `persistence.demo.store`. Customers are
committed in batches; a customer whose id is already stored is skipped, and since a batch
commits everything of its customers at once, a stored customer is a complete one. Rerunning
the load therefore adds nothing, and a larger load extends a smaller one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import session_factory
from persistence.demo.consents import grant_demo_consents
from persistence.demo.generate import DEFAULT_SEED, demo_customer_id, demo_identity
from persistence.demo.store import TransactionBulkWriter
from persistence.demo.workers import DemoPreparation, PreparedCustomer
from persistence.keystore import DataKeyRow
from persistence.uow import SqlUnitOfWork

__all__ = ["DEFAULT_SEED", "MAX_CUSTOMERS", "DemoSignIn", "DemoSummary", "load_demo"]

MAX_CUSTOMERS = 100_000
"""More would take hours and gigabytes; nobody needs it for a demo."""
BATCH_CUSTOMERS = 20
"""Customers per transaction: about 36,000 rows, a few MB of parameters."""
_LOOKUP_CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DemoSignIn:
    """How to sign in as one demo customer. `password` is None until passwords exist."""

    customer_id: UUID
    email: str
    password: str | None = None


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What a demo load did, and who can sign in (every requested customer, in order)."""

    seed: int
    customers_created: int
    customers_existing: int
    accounts: int
    transactions: int
    interactions: int
    seconds: float
    sign_ins: tuple[DemoSignIn, ...]

    @property
    def rows(self) -> int:
        """Rows of customer data written (customers, accounts, transactions, interactions)."""
        return self.customers_created + self.accounts + self.transactions + self.interactions


async def load_demo(
    engine: AsyncEngine,
    master_key: MasterKey,
    *,
    customers: int,
    seed: int = DEFAULT_SEED,
    as_of: date | None = None,
    workers: int | None = None,
) -> DemoSummary:
    """Make sure demo customers 0..customers-1 of `seed` exist, with their whole history.

    Deterministic: the same seed and `as_of` (default: today, UTC) give the same ids and
    the same data in any database. Idempotent: customers already stored are left alone.
    `workers` processes prepare customers while this one stores them (default: one per CPU
    but one; 0 prepares them here). Raises ValueError when `customers` is outside
    1..MAX_CUSTOMERS.
    """
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be from 1 to {MAX_CUSTOMERS}")
    started = time.perf_counter()
    day = as_of or datetime.now(UTC).date()
    sessions = session_factory(engine)
    existing = await _stored_ids(sessions, [demo_customer_id(seed, i) for i in range(customers)])
    missing = [i for i in range(customers) if demo_customer_id(seed, i) not in existing]
    store = _Store(sessions, master_key, TransactionBulkWriter(engine.dialect.name))
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) - 1)
    preparation = DemoPreparation(
        master_key, engine.dialect.name, seed=seed, day=day, workers=workers if missing else 0
    )
    async with preparation:
        async for people in preparation.batches(list(_chunks(missing, BATCH_CUSTOMERS))):
            await store.add(people)
    await grant_demo_consents(sessions, master_key, [demo_customer_id(seed, i) for i in missing])
    sign_ins = [
        store.sign_ins.get(index) or _sign_in_of(seed, index, day) for index in range(customers)
    ]
    return DemoSummary(
        seed=seed,
        customers_created=len(missing),
        customers_existing=customers - len(missing),
        accounts=store.accounts,
        transactions=store.transactions,
        interactions=store.interactions,
        seconds=time.perf_counter() - started,
        sign_ins=tuple(sign_ins),
    )


class _Store:
    """Stores batches of prepared demo customers, each batch in one transaction, and counts
    what it stored."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        master_key: MasterKey,
        writer: TransactionBulkWriter,
    ) -> None:
        self.sessions = sessions
        self.master_key = master_key
        self.writer = writer
        self.accounts = self.transactions = self.interactions = 0
        self.sign_ins: dict[int, DemoSignIn] = {}

    async def add(self, people: Sequence[PreparedCustomer]) -> None:
        """Store `people` and everything they hold in one transaction."""
        async with SqlUnitOfWork(self.sessions, self.master_key) as uow:
            for person in people:  # index order: a referrer is stored before who it referred
                await uow.customers.add(person.customer, person.profile)
            # The data keys the preparation made (the transactions are sealed under the
            # financial one): the key ring finds them, and seals accounts and interactions
            # under them too. The customers are new, so they hold no key nor tombstone yet.
            now = datetime.now(UTC)
            await uow.session.execute(
                insert(DataKeyRow),
                [
                    {
                        "customer_id": person.customer.id,
                        "retention_class": kind.value,
                        "wrapped_key": wrapped,
                        "created_at": now,
                    }
                    for person in people
                    for kind, wrapped in person.wrapped_keys.items()
                ],
            )
            accounts = [account for person in people for account in person.accounts]
            await uow.accounts.add_many(accounts)
            interactions = [item for person in people for item in person.interactions]
            await uow.interactions.add_many(interactions)
            rows = [row for person in people for row in person.transaction_rows]
            await self.writer.insert(await self.writer.driver_connection(uow.session), rows)
            await uow.commit()
        self.accounts += len(accounts)
        self.transactions += len(rows)
        self.interactions += len(interactions)
        self.sign_ins.update(
            (person.index, DemoSignIn(person.customer.id, str(person.profile.email)))
            for person in people
        )


async def _stored_ids(sessions: async_sessionmaker[AsyncSession], ids: Sequence[UUID]) -> set[UUID]:
    found: set[UUID] = set()
    async with sessions() as session:
        for chunk in _chunks(ids, _LOOKUP_CHUNK):
            result = await session.scalars(select(CustomerRow.id).where(CustomerRow.id.in_(chunk)))
            found.update(result)
    return found


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sign_in_of(seed: int, index: int, day: date) -> DemoSignIn:
    identity = demo_identity(seed, index, day)
    return DemoSignIn(identity.customer.id, str(identity.profile.email))
