"""The app a profile change came through: `profile_changes.client_id`.

A customer's change made through an app names that app in the history, as the access log
names it for the same request. Rows stored before this revision have no record of it and
keep null ("not recorded"); nothing can fill them in afterwards.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add profile_changes.client_id, null for the rows already there."""
    with op.batch_alter_table("profile_changes") as batch:
        batch.add_column(sa.Column("client_id", sa.String(100), nullable=True))


def downgrade() -> None:
    """Drop profile_changes.client_id."""
    with op.batch_alter_table("profile_changes") as batch:
        batch.drop_column("client_id")
