"""OpenID Connect: the nonce an authorization code carries into its ID token; clients that
an operator disabled.

Revision ID: 0011
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add oauth_authorization_codes.nonce and oauth_clients.disabled_at."""
    with op.batch_alter_table("oauth_authorization_codes") as batch:
        batch.add_column(sa.Column("nonce", sa.String(255), nullable=True))
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop oauth_clients.disabled_at and oauth_authorization_codes.nonce."""
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("disabled_at")
    with op.batch_alter_table("oauth_authorization_codes") as batch:
        batch.drop_column("nonce")
