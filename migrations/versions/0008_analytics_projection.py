"""The analytics projection: its key state, members, monthly facts and contacts.

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_AMOUNT = sa.Numeric(14, 2)


def upgrade() -> None:
    """Create the projection tables and its first key salt."""
    state = op.create_table(
        "analytics_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("key_salt", sa.LargeBinary(32), nullable=False),
        sa.Column("next_salt", sa.LargeBinary(32), nullable=True),
        sa.Column("rebuilt_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_state")),
    )
    op.create_table(
        "analytics_members",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("age_band", sa.String(8), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("tenure_band", sa.String(8), nullable=False),
        sa.Column("products", sa.SmallInteger(), nullable=False),
        sa.Column("joined_month", sa.String(7), nullable=False),
        sa.Column("left_month", sa.String(7), nullable=True),
        sa.Column("referred", sa.Boolean(), nullable=False),
        sa.Column("referrals_made", sa.Integer(), nullable=False),
        sa.Column("member_since", sa.String(7), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_analytics_members")),
    )
    op.create_index(op.f("ix_analytics_members_generation"), "analytics_members", ["generation"])
    op.create_table(
        "analytics_months",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("balance_band", sa.String(10), nullable=False),
        sa.Column("revenue", _AMOUNT, nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("transaction_value", _AMOUNT, nullable=False),
        sa.Column("marketing_contacts", sa.Integer(), nullable=False),
        sa.Column("referrals_made", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", "month", name=op.f("pk_analytics_months")),
    )
    op.create_index(op.f("ix_analytics_months_month_tier"), "analytics_months", ["month", "tier"])
    op.create_table(
        "analytics_contacts",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("balance_band", sa.String(10), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("satisfaction_sum", sa.Integer(), nullable=False),
        sa.Column("satisfaction_n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "pseudonym", "month", "channel", name=op.f("pk_analytics_contacts")
        ),
    )
    op.create_index(
        op.f("ix_analytics_contacts_month_channel"), "analytics_contacts", ["month", "channel"]
    )
    # A random salt per installation: the projection key is derived from the master key
    # and this salt, so pseudonyms differ between installations sharing nothing else.
    op.bulk_insert(state, [{"id": 1, "generation": 1, "key_salt": os.urandom(32)}])


def downgrade() -> None:
    """Drop the projection tables."""
    op.drop_index(op.f("ix_analytics_contacts_month_channel"), table_name="analytics_contacts")
    op.drop_table("analytics_contacts")
    op.drop_table("analytics_months")
    op.drop_index(op.f("ix_analytics_members_generation"), table_name="analytics_members")
    op.drop_table("analytics_members")
    op.drop_table("analytics_state")
