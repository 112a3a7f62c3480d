"""Data-subject requests and the durable job queue.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create jobs and dsr_requests."""
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", _TS, nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_status_run_after"), "jobs", ["status", "run_after"])
    op.create_table(
        "dsr_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(20), nullable=False),
        sa.Column("requested_by_id", sa.String(100), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("extended_at", _TS, nullable=True),
        sa.Column("extension_reason", sa.String(1000), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("active_key", sa.String(80), nullable=True),
        sa.Column("archive_size", _BIG, nullable=True),
        sa.Column("archive_sha256", sa.String(64), nullable=True),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_dsr_requests_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_requests")),
        sa.UniqueConstraint("active_key", name=op.f("uq_dsr_requests_active_key")),
    )
    op.create_index(
        op.f("ix_dsr_requests_customer_id_received_at"),
        "dsr_requests",
        ["customer_id", "received_at"],
    )
    op.create_index(op.f("ix_dsr_requests_status_due_at"), "dsr_requests", ["status", "due_at"])


def downgrade() -> None:
    """Drop dsr_requests and jobs."""
    op.drop_table("dsr_requests")
    op.drop_table("jobs")
