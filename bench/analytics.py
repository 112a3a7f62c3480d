"""Analytics benchmarks (printed, not asserted).

1. Projection rebuild at N demo customers (default 1,000; about 1.8M transactions): the
   transactions it reads per second (decrypting amounts and balances, projecting, writing)
   against reading the same rows with the raw driver alone (asyncpg, or sqlite3 with
   --sqlite): the ratio (goal at least 0.3).
2. p50 and p99 of each analytics endpoint over HTTP (in-process ASGI, real token of the
   analytics service): on the demo's projection, and on a synthetic projection of
   --members members (default 10,000; 24 months of facts each), written directly.

    .venv/bin/python bench/analytics.py [--customers 1000] [--members 10000] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import insert, text

from api.app import create_app
from api.settings import Settings
from domain.analytics.attributes import add_months, month_of
from domain.analytics.projecting import window_start
from domain.clock import SystemClock
from persistence.analytics.rebuild import rebuild_projection
from persistence.analytics.tables import AnalyticsContactRow, AnalyticsMemberRow, AnalyticsMonthRow
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.demo.loader import load_demo
from persistence.oauth.admin import create_client
from persistence.oauth.passwords import Argon2PasswordHasher

sys_path = Path(__file__).resolve().parent
REQUESTS = 60
NOW = month_of(datetime.now(UTC))


async def new_database(use_sqlite: bool, directory: Path) -> str:
    """A migrated throw-away database (see bench/export.py)."""
    import export  # noqa: PLC0415  (the sibling benchmark's helper)

    url: str = await export.new_database(use_sqlite, directory)
    return url


async def drop_database(url: str) -> None:
    """Drop the database `new_database` made (see bench/export.py)."""
    import export  # noqa: PLC0415

    await export.drop_database(url)


async def raw_read_seconds(url: str, since: datetime) -> tuple[int, float]:
    """Rows and seconds to read the rebuild's transaction rows with the driver alone (the
    sealed value it opens for the amount included: the demo stores every row that way)."""
    query = (
        "SELECT id, customer_id, account_id, booked_at, sealed_fields, direction, category "
        "FROM transactions WHERE status = 'booked' AND booked_at >= {p}"
    )
    started = time.perf_counter()
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        rows = connection.execute(query.format(p="?"), (since.isoformat(" "),)).fetchall()
        connection.close()
    else:
        import asyncpg  # noqa: PLC0415

        pg = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        rows = await pg.fetch(query.format(p="$1"), since)
        await pg.close()
    return len(rows), time.perf_counter() - started


async def synthetic_projection(url: str, members: int) -> None:
    """Replace the projection with `members` synthetic members, 24 months each."""
    engine = make_engine(url)
    rng = random.Random(11)
    months = [add_months(NOW, -i) for i in range(24)]
    async with engine.begin() as connection:
        for table in ("analytics_contacts", "analytics_months", "analytics_members"):
            await connection.execute(text(f"DELETE FROM {table}"))
        generation = (
            await connection.execute(text("SELECT generation FROM analytics_state"))
        ).scalar_one()
        for start in range(0, members, 500):
            batch = [uuid.uuid4().hex * 2 for _ in range(min(500, members - start))]
            await connection.execute(
                insert(AnalyticsMemberRow),
                [
                    {
                        "pseudonym": p,
                        "generation": generation,
                        "age_band": rng.choice(("18-29", "30-39", "40-49", "50-59", "60-69")),
                        "country": rng.choice(("GB", "DE", "FR", "ES", "IT", "US")),
                        "channel": rng.choice(("web", "app", "branch", "referral", "partner")),
                        "tenure_band": rng.choice(("<1y", "1-3y", "3-5y", "5-10y", "10y+")),
                        "products": rng.randint(1, 4),
                        "joined_month": rng.choice(months),
                        "left_month": rng.choice(months) if rng.random() < 0.1 else None,
                        "referred": rng.random() < 0.2,
                        "referrals_made": rng.choice((0, 0, 0, 1, 2)),
                        "member_since": NOW,
                    }
                    for p in batch
                ],
            )
            rows = []
            contacts = []
            for p in batch:
                for month in months:
                    revenue = Decimal(rng.randint(100, 12000)) / 100
                    rows.append(
                        {
                            "pseudonym": p,
                            "month": month,
                            "tier": rng.choice(("platinum", "gold", "silver", "bronze")),
                            "balance_band": rng.choice(("0-1k", "1k-10k", "10k-50k")),
                            "revenue": revenue,
                            "transactions": rng.randint(10, 90),
                            "transaction_value": revenue * 40,
                            "marketing_contacts": rng.choice((0, 0, 1, 2)),
                            "referrals_made": 0,
                        }
                    )
                    if rng.random() < 0.4:
                        contacts.append(
                            {
                                "pseudonym": p,
                                "month": month,
                                "channel": rng.choice(("phone", "email", "chat", "app")),
                                "tier": rows[-1]["tier"],
                                "balance_band": rows[-1]["balance_band"],
                                "contacts": rng.randint(1, 3),
                                "complaints": int(rng.random() < 0.1),
                                "satisfaction_sum": 4,
                                "satisfaction_n": 1,
                            }
                        )
            await connection.execute(insert(AnalyticsMonthRow), rows)
            if contacts:
                await connection.execute(insert(AnalyticsContactRow), contacts)
    await engine.dispose()


async def endpoint_latencies(
    url: str, master_key: MasterKey, directory: Path
) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of each analytics endpoint, over HTTP in-process."""
    engine = make_engine(url)
    async with session_factory(engine)() as session:
        client, secret = await create_client(
            session,
            name="bench-analytics",
            public=False,
            redirect_uris=(),
            scopes=frozenset({"analytics:read"}),
            service=True,  # client credentials: only a service client may use them
            client_id=f"bench-{uuid.uuid4().hex[:8]}",
            hash_password=Argon2PasswordHasher().hash_blocking,
        )
        client_id = client.client_id
        await session.commit()
    await engine.dispose()
    settings = Settings(
        database_url=url,
        data_dir=directory,
        master_key=base64.b64decode(master_key.to_base64()),
    )
    app = create_app(settings, worker=False)
    routes = {
        "segments": f"/v1/analytics/segments?by=country,tier&period={add_months(NOW, -1)}",
        "tiers/movement": (
            f"/v1/analytics/tiers/movement?from={add_months(NOW, -2)}&to={add_months(NOW, -1)}"
        ),
        "customers/flow": f"/v1/analytics/customers/flow?from={add_months(NOW, -12)}&to={NOW}",
        "referrals": f"/v1/analytics/referrals?period={add_months(NOW, -1)}",
        "experience": f"/v1/analytics/experience?to={add_months(NOW, -1)}",
    }
    result: dict[str, tuple[float, float]] = {}
    # No lifespan: the app is called through ASGI alone, as the API tests do.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.issuer) as http:
        token = (
            await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret or ""),
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for name, route in routes.items():
            times = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                response = await http.get(route, headers=auth)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            times.sort()
            result[name] = (statistics.median(times), times[int(len(times) * 0.99) - 1])
    return result


def _print_latencies(label: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"endpoint latency, {label} ({REQUESTS} requests each):")
    for name, (p50, p99) in figures.items():
        print(f"  {name:16s} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        url = await new_database(args.sqlite, directory)
        try:
            await _run(args, url, directory)
        finally:
            await drop_database(url)


async def _run(args: argparse.Namespace, url: str, directory: Path) -> None:
    """Load the demo, rebuild, time the endpoints: everything on `url`."""
    master_key = MasterKey.generate()
    engine = make_engine(url)
    started = time.perf_counter()
    summary = await load_demo(engine, master_key, customers=args.customers)
    print(
        f"demo: {args.customers} customers, {summary.transactions} transactions "
        f"loaded (analytics for about two thirds) in {time.perf_counter() - started:.0f} s"
    )
    report = await rebuild_projection(session_factory(engine), master_key, SystemClock())
    await engine.dispose()
    since = datetime.fromisoformat(window_start(datetime.now(UTC).date()) + "-01T00:00:00+00:00")
    rows, raw_seconds = await raw_read_seconds(url, since)
    rebuild_rate = report.transactions / report.seconds
    raw_rate = rows / raw_seconds
    print(
        f"rebuild: {report.members} members, {report.transactions} transactions in "
        f"{report.seconds:.1f} s = {rebuild_rate:,.0f} tx/s; raw driver read of the window's "
        f"{rows} booked rows {raw_rate:,.0f} rows/s; ratio {rebuild_rate / raw_rate:.2f} "
        "(members' rows only against every customer's rows)"
    )
    _print_latencies(
        f"demo projection ({report.members} members)",
        await endpoint_latencies(url, master_key, directory),
    )
    await synthetic_projection(url, args.members)
    _print_latencies(
        f"synthetic projection ({args.members} members)",
        await endpoint_latencies(url, master_key, directory),
    )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(sys_path))
    asyncio.run(main())
