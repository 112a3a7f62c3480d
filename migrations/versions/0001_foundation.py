"""Foundation: customers, profiles and their history, accounts, transactions, interactions,
and the data-key store (wrapped keys and the tombstones of destroyed ones).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _sealed(name: str) -> sa.Column[bytes]:
    return sa.Column(name, sa.LargeBinary(), nullable=False)


def upgrade() -> None:
    """Create the foundation tables."""
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("acquisition_channel", sa.String(20), nullable=False),
        sa.Column("referred_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referred_by"], ["customers.id"], name="fk_customers_referred_by_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )
    op.create_index("ix_customers_referred_by", "customers", ["referred_by"])

    op.create_table(
        "profiles",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("email_index", sa.LargeBinary(32), nullable=True),
        *(
            _sealed(name)
            for name in (
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
            )
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_profiles_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_profiles"),
        sa.UniqueConstraint("email_index", name="uq_profiles_email_index"),
    )

    op.create_table(
        "profile_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(50), nullable=False),
        _sealed("old_value"),
        _sealed("new_value"),
        sa.Column("actor", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=True),
        sa.Column("at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_profile_changes_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_profile_changes"),
    )
    op.create_index(
        "ix_profile_changes_customer_id_version_id",
        "profile_changes",
        ["customer_id", "version", "id"],
    )

    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        _sealed("name"),
        _sealed("number_last4"),
        _sealed("balance"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", _utc(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_accounts_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_index(
        "ix_accounts_customer_id_opened_at_id", "accounts", ["customer_id", "opened_at", "id"]
    )

    op.create_table(
        "transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("booked_at", _utc(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        _sealed("amount"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        _sealed("description"),
        _sealed("merchant"),
        _sealed("reference"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_transactions_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_transactions_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_transactions"),
    )
    op.create_index(
        "ix_transactions_account_id_booked_at_id", "transactions", ["account_id", "booked_at", "id"]
    )
    op.create_index(
        "ix_transactions_customer_id_booked_at", "transactions", ["customer_id", "booked_at"]
    )

    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        _sealed("summary"),
        _sealed("outcome"),
        sa.Column("satisfaction", sa.SmallInteger(), nullable=True),
        _sealed("campaign"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_interactions_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
    )
    op.create_index(
        "ix_interactions_customer_id_occurred_at_id",
        "interactions",
        ["customer_id", "occurred_at", "id"],
    )

    op.create_table(
        "data_keys",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("retention_class", sa.String(20), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_data_keys_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("customer_id", "retention_class", name="pk_data_keys"),
    )
    op.create_table(
        "destroyed_keys",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("retention_class", sa.String(20), nullable=False),
        sa.Column("destroyed_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_destroyed_keys_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("customer_id", "retention_class", name="pk_destroyed_keys"),
    )


def downgrade() -> None:
    """Drop the foundation tables (children first)."""
    for table in (
        "destroyed_keys",
        "data_keys",
        "interactions",
        "transactions",
        "accounts",
        "profile_changes",
        "profiles",
        "customers",
    ):
        op.drop_table(table)
