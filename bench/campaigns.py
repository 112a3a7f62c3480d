"""Campaign audience-check benchmark: prints figures, asserts nothing.

10,000 customers (half of them with email consent, a fifth with recent campaign contacts, so
the policy has work to do) are checked through POST /v1/campaigns/{id}/audience-checks, in
process (httpx ASGI transport, one event loop, like one server worker):
  (a) in batches of 1,000 ids                       customers per second
  (b) one id per request                            customers per second (a sample of
                                                    --single ids, the rate extrapolates)
  (c) the batches again with the audit log stubbed  the audit's share of (a)
and prints the ratio a/b (goal: at least 20) and the audit cost per checked customer:
events and transactions per customer, and the time (a - c) / customers.

Run: .venv/bin/python bench/campaigns.py [--customers 10000] [--single 500] [--sqlite]
     (PostgreSQL at 127.0.0.1:5432 by default)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.composition import Services, build_services
from api.settings import Settings
from domain.audit.events import GENESIS_HASH, AuditEvent, AuditRecord
from domain.clock import SystemClock
from persistence.audit.tables import AuditEventRow
from persistence.campaigns.tables import CampaignContactRow
from persistence.consent.tables import ConsentEventRow
from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import make_engine, session_factory
from persistence.migrate import upgrade
from persistence.oauth.admin import create_client
from persistence.uow import SqlUnitOfWork

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
ISSUER = "http://127.0.0.1:8000"
BATCH = 1000


async def _admin(statement: str) -> None:
    import asyncpg  # noqa: PLC0415  (PostgreSQL only)

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def new_database(use_sqlite: bool, directory: Path) -> str:
    """A migrated throw-away database; its async URL."""
    if use_sqlite:
        url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    else:
        name = f"custodian_bench_{uuid.uuid4().hex[:12]}"
        await _admin(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await upgrade(url)
    return url


async def seed(engine: AsyncEngine, count: int) -> list[uuid.UUID]:
    """`count` customers (rows only: the policy reads no profile), consents and contacts."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    customers = [
        {"id": i, "status": "active", "created_at": now, "acquisition_channel": "web"} for i in ids
    ]
    consents = [
        {
            "id": uuid.uuid4(),
            "customer_id": i,
            "purpose": "marketing_email",
            "position": 1,
            "granted": True,
            "notice_version": "1",
            "recorded_at": now - timedelta(days=90),
            "actor_type": "customer",
            "actor_id": str(i),
            "collection_method": "bench",
            "receipt": "-",
        }
        for i in ids[::2]
    ]
    contacts = [
        {
            "id": uuid.uuid4(),
            "customer_id": i,
            "campaign_id": "earlier",
            "channel": "email",
            "sent_at": now - timedelta(days=days),
            "client_id": "campaign-service",
            "idempotency_key": f"{i}-{days}",
        }
        for i in ids[::5]
        for days in (2, 4)
    ]
    async with engine.begin() as connection:
        for table, rows in (
            (CustomerRow, customers),
            (ConsentEventRow, consents),
            (CampaignContactRow, contacts),
        ):
            for start in range(0, len(rows), 2000):
                await connection.execute(insert(table), rows[start : start + 2000])
    return ids


class NoAudit:
    """A DurableAuditLog that stores nothing: (c) measures the check without the audit."""

    async def record(self, record: AuditRecord) -> AuditEvent:
        return AuditEvent(0, uuid.uuid4(), datetime.now(UTC), record, GENESIS_HASH, GENESIS_HASH)


def _without_audit(services: Services, master_key: MasterKey) -> Services:
    def unit() -> SqlUnitOfWork:
        return SqlUnitOfWork(services.sessions, master_key, SystemClock(), audit_trail=NoAudit())

    return Services(
        engine=services.engine,
        sessions=services.sessions,
        master_key=master_key,
        uow_factory=unit,
        readiness=services.readiness,
        audit_trail=services.audit_trail,
    )


async def _token(http: httpx.AsyncClient, secret: str) -> dict[str, str]:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("campaign-service", secret),
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _check(http: httpx.AsyncClient, auth: dict[str, str], ids: list[uuid.UUID]) -> None:
    response = await http.post(
        "/v1/campaigns/bench/audience-checks",
        headers=auth,
        json={"channel": "email", "customer_ids": [str(i) for i in ids]},
    )
    response.raise_for_status()


async def _rate(
    services: Services, settings: Settings, secret: str, ids: list[uuid.UUID], size: int
) -> float:
    """Customers per second checked in requests of `size` ids."""
    app = create_app(settings, services=services, worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        auth = await _token(http, secret)
        await _check(http, auth, ids[:size])  # warm up
        started = time.perf_counter()
        for start in range(0, len(ids), size):
            await _check(http, auth, ids[start : start + size])
        elapsed = time.perf_counter() - started
    return len(ids) / elapsed


async def _audit_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(AuditEventRow)) or 0)


async def run(use_sqlite: bool, customers: int, single: int) -> None:
    """Seed, measure (a), (b) and (c), print the figures."""
    with tempfile.TemporaryDirectory() as directory:
        url = await new_database(use_sqlite, Path(directory))
        engine = make_engine(url)
        master_key = MasterKey.generate()
        settings = Settings(
            database_url=url,
            data_dir=Path(directory),
            master_key=base64.b64decode(master_key.to_base64()),
            issuer=ISSUER,
            in_process_worker=False,
        )
        try:
            ids = await seed(engine, customers)
            async with session_factory(engine)() as session:
                _, secret = await create_client(
                    session,
                    name="campaign-service",
                    public=False,
                    redirect_uris=(),
                    scopes=frozenset({"campaigns:write"}),
                    client_id="campaign-service",
                )
                await session.commit()
            assert secret is not None
            services = build_services(settings, engine=engine)
            trail = services.audit_trail
            before, flushes = await _audit_count(engine), trail.batches if trail else 0
            batched = await _rate(services, settings, secret, ids, BATCH)
            events = await _audit_count(engine) - before
            transactions = (trail.batches if trail else 0) - flushes
            one_by_one = await _rate(services, settings, secret, ids[:single], 1)
            unaudited = await _rate(
                _without_audit(services, master_key), settings, secret, ids, BATCH
            )
            engine_name = "SQLite" if use_sqlite else "PostgreSQL"
            print(f"{engine_name}: audience check of {customers:,} customers")
            print(f"  (a) batches of {BATCH:,}:        {batched:10,.0f} customers/s")
            print(f"  (b) one per request ({single:,}): {one_by_one:10,.0f} customers/s")
            print(f"  ratio a/b: {batched / one_by_one:.1f} (goal >= 20)")
            print(f"  (c) batches, audit stubbed: {unaudited:10,.0f} customers/s")
            audit_us = (1 / batched - 1 / unaudited) * 1e6
            print(
                f"  audit per checked customer: {events / (customers + BATCH):.2f} events, "
                f"{audit_us:.0f} us ({audit_us * batched / 1e6:.0%} of (a)); "
                f"{transactions} audit transactions for the batched run (with warm-up)"
            )
        finally:
            await engine.dispose()
            if not use_sqlite:
                await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=500, help="ids checked one at a time")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.sqlite, arguments.customers, arguments.single))
    return 0


if __name__ == "__main__":
    sys.exit(main())
