"""Deterministic synthetic customers: one customer's whole history from (seed, index).

Every customer draws from its own `random.Random` seeded with the load's seed and the
customer's index, and its own reseeded Faker, so customer 7 of seed 42 is the same person
whatever else is loaded, and a load of 10 customers extends a load of 5 instead of
replacing it. Ids come from the same streams (the customer id is a UUIDv5 of seed and
index), so a rerun produces identical ids. Only profiles use Faker; transactions are
table look-ups in `persistence.demo.catalogue` (see `persistence.demo.transactions`).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from domain.customer.accounts import Account, AccountStatus, AccountType
from domain.customer.interactions import Interaction, InteractionKind
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.values import Email, PhoneNumber, PostalAddress
from persistence.demo import catalogue as cat
from persistence.demo.transactions import (
    HISTORY_MONTHS,
    AccountHistory,
    Budget,
    Movement,
    make_budget,
    month_periods,
)

if TYPE_CHECKING:
    from faker import Faker

DEMO_NAMESPACE = UUID("6f1c2a9e-4d3b-5e8f-9a07-c0d1e2f3a4b5")
"""Namespace of the demo customers' UUIDv5 ids."""
DEFAULT_SEED = 42
_ZERO = Decimal(0)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class DemoIdentity:
    """Who a demo customer is: the aggregate and the profile, without their history."""

    customer: Customer
    profile: Profile
    market: cat.Market


@dataclass(slots=True)
class DemoCustomer:
    """One generated customer with everything they hold, ready to store.

    `ledgers` pairs each account (its balance is what its booked movements add up to) with
    its movements, in no particular order.
    """

    index: int
    customer: Customer
    profile: Profile
    ledgers: list[tuple[Account, list[Movement]]]
    interactions: list[Interaction]

    @property
    def accounts(self) -> list[Account]:
        """The customer's accounts, the current account first."""
        return [account for account, _ in self.ledgers]

    @property
    def transaction_count(self) -> int:
        """How many transactions all the accounts hold together."""
        return sum(len(movements) for _, movements in self.ledgers)


def demo_customer_id(seed: int, index: int) -> UUID:
    """The id of demo customer `index` of `seed`: the same on every run and every machine."""
    return uuid5(DEMO_NAMESPACE, f"{seed}:{index}")


def random_uuid(rng: random.Random) -> UUID:
    """A version 4 UUID drawn from `rng` (so a seed reproduces it)."""
    return UUID(int=rng.getrandbits(128), version=4)


def demo_transaction_ids(seed: int, index: int) -> Iterator[UUID]:
    """The ids of demo customer `index`'s transactions, in the order they are stored.

    UUIDv8 (RFC 9562's layout for custom ids), ordered by (seed, customer, row): a load
    then appends to the primary-key index instead of touching every page of it with each
    batch, which halves the time of a 1000-customer load. The other 62 bits come from a
    seeded stream, so the ids are as reproducible as everything else.

        seed (16 bits) | customer (24) | row >> 12 (8) | 8 (4) | row & 0xfff (12)
        | variant 0b10 (2) | random (62)
    """
    rng = random.Random(f"custodian-demo:{seed}:{index}:transaction-ids")  # noqa: S311
    prefix = ((seed & 0xFFFF) << 112) | ((index & 0xFFFFFF) << 88) | (8 << 76) | (2 << 62)
    for row in range(1 << 20):
        yield UUID(int=prefix | ((row >> 12) << 80) | ((row & 0xFFF) << 64) | rng.getrandbits(62))
    raise RuntimeError("a demo customer has at most 2**20 transactions")


LEAVING_SHARE = 0.12
"""Demo customers who close every account during the history (churn)."""


def _maybe_leave(
    seed: int,
    index: int,
    customer: Customer,
    histories: list[AccountHistory],
    *,
    history_start: datetime,
    end: datetime,
) -> None:
    """Close every account of about LEAVING_SHARE of the customers at one moment of the
    history (at least two months after they joined). A generator of its own, so the other
    demo data stays what it was for a seed."""
    rng = random.Random(f"custodian-demo:{seed}:{index}:leaving")  # noqa: S311
    earliest = max(history_start, customer.created_at + timedelta(days=60))
    if rng.random() >= LEAVING_SHARE or earliest >= end - timedelta(days=20):
        return
    left = earliest + (end - timedelta(days=20) - earliest) * rng.random()
    for history in histories:
        account = history.account
        closed = max(min(account.closed_at or left, left), account.opened_at + timedelta(days=1))
        history.account = replace(account, closed_at=closed, status=AccountStatus.CLOSED)


def demo_email(given_name: str, family_name: str, seed: int, index: int) -> str:
    """A unique, ASCII, undeliverable (example.com) address for a demo customer.

    The index makes it unique within a seed; a seed other than the default is named too,
    so loads with two seeds never collide on the unique email index.
    """
    local = f"{_ascii(given_name)}.{_ascii(family_name)}.{index + 1}"
    if seed != DEFAULT_SEED:
        local += f".s{seed}"
    return f"{local}@example.com"


def demo_identity(seed: int, index: int, as_of: date) -> DemoIdentity:
    """Demo customer `index` of `seed` as of `as_of`, without accounts or history (cheap)."""
    return _identity(_rng(seed, index), seed, index, as_of)


def generate_customer(seed: int, index: int, as_of: date) -> DemoCustomer:
    """Generate demo customer `index` of `seed`, with history up to (excluding) `as_of`.

    The result depends on nothing but the three arguments (and the installed Faker).
    """
    rng = _rng(seed, index)
    identity = _identity(rng, seed, index, as_of)
    customer = identity.customer
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    histories = _accounts(rng, identity.market, customer, end)
    periods = month_periods(as_of, HISTORY_MONTHS)
    _maybe_leave(seed, index, customer, histories, history_start=periods[0][0], end=end)
    for history in histories:  # the current account comes first
        history.start(periods)
    # Other accounts before the current one: a card repays what it spent the month before.
    for history in (*histories[1:], histories[0]):
        history.generate(periods)
    start = max(periods[0][0], customer.created_at)
    return DemoCustomer(
        index=index,
        customer=customer,
        profile=identity.profile,
        ledgers=[(h.finished_account(), h.movements) for h in histories],
        interactions=_interactions(rng, customer.id, start, end),
    )


def _rng(seed: int, index: int) -> random.Random:
    # Demo data, not secrets: a seeded, reproducible generator is the point.
    return random.Random(f"custodian-demo:{seed}:{index}")  # noqa: S311


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("", folded.lower()) or "customer"


def _identity(rng: random.Random, seed: int, index: int, as_of: date) -> DemoIdentity:
    market = rng.choices(cat.MARKETS, cum_weights=cat.MARKET_WEIGHTS)[0]
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    customer = _customer(rng, seed, index, end)
    profile = _profile(rng, market, customer.id, seed=seed, index=index, as_of=as_of)
    return DemoIdentity(customer, profile, market)


def _customer(rng: random.Random, seed: int, index: int, end: datetime) -> Customer:
    channel = rng.choices(cat.ACQUISITION_CHANNELS, cum_weights=cat.ACQUISITION_WEIGHTS)[0]
    referred_by = None
    if channel is AcquisitionChannel.REFERRAL:
        # Only an earlier customer can have referred this one, so the referrer is always
        # stored first (same batch or an earlier one) and the foreign key holds.
        if index == 0:
            channel = AcquisitionChannel.WEB
        else:
            referred_by = demo_customer_id(seed, rng.randrange(index))
    # Half joined in the last three years, half up to twelve years ago.
    joined_days_ago = rng.choice((rng.randint(90, 1095), rng.randint(1095, 4380)))
    return Customer(
        id=demo_customer_id(seed, index),
        status=CustomerStatus.ACTIVE,
        created_at=end - timedelta(days=joined_days_ago, seconds=rng.randrange(86400)),
        acquisition_channel=channel,
        referred_by=referred_by,
    )


@cache
def _faker(locale: str) -> Faker:
    # Imported on first use: Faker takes a quarter of a second to import, and every
    # `custodian` command imports this module, while only `demo` generates people.
    from faker import Faker  # noqa: PLC0415

    return Faker(locale)


def _profile(
    rng: random.Random, market: cat.Market, customer_id: UUID, *, seed: int, index: int, as_of: date
) -> Profile:
    fake = _faker(market.locale)
    fake.seed_instance(rng.getrandbits(64))
    given, family = fake.first_name(), fake.last_name()
    phone = market.phone_prefix + "".join(
        str(rng.randrange(10)) for _ in range(market.phone_digits)
    )
    region = fake.state_abbr() if market.country == "US" else None
    unit, label = rng.randint(1, 40), cat.UNIT_LABELS.get(market.country)
    line2 = f"{label} {unit}" if label and rng.random() < 0.15 else None
    address = PostalAddress(
        line1=fake.street_address().strip(),
        line2=line2,
        city=fake.city(),
        region=region,
        postal_code=fake.postcode(),
        country=market.country,
    )
    age_days = rng.randint(18 * 365 + 5, 85 * 365)
    return Profile(
        customer_id=customer_id,
        given_name=given,
        family_name=family,
        preferred_name=given.split()[0] if rng.random() < 0.2 else None,
        email=Email(demo_email(given, family, seed, index)),
        phone=PhoneNumber(phone),
        address=address,
        date_of_birth=as_of - timedelta(days=age_days),
        language=market.language,
    )


def _accounts(
    rng: random.Random, market: cat.Market, customer: Customer, end: datetime
) -> list[AccountHistory]:
    """A current account for everyone, and zero to three other kinds of account."""
    extra_count = rng.choices((0, 1, 2, 3), weights=(20, 35, 30, 15))[0]
    extra_types: list[AccountType] = []
    while len(extra_types) < extra_count:
        kind = rng.choices(cat.EXTRA_ACCOUNT_TYPES, cum_weights=cat.EXTRA_ACCOUNT_WEIGHTS)[0]
        if kind not in extra_types:
            extra_types.append(kind)
    budget = make_budget(rng, market, set(extra_types))
    current = _open_account(
        rng, market, budget, customer, kind=AccountType.CURRENT, opened=customer.created_at, end=end
    )
    histories = [current]
    for kind in extra_types:
        span = max(int((end - customer.created_at).total_seconds()) - 30 * 86400, 86400)
        opened = customer.created_at + timedelta(seconds=rng.randrange(span))
        history = _open_account(rng, market, budget, customer, kind=kind, opened=opened, end=end)
        history.link(current)
        histories.append(history)
    return histories


def _open_account(
    rng: random.Random,
    market: cat.Market,
    budget: Budget,
    customer: Customer,
    *,
    kind: AccountType,
    opened: datetime,
    end: datetime,
) -> AccountHistory:
    closed: datetime | None = None
    if kind is not AccountType.CURRENT and rng.random() < 0.06:
        closed = opened + (end - opened) * (0.5 + rng.random() / 2)
    account = Account(
        id=random_uuid(rng),
        customer_id=customer.id,
        type=kind,
        name=rng.choice(cat.ACCOUNT_NAMES[kind]),
        number_last4=f"{rng.randrange(10000):04d}",
        currency=market.currency,
        status=AccountStatus.CLOSED if closed else AccountStatus.OPEN,
        opened_at=opened,
        balance=_ZERO,
        closed_at=closed,
    )
    stream = random.Random(rng.getrandbits(64))  # noqa: S311  (reproducible demo data)
    return AccountHistory(account, market, budget, stream)


def _interactions(
    rng: random.Random, customer_id: UUID, start: datetime, end: datetime
) -> list[Interaction]:
    """Contacts on every channel over the history: mostly support, notifications, marketing."""
    window = max(int((end - start).total_seconds()), 1)
    count = rng.randint(8, 36)
    scripts = rng.choices(cat.INTERACTION_SCRIPTS, cum_weights=cat.INTERACTION_WEIGHTS, k=count)
    interactions = []
    for script in scripts:
        satisfaction = None
        if script.scored and rng.random() < 0.6:
            complaint = script.kind is InteractionKind.COMPLAINT
            # Complaints are scored lower than the rest; most scores are 4 or 5.
            weights = (25, 25, 25, 15, 10) if complaint else (3, 6, 16, 35, 40)
            satisfaction = rng.choices((1, 2, 3, 4, 5), weights=weights)[0]
        campaign = None
        if script.kind is InteractionKind.MARKETING or (
            script.kind is InteractionKind.SALES and rng.random() < 0.5
        ):
            campaign = rng.choice(cat.CAMPAIGNS)
        interactions.append(
            Interaction(
                id=random_uuid(rng),
                customer_id=customer_id,
                occurred_at=start + timedelta(seconds=rng.randrange(window)),
                channel=rng.choice(script.channels),
                direction=script.direction,
                kind=script.kind,
                summary=rng.choice(script.summaries),
                outcome=rng.choice(script.outcomes),
                satisfaction=satisfaction,
                campaign=campaign,
            )
        )
    return interactions
