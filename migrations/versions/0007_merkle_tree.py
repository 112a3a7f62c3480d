"""Audit log as an RFC 9162 Merkle tree: tree nodes, signed tree heads, the frontier on
audit_head; append-only triggers on the tree tables and on audit_checkpoints; on SQLite, a
trigger that refuses INSERT OR REPLACE of an existing audit event (REPLACE deletes the old
row without firing delete triggers).

Events already stored are hashed into the tree here, so the tree covers the whole log.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = ("audit_tree_nodes", "audit_tree_heads", "audit_checkpoints")
# The primary key each table's SQLite no-replace trigger checks.
_KEYS = {
    "audit_events": "seq = NEW.seq OR id = NEW.id",
    "audit_tree_nodes": "level = NEW.level AND idx = NEW.idx",
    "audit_tree_heads": "tree_size = NEW.tree_size",
    "audit_checkpoints": "seq = NEW.seq",
}

_PG_FUNCTION = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # ON CONFLICT DO UPDATE fires the UPDATE trigger, so PostgreSQL needs no more.
        op.execute(_PG_FUNCTION)
        for table in _TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
            )
        return
    for table in _TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
    for table, key in _KEYS.items():
        # The names and keys are the constants above, not input.
        guard = f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key})"  # noqa: S608
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} {guard} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END"
        )


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
        return
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    for table in _KEYS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")


def upgrade() -> None:
    """Create the tree tables, hash the stored events into the tree, add the triggers."""
    op.add_column("audit_head", sa.Column("frontier", sa.LargeBinary(), nullable=True))
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", _SEQ, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_tree_heads",
        sa.Column("tree_size", _SEQ, autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.String(100), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_tree_heads")),
    )
    _hash_stored_events()
    _create_triggers()


def downgrade() -> None:
    """Drop the triggers, the tree tables and the frontier."""
    _drop_triggers()
    op.drop_table("audit_tree_heads")
    op.drop_table("audit_tree_nodes")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("frontier")


# --- hashing the events stored before this revision ------------------------------------
# Copies of domain.audit.events.canonical_bytes and the RFC 9162 hashing, so that this
# revision never changes with the code.

_EVENT_COLUMNS = [
    "seq",
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor_role",
    "client_id",
    "subject_id",
    "action",
    "resource_type",
    "resource_id",
    "fields",
    "purpose",
    "outcome",
    "request_id",
    "prev_hash",
]
_EVENTS = sa.table(
    "audit_events",
    *(sa.column(name) for name in _EVENT_COLUMNS),
)
_NODES = sa.table("audit_tree_nodes", sa.column("level"), sa.column("idx"), sa.column("hash"))
_HEAD = sa.table("audit_head", sa.column("id"), sa.column("frontier"))


def _utc(value: Any) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(value: Any) -> str | None:
    if value is None:
        return None
    return str(UUID(str(value)))


def _canonical(row: Any) -> bytes:
    document = {
        "seq": int(row.seq),
        "id": _uuid(row.id),
        "at": _utc(row.at),
        "actor_type": row.actor_type,
        "actor_id": row.actor_id,
        "actor_role": row.actor_role,
        "client_id": row.client_id,
        "subject_id": _uuid(row.subject_id),
        "action": row.action,
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "fields": json.loads(row.fields),
        "purpose": row.purpose,
        "outcome": row.outcome,
        "request_id": row.request_id,
        "prev_hash": bytes(row.prev_hash).hex(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def _hash_stored_events() -> None:
    connection = op.get_bind()
    frontier: list[bytes] = []
    size = 0
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_EVENTS).where(_EVENTS.c.seq > last).order_by(_EVENTS.c.seq).limit(1000)
        ).all()
        if not rows:
            break
        nodes: list[dict[str, Any]] = []
        for row in rows:
            current = hashlib.sha256(b"\x00" + _canonical(row)).digest()
            nodes.append({"level": 0, "idx": size, "hash": current})
            level = 0
            while size >> level & 1:
                current = hashlib.sha256(b"\x01" + frontier.pop() + current).digest()
                level += 1
                nodes.append({"level": level, "idx": size >> level, "hash": current})
            frontier.append(current)
            size += 1
        connection.execute(sa.insert(_NODES), nodes)
        last = int(rows[-1].seq)
    connection.execute(sa.update(_HEAD).where(_HEAD.c.id == 1).values(frontier=b"".join(frontier)))
