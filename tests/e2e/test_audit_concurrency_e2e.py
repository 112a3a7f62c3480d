"""32 concurrent audited requests across 2 real `custodian serve` processes sharing one
database: the chain verifies, has no fork, and holds every acknowledged event."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from demo_server import free_port, start_serve
from sqlalchemy import select

from api.oauth.flow_client import obtain_tokens
from domain.identity import StaffRole
from persistence.audit.sink import verify_log
from persistence.audit.tables import AuditEventRow
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.oauth.admin import create_client
from persistence.oauth.passwords import Argon2PasswordHasher

pytestmark = pytest.mark.slow
WRITERS = 32
OFFICER = "officer@example.com"
CONSOLE_REDIRECT = "http://127.0.0.1:8766/callback"
PASSWORD = "correct horse battery staple"  # the harness's password for staff it creates


async def _seed(db_url: str, master_key: MasterKey) -> tuple[UUID, str]:
    from oauth_harness import add_customer, add_staff  # noqa: PLC0415

    engine = make_engine(db_url)
    try:
        customer = await add_customer(engine, master_key, "conc@example.com")
        # dsr:admin belongs to a signed-in officer: a console app and an officer to sign in.
        await add_staff(engine, master_key, OFFICER, StaffRole.PRIVACY_OFFICER)
        async with session_factory(engine)() as session:
            _, secret = await create_client(
                session,
                name="console",
                public=False,
                redirect_uris=(CONSOLE_REDIRECT,),
                scopes=frozenset({"dsr:admin"}),
                client_id="console",
                hash_password=Argon2PasswordHasher().hash_blocking,
            )
            await session.commit()
        assert secret is not None
        return customer, secret
    finally:
        await engine.dispose()


@pytest.fixture
def servers(db_url: str, master_key: MasterKey, tmp_path: Path) -> Iterator[dict[str, Any]]:
    customer, secret = asyncio.run(_seed(db_url, master_key))
    ports = [free_port(), free_port()]
    issuer = f"http://127.0.0.1:{ports[0]}"  # one issuer: tokens are valid on both
    env = {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": db_url,
        "CUSTODIAN_DATA_DIR": str(tmp_path),
        "CUSTODIAN_MASTER_KEY": master_key.to_base64(),
        "CUSTODIAN_ISSUER": issuer,
        "CUSTODIAN_ENV": "development",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index, port in enumerate(ports):  # one after the other: the first makes the keys
            processes.append(start_serve(env, port, tmp_path / f"server{index}.log"))
        yield {"ports": ports, "customer": customer, "secret": secret}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


async def _hammer(servers: dict[str, Any]) -> set[str]:
    ports = servers["ports"]
    async with httpx.AsyncClient(timeout=60) as http:
        http.base_url = httpx.URL(f"http://127.0.0.1:{ports[0]}")
        tokens = await obtain_tokens(
            http,
            client_id="console",
            redirect_uri=CONSOLE_REDIRECT,
            scope="dsr:admin",
            email=OFFICER,
            password=PASSWORD,
            client_secret=servers["secret"],
        )
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        path = f"/v1/privacy/customers/{servers['customer']}/contactability"

        async def one(index: int) -> str:
            response = await http.get(
                f"http://127.0.0.1:{ports[index % 2]}{path}",
                headers=auth,
                params={"channel": "email"},
            )
            assert response.status_code == 200, response.text
            return response.headers["x-request-id"]

        return set(await asyncio.gather(*(one(index) for index in range(WRITERS))))


def test_concurrent_writers_on_two_processes_keep_one_complete_chain(
    servers: dict[str, Any], db_url: str
) -> None:
    acknowledged = asyncio.run(_hammer(servers))
    assert len(acknowledged) == WRITERS

    async def inspect() -> tuple[Any, set[str]]:
        engine = make_engine(db_url)
        try:
            report = await verify_log(engine)
            async with engine.connect() as connection:
                stored = set(
                    (
                        await connection.execute(
                            select(AuditEventRow.request_id).where(
                                AuditEventRow.action == "check_contactability"
                            )
                        )
                    ).scalars()
                )
            return report, {s for s in stored if s is not None}
        finally:
            await engine.dispose()

    report, stored = asyncio.run(inspect())
    assert report.intact, report.failure
    assert acknowledged <= stored
