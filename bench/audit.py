"""Audit and consent benchmark: prints figures, asserts nothing.

1. Audit events appended per second by 32 concurrent writers (one unit of work per event,
   as API requests do), on SQLite and on PostgreSQL.
   Every append also extends the Merkle tree (frontier read and written, nodes inserted).
2. `audit verify` events per second against hashing the same canonical bytes with hashlib
   alone (ratio; the goal is at least 0.5: the walk costs at most as much as the hashing),
   for the chain walk alone and for the full Merkle check (`verify --against`).
3. Inclusion-proof latency (p50, p99) in a tree of --proof-leaves leaves (default 1M; the
   tree's nodes are written directly, as a million appends would leave them).
4. Consent PUT requests per second against GET /v1/me/profile, in-process, same run.

Run: .venv/bin/python bench/audit.py [--events 3200] [--seconds 3] [--proof-leaves 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import Table, insert, make_url, select, text

from api.app import create_app
from api.composition import build_oauth_services, build_services
from api.logging import configure_logging
from api.oauth.flow_client import obtain_tokens
from api.settings import Settings
from domain.audit.events import Actor, ActorType, AuditRecord, canonical_bytes
from domain.audit.merkle import Frontier, verify_inclusion
from domain.audit.tree_heads import TreeHead
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.values import Email
from persistence.audit.sink import verify_log
from persistence.audit.tables import AuditEventRow, AuditTreeNodeRow
from persistence.audit.tree import inclusion_proof, sign_tree_head
from persistence.audit.tree_verify import verify_tree
from persistence.audit.verify import decode_event
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.migrate import upgrade
from persistence.oauth.admin import DEMO_APP_REDIRECT, DEMO_PASSWORD, ensure_demo_identities
from persistence.signatures import checkpoint_signer
from persistence.uow import SqlUnitOfWork

POSTGRES_ADMIN = os.environ.get(
    "CUSTODIAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
WRITERS = 32
BENCH_KEY = MasterKey.generate()
_NODES: Table = AuditTreeNodeRow.__table__  # type: ignore[assignment]


async def append_rate(url: str, events: int) -> float:
    """Events per second appended by WRITERS tasks, one committed unit of work each."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    record = AuditRecord(
        Actor(ActorType.CUSTOMER, str(uuid.uuid4()), "bench"),
        "read",
        "profile",
        subject_id=uuid.uuid4(),
        fields=("email",),
    )

    async def writer(count: int) -> None:
        for _ in range(count):
            async with SqlUnitOfWork(sessions, BENCH_KEY) as uow:
                await uow.audit.append(record)
                await uow.commit()

    try:
        started = time.perf_counter()
        await asyncio.gather(*(writer(events // WRITERS) for _ in range(WRITERS)))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return (events // WRITERS) * WRITERS / elapsed


async def verify_ratio(url: str) -> tuple[int, float, float, float]:
    """(events, chain-walk events/s, full Merkle check events/s, hashlib-only events/s over
    the same canonical bytes)."""
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            await sign_tree_head(session, checkpoint_signer(BENCH_KEY), datetime.now(UTC))
            await session.commit()
        started = time.perf_counter()
        report = await verify_log(engine)
        verify_seconds = time.perf_counter() - started
        assert report.intact
        started = time.perf_counter()
        tree = await verify_tree(engine, checkpoint_signer(BENCH_KEY).jwk())
        tree_seconds = time.perf_counter() - started
        assert tree.intact, tree
        async with engine.connect() as connection:
            rows = (await connection.execute(select(AuditEventRow.__table__))).mappings().all()
    finally:
        await engine.dispose()
    chunks = []
    for row in rows:
        event = decode_event(
            {
                **row,
                "id": str(row["id"]),
                "subject_id": row["subject_id"] and str(row["subject_id"]),
            }
        )
        chunks.append(canonical_bytes(event.seq, event.id, event.at, event.record, event.prev_hash))
    started = time.perf_counter()
    for chunk in chunks:
        hashlib.sha256(chunk).digest()
    hash_seconds = time.perf_counter() - started
    count = report.events_checked
    return count, count / verify_seconds, count / tree_seconds, count / hash_seconds


async def proof_latency(url: str, leaves: int, samples: int = 1000) -> tuple[float, float]:
    """(p50, p99) milliseconds of one inclusion proof (one query for O(log n) stored
    nodes, then hashing) in a tree of `leaves` leaves."""
    frontier = Frontier()
    engine = make_engine(url)
    try:
        batch: list[dict[str, object]] = []
        async with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                # A throwaway database: the per-row REPLACE guard only slows this bulk load.
                await connection.execute(text("DROP TRIGGER audit_tree_nodes_no_replace"))
            for index in range(leaves):
                leaf = hashlib.sha256(index.to_bytes(8, "big")).digest()
                for node, digest in frontier.append(leaf):
                    batch.append({"level": node.level, "idx": node.index, "hash": digest})
                if len(batch) >= 50_000:
                    await connection.execute(insert(_NODES), batch)
                    batch = []
            if batch:
                await connection.execute(insert(_NODES), batch)
        head = TreeHead(leaves, frontier.root(), datetime.now(UTC), "bench", "")
        timings = []
        async with engine.connect() as connection:
            for seq in random.sample(range(1, leaves + 1), samples):
                started = time.perf_counter()
                proof = await inclusion_proof(connection, seq, head)
                timings.append((time.perf_counter() - started) * 1000)
                verify_inclusion(proof.leaf_hash, seq - 1, leaves, proof.path, head.root_hash)
    finally:
        await engine.dispose()
    timings.sort()
    return timings[len(timings) // 2], timings[int(len(timings) * 0.99) - 1]


async def http_rates(seconds: float) -> tuple[float, float]:
    """(consent PUT/s, GET /v1/me/profile/s) in-process on SQLite, 8 concurrent clients."""
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        await upgrade(url)
        key = MasterKey.generate()
        settings = Settings(
            database_url=url,
            data_dir=Path(directory),
            master_key=bytes.fromhex(key.derive("bench-only").hex()),
            issuer="http://127.0.0.1:8000",
        )
        master = MasterKey(settings.master_key)
        services = build_services(settings)
        oauth = build_oauth_services(settings, services)
        customer = Customer(
            uuid.uuid4(), CustomerStatus.ACTIVE, datetime.now(UTC), AcquisitionChannel.WEB
        )
        async with SqlUnitOfWork(services.sessions, master) as uow:
            await uow.customers.add(
                customer, Profile(customer.id, "Bench", "Mark", Email("bench@example.com"))
            )
            await uow.commit()
        async with services.sessions() as session:
            await ensure_demo_identities(session, master, [customer.id])
            await session.commit()
        app = create_app(settings, services=services, oauth=oauth)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.issuer) as http:
            tokens = await obtain_tokens(
                http,
                client_id="demo-app",
                redirect_uri=DEMO_APP_REDIRECT,
                scope="consents:write profile:read",
                email="bench@example.com",
                password=DEMO_PASSWORD,
            )
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}

            async def run(call: str) -> float:
                done = 0
                deadline = time.perf_counter() + seconds

                async def client(index: int) -> None:
                    nonlocal done
                    granted = index % 2 == 0
                    while time.perf_counter() < deadline:
                        if call == "put":
                            granted = not granted
                            response = await http.put(
                                "/v1/me/consents/analytics",
                                headers=auth,
                                json={"granted": granted, "notice_version": "1"},
                            )
                        else:
                            response = await http.get("/v1/me/profile", headers=auth)
                        assert response.status_code == 200, response.text
                        done += 1

                started = time.perf_counter()
                await asyncio.gather(*(client(i) for i in range(8)))
                return done / (time.perf_counter() - started)

            put_rate = await run("put")
            get_rate = await run("get")
        await oauth.aclose()
        await services.dispose()
    return put_rate, get_rate


async def _postgres(events: int, proof_leaves: int) -> str:
    name = f"custodian_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"skipped: PostgreSQL unreachable ({type(error).__name__})"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_ADMIN).set(drivername="postgresql+asyncpg", database=name)
        rendered = url.render_as_string(hide_password=False)
        await upgrade(rendered)
        rate = await append_rate(rendered, events)
        count, verify, tree, hashing = await verify_ratio(rendered)
        print(
            f"PostgreSQL {rate:8.0f} events/s appended by {WRITERS} writers; verify chain "
            f"{verify:8.0f} events/s, with the Merkle tree {tree:8.0f} events/s vs hashlib "
            f"{hashing:8.0f}/s (ratios {verify / hashing:.3f} and {tree / hashing:.3f}, "
            f"{count} events)",
            flush=True,
        )
        await upgrade(rendered, "base")
        await upgrade(rendered)
        p50, p99 = await proof_latency(rendered, proof_leaves)
        return f"inclusion proof in {proof_leaves} leaves: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(events: int, seconds: float, proof_leaves: int) -> None:
    """Run every measurement and print one line each."""
    configure_logging(level="WARNING")  # no access-log line per request
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'audit.db'}"
        await upgrade(url)
        rate = await append_rate(url, events)
        count, verify, tree, hashing = await verify_ratio(url)
        print(
            f"SQLite     {rate:8.0f} events/s appended by {WRITERS} writers; verify chain "
            f"{verify:8.0f} events/s, with the Merkle tree {tree:8.0f} events/s vs hashlib "
            f"{hashing:8.0f}/s (ratios {verify / hashing:.3f} and {tree / hashing:.3f}, "
            f"{count} events)",
            flush=True,
        )
        proof_url = f"sqlite+aiosqlite:///{Path(directory) / 'proofs.db'}"
        await upgrade(proof_url)
        p50, p99 = await proof_latency(proof_url, proof_leaves)
        print(
            f"SQLite     inclusion proof in {proof_leaves} leaves: p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms",
            flush=True,
        )
    print(f"PostgreSQL {await _postgres(events, proof_leaves)}")
    put_rate, get_rate = await http_rates(seconds)
    print(
        f"HTTP       consent PUT {put_rate:7.0f} req/s vs GET /v1/me/profile "
        f"{get_rate:7.0f} req/s (ratio {put_rate / get_rate:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3200)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--proof-leaves", type=int, default=1_000_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.seconds, arguments.proof_leaves))
