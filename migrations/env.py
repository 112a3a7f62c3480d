"""Alembic environment: runs revisions through the project's async engine.

Configured by `persistence.migrate.alembic_config`, which passes the database URL in
`config.attributes["url"]` (no alembic.ini, so no URL escaping and no file to keep in step).
The `CUSTODIAN_DATABASE_URL` variable is the fallback for a bare `alembic` command line.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from persistence.database import is_sqlite, make_engine
from persistence.schema import metadata

config = context.config


def _database_url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("CUSTODIAN_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: use persistence.migrate or set CUSTODIAN_DATABASE_URL")
    return str(url)


def _run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        compare_type=True,
        # Our SQLite connections issue BEGIN themselves (persistence.database), so DDL is
        # transactional there too: a failed upgrade leaves the schema as it was.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            # Foreign keys are off while batch mode rebuilds tables; prove nothing broke.
            broken = connection.execute(text("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")


async def _run_online(url: str) -> None:
    engine = make_engine(url, enforce_foreign_keys=not is_sqlite(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


def _run_to_completion(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run `coroutine` on a fresh event loop, even when this thread already runs one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    # Called synchronously from inside a running loop (not the supported path: see
    # persistence.migrate, which calls Alembic from a worker thread): use our own thread.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001  (re-raised in the caller's thread)
            errors.append(error)

    worker = threading.Thread(target=target, name="alembic-migrations")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


if context.is_offline_mode():
    context.configure(
        url=_database_url(),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(_database_url()),
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_to_completion(_run_online(_database_url()))
