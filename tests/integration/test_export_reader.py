"""The export's transaction stream gives exactly the records the repository's transactions
make, in the same order, from rows in either sealed form, and fails loudly on any value that
does not authenticate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import persistence_samples as samples
import pytest
from older_transactions import add_in_the_older_form
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.customer.accounts import Account, Transaction, TransactionDirection
from domain.dsr.archive import transaction_record
from domain.errors import IntegrityError
from domain.retention import RetentionClass
from persistence.customer.tables import TransactionRow
from persistence.dsr.export_reader import transaction_records
from persistence.uow import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]


async def _seed(
    uow_factory: UowFactory, count: int, *, older: bool = False
) -> tuple[Account, list[Transaction]]:
    """An account with `count` transactions; with `older`, those of even index are stored in
    the form of revision 0013 (one sealed value a field), the others as now."""
    customer = samples.customer()
    account = samples.account(customer.id)
    texts = ["Coffee", '=HYPERLINK("x")', "Café Ünïcode ☕", 'quote " and, comma\r\nline']
    transactions = [
        samples.transaction(
            account,
            booked_at=samples.T0 + timedelta(minutes=i // 2),  # ties: the id decides
            description=texts[i % len(texts)],
        )._replace(
            amount=Decimal("1000.00") + Decimal(i) / 100,
            direction=TransactionDirection.CREDIT if i % 3 else TransactionDirection.DEBIT,
            merchant=None if i % 2 else f"Shop {i}",
            reference=None if i % 5 == 0 else f"REF-{i}",
        )
        for i in range(count)
    ]
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.accounts.add(account)
        if older:
            await add_in_the_older_form(uow, transactions[::2])
            await uow.transactions.add_many(transactions[1::2])
        else:
            await uow.transactions.add_many(transactions)
        await uow.commit()
    return account, transactions


async def _streamed(
    uow: SqlUnitOfWork, customer_id: UUID, account_id: UUID, *, batch: int
) -> list[list[dict[str, Any]]]:
    key = await uow.keys.key_for(customer_id, RetentionClass.FINANCIAL)
    return [
        records
        async for records in transaction_records(
            uow.session, customer_id, account_id, key, batch=batch
        )
    ]


@pytest.mark.parametrize("older", [False, True], ids=["sealed-together", "both-forms"])
async def test_the_stream_gives_the_records_of_the_repository_in_its_order(
    uow_factory: UowFactory, older: bool
) -> None:
    account, transactions = await _seed(uow_factory, 11, older=older)
    other_account, _ = await _seed(uow_factory, 3)
    async with uow_factory() as uow:
        expected = [
            transaction_record(transaction)
            for transaction in await uow.transactions.list_for_account(
                account.customer_id, account.id, limit=100
            )
        ]
        batches = await _streamed(uow, account.customer_id, account.id, batch=4)
        # Another customer's account, asked for under this customer: nothing.
        foreign = await _streamed(uow, account.customer_id, other_account.id, batch=4)
    assert [len(batch) for batch in batches] == [4, 4, 3]
    streamed = [record for batch in batches for record in batch]
    assert len(expected) == len(transactions) == 11
    assert streamed == expected
    # The same JSON text too: member order and value types included.
    assert [list(record) for record in streamed] == [list(record) for record in expected]
    assert foreign == []


async def test_the_sealed_api_of_the_dsr_store_streams_too(uow_factory: UowFactory) -> None:
    account, transactions = await _seed(uow_factory, 3)
    async with uow_factory() as uow:
        key = await uow.keys.key_for(account.customer_id, RetentionClass.FINANCIAL)
        streamed = [
            record
            async for batch in uow.dsr.transaction_records(account.customer_id, account.id, key)
            for record in batch
        ]
    assert sorted(record["id"] for record in streamed) == sorted(str(t.id) for t in transactions)


# Rows 0 and 2 are stored in the older form when `older` is set.
_COLUMNS = [
    ("sealed_fields", False),
    ("amount", True),
    ("description", True),
    ("merchant", True),
    ("reference", True),
]


@pytest.mark.parametrize(("column", "older"), _COLUMNS)
async def test_a_value_moved_to_another_row_fails_the_export_loudly(
    engine: AsyncEngine, uow_factory: UowFactory, column: str, older: bool
) -> None:
    account, transactions = await _seed(uow_factory, 4, older=older)
    moved, victim = transactions[0], transactions[2]
    source = getattr(TransactionRow, column)
    async with engine.begin() as connection:
        value = await connection.scalar(select(source).where(TransactionRow.id == moved.id))
        await connection.execute(
            update(TransactionRow).where(TransactionRow.id == victim.id).values({column: value})
        )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _streamed(uow, account.customer_id, account.id, batch=2)


@pytest.mark.parametrize(("column", "older"), [("sealed_fields", False), ("amount", True)])
async def test_a_flipped_byte_or_a_foreign_key_fails_the_export_loudly(
    engine: AsyncEngine, uow_factory: UowFactory, column: str, older: bool
) -> None:
    account, transactions = await _seed(uow_factory, 2, older=older)
    source = getattr(TransactionRow, column)
    async with engine.begin() as connection:
        first = TransactionRow.id == transactions[0].id
        value = await connection.scalar(select(source).where(first))
        flipped = value[:-1] + bytes([value[-1] ^ 1])
        await connection.execute(
            update(TransactionRow)
            .where(TransactionRow.id == transactions[0].id)
            .values({column: flipped})
        )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _streamed(uow, account.customer_id, account.id, batch=10)
    other, _ = await _seed(uow_factory, 1)
    async with uow_factory() as uow:
        wrong_key = await uow.keys.key_for(other.customer_id, RetentionClass.FINANCIAL)
        with pytest.raises(IntegrityError):
            [
                batch
                async for batch in transaction_records(
                    uow.session, account.customer_id, account.id, wrong_key
                )
            ]


async def test_a_stream_stopped_early_leaves_its_unit_of_work_usable(
    uow_factory: UowFactory,
) -> None:
    account, transactions = await _seed(uow_factory, 7)
    async with uow_factory() as uow:
        key = await uow.keys.key_for(account.customer_id, RetentionClass.FINANCIAL)
        stream = transaction_records(uow.session, account.customer_id, account.id, key, batch=2)
        first = await anext(stream)
        await stream.aclose()  # what a failure in the archive writer does to it
        listed = await uow.transactions.list_for_account(account.customer_id, account.id, limit=100)
    assert [record["id"] for record in first] == [str(t.id) for t in listed[:2]]
    assert len(listed) == len(transactions)


@pytest.mark.parametrize(
    "damage",
    [
        lambda sealed: b"",  # emptied
        lambda sealed: sealed[:5],  # truncated inside the nonce
        lambda sealed: sealed[:20],  # truncated inside the tag
        lambda sealed: bytes([sealed[0] + 1]) + sealed[1:],  # an unknown format version
    ],
    ids=["empty", "short-nonce", "short-tag", "version"],
)
@pytest.mark.parametrize(("column", "older"), [("sealed_fields", False), ("merchant", True)])
async def test_a_damaged_value_fails_the_export_loudly(
    engine: AsyncEngine,
    uow_factory: UowFactory,
    damage: Callable[[bytes], bytes],
    column: str,
    older: bool,
) -> None:
    account, transactions = await _seed(uow_factory, 2, older=older)
    source = getattr(TransactionRow, column)
    async with engine.begin() as connection:
        first = TransactionRow.id == transactions[0].id
        value = await connection.scalar(select(source).where(first))
        await connection.execute(
            update(TransactionRow)
            .where(TransactionRow.id == transactions[0].id)
            .values({column: damage(value)})
        )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _streamed(uow, account.customer_id, account.id, batch=10)


@pytest.mark.parametrize("older", [False, True], ids=["sealed-together", "older-form"])
async def test_a_row_without_its_sealed_fields_fails_the_export_loudly(
    engine: AsyncEngine, uow_factory: UowFactory, older: bool
) -> None:
    # Emptied: sealed_fields of a row stored as now, or one of the four of an older row.
    account, transactions = await _seed(uow_factory, 2, older=older)
    column = "reference" if older else "sealed_fields"
    async with engine.begin() as connection:
        await connection.execute(
            update(TransactionRow)
            .where(TransactionRow.id == transactions[0].id)
            .values({column: None})
        )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _streamed(uow, account.customer_id, account.id, batch=10)
