"""Campaign coordination: recorded contacts, per-customer contact locks, contact preferences.

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create campaign_contacts, contact_locks and contact_preferences."""
    op.create_table(
        "campaign_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.String(50), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_campaign_contacts_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_contacts")),
        sa.UniqueConstraint(
            "client_id",
            "idempotency_key",
            name=op.f("uq_campaign_contacts_client_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_campaign_contacts_customer_id_sent_at"),
        "campaign_contacts",
        ["customer_id", "sent_at"],
    )
    op.create_table(
        "contact_locks",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_contact_locks")),
    )
    op.create_table(
        "contact_preferences",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channels", sa.String(40), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("weekly_limit", sa.Integer(), nullable=True),
        sa.Column("monthly_limit", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contact_preferences_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_contact_preferences")),
    )


def downgrade() -> None:
    """Drop the campaign tables."""
    op.drop_table("contact_preferences")
    op.drop_table("contact_locks")
    op.drop_index(op.f("ix_campaign_contacts_customer_id_sent_at"), table_name="campaign_contacts")
    op.drop_table("campaign_contacts")
