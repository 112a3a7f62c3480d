"""persistence.customer.transaction_fields: a transaction's four fields, opened from either
stored form, with the amount as text (`open`) or as a Decimal (`open_typed`)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.errors import IntegrityError
from persistence.crypto import FieldCipher, new_data_key
from persistence.customer.transaction_fields import (
    LEGACY_COLUMNS,
    READ_COLUMNS,
    TABLE,
    TransactionFieldsOpener,
    seal_fields,
)

CIPHER = FieldCipher(new_data_key())
FIELDS = ("1234.50", "Rent, March", "Landlord Ltd", None)


def new_form(transaction_id: UUID) -> list[bytes | None]:
    return [seal_fields(CIPHER, transaction_id, FIELDS), None, None, None, None]


def older_form(transaction_id: UUID) -> list[bytes | None]:
    return [
        None,
        *(
            CIPHER.seal(value, table=TABLE, column=column, row_id=transaction_id)
            for column, value in zip(LEGACY_COLUMNS, FIELDS, strict=True)
        ),
    ]


@pytest.mark.parametrize("stored_as", [new_form, older_form])
def test_both_forms_open_to_the_same_fields_as_text_or_typed(
    stored_as: Callable[[UUID], list[bytes | None]],
) -> None:
    transaction_id = uuid4()
    stored = stored_as(transaction_id)
    opener = TransactionFieldsOpener(CIPHER)
    assert opener.open(transaction_id, stored) == FIELDS
    typed = opener.open_typed(transaction_id, stored)
    assert typed == (Decimal("1234.50"), *FIELDS[1:])
    assert type(typed[0]) is Decimal
    assert str(typed[0]) == "1234.50"
    with pytest.raises(IntegrityError):
        opener.open_typed(uuid4(), stored)  # another row's values


def test_columns_of_many_rows_open_as_each_row_does_in_either_form() -> None:
    ids = [uuid4() for _ in range(4)]
    opener = TransactionFieldsOpener(CIPHER)
    for forms in ([new_form] * 4, [new_form, older_form, new_form, older_form]):
        rows = [stored_as(row_id) for stored_as, row_id in zip(forms, ids, strict=True)]
        columns = list(zip(*rows, strict=True))
        opened = opener.open_columns(ids, columns)
        assert opened == [
            opener.open_typed(row_id, row) for row_id, row in zip(ids, rows, strict=True)
        ]
        assert opened == [(Decimal("1234.50"), *FIELDS[1:])] * 4
        with pytest.raises(IntegrityError):
            opener.open_columns([*ids[:3], uuid4()], columns)  # the last row is another's
    assert opener.open_columns([], [()] * len(READ_COLUMNS)) == []


def test_an_amount_that_is_no_number_or_missing_is_refused_typed() -> None:
    transaction_id = uuid4()
    opener = TransactionFieldsOpener(CIPHER)
    for fields in (("not a number", "x", None, None), (None, "x", None, None)):
        sealed = CIPHER.seal_fields(
            fields, table=TABLE, column="sealed_fields", row_id=transaction_id
        )
        with pytest.raises(IntegrityError):
            opener.open_typed(transaction_id, [sealed, None, None, None, None])


def test_an_older_row_whose_amount_is_no_number_is_refused_typed() -> None:
    # The older form holds the amount as text of its own: Decimal's refusal is the store's
    # fault, an IntegrityError like the new form's, not an arithmetic error.
    transaction_id = uuid4()
    stored = [
        None,
        *(
            CIPHER.seal(value, table=TABLE, column=column, row_id=transaction_id)
            for column, value in zip(LEGACY_COLUMNS, ("12,50", "x", None, None), strict=True)
        ),
    ]
    opener = TransactionFieldsOpener(CIPHER)
    assert opener.open(transaction_id, stored)[0] == "12,50"
    with pytest.raises(IntegrityError):
        opener.open_typed(transaction_id, stored)
    with pytest.raises(IntegrityError):
        opener.open_columns([transaction_id], list(zip(stored, strict=True)))
