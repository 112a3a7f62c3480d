"""Export and erasure benchmarks (printed, not asserted).

For each size (default 1,000 and 100,000 transactions; add 1000000 with --sizes), seed one
customer on a throw-away PostgreSQL database (SQLite with --sqlite), then run the export job
in a fresh subprocess and print transactions per second, the child's peak RSS
(resource.getrusage) and its CPU time (start-up included; unlike wall time, not inflated
by whatever else the machine runs): a flat memory profile means the 100k/1k RSS ratio stays near 1
(at most 1.3). Then erase a customer with 10 and one with 100,000 transactions and print
both times: crypto-shredding should make the ratio nearly 1.

With --baseline REV the same exports also run on the code of git revision REV (extracted
with `git archive` into a temporary directory, same database, same data), alternating with
the current code, and the ratio is printed. The current code seeds the data, so REV must
read what it stores: an export that does not end with its archive ready stops the run.
--repeat N runs each export N times and keeps the fastest (the machine may be shared); peak
RSS is the largest seen.

    .venv/bin/python bench/export.py [--sizes 1000 100000 1000000] [--sqlite]
        [--baseline REV] [--repeat N] [--no-erasure]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.composition import build_job_worker, build_services
from api.settings import Settings
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
from domain.dsr.deliberate_erasure import CONFIRMATION_PHRASE, ErasurePolicy, ask_for_erasure
from domain.dsr.export import request_export
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.dsr.tables import DsrRequestRow
from persistence.migrate import upgrade
from persistence.uow import SqlUnitOfWork

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SEED_BATCH = 5000


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


async def drop_database(url: str) -> None:
    """Drop what `new_database` made on PostgreSQL (nothing to do for SQLite's file)."""
    if url.startswith("postgresql"):
        await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def seed(engine: AsyncEngine, master_key: MasterKey, count: int) -> uuid.UUID:
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
        opened_at=datetime(2015, 1, 1, tzinfo=UTC),
        balance=Decimal("100.00"),
    )
    async with SqlUnitOfWork(sessions, master_key) as uow:
        await uow.customers.add(
            customer,
            Profile(
                customer_id=customer.id,
                given_name="Bench",
                family_name="Mark",
                email=Email(f"bench-{customer.id.hex[:8]}@example.org"),
            ),
        )
        await uow.accounts.add(account)
        await uow.commit()
    start = datetime(2016, 1, 1, tzinfo=UTC)
    for offset in range(0, count, SEED_BATCH):
        async with SqlUnitOfWork(sessions, master_key) as uow:
            await uow.transactions.add_many(
                [
                    Transaction(
                        id=uuid.uuid4(),
                        customer_id=customer.id,
                        account_id=account.id,
                        booked_at=start + timedelta(minutes=i),
                        value_date=date(2016, 1, 1),
                        amount=Decimal("12.34"),
                        currency="EUR",
                        direction=TransactionDirection.DEBIT,
                        status=TransactionStatus.BOOKED,
                        description=f"Card payment {i}",
                        category="groceries",
                        merchant="Corner Shop",
                        reference=f"REF{i}",
                    )
                    for i in range(offset, min(count, offset + SEED_BATCH))
                ]
            )
            await uow.commit()
    return customer.id


async def run_jobs(engine: AsyncEngine, master_key: MasterKey, data_dir: Path) -> None:
    """Run every runnable job to completion in this process, as `custodian worker` would."""
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=data_dir,
        master_key=base64.b64decode(master_key.to_base64()),
        export_ttl_days=1,
    )
    services = build_services(settings, engine=engine)
    worker = build_job_worker(settings, services)
    try:
        while await worker.run_once():
            pass
    finally:
        if services.audit_trail is not None:
            await services.audit_trail.aclose()


async def child_export(url: str, key: str, data_dir: Path, customer: str) -> None:
    """(In the subprocess.) Queue and build one export; print seconds and peak RSS."""
    engine = make_engine(url)
    master_key = MasterKey.from_base64(key)
    customer_id = uuid.UUID(customer)
    sessions = session_factory(engine)
    try:
        await request_export(
            lambda: SqlUnitOfWork(sessions, master_key, data_dir=data_dir),
            SystemClock(),
            Access(Actor(ActorType.SYSTEM, "bench"), customer_id),
        )
        started = time.perf_counter()
        await run_jobs(engine, master_key, data_dir)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_kb": peak_kb}))


def measure_export(
    url: str,
    master_key: MasterKey,
    data_dir: Path,
    customer_id: uuid.UUID,
    code: Path | None = None,
) -> dict[str, float]:
    """Run the export in a fresh process, so peak RSS is the export's alone; on the code
    checked out in `code` (its own bench/export.py) when given."""
    script = Path(__file__) if code is None else code / "bench" / "export.py"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    environment = None
    if code is not None:
        environment = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--child",
            url,
            master_key.to_base64(),
            str(data_dir),
            str(customer_id),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=code,
        env=environment,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    # The child's CPU time, start-up included: on a shared machine wall time also counts
    # what others run.
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


async def check_completed(engine: AsyncEngine, customer_id: uuid.UUID, label: str) -> None:
    """Stop the benchmark unless the customer's latest export has its archive ready: a job
    that failed (on code that cannot read this database, say) takes no time at all."""
    async with engine.connect() as connection:
        status = await connection.scalar(
            select(DsrRequestRow.status)
            .where(DsrRequestRow.customer_id == customer_id)
            .order_by(DsrRequestRow.received_at.desc())
            .limit(1)
        )
    if status != "ready":
        raise SystemExit(f"the export on the {label} code ended {status!r}, not 'ready'")


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest run's seconds and the largest peak RSS of all."""
    return {
        "seconds": min(run["seconds"] for run in runs),
        "peak_rss_kb": max(run["peak_rss_kb"] for run in runs),
        "cpu_seconds": min(run["cpu_seconds"] for run in runs),
    }


def extract(revision: str, into: Path) -> Path:
    """The tree of git revision `revision` of this repository, written under `into`."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    )
    target = into / "baseline"
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def report(label: str, size: int, figures: dict[str, float]) -> None:
    print(
        f"export {size:>9,} transactions{label}: {size / figures['seconds']:>9,.0f} "
        f"tx/s, {figures['seconds']:7.2f} s, peak RSS "
        f"{figures['peak_rss_kb'] / 1024:7.1f} MiB, child CPU {figures['cpu_seconds']:6.2f} s",
        flush=True,
    )


async def erase(
    engine: AsyncEngine, master_key: MasterKey, data_dir: Path, customer_id: uuid.UUID
) -> float:
    """Seconds to run the erasure job of one customer."""
    sessions = session_factory(engine)
    clock = SystemClock()
    await ask_for_erasure(
        lambda: SqlUnitOfWork(sessions, master_key, data_dir=data_dir),
        clock,
        Access(Actor(ActorType.CUSTOMER, str(customer_id)), customer_id),
        auth_time=clock.now(),
        confirmation=CONFIRMATION_PHRASE,
        policy=ErasurePolicy(grace=timedelta(0)),
    )
    started = time.perf_counter()
    await run_jobs(engine, master_key, data_dir)
    return time.perf_counter() - started


async def erasures(engine: AsyncEngine, master_key: MasterKey, directory: Path) -> None:
    """Erase a customer with 10 and one with 100,000 transactions; print both times."""
    timings = {}
    for size in (10, 100_000):
        customer_id = await seed(engine, master_key, size)
        timings[size] = await erase(engine, master_key, directory, customer_id)
        print(f"erasure with {size:>7,} transactions: {timings[size] * 1000:8.1f} ms")
    print(
        f"erasure time ratio 100,000 / 10: {timings[100_000] / timings[10]:.2f} "
        "(crypto-shredding: nearly 1)"
    )


async def main(
    sizes: list[int],
    use_sqlite: bool,
    baseline: str | None = None,
    repeat: int = 1,
    *,
    erasure: bool = True,
) -> None:
    """Seed, export and erase; print the figures."""
    master_key = MasterKey.generate()
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        old_code = None if baseline is None else extract(baseline, directory)
        url = await new_database(use_sqlite, directory)
        engine = make_engine(url)
        try:
            rss: dict[int, float] = {}
            for size in sizes:
                customer_id = await seed(engine, master_key, size)
                runs: list[dict[str, float]] = []
                old_runs: list[dict[str, float]] = []
                for _ in range(repeat):
                    if old_code is not None:
                        old_runs.append(
                            measure_export(url, master_key, directory, customer_id, old_code)
                        )
                        await check_completed(engine, customer_id, f"{baseline}")
                    runs.append(measure_export(url, master_key, directory, customer_id))
                    await check_completed(engine, customer_id, "current")
                figures = best_of(runs)
                rss[size] = figures["peak_rss_kb"]
                if old_runs:
                    old = best_of(old_runs)
                    report(f" ({baseline})", size, old)
                    report(" (current)", size, figures)
                    print(
                        f"  speed-up {old['seconds'] / figures['seconds']:.2f}x, peak RSS "
                        f"current / {baseline}: {figures['peak_rss_kb'] / old['peak_rss_kb']:.2f}",
                        flush=True,
                    )
                else:
                    report("", size, figures)
            smallest, largest = min(rss), max(rss)
            if largest != smallest:
                print(
                    f"peak RSS ratio {largest:,} / {smallest:,} transactions: "
                    f"{rss[largest] / rss[smallest]:.2f} (target <= 1.3)"
                )
            if erasure:
                await erasures(engine, master_key, directory)
        finally:
            await engine.dispose()
            await drop_database(url)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        asyncio.run(child_export(sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--baseline", metavar="REV", help="also run the exports on git revision REV's code"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per export; fastest kept")
    parser.add_argument(
        "--no-erasure", action="store_true", help="skip the erasure timings (exports only)"
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.sizes,
            arguments.sqlite,
            arguments.baseline,
            arguments.repeat,
            erasure=not arguments.no_erasure,
        )
    )
