"""Transactions stored the way revision 0013 stored them: amount, description, merchant and
reference each sealed in a column of its own, `sealed_fields` empty. Databases upgraded
from it keep such rows, and every read must still open them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import insert, update

from domain.customer.accounts import Transaction
from domain.retention import RetentionClass
from persistence.customer.tables import TransactionRow
from persistence.sealing import RowSealer, utc_in
from persistence.uow import SqlUnitOfWork


async def add_in_the_older_form(uow: SqlUnitOfWork, transactions: Sequence[Transaction]) -> None:
    """Store `transactions` (their accounts stored already) one sealed value per field, as
    revision 0013 did: the statement names no column that revision lacks."""
    for transaction in transactions:
        sealer = await _sealer(uow, transaction)
        await uow.session.execute(
            insert(TransactionRow).values(
                id=transaction.id,
                account_id=transaction.account_id,
                customer_id=transaction.customer_id,
                booked_at=utc_in(transaction.booked_at),
                value_date=transaction.value_date,
                currency=transaction.currency,
                direction=transaction.direction.value,
                status=transaction.status.value,
                category=transaction.category,
                **_sealed_one_by_one(sealer, transaction),
            )
        )


async def rewrite_in_the_older_form(
    uow: SqlUnitOfWork, transactions: Sequence[Transaction]
) -> None:
    """Rewrite the stored `transactions` one sealed value per field."""
    for transaction in transactions:
        sealer = await _sealer(uow, transaction)
        await uow.session.execute(
            update(TransactionRow)
            .where(TransactionRow.id == transaction.id)
            .values(sealed_fields=None, **_sealed_one_by_one(sealer, transaction))
        )


async def rewrite_all_in_the_older_form(uow: SqlUnitOfWork, customer_ids: Sequence[UUID]) -> int:
    """Rewrite every transaction of the customers one sealed value per field; how many."""
    count = 0
    for customer_id in customer_ids:
        for account in await uow.accounts.list_for_customer(customer_id):
            transactions = await uow.transactions.list_for_account(
                customer_id, account.id, limit=10_000
            )
            await rewrite_in_the_older_form(uow, transactions)
            count += len(transactions)
    return count


async def _sealer(uow: SqlUnitOfWork, transaction: Transaction) -> RowSealer:
    cipher = await uow.keys.cipher_for_writing(transaction.customer_id, RetentionClass.FINANCIAL)
    return RowSealer(cipher, TransactionRow.__tablename__, transaction.id)


def _sealed_one_by_one(sealer: RowSealer, transaction: Transaction) -> dict[str, bytes]:
    return {
        "amount": sealer.seal("amount", str(transaction.amount)),
        "description": sealer.seal("description", transaction.description),
        "merchant": sealer.seal("merchant", transaction.merchant),
        "reference": sealer.seal("reference", transaction.reference),
    }
