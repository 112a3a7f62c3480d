"""Every stored column says what kind of data it holds and how long it is kept, and personal
columns of the customer tables are sealed."""

from __future__ import annotations

from sqlalchemy import LargeBinary

from domain.retention import ENCRYPTED_CLASSES, DataCategory, RetentionClass
from persistence.schema import metadata

ALL_COLUMNS = [column for table in metadata.sorted_tables for column in table.columns]

# The customer's own data: personal values are stored only sealed, under the customer's key.
SEALED_HERE = {
    "profiles": {
        "given_name",
        "family_name",
        "preferred_name",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "address_city",
        "address_region",
        "address_postal_code",
        "address_country",
        "date_of_birth",
        "language",
    },
    "profile_changes": {"old_value", "new_value"},
    "accounts": {"name", "number_last4", "balance"},
    "transactions": {"sealed_fields", "amount", "description", "merchant", "reference"},
    "interactions": {"summary", "outcome", "campaign"},
}
KEYED_HASHES = {"profiles.email_index"}
"""Personal but not sealed: a blind index (HMAC) stores no recoverable value."""
PLAIN_BEHAVIOURAL = {
    "customers.acquisition_channel",
    "interactions.occurred_at",
    "interactions.channel",
    "interactions.direction",
    "interactions.kind",
    "interactions.satisfaction",
}
"""Coarse codes kept in the clear for filtering and analytics (no free text)."""


def test_every_column_declares_category_and_retention() -> None:
    undeclared = [
        f"{column.table.name}.{column.name}"
        for column in ALL_COLUMNS
        if not isinstance(column.info.get("category"), DataCategory)
        or not isinstance(column.info.get("retention"), RetentionClass)
    ]
    assert len(ALL_COLUMNS) > 50
    assert undeclared == [], "columns without a valid category and retention class"


def test_sealed_columns_hold_ciphertext_and_are_never_keys() -> None:
    wrong = [
        f"{column.table.name}.{column.name}"
        for column in ALL_COLUMNS
        if column.info.get("sealed")
        and (
            not isinstance(column.type, LargeBinary)
            or column.primary_key
            or column.index
            or column.unique
        )
    ]
    assert wrong == []


def test_personal_values_of_customer_tables_are_sealed() -> None:
    for table, expected in SEALED_HERE.items():
        columns = metadata.tables[table].columns
        assert {c.name for c in columns if c.info.get("sealed")} == expected, table
        assert all(columns[name].info["retention"] in ENCRYPTED_CLASSES for name in expected)
    in_the_clear = [
        f"{column.table.name}.{column.name}"
        for column in ALL_COLUMNS
        if column.table.name in SEALED_HERE | {"customers": set()}
        and not column.info.get("sealed")
        and column.info["category"]
        in {DataCategory.CONTACT, DataCategory.DEMOGRAPHIC, DataCategory.BEHAVIOURAL}
    ]
    assert set(in_the_clear) <= KEYED_HASHES | PLAIN_BEHAVIOURAL
