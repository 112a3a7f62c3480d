"""One index on transactions, led by the customer and the account, which a page of an
account's transactions walks in order and stops after the page.

It replaces an index on (account_id, booked_at, id) and one on (customer_id, booked_at).
Given the first, PostgreSQL's planner took the customer and the account for independent
conditions, estimated a handful of rows, merged the two indexes and sorted all of the
account's transactions for every page (and for every account of an export); given the
second, it could take that one for a customer it had no statistics for yet, and sort. Every
read of transactions names the customer, so the one index serves them all.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TABLE = "transactions"
_NEW = "ix_transactions_customer_id_account_id_booked_at_id"
_OLD = (
    ("ix_transactions_account_id_booked_at_id", ["account_id", "booked_at", "id"]),
    ("ix_transactions_customer_id_booked_at", ["customer_id", "booked_at"]),
)


def upgrade() -> None:
    """Create the customer's and account's index, drop the two it replaces."""
    op.create_index(_NEW, _TABLE, ["customer_id", "account_id", "booked_at", "id"])
    for name, _columns in _OLD:
        op.drop_index(name, table_name=_TABLE)


def downgrade() -> None:
    """Back to the two indexes."""
    for name, columns in _OLD:
        op.create_index(name, _TABLE, columns)
    op.drop_index(_NEW, table_name=_TABLE)
