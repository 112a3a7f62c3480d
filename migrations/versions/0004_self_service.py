"""Self-service: correction requests for data the customer cannot edit directly.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _sealed(name: str) -> sa.Column[bytes]:
    return sa.Column(name, sa.LargeBinary(), nullable=False)


def upgrade() -> None:
    """Create correction_requests."""
    op.create_table(
        "correction_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("target_type", sa.String(20), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(50), nullable=False),
        _sealed("current_value"),
        _sealed("requested_value"),
        _sealed("reason"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        _sealed("decision_reason"),
        _sealed("previous_value"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_correction_requests_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_requests")),
    )
    op.create_index(
        op.f("ix_correction_requests_customer_id_received_at_id"),
        "correction_requests",
        ["customer_id", "received_at", "id"],
    )
    op.create_index(
        op.f("ix_correction_requests_target_id_field"),
        "correction_requests",
        ["target_id", "field"],
    )


def downgrade() -> None:
    """Drop correction_requests."""
    op.drop_table("correction_requests")
