"""Service clients carry service scopes only; progressive sign-in delays; single-use
consent tickets; the sign-in time of each token family (`auth_time`); the grace period of
an erasure (`erase_after`) and the status it held; officer-approved access grants.

Adds `oauth_clients.service` and moves existing clients: a confidential client without a
redirect URI could only ever act for itself, so it becomes a service client and keeps only
its service scopes (staff powers over customers go to signed-in staff alone); every other
client is an app people sign in through (authorization code), the privacy console included.

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None

# Frozen here, not imported: a migration must mean the same thing whatever the code says later.
_SERVICE_SCOPES = frozenset({"analytics:read", "campaigns:write"})

_clients = sa.table(
    "oauth_clients",
    sa.column("client_id", sa.String()),
    sa.column("public", sa.Boolean()),
    sa.column("redirect_uris", sa.Text()),
    sa.column("scopes", sa.Text()),
    sa.column("service", sa.Boolean()),
)


_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the service flag and move existing clients; progressive sign-in delays; single
    use of consent tickets."""
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column("service", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _move_service_clients()
    with op.batch_alter_table("login_throttle") as batch:
        batch.add_column(sa.Column("last_failure_at", _TS, nullable=True))
    with op.batch_alter_table("oauth_grants") as batch:
        batch.add_column(sa.Column("auth_time", _TS, nullable=True))
    with op.batch_alter_table("dsr_requests") as batch:
        batch.add_column(sa.Column("erase_after", _TS, nullable=True))
        batch.add_column(sa.Column("held_status", sa.String(20), nullable=True))
    op.create_table(
        "access_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("ticket", sa.String(32), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("granted_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_access_grants_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grants")),
    )
    op.create_index(
        op.f("ix_access_grants_customer_id_staff_id"), "access_grants", ["customer_id", "staff_id"]
    )
    op.create_table(
        "consent_ticket_uses",
        sa.Column("ticket_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("ticket_hash", name=op.f("pk_consent_ticket_uses")),
    )


def _move_service_clients() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_clients.c.client_id, _clients.c.redirect_uris, _clients.c.scopes).where(
            _clients.c.public.is_(False)
        )
    ).all()
    for client_id, redirect_uris, scopes in rows:
        if json.loads(redirect_uris or "[]"):
            continue
        kept = " ".join(sorted(set((scopes or "").split()) & _SERVICE_SCOPES))
        bind.execute(
            sa.update(_clients)
            .where(_clients.c.client_id == client_id)
            .values(service=True, scopes=kept)
        )


def downgrade() -> None:
    """Undo the schema changes (scopes removed from service clients are not given back)."""
    op.drop_table("consent_ticket_uses")
    op.drop_index(op.f("ix_access_grants_customer_id_staff_id"), table_name="access_grants")
    op.drop_table("access_grants")
    with op.batch_alter_table("dsr_requests") as batch:
        batch.drop_column("held_status")
        batch.drop_column("erase_after")
    with op.batch_alter_table("oauth_grants") as batch:
        batch.drop_column("auth_time")
    with op.batch_alter_table("login_throttle") as batch:
        batch.drop_column("last_failure_at")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("service")
