"""A transaction's sealed fields: amount, description, merchant and reference, sealed together.

Every read of a transaction wants all four (a page, one transaction, an export; the analytics
projection wants the amount, from the same rows). Sealed one per column, a page of 50
transactions opened 200 AES-GCM values, and the calls, not the bytes, were the cost: about a
sixth of the page's CPU. They are sealed as one value per row, in `sealed_fields`, bound like
every sealed value to its table, column and row (`persistence.crypto.FieldCipher.seal_fields`).

Rows stored before revision 0014 hold the four values in the columns `amount`,
`description`, `merchant` and `reference` instead, and keep them: a migration has no master
key to open and seal them again. `TransactionFieldsOpener` reads either form. A row holds one
form only: what is written now is `sealed_fields`, with the four columns empty; correcting an
older row's description writes the row in the new form.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from msgspec.json import Decoder

from domain.errors import IntegrityError
from persistence.crypto import ColumnOpener, FieldCipher, FieldsOpener
from persistence.customer.tables import TransactionRow

TABLE = TransactionRow.__tablename__
SEALED_FIELDS = "sealed_fields"
"""The column that holds the four fields of a row stored since revision 0014."""
LEGACY_COLUMNS = ("amount", "description", "merchant", "reference")
"""The columns that hold the four fields, one each, of a row stored before it."""

PLAIN_COLUMNS: tuple[Any, ...] = (
    TransactionRow.id,
    TransactionRow.booked_at,
    TransactionRow.value_date,
    TransactionRow.currency,
    TransactionRow.direction,
    TransactionRow.status,
    TransactionRow.category,
)
"""The plaintext columns a read of whole transactions (a page, an export) selects, in this
order, before the `READ_COLUMNS`: a row unpacks by position."""

READ_COLUMNS: tuple[Any, ...] = (
    TransactionRow.sealed_fields,
    TransactionRow.amount,
    TransactionRow.description,
    TransactionRow.merchant,
    TransactionRow.reference,
)
"""What a read selects to open a row's fields, in this order (`TransactionFieldsOpener.open`
takes the values as they come)."""

Fields = tuple[str, str, str | None, str | None]
"""Amount (a decimal text), description, merchant and reference."""

TypedFields = tuple[Decimal, str, str | None, str | None]
"""The same, with the amount as a `Decimal`."""

_TYPED = Decoder(TypedFields)


def seal_fields(cipher: FieldCipher, transaction_id: UUID, fields: Sequence[str | None]) -> bytes:
    """The `sealed_fields` value of the transaction `transaction_id`: `fields` are its
    amount (a decimal text), description, merchant and reference, in this order."""
    if len(fields) != len(LEGACY_COLUMNS) or fields[0] is None or fields[1] is None:
        raise ValueError("a transaction has an amount, a description, a merchant and a reference")
    return cipher.seal_fields(fields, table=TABLE, column=SEALED_FIELDS, row_id=transaction_id)


class TransactionFieldsOpener:
    """Opens the sealed fields of many transactions of one customer, in either form."""

    __slots__ = ("_cipher", "_columns", "_fields", "_typed")

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher
        self._typed = cipher.fields(TABLE, SEALED_FIELDS, len(LEGACY_COLUMNS), shape=_TYPED)
        # Made when first needed: a page of rows in the new form opens them typed only.
        self._fields: FieldsOpener | None = None
        self._columns: ColumnOpener | None = None

    def open(self, transaction_id: UUID, stored: Sequence[Any]) -> Fields:
        """The fields of the transaction `transaction_id` from `stored`, which starts with the
        `READ_COLUMNS` of its row (what follows them is not read). IntegrityError when they
        do not authenticate, or when a row holds neither form."""
        sealed = stored[0]
        if sealed is not None:
            if self._fields is None:
                self._fields = self._cipher.fields(TABLE, SEALED_FIELDS, len(LEGACY_COLUMNS))
            values: Sequence[str | None] = self._fields.open(transaction_id, sealed)
        else:
            legacy = stored[1 : len(READ_COLUMNS)]
            if None in legacy:
                raise IntegrityError(f"{TABLE} holds a row without its sealed fields")
            if self._columns is None:
                self._columns = self._cipher.columns(TABLE, LEGACY_COLUMNS)
            values = self._columns.open(transaction_id, legacy)
        amount, description, merchant, reference = values
        if amount is None or description is None:
            raise IntegrityError(f"{TABLE} holds an unexpectedly empty value")
        return amount, description, merchant, reference

    def open_typed(self, transaction_id: UUID, stored: Sequence[Any]) -> TypedFields:
        """`open`, with the amount as a `Decimal`. A row in the new form decodes straight
        into the types, amount and description checked present by the same decode: no
        Python call a row for the amount, on a page of fifty."""
        if stored[0] is not None:
            return self._typed.open(transaction_id, stored[0])
        amount, description, merchant, reference = self.open(transaction_id, stored)
        try:
            return Decimal(amount), description, merchant, reference
        except ArithmeticError:
            raise IntegrityError(f"{TABLE} holds an amount that is no number") from None

    def open_columns(
        self, transaction_ids: Sequence[UUID], stored: Sequence[Sequence[Any]]
    ) -> list[TypedFields]:
        """`open_typed` for many transactions: `stored` holds the `READ_COLUMNS` of their
        rows column by column, each column's values in the order of `transaction_ids`
        (what follows them is not read). Rows in the new form, all of a page written since
        revision 0014, open in one call; only `sealed_fields` is read then, and the other
        four columns may be left out."""
        sealed = stored[0]
        if None not in sealed:
            return self._typed.open_all(transaction_ids, sealed)
        return [
            self.open_typed(transaction_id, row)
            for transaction_id, row in zip(transaction_ids, zip(*stored, strict=True), strict=True)
        ]
