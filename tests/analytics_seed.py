"""A small, varied population for the analytics projection tests, and consent helpers."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from domain.analytics.membership import ANALYTICS_PURPOSE
from domain.audit.events import Actor, ActorType
from domain.consent.change import change_consent
from domain.customer.accounts import (
    Account,
    AccountStatus,
    AccountType,
    Transaction,
    TransactionDirection,
    TransactionStatus,
)
from domain.customer.interactions import Channel, Interaction, InteractionDirection, InteractionKind
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.values import Email, PhoneNumber, PostalAddress
from persistence.uow import SqlUnitOfWork

CANARIES = (
    "Zebediah",
    "Quartermaine",
    "zq-canary@example.org",
    "+447700900999",
    "77 Canary Wharf Lane",
    "1971-04-23",
    "CANARY MERCHANT",
    "canary description",
    "9876",
)
"""Values every seeded customer carries that must never reach the projection."""


def _person(rng: random.Random, index: int, now: datetime, referrer: UUID | None) -> Customer:
    return Customer(
        id=uuid4(),
        status=CustomerStatus.ACTIVE,
        created_at=now - timedelta(days=rng.choice((200, 500, 1500))),
        acquisition_channel=AcquisitionChannel.REFERRAL if referrer else AcquisitionChannel.WEB,
        referred_by=referrer,
    )


def _profile(customer: Customer, index: int) -> Profile:
    return Profile(
        customer_id=customer.id,
        given_name="Zebediah",
        family_name="Quartermaine",
        email=Email(f"zq-canary+{index}@example.org") if index else Email(CANARIES[2]),
        preferred_name=None,
        phone=PhoneNumber(CANARIES[3]),
        address=PostalAddress(
            line1=CANARIES[4],
            line2=None,
            city="London",
            region=None,
            postal_code="E14 5AB",
            country="GB" if index % 3 else "DE",
        ),
        date_of_birth=date.fromisoformat(CANARIES[5]),
        language="en-GB",
    )


async def seed_population(
    uow_factory: Callable[[], SqlUnitOfWork],
    count: int,
    *,
    seed: int = 7,
    leaving: Mapping[int, datetime] | None = None,
) -> list[UUID]:
    """`count` customers (a third of them referred by an earlier one), each with a current
    account, sometimes savings, two months of transactions and a few interactions. The
    customers of `leaving` (by index) closed every account at the time given: they left."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    ids: list[UUID] = []
    async with uow_factory() as uow:
        for index in range(count):
            referrer = ids[rng.randrange(len(ids))] if ids and index % 3 == 0 else None
            customer = _person(rng, index, now, referrer)
            await uow.customers.add(customer, _profile(customer, index))
            ids.append(customer.id)
            accounts = [_account(customer, AccountType.CURRENT, rng.randint(100, 5000))]
            if index % 2:
                accounts.append(_account(customer, AccountType.SAVINGS, rng.randint(5000, 60000)))
            closed = (leaving or {}).get(index)
            if closed is not None:
                accounts = [
                    replace(a, status=AccountStatus.CLOSED, closed_at=closed) for a in accounts
                ]
            for account in accounts:
                await uow.accounts.add(account)
                await uow.transactions.add_many(
                    [_transaction(account, now - timedelta(days=d), rng) for d in range(1, 60, 3)]
                )
            await uow.interactions.add_many(
                [_interaction(customer.id, now - timedelta(days=d), d) for d in (2, 9, 33)]
            )
        await uow.commit()
    return ids


async def add_bare_customer(uow_factory: Callable[[], SqlUnitOfWork]) -> UUID:
    """A customer with a profile and nothing else (no account, so no financial key)."""
    customer = _person(random.Random(1), 0, datetime.now(UTC), None)
    async with uow_factory() as uow:
        await uow.customers.add(customer, _profile(customer, 1))
        await uow.commit()
    return customer.id


def _account(customer: Customer, kind: AccountType, balance: int) -> Account:
    return Account(
        id=uuid4(),
        customer_id=customer.id,
        type=kind,
        name="canary account",
        number_last4=CANARIES[8],
        currency="GBP",
        status=AccountStatus.OPEN,
        opened_at=customer.created_at,
        balance=Decimal(balance),
        closed_at=None,
    )


def _transaction(account: Account, at: datetime, rng: random.Random) -> Transaction:
    fee = rng.random() < 0.2
    return Transaction(
        id=uuid4(),
        customer_id=account.customer_id,
        account_id=account.id,
        booked_at=at,
        value_date=at.date(),
        amount=Decimal("9.99") if fee else Decimal(rng.randint(1, 200)),
        currency="GBP",
        direction=TransactionDirection.DEBIT,
        status=TransactionStatus.BOOKED,
        description=CANARIES[7],
        category="fees" if fee else "groceries",
        merchant=CANARIES[6],
        reference="CANARY-REF",
    )


def _interaction(customer_id: UUID, at: datetime, salt: int) -> Interaction:
    return Interaction(
        id=uuid4(),
        customer_id=customer_id,
        occurred_at=at,
        channel=Channel.PHONE if salt % 2 else Channel.EMAIL,
        direction=InteractionDirection.OUTBOUND if salt == 33 else InteractionDirection.INBOUND,
        kind=InteractionKind.MARKETING if salt == 33 else InteractionKind.COMPLAINT,
        summary="canary summary",
        outcome="canary outcome",
        satisfaction=3,
        campaign=None,
    )


CUSTOMER_ACTOR = Actor(ActorType.CUSTOMER, "test", "test-client")


async def set_analytics(
    uow_factory: Callable[[], SqlUnitOfWork], customer_id: UUID, *, granted: bool
) -> None:
    """Grant or withdraw the customer's analytics consent on the current notice."""
    async with uow_factory() as uow:
        notices = {n.purpose: n for n in await uow.consents.notices()}
    await change_consent(
        uow_factory(),
        customer_id,
        ANALYTICS_PURPOSE,
        granted=granted,
        notice_version=notices[ANALYTICS_PURPOSE].notice_version,
        actor=replace(CUSTOMER_ACTOR, id=str(customer_id)),
    )
