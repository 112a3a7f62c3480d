"""Consent: the purpose catalogue (seeded, notice version 1), the append-only consent
ledger and its per-(customer, purpose) lock rows; signed audit checkpoints.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PUBLISHED = datetime(2026, 1, 1, tzinfo=UTC)

# (purpose, legal basis, description, data categories, recipients, retention, withdrawable)
# Copied here, not imported, so this revision never changes with the code.
_CATALOGUE = (
    (
        "service_delivery",
        "contract",
        "We use your details, accounts and transactions to run the accounts you hold with us, "
        "answer your requests and meet our legal duties.",
        ["contact", "financial", "behavioural"],
        ["Custodian", "payment processors"],
        "While you are a customer, then as the law requires (financial records 7 years)",
        False,
    ),
    (
        "marketing_email",
        "consent",
        "We email you about products and offers.",
        ["contact"],
        ["Custodian", "our email delivery provider"],
        "Until you withdraw consent",
        True,
    ),
    (
        "marketing_sms",
        "consent",
        "We text you about products and offers.",
        ["contact"],
        ["Custodian", "our SMS delivery provider"],
        "Until you withdraw consent",
        True,
    ),
    (
        "personalised_offers",
        "consent",
        "We analyse your transactions to choose which offers to show you (profiling).",
        ["financial", "behavioural"],
        ["Custodian"],
        "Until you withdraw consent",
        True,
    ),
    (
        "analytics",
        "consent",
        "We include a pseudonymous, coarse summary of your data in statistics that help us "
        "improve our services.",
        ["demographic", "financial", "behavioural"],
        ["Custodian analysts"],
        "Until you withdraw consent; statistics never identify you",
        True,
    ),
    (
        "third_party_sharing",
        "consent",
        "We share your contact details with selected partners so they can offer you their "
        "products.",
        ["contact"],
        ["selected partners"],
        "Until you withdraw consent; partners delete what they received",
        True,
    ),
    (
        "research",
        "consent",
        "We use pseudonymised data about you in research on financial behaviour.",
        ["demographic", "financial"],
        ["Custodian research team", "academic partners"],
        "Until you withdraw consent",
        True,
    ),
)


def upgrade() -> None:
    """Create the consent and checkpoint tables and seed the purpose catalogue."""
    notices = op.create_table(
        "purpose_notices",
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("notice_version", sa.String(40), nullable=False),
        sa.Column("legal_basis", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_categories", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("retention", sa.String(200), nullable=False),
        sa.Column("withdrawable", sa.Boolean(), nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("purpose", "revision", name=op.f("pk_purpose_notices")),
    )
    op.bulk_insert(
        notices,
        [
            {
                "purpose": purpose,
                "revision": 1,
                "ordinal": ordinal,
                "notice_version": "1",
                "legal_basis": basis,
                "description": description,
                "data_categories": json.dumps(categories),
                "recipients": json.dumps(recipients),
                "retention": retention,
                "withdrawable": withdrawable,
                "published_at": _PUBLISHED,
            }
            for ordinal, (
                purpose,
                basis,
                description,
                categories,
                recipients,
                retention,
                withdrawable,
            ) in enumerate(_CATALOGUE)
        ],
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("notice_version", sa.String(40), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=True),
        sa.Column("actor_role", sa.String(64), nullable=True),
        sa.Column("client_id", sa.String(128), nullable=True),
        sa.Column("collection_method", sa.String(80), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
        sa.UniqueConstraint(
            "customer_id",
            "purpose",
            "position",
            name=op.f("uq_consent_events_customer_id_purpose_position"),
        ),
    )
    op.create_index(op.f("ix_consent_events_customer_id"), "consent_events", ["customer_id"])
    op.create_table(
        "consent_locks",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "purpose", name=op.f("pk_consent_locks")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", _SEQ, autoincrement=False, nullable=False),
        sa.Column("head_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("kid", sa.String(100), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("audit_checkpoints")
    op.drop_table("consent_locks")
    op.drop_index(op.f("ix_consent_events_customer_id"), table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_table("purpose_notices")
