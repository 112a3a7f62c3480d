"""`custodian projection rebuild [--rotate]` and `custodian analytics report --period M`.

The rebuild recomputes the pseudonymous projection from the customer tables (and with
`--rotate` replaces its key and so every pseudonym); the report prints value tiers, the
movement matrix and customer flow with the same disclosure control as the API, and each of
its queries is audited like an API query.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import TextIO

from api.cli.analytics_report import render_report
from api.composition import running_services
from api.settings import Settings
from domain.analytics import queries
from domain.analytics.attributes import add_months
from domain.analytics.queries import Asker
from domain.audit.events import SYSTEM_ACTOR
from persistence.analytics.rebuild import DEFAULT_BATCH, RebuildReport, rebuild_projection

_MONTH = re.compile(r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$")


def _month(text: str) -> str:
    if not _MONTH.match(text):
        raise argparse.ArgumentTypeError("a month as YYYY-MM")
    return text


def _batch(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("a number from 1 to 10000")
    return value


def add_analytics_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `projection rebuild` and `analytics report`. The namespace carries
    `oauth_handler(settings, args) -> int`, the dispatcher's hook for configured commands."""
    projection = subparsers.add_parser("projection", help="the analytics projection")
    commands = projection.add_subparsers(
        dest="projection_command", metavar="COMMAND", required=True
    )
    rebuild = commands.add_parser(
        "rebuild",
        help="recompute the pseudonymous analytics projection from the customer tables",
        description="Recompute every consenting customer's projection rows, in batches that "
        "never undo a concurrent withdrawal. --rotate also replaces the projection key, so "
        "every pseudonym changes and nothing links the old ones to the new.",
    )
    rebuild.add_argument("--rotate", action="store_true", help="replace the projection key")
    rebuild.add_argument(
        "--batch", type=_batch, default=DEFAULT_BATCH, metavar="N", help="customers per batch"
    )
    rebuild.set_defaults(oauth_handler=run_rebuild)
    analytics = subparsers.add_parser("analytics", help="analytics of the projection")
    reports = analytics.add_subparsers(dest="analytics_command", metavar="COMMAND", required=True)
    report = reports.add_parser(
        "report",
        help="print value tiers, movement between tiers and customer flow for a month",
        description="Aggregates only, with cells of fewer than CUSTODIAN_ANALYTICS_MIN_COHORT "
        "customers suppressed (and complementary cells with them). Audited.",
    )
    report.add_argument("--period", type=_month, required=True, metavar="YYYY-MM")
    report.set_defaults(oauth_handler=run_report)


def run_rebuild(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Rebuild (and with --rotate re-key) the projection; print one line of figures."""
    report = asyncio.run(_rebuild(settings, rotate=args.rotate, batch=args.batch))
    rate = report.transactions / report.seconds if report.seconds else 0.0
    print(
        f"projection rebuilt: {report.customers} customers read, {report.members} members, "
        f"{report.transactions} transactions in {report.seconds:.1f} s ({rate:,.0f}/s); "
        f"key generation {report.generation}" + (" (rotated)" if report.rotated else ""),
        file=out or sys.stdout,
    )
    return 0


async def _rebuild(settings: Settings, *, rotate: bool, batch: int) -> RebuildReport:
    async with running_services(settings) as services:
        return await rebuild_projection(
            services.sessions, services.master_key, services.clock, rotate=rotate, batch=batch
        )


def run_report(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the report for --period."""
    lines = asyncio.run(_report(settings, args.period))
    print("\n".join(lines), file=out or sys.stdout)
    return 0


async def _report(settings: Settings, period: str) -> list[str]:
    async with running_services(settings) as services:
        units, clock = services.units.analytics, services.clock
        asker = Asker(SYSTEM_ACTOR, settings.analytics_min_cohort)
        tiers = await queries.segments(units(), clock, asker, ["tier"], period)
        movement = await queries.tier_movement(
            units(), clock, asker, add_months(period, -1), period
        )
        flow = await queries.customer_flow(
            units(), clock, asker, add_months(period, -11), period, by="tier"
        )
        return render_report(period, tiers, movement, flow)
