"""Staff powers over customers (audit:read, dsr:admin, support:read) belong to a signed-in
member of staff, never to a client acting for itself; every staff event names the person."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from oauth_harness import CONSOLE_REDIRECT, World, running_world
from self_service_seed import audit_events, body, last_seq
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.identity import InvalidScopes, StaffRole
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.migrate import downgrade, upgrade
from persistence.oauth.identity import OAuthClientRow, StaffUserRow

CUSTODIAN = Path(sys.executable).with_name("custodian")


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    async with running_world(db_url, engine, master_key, tmp_path) as created:
        yield created


@pytest.mark.parametrize("scope", [None, "audit:read dsr:admin", "dsr:admin", "audit:read"])
async def test_the_privacy_console_gets_no_token_without_a_person(
    world: World, scope: str | None
) -> None:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = await world.token(data, "privacy-console")
    assert response.status_code in (400, 401), response.text
    assert "access_token" not in response.json()
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize("scope", ["audit:read", "dsr:admin", "support:read", "profile:read"])
async def test_a_service_client_gets_service_scopes_only(world: World, scope: str) -> None:
    refused = await world.token(
        {"grant_type": "client_credentials", "scope": scope}, "analytics-service"
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    allowed = await world.token({"grant_type": "client_credentials"}, "analytics-service")
    assert allowed.json()["scope"] == "analytics:read"


@pytest.mark.parametrize("scope", ["support:read", "audit:read", "dsr:admin", "profile:read"])
async def test_a_service_client_cannot_be_registered_with_a_staff_power(
    world: World, scope: str
) -> None:
    with pytest.raises(InvalidScopes):
        await world.add_client("snoop", public=False, scopes=scope, service=True)
    async with session_factory(world.engine)() as session:
        assert await session.get(OAuthClientRow, "snoop") is None


async def test_staff_events_name_the_signed_in_person(world: World) -> None:
    await world.add_staff("officer@example.org", StaffRole.PRIVACY_OFFICER)
    tokens = await world.tokens_for(
        "officer@example.org",
        client_id="privacy-console",
        scope="audit:read dsr:admin",
        redirect_uri=CONSOLE_REDIRECT,
    )
    async with session_factory(world.engine)() as session:
        officer_id = (await session.scalars(select(StaffUserRow.id))).one()
    before = await last_seq(world)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    body(await world.http.get("/v1/privacy/audit-events", headers=auth))
    body(await world.http.get("/v1/privacy/requests", headers=auth))
    events = await audit_events(world, before)
    assert events, "the officer's reads are audited"
    for event in events:
        assert (event.actor_type, event.actor_id) == ("staff", str(officer_id))
        assert event.actor_role == "privacy_officer"


async def _run_custodian(db_url: str, data_dir: Path, *args: str) -> tuple[int, str, str]:
    environment = {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": db_url,
        "CUSTODIAN_DATA_DIR": str(data_dir),
        "CUSTODIAN_ENV": "development",
    }
    process = await asyncio.create_subprocess_exec(
        str(CUSTODIAN),
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.slow
async def test_client_create_refuses_a_service_client_with_staff_powers(
    db_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    status, out, err = await _run_custodian(
        db_url, tmp_path, "client", "create", "--name", "Snoop", "--service",
        "--scope", "support:read analytics:read", "--client-id", "snoop",
    )  # fmt: skip
    assert status == 1
    assert out == ""
    assert err.startswith("custodian: error: a service client may hold only")
    assert "support:read" in err
    status, out, err = await _run_custodian(
        db_url, tmp_path, "client", "create", "--name", "Stats", "--service",
        "--scope", "analytics:read", "--client-id", "stats",
    )  # fmt: skip
    assert status == 0, err
    assert "client_secret:" in out
    async with session_factory(engine)() as session:
        assert await session.get(OAuthClientRow, "snoop") is None
        stats = await session.get(OAuthClientRow, "stats")
        assert stats is not None
        assert (stats.service, stats.scopes) == (True, "analytics:read")


async def test_the_migration_moves_existing_clients(blank_db_url: str) -> None:
    await upgrade(blank_db_url, "0006")
    engine = make_engine(blank_db_url)
    try:
        async with engine.begin() as connection:
            for client_id, public, uris, scopes in [
                ("privacy-console", False, ["http://127.0.0.1:8766/cb"], "audit:read dsr:admin"),
                ("helpdesk-bot", False, [], "analytics:read support:read"),
                ("reporting", False, [], "analytics:read"),
                ("demo-app", True, ["http://127.0.0.1:8765/cb"], "profile:read"),
            ]:
                await connection.execute(
                    text(
                        "INSERT INTO oauth_clients (client_id, name, public, redirect_uris, "
                        "scopes, secret_hash, created_at) VALUES (:id, :id, :public, :uris, "
                        ":scopes, :secret, CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": client_id,
                        "public": public,
                        "uris": json.dumps(uris),
                        "scopes": scopes,
                        "secret": None if public else "$argon2id$stored",
                    },
                )
        await upgrade(blank_db_url)
        async with session_factory(engine)() as session:
            rows = {row.client_id: row for row in await session.scalars(select(OAuthClientRow))}
        moved = {cid: (row.service, row.scopes) for cid, row in rows.items()}
        assert moved == {
            "privacy-console": (False, "audit:read dsr:admin"),
            "helpdesk-bot": (True, "analytics:read"),
            "reporting": (True, "analytics:read"),
            "demo-app": (False, "profile:read"),
        }
        await downgrade(blank_db_url, "0006")
    finally:
        await engine.dispose()
