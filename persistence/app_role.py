"""The least-privileged PostgreSQL role the application runs as.

Migrations run as the owner of the tables (`CUSTODIAN_MIGRATION_DATABASE_URL`); the
application connects as another role (the user of `CUSTODIAN_DATABASE_URL`) that `custodian
migrate` creates or updates here. That role owns nothing, so it cannot ALTER or DROP a table
or a trigger (disabling the append-only triggers needs ownership), cannot CREATE in the
schema, and holds only SELECT and INSERT on the append-only audit tables: even with the
triggers gone it could not UPDATE, DELETE or TRUNCATE audit rows.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.database import make_engine

APPEND_ONLY_TABLES = ("audit_events", "audit_checkpoints", "audit_tree_nodes", "audit_tree_heads")
"""Tables the application may only read and append to."""
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleConfigError(ValueError):
    """The application URL cannot name a separate, safe role."""


def app_role_of(owner_url: str, app_url: str) -> tuple[str, str | None] | None:
    """(role, password) the application connects as, or None when it connects as the owner
    itself (nothing to set up). RoleConfigError for a role name that is not a plain
    lower-case identifier (it is written into SQL)."""
    owner, app = make_url(owner_url), make_url(app_url)
    if app.get_backend_name() != "postgresql" or not app.username:
        return None
    if app.username == owner.username:
        return None
    if not _ROLE.fullmatch(app.username):
        raise RoleConfigError("the application's role must be a lower-case identifier")
    return app.username, app.password


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def _grant(connection: AsyncConnection, role: str, password: str | None) -> None:
    exists = await connection.scalar(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    )
    if not exists:
        await connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    # Re-applied on every run, so a role changed by hand is put back.
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    if password:
        attributes += f" PASSWORD {_literal(password)}"
    await connection.execute(text(f'ALTER ROLE "{role}" {attributes}'))
    database = await connection.scalar(text("SELECT current_database()"))
    statements = [
        f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'REVOKE CREATE ON SCHEMA public FROM "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM "{role}"',
        *(f'REVOKE UPDATE, DELETE ON {table} FROM "{role}"' for table in APPEND_ONLY_TABLES),
        f'REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
    ]
    for statement in statements:
        await connection.execute(text(statement))


async def grant_app_role(owner_url: str, app_url: str) -> str | None:
    """Create or update the application's role and its grants, connected as the owner;
    returns the role (None when the application connects as the owner: nothing to do)."""
    found = app_role_of(owner_url, app_url)
    if found is None:
        return None
    role, password = found
    engine = make_engine(owner_url)
    try:
        async with engine.begin() as connection:
            await _grant(connection, role, password)
    finally:
        await engine.dispose()
    return role
