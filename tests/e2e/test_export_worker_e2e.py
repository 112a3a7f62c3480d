"""kill -9 of a `custodian worker` process in the middle of an export, then a restart: the
job is leased again once the dead worker's lease expires, and finishes with one archive
holding every transaction, and no half-written file left behind."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import Actor, ActorType
from domain.clock import SystemClock
from domain.customer.access import Access
from domain.customer.accounts import (
    Account,
    AccountStatus,
    AccountType,
    Transaction,
    TransactionDirection,
    TransactionStatus,
)
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.dsr.export import request_export
from domain.retention import RetentionClass
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.dsr.sealed_archive import open_sealed
from persistence.dsr.tables import DsrRequestRow
from persistence.uow import SqlUnitOfWork

pytestmark = pytest.mark.slow
CUSTODIAN = str(Path(sys.executable).parent / "custodian")
TRANSACTIONS = 12_000
WAIT_SECONDS = 180.0


async def seed_customer(engine: AsyncEngine, master_key: MasterKey, count: int) -> uuid.UUID:
    """A customer with one account and `count` transactions."""
    sessions = session_factory(engine)
    customer = Customer(
        id=uuid.uuid4(),
        status=CustomerStatus.ACTIVE,
        created_at=datetime.now(UTC),
        acquisition_channel=AcquisitionChannel.WEB,
    )
    account = Account(
        id=uuid.uuid4(),
        customer_id=customer.id,
        type=AccountType.CURRENT,
        name="Everyday",
        number_last4="4321",
        currency="EUR",
        status=AccountStatus.OPEN,
        opened_at=datetime(2020, 1, 1, tzinfo=UTC),
        balance=Decimal("10.00"),
    )
    async with SqlUnitOfWork(sessions, master_key) as uow:
        await uow.customers.add(
            customer,
            Profile(
                customer_id=customer.id,
                given_name="Kim",
                family_name="Worker",
                email=Email("kim@example.org"),
            ),
        )
        await uow.accounts.add(account)
        await uow.commit()
    start = datetime(2021, 1, 1, tzinfo=UTC)
    for offset in range(0, count, 2000):
        async with SqlUnitOfWork(sessions, master_key) as uow:
            await uow.transactions.add_many(
                [
                    Transaction(
                        id=uuid.uuid4(),
                        customer_id=customer.id,
                        account_id=account.id,
                        booked_at=start + timedelta(minutes=i),
                        value_date=start.date(),
                        amount=Decimal("1.25"),
                        currency="EUR",
                        direction=TransactionDirection.DEBIT,
                        status=TransactionStatus.BOOKED,
                        description=f"Item {i}",
                        category="misc",
                        merchant="Shop",
                        reference=None,
                    )
                    for i in range(offset, min(count, offset + 2000))
                ]
            )
            await uow.commit()
    return customer.id


async def request_row(engine: AsyncEngine, request_id: uuid.UUID) -> DsrRequestRow:
    async with session_factory(engine)() as session:
        row = await session.scalar(select(DsrRequestRow).where(DsrRequestRow.id == request_id))
        assert row is not None
        return row


@contextmanager
def worker(db_url: str, master_key: MasterKey, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": db_url,
        "CUSTODIAN_MASTER_KEY": master_key.to_base64(),
        "CUSTODIAN_DATA_DIR": str(data_dir),
    }
    process = subprocess.Popen(
        [CUSTODIAN, "worker", "--lease-seconds", "2", "--poll-seconds", "0.2"],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def test_a_killed_worker_export_finishes_after_restart(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> None:
    customer_id = await seed_customer(engine, master_key, TRANSACTIONS)
    units = session_factory(engine)
    export, created = await request_export(
        lambda: SqlUnitOfWork(units, master_key, data_dir=tmp_path),
        SystemClock(),
        Access(Actor(ActorType.CUSTOMER, str(customer_id)), customer_id),
    )
    assert created
    exports = tmp_path / "exports"
    loop = asyncio.get_running_loop()

    with worker(db_url, master_key, tmp_path) as first:
        deadline = loop.time() + WAIT_SECONDS
        while (await request_row(engine, export.id)).progress < 10:
            assert first.poll() is None, "the worker stopped"
            assert loop.time() < deadline, "the worker never started"
            await asyncio.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    killed = await request_row(engine, export.id)
    assert killed.status == "running"
    assert killed.progress < 100
    assert not (exports / f"{export.id}.zip").exists()  # no half archive under the real name

    with worker(db_url, master_key, tmp_path) as second:
        deadline = loop.time() + WAIT_SECONDS
        while (row := await request_row(engine, export.id)).status != "ready":
            assert second.poll() is None, "the worker stopped"
            assert loop.time() < deadline, "the export never finished"
            await asyncio.sleep(0.2)
    assert [p.name for p in exports.iterdir()] == [f"{export.id}.zip"]  # one file, no .part
    # Encrypted at rest: open it with the customer's contact key, as the download does.
    async with SqlUnitOfWork(session_factory(engine), master_key) as uow:
        key = await uow.keys.key_for(row.customer_id, RetentionClass.CONTACT)
    sealed = exports / f"{export.id}.zip"
    content = b"".join([chunk async for chunk in open_sealed(sealed, key, export.id)])
    assert row.archive_size == len(content)
    archive = zipfile.ZipFile(io.BytesIO(content))
    moves = json.loads(archive.read("transactions.json"))
    assert len(moves) == TRANSACTIONS
    assert len({m["id"] for m in moves}) == TRANSACTIONS  # no duplicates
    rows = archive.read("transactions.csv").decode("utf-8").splitlines()
    assert len(rows) == TRANSACTIONS + 1
