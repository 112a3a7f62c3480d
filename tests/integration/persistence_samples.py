"""Sample domain objects for the persistence tests, with every optional field filled in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

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

T0 = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def customer(*, referred_by: UUID | None = None) -> Customer:
    return Customer(
        id=uuid4(),
        status=CustomerStatus.ACTIVE,
        created_at=T0,
        acquisition_channel=AcquisitionChannel.REFERRAL,
        referred_by=referred_by,
    )


def profile(
    customer_id: UUID,
    *,
    email: str | None = None,
    given_name: str = "Ada",
    family_name: str = "Lovelace",
    phone: str = "+447700900123",
    line1: str = "12 Analytical Row",
    city: str = "London",
) -> Profile:
    return Profile(
        customer_id=customer_id,
        given_name=given_name,
        family_name=family_name,
        email=Email(email or f"ada.{customer_id.hex[:8]}@example.org"),
        preferred_name="Countess",
        phone=PhoneNumber(phone),
        address=PostalAddress(
            line1=line1,
            line2="Flat 3",
            city=city,
            region="Greater London",
            postal_code="N1 9GU",
            country="GB",
        ),
        date_of_birth=date(1985, 12, 10),
        language="en-GB",
    )


def account(customer_id: UUID, *, opened_at: datetime = T0) -> Account:
    return Account(
        id=uuid4(),
        customer_id=customer_id,
        type=AccountType.CURRENT,
        name="Everyday account",
        number_last4="4242",
        currency="GBP",
        status=AccountStatus.OPEN,
        opened_at=opened_at,
        balance=Decimal("1234.50"),
        closed_at=None,
    )


def transaction(
    acct: Account,
    *,
    booked_at: datetime = T0,
    description: str = "Coffee",
    status: TransactionStatus = TransactionStatus.BOOKED,
) -> Transaction:
    return Transaction(
        id=uuid4(),
        customer_id=acct.customer_id,
        account_id=acct.id,
        booked_at=booked_at,
        value_date=booked_at.date(),
        amount=Decimal("3.10"),
        currency="GBP",
        direction=TransactionDirection.DEBIT,
        status=status,
        description=description,
        category="eating_out",
        merchant="Bean There Ltd",
        reference="REF-0001",
    )


def interaction(
    customer_id: UUID,
    *,
    occurred_at: datetime = T0,
    summary: str = "Asked about fees",
    channel: Channel = Channel.PHONE,
) -> Interaction:
    return Interaction(
        id=uuid4(),
        customer_id=customer_id,
        occurred_at=occurred_at,
        channel=channel,
        direction=InteractionDirection.INBOUND,
        kind=InteractionKind.SUPPORT,
        summary=summary,
        outcome="Explained the tariff",
        satisfaction=4,
        campaign="spring-2024",
    )


def hours(n: int) -> timedelta:
    return timedelta(hours=n)
