"""api.self_service.dtos.transaction_out: a domain transaction as sent, each field in its
place (the conversion passes them by position, so a field moved in either type shows here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import msgspec

from api.self_service.dtos import transaction_out
from domain.customer.accounts import Transaction, TransactionDirection, TransactionStatus


def test_every_field_is_sent_under_its_own_name_and_the_customer_is_not() -> None:
    transaction = Transaction(
        id=uuid4(),
        customer_id=uuid4(),
        account_id=uuid4(),
        booked_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        value_date=date(2026, 3, 2),
        amount=Decimal("1234.50"),
        currency="EUR",
        direction=TransactionDirection.DEBIT,
        status=TransactionStatus.BOOKED,
        description="Rent, March",
        category="housing",
        merchant="Landlord Ltd",
        reference="REF-7",
    )
    sent = msgspec.to_builtins(transaction_out(transaction))
    assert sent == {
        "id": str(transaction.id),
        "account_id": str(transaction.account_id),
        "booked_at": "2026-03-01T12:30:00Z",
        "value_date": "2026-03-02",
        "amount": "1234.50",
        "currency": "EUR",
        "direction": "debit",
        "status": "booked",
        "description": "Rent, March",
        "category": "housing",
        "merchant": "Landlord Ltd",
        "reference": "REF-7",
    }
