"""Erasure (Art. 17) canary proof: after erasing a customer whose data carries canary values,
no API route, export, log line or raw database byte yields a canary; the destroyed keys are
gone from the key table; financial records stay readable to a legal-claim support access;
the customer can no longer sign in; and the audit chain still verifies."""

from __future__ import annotations

import asyncio
import io
import subprocess
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from oauth_harness import ERASE, World
from self_service_seed import BASE, Person, body, break_glass, officer_token, seed_person
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from api.composition import sweep_retention
from domain.audit.events import Actor, ActorType
from domain.customer.access import Access
from domain.customer.interactions import Channel, Interaction, InteractionDirection, InteractionKind
from domain.dsr.export import request_export
from domain.identity import StaffRole
from domain.retention import RetentionClass
from persistence.audit.sink import verify_log
from persistence.campaigns.tables import ContactPreferenceRow
from persistence.customer.tables import AccountRow
from persistence.database import session_factory
from persistence.dsr.sealed_archive import open_sealed
from persistence.keystore import DataKeyRow, DestroyedKeyRow
from persistence.uow import SqlUnitOfWork

SUPPORT_REDIRECT = "http://127.0.0.1:8767/callback"
CANARIES = {
    "preferred_name": "Zqxcanarypref",
    "city": "Canaryvillezq",
    "line1": "7 Zqcanary Lane",
    "summary": "zq-canary-interaction-text",
}


@pytest.fixture(autouse=True)
async def support_desk(world: World) -> None:
    """The support agents' client, registered for every test here."""
    await world.add_client(
        "support-desk", public=False, scopes="support:read", redirect_uris=(SUPPORT_REDIRECT,)
    )


async def canary_customer(world: World) -> tuple[Person, list[str]]:
    email = f"zqcanary{uuid.uuid4().hex[:6]}@example.org"
    person = await seed_person(world, email, transactions=4)
    etag = (await world.http.get("/v1/me/profile", headers=person.auth)).headers["ETag"]
    patched = await world.http.patch(
        "/v1/me/profile",
        headers={**person.auth, "If-Match": etag, "Content-Type": "application/merge-patch+json"},
        json={
            "preferred_name": CANARIES["preferred_name"],
            "phone": "+447700900123",
            "address": {
                "line1": CANARIES["line1"],
                "city": CANARIES["city"],
                "postal_code": "N1 9GU",
                "country": "GB",
            },
        },
    )
    assert patched.status_code == 200, patched.text
    async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
        await uow.interactions.add_many(
            [
                Interaction(
                    id=uuid.uuid4(),
                    customer_id=person.id,
                    occurred_at=BASE,
                    channel=Channel.PHONE,
                    direction=InteractionDirection.INBOUND,
                    kind=InteractionKind.COMPLAINT,
                    summary=CANARIES["summary"],
                    outcome="resolved",
                    satisfaction=2,
                )
            ]
        )
        await uow.commit()
    granted = await world.http.put(
        "/v1/me/consents/marketing_email",
        headers=person.auth,
        json={"granted": True, "notice_version": "1"},
    )
    assert granted.status_code == 200, granted.text
    return person, [email, *CANARIES.values(), "+447700900123"]


async def raw_database(world: World, db_url: str) -> bytes:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        await world.engine.dispose()  # read the file and the WAL as they are
        return await asyncio.to_thread(_sqlite_bytes, Path(str(url.database)))
    dump = await asyncio.to_thread(
        subprocess.run,
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            str(url.database),
        ],
        capture_output=True,
        check=True,
    )
    return bytes(dump.stdout)


def _sqlite_bytes(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_erasure_leaves_no_canary_anywhere(
    world: World, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    person, canaries = await canary_customer(world)
    other = await seed_person(world, "other@example.org")
    # Before: the canaries are there to be found (the test can fail).
    shown = (await world.http.get("/v1/me/profile", headers=person.auth)).text
    assert CANARIES["preferred_name"] in shown
    preferences = await world.http.put(
        "/v1/me/contact-preferences",
        headers={**person.auth, "If-Match": '"0"'},
        json={"channels": ["sms"], "weekly_limit": 1},
    )
    assert preferences.status_code == 200, preferences.text

    created = await world.http.post("/v1/me/erasure", json=ERASE, headers=person.auth)
    assert created.status_code == 202, created.text
    again = await world.http.post("/v1/me/erasure", json=ERASE, headers=person.auth)
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    await world.run_jobs()

    # Signed out everywhere, and no sign-in any more: not even the erasure can be read back.
    assert (await world.http.get("/v1/me/profile", headers=person.auth)).status_code == 401
    followed = await world.http.get(created.headers["location"], headers=person.auth)
    assert followed.status_code == 401
    with pytest.raises(Exception):  # noqa: B017, PT011  (the flow fails at the login form)
        await world.tokens_for(canaries[0])

    # The report, kept for the officer: destroyed, kept, why, until when.
    async with SqlUnitOfWork(session_factory(world.engine), world.master_key) as uow:
        request = await uow.dsr.get(uuid.UUID(created.json()["id"]))
    assert request is not None
    assert request.report is not None
    assert request.status.value == "completed"
    assert [d["retention_class"] for d in request.report["destroyed"]] == [
        "contact",
        "interactions",
    ]
    kept = {k["retention_class"]: k for k in request.report["kept"]}
    assert "legal obligation" in kept["financial"]["legal_basis"]
    assert kept["financial"]["until_rule"] == "7 years after the last account closed"
    # The officer reads the same report, typed as an erasure's, in the request's detail.
    officer = {"Authorization": f"Bearer {await officer_token(world)}"}
    detail = body(
        await world.http.get(f"/v1/privacy/requests/{created.json()['id']}", headers=officer)
    )
    assert (detail["type"], detail["status"]) == ("erasure", "completed")
    assert detail["report"]["type"] == "erasure"
    assert [d["retention_class"] for d in detail["report"]["destroyed"]] == [
        "contact",
        "interactions",
    ]
    assert detail["report"]["kept"] == request.report["kept"]

    # The destroyed keys are gone from the key table; tombstones say so.
    async with session_factory(world.engine)() as session:
        classes = set(
            (
                await session.scalars(
                    select(DataKeyRow.retention_class).where(DataKeyRow.customer_id == person.id)
                )
            ).all()
        )
        tombstones = set(
            (
                await session.scalars(
                    select(DestroyedKeyRow.retention_class).where(
                        DestroyedKeyRow.customer_id == person.id
                    )
                )
            ).all()
        )
    assert classes == {"financial"}
    assert tombstones == {"contact", "interactions"}
    async with world.engine.connect() as connection:
        preference_rows = await connection.scalar(
            select(func.count())
            .select_from(ContactPreferenceRow)
            .where(ContactPreferenceRow.customer_id == person.id)
        )
    assert preference_rows == 0

    # Support: financial records for a legal claim only; nothing of the contact data.
    await world.add_staff("agent@example.com", StaffRole.SUPPORT_AGENT)
    agent = (
        await world.tokens_for(
            "agent@example.com",
            client_id="support-desk",
            scope="support:read",
            redirect_uri=SUPPORT_REDIRECT,
        )
    )["access_token"]
    await break_glass(world, person.id, "LEGAL-1")
    legal = {
        "Authorization": f"Bearer {agent}",
        "X-Access-Purpose": "legal_claim",
        "X-Ticket": "LEGAL-1",
    }
    accounts = body(
        await world.http.get(f"/v1/support/customers/{person.id}/accounts", headers=legal)
    )
    assert [a["id"] for a in accounts["items"]] == [str(person.account_id)]
    for route in ("profile", "interactions"):
        answer = await world.http.get(f"/v1/support/customers/{person.id}/{route}", headers=legal)
        assert not any(c in answer.text for c in canaries), route

    # An export made afterwards (an officer's, for the record) holds no canary.
    await request_export(
        world.services.units.dsr,
        world.clock,
        Access(Actor(ActorType.STAFF, "officer-1"), person.id),
    )
    await world.run_jobs()
    [archive_path] = (world.settings.data_dir / "exports").glob("*.zip")
    assert not archive_path.read_bytes().startswith(b"PK")  # encrypted at rest
    async with world.services.units.customer() as uow:
        # Only retained records remain, sealed under the financial key.
        key = await uow.keys.key_for(person.id, RetentionClass.FINANCIAL)
    request_id = uuid.UUID(archive_path.stem)
    plain = b"".join([chunk async for chunk in open_sealed(archive_path, key, request_id)])
    archive = zipfile.ZipFile(io.BytesIO(plain))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert str(person.account_id).encode() in everything  # financial data is kept
    assert not [c for c in canaries if c.encode() in everything]

    # No log line and no raw database byte carries a canary.
    logs = capsys.readouterr()
    assert not [c for c in canaries if c in logs.out + logs.err]
    raw = await raw_database(world, db_url)
    assert not [c for c in canaries if c.encode() in raw]
    # The other customer is untouched, and the audit chain still verifies.
    assert (await world.http.get("/v1/me/profile", headers=other.auth)).status_code == 200
    assert (await verify_log(world.engine)).intact


async def test_retention_sweep_destroys_financial_data_only_after_the_period(world: World) -> None:
    closed_long_ago = await seed_person(world, "old@example.org")
    closed_recently = await seed_person(world, "recent@example.org")
    still_open = await seed_person(world, "open@example.org")
    now = world.clock.now()
    async with session_factory(world.engine)() as session:
        for person, closed in (
            (closed_long_ago, now - timedelta(days=366 * 8)),
            (closed_recently, now - timedelta(days=365)),
        ):
            await session.execute(
                update(AccountRow)
                .where(AccountRow.id == person.account_id)
                .values(closed_at=closed, status="closed")
            )
        await session.commit()
    for person in (closed_long_ago, closed_recently, still_open):
        assert (
            await world.http.post("/v1/me/erasure", json=ERASE, headers=person.auth)
        ).status_code == 202
    await world.run_jobs()
    units = session_factory(world.engine)
    swept = await sweep_retention(world.settings, world.services)
    assert swept == [closed_long_ago.id]
    async with SqlUnitOfWork(units, world.master_key) as uow:
        assert await uow.keys.is_destroyed(closed_long_ago.id, RetentionClass.FINANCIAL)
        assert await uow.accounts.list_for_customer(closed_long_ago.id) == []
        assert len(await uow.accounts.list_for_customer(closed_recently.id)) == 1
        assert len(await uow.accounts.list_for_customer(still_open.id)) == 1
    assert (await verify_log(world.engine)).intact
