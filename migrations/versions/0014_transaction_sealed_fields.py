"""A transaction's amount, description, merchant and reference sealed as one value.

Adds `transactions.sealed_fields`, where rows are now written with the four fields sealed
together (one AES-GCM value a row, where a page of 50 rows opened 200), and lets the four
columns that held them one value each be empty. The rows already stored keep those four
columns: opening and sealing them again needs the master key, which a migration does not
have, and the application reads both forms (persistence/customer/transaction_fields.py).

The downgrade restores the four columns as required, so it refuses while any row holds only
the new form: the older code could not read it, and without the master key it cannot be
turned back.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TABLE = "transactions"
_ONE_EACH = ("amount", "description", "merchant", "reference")


def upgrade() -> None:
    """Add sealed_fields; the four single-value columns may now be empty."""
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("sealed_fields", sa.LargeBinary(), nullable=True))
        for column in _ONE_EACH:
            batch.alter_column(column, existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    """Drop sealed_fields and require the four columns again, unless a row needs it."""
    in_new_form = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM transactions WHERE sealed_fields IS NOT NULL")
    )
    if in_new_form:
        raise RuntimeError(
            f"{in_new_form} transactions hold their fields in sealed_fields only, which "
            "revision 0013 cannot read; a downgrade would lose them"
        )
    with op.batch_alter_table(_TABLE) as batch:
        for column in _ONE_EACH:
            batch.alter_column(column, existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("sealed_fields")
