"""`custodian worker` runs background jobs (exports, erasures, the export-expiry sweep);
`custodian retention sweep` destroys financial data whose legal retention has ended.

Any number of worker processes may run against one PostgreSQL database; they lease jobs with
`FOR UPDATE SKIP LOCKED`. On SQLite run one. SIGTERM or Ctrl-C stops the worker after the
current job step; a job interrupted harder (kill -9) is taken up again once its lease expires.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from api.composition import (
    JOB_LEASE_SECONDS,
    build_job_worker,
    build_tree_head_timer,
    running_services,
    sweep_retention,
)
from api.logging import configure_logging
from api.settings import Settings


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.1 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}")
    return value


def add_job_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `worker`. The namespace carries `oauth_handler(settings, args) -> int`, the
    dispatcher's hook for commands that need the loaded settings."""
    worker = subparsers.add_parser(
        "worker",
        help="run background jobs (data exports) until stopped",
        description="Lease jobs from the database and run them; heartbeats keep the lease, "
        "and a job whose worker died is run again once its lease expires.",
    )
    worker.add_argument(
        "--lease-seconds",
        type=_positive,
        default=JOB_LEASE_SECONDS,
        metavar="S",
        help=f"job lease (default {JOB_LEASE_SECONDS:g})",
    )
    worker.add_argument(
        "--poll-seconds",
        type=_positive,
        default=1.0,
        metavar="S",
        help="pause when there is nothing to do (default 1)",
    )
    worker.set_defaults(oauth_handler=run_worker_command)
    add_retention_commands(subparsers)


def run_worker_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run one worker until SIGTERM/SIGINT; exit status 0."""
    configure_logging()
    asyncio.run(_run(settings, lease_seconds=args.lease_seconds, poll_seconds=args.poll_seconds))
    return 0


async def _run(settings: Settings, *, lease_seconds: float, poll_seconds: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running_services(settings) as services:
        worker = build_job_worker(
            settings, services, lease_seconds=lease_seconds, poll_seconds=poll_seconds
        )
        # The audit log's signed tree heads on a timer, for deployments without `serve`'s.
        timer = build_tree_head_timer(settings, services)
        await asyncio.gather(worker.run(stop), timer.run(stop))


def add_retention_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `retention sweep`."""
    retention = subparsers.add_parser("retention", help="apply the retention rules")
    commands = retention.add_subparsers(dest="retention_command", metavar="COMMAND", required=True)
    sweep = commands.add_parser(
        "sweep",
        help="destroy the financial data of erased customers past its retention",
        description="Erased customers' financial records are kept under legal hold until "
        "CUSTODIAN_FINANCIAL_RETENTION_YEARS after their last account closed; "
        "this destroys the data keys of those whose period has ended.",
    )
    sweep.set_defaults(oauth_handler=run_retention_sweep)


def run_retention_sweep(settings: Settings, _args: argparse.Namespace) -> int:
    """Run the sweep once and print how many customers' financial data was destroyed."""
    swept = asyncio.run(_sweep(settings))
    print(f"retention sweep: financial data of {swept} erased customer(s) destroyed")
    return 0


async def _sweep(settings: Settings) -> int:
    async with running_services(settings) as services:
        return len(await sweep_retention(settings, services))
