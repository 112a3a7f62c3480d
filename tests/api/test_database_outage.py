"""The database going away under a running API: 503 problem+json with Retry-After, never a
500, and service again without a restart once it is back.

PostgreSQL only: terminating a server's connections and refusing new ones is what a
database restart or failover looks like, and SQLite has no server to lose.
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from oauth_harness import World
from sqlalchemy.engine import make_url
from throwaway_db import PG_ADMIN_URL

pytestmark = pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)


async def _admin(statement: str, *args: object) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def _terminate(database: str) -> None:
    # With a timeout, pg_terminate_backend returns once each backend has exited.
    await _admin(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["type"] == "urn:custodian:problem:database-unavailable"
    assert body["status"] == 503
    assert "127.0.0.1" not in response.text  # no connection details


async def test_terminated_connections_are_a_503_then_served_again(
    world: World, db_url: str
) -> None:
    await world.add_customer("ada@example.org")
    token = (await world.tokens_for("ada@example.org"))["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await world.http.get("/v1/me/profile", headers=auth)).status_code == 200

    # Every pooled connection dies while idle in the pool (a database restart, a failover):
    # the first request to use one learns it then.
    await _terminate(str(make_url(db_url).database))
    _assert_unavailable(await world.http.get("/v1/me/profile", headers=auth))

    # The pool threw the dead connections away: the next requests are served.
    assert (await world.http.get("/v1/me/profile", headers=auth)).status_code == 200
    assert (await world.http.get("/v1/me/accounts", headers=auth)).status_code == 200


async def test_a_database_refusing_connections_is_a_503_and_readyz_recovers_by_itself(
    world: World, db_url: str
) -> None:
    await world.add_customer("ada@example.org")
    token = (await world.tokens_for("ada@example.org"))["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    database = str(make_url(db_url).database)
    await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        await _terminate(database)
        for _ in range(2):  # the dead pooled connection, then a refused new one
            _assert_unavailable(await world.http.get("/v1/me/profile", headers=auth))
        ready = await world.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"
    finally:
        await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    assert (await world.http.get("/readyz")).status_code == 200
    assert (await world.http.get("/v1/me/profile", headers=auth)).status_code == 200
