"""`custodian projection rebuild [--rotate]` and `custodian analytics report` on both
engines: figures printed, small cells suppressed, the report's queries audited."""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from analytics_seed import seed_population, set_analytics
from oauth_harness import raw_key
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.cli.analytics import run_rebuild, run_report
from api.cli.main import build_parser
from api.settings import Settings
from domain.analytics.attributes import month_of
from persistence.crypto import MasterKey
from persistence.uow import SqlUnitOfWork


def _settings(db_url: str, master_key: MasterKey, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path, master_key=raw_key(master_key))


async def test_rebuild_and_report_print_figures_with_suppression(
    db_url: str,
    engine: AsyncEngine,
    master_key: MasterKey,
    uow_factory: Callable[[], SqlUnitOfWork],
    tmp_path: Path,
) -> None:
    ids = await seed_population(uow_factory, 14)
    for customer_id in ids[:12]:
        await set_analytics(uow_factory, customer_id, granted=True)
    settings = _settings(db_url, master_key, tmp_path)
    out = io.StringIO()
    # The commands run their own event loop: call them from a worker thread.
    rebuilt = argparse.Namespace(rotate=True, batch=5)
    assert await asyncio.to_thread(run_rebuild, settings, rebuilt, out) == 0
    assert "14 customers read, 12 members" in out.getvalue()
    assert "key generation 2 (rotated)" in out.getvalue()
    period = month_of(datetime.now(UTC))
    report = io.StringIO()
    status = await asyncio.to_thread(
        run_report, settings, argparse.Namespace(period=period), report
    )
    assert status == 0
    lines = report.getvalue()
    assert f"Custodian analytics report for {period}" in lines
    assert "12 consenting customers" in lines
    assert "(suppressed)" in lines  # 12 customers over four tiers: small cells withheld
    async with engine.connect() as connection:
        queries = (
            await connection.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'analytics.query'")
            )
        ).scalar_one()
    assert queries == 3


def test_the_commands_are_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(["projection", "rebuild", "--rotate"])
    assert args.rotate is True
    assert args.oauth_handler is run_rebuild
    args = parser.parse_args(["analytics", "report", "--period", "2026-03"])
    assert args.oauth_handler is run_report
