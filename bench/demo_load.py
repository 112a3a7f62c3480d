"""How fast `custodian demo` loads: rows per second on SQLite and PostgreSQL, side by side.

Each engine gets a fresh database (a temporary SQLite file; a throw-away PostgreSQL database
on 127.0.0.1, created and dropped here), migrated to head, then `load_demo` runs once.
Also prints where the CPU goes per transaction row without any database (generating the
movements, sealing their four encrypted fields), so the figures can be read against the
cost of encryption.

Run: .venv/bin/python bench/demo_load.py [CUSTOMERS] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
from sqlalchemy import make_url

from persistence.crypto import FieldCipher, MasterKey, new_data_key
from persistence.database import make_engine
from persistence.demo.generate import demo_transaction_ids, generate_customer
from persistence.demo.loader import DemoSummary, load_demo
from persistence.demo.store import TransactionBulkWriter
from persistence.migrate import upgrade

POSTGRES_ADMIN = os.environ.get(
    "CUSTODIAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


Result = tuple[DemoSummary, float, float]
"""The summary, and CPU seconds of this process and of the worker processes."""


async def _load(url: str, customers: int, seed: int) -> Result:
    await upgrade(url)
    engine = make_engine(url)
    try:
        before = os.times()
        summary = await load_demo(engine, MasterKey.generate(), customers=customers, seed=seed)
        after = os.times()  # the workers have exited: their CPU time is counted by now
        return (
            summary,
            after.user + after.system - before.user - before.system,
            after.children_user
            + after.children_system
            - before.children_user
            - before.children_system,
        )
    finally:
        await engine.dispose()


async def bench_sqlite(customers: int, seed: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="custodian-bench-") as scratch:
        return await _load(f"sqlite+aiosqlite:///{scratch}/demo.db", customers, seed)


async def bench_postgres(customers: int, seed: int) -> Result | str:
    name = f"custodian_bench_{uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"skipped: PostgreSQL unreachable ({type(error).__name__})"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_ADMIN).set(drivername="postgresql+asyncpg", database=name)
        return await _load(url.render_as_string(hide_password=False), customers, seed)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def cpu_per_row(customers: int, seed: int) -> dict[str, float]:
    """Microseconds of CPU per transaction row for generating and for sealing (what the
    worker processes do), without any database."""
    day = datetime.now(UTC).date()
    started = time.process_time()
    people = [generate_customer(seed, index, day) for index in range(customers)]
    generated = time.process_time() - started
    rows = sum(person.transaction_count for person in people)

    writer = TransactionBulkWriter("postgresql")  # native values: sealing only
    cipher = FieldCipher(new_data_key())
    started = time.process_time()
    for person in people:
        ids = demo_transaction_ids(seed, person.index)
        for account, movements in person.ledgers:
            writer.rows(cipher, account, movements, ids)
    sealed = time.process_time() - started
    return {
        "generate": generated / rows * 1e6,
        "seal 4 fields and build the row": sealed / rows * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    print(
        f"demo load of {args.customers} customers (seed {args.seed}), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    results: dict[str, Result | str] = {
        "SQLite": asyncio.run(bench_sqlite(args.customers, args.seed)),
        "PostgreSQL": asyncio.run(bench_postgres(args.customers, args.seed)),
    }
    print(
        f"{'':12}{'seconds':>9}{'rows':>11}{'rows/s':>9}{'txn/s':>9}"
        f"{'CPU s main':>12}{'CPU s workers':>15}"
    )
    for engine, result in results.items():
        if isinstance(result, str):
            print(f"{engine:12}{result}")
            continue
        summary, main_cpu, worker_cpu = result
        print(
            f"{engine:12}{summary.seconds:9.1f}{summary.rows:11,}"
            f"{summary.rows / summary.seconds:9,.0f}"
            f"{summary.transactions / summary.seconds:9,.0f}"
            f"{main_cpu:12.1f}{worker_cpu:15.1f}"
        )
    sample = min(args.customers, 50)
    costs = cpu_per_row(sample, args.seed)
    print(
        f"CPU per transaction row, no database ({sample} customers): "
        + ", ".join(f"{name} {micros:.1f} us" for name, micros in costs.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
