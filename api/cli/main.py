"""The `custodian` command line: migrate, demo, serve, audit verify, openapi.

Whatever goes wrong, an operator gets one line on stderr (`custodian: error: ...`) and an
exit status, never a traceback:

- 0: done.
- 1: the command failed while working: database unreachable or not migrated, no such client
  or staff user, an invalid value (an email that is not one), a file that cannot be written,
  a port in use, or an unexpected error (named by its type).
- 2: a bad command line or bad configuration (as argparse words it).
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import NoReturn, TextIO, cast
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError

from api.cli.analytics import add_analytics_commands
from api.cli.audit import add_audit_commands
from api.cli.jobs import add_job_commands
from api.cli.oauth import add_oauth_commands
from api.composition import build_tree_head_timer, running_services
from api.logging import configure_logging
from api.settings import ConfigError, Settings, load_settings
from domain.errors import DomainError
from persistence.app_role import RoleConfigError, grant_app_role
from persistence.database import prepare_sqlite_file
from persistence.demo.campaigns import DemoMarketing, seed_demo_marketing
from persistence.demo.loader import DEFAULT_SEED, MAX_CUSTOMERS, DemoSummary, load_demo
from persistence.migrate import head_revision, is_at_head, upgrade
from persistence.oauth.admin import DemoCredentials, ensure_demo_identities

PROG = "custodian"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
WORKER_HEALTHCHECK_SECONDS = 30
"""How long `serve --workers N`'s supervisor waits for a worker to answer before replacing it."""
SIGN_INS_SHOWN = 10
"""How many demo customers `demo` lists; the rest follow the same pattern."""


class CommandFailed(Exception):
    """A command could not do its job; the message is the one line to print."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) naming the program."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _customer_count(text: str) -> int:
    """argparse type for --customers: a whole number from 1 to MAX_CUSTOMERS."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CUSTOMERS:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_CUSTOMERS}, got {text!r}"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number (1-65535), got {text!r}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full command line, every subcommand registered."""
    parser = _Parser(prog=PROG, description="Customer-data self-service API: operations.")
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("migrate", help="migrate the database to the newest schema")
    demo = commands.add_parser(
        "demo",
        help="load synthetic demo customers (idempotent for a seed)",
        description="Create realistic synthetic customers with two years of accounts, "
        "transactions and interactions. Running it again adds nothing new.",
    )
    demo.add_argument(
        "--customers",
        type=_customer_count,
        default=200,
        metavar="N",
        help="how many customers (default 200)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="S",
        help=f"random seed: the same seed gives the same people (default {DEFAULT_SEED})",
    )
    serve = commands.add_parser("serve", help="run the HTTP API (the database must be migrated)")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=_workers, default=1, help="processes (default 1)")
    # The helpers' registrars take plain ArgumentParser subparsers; ours only reword errors.
    plain = cast("argparse._SubParsersAction[argparse.ArgumentParser]", commands)
    add_audit_commands(plain)
    add_oauth_commands(plain)
    add_job_commands(plain)
    add_analytics_commands(plain)
    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument(
        "--output",
        type=Path,
        default=Path("openapi/openapi.json"),
        metavar="PATH",
        help="where to write it (default openapi/openapi.json)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line in `argv` (default: sys.argv) and return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2), already printed
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as error:  # noqa: BLE001 - the promise: one line, never a traceback
        message, status = explain(error)
        return _fail(message, status)


def explain(error: Exception) -> tuple[str, int]:
    """The one line and the exit status reporting `error` (see the module docstring)."""
    if isinstance(error, ConfigError):
        return str(error), EXIT_USAGE
    if isinstance(error, CommandFailed):
        return str(error), EXIT_FAILED
    if isinstance(error, LookupError | DomainError | ValueError):
        return _first_line(error), EXIT_FAILED
    if isinstance(error, OSError) and error.filename is not None:
        # A file the command was asked to read or write, not the database.
        return f"{error.filename}: {error.strerror or type(error).__name__}", EXIT_FAILED
    if isinstance(error, SQLAlchemyError | OSError):
        return f"database unavailable: {describe_error(error)}", EXIT_FAILED
    return f"unexpected {type(error).__name__}: {_first_line(error)}", EXIT_FAILED


def package_version() -> str:
    """The installed package's version."""
    try:
        return metadata.version("custodian")
    except metadata.PackageNotFoundError:
        return "unknown"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def describe_error(error: BaseException) -> str:
    """One line about a database or OS error: its kind and first line, no URL, no SQL."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    detail = lines[0] if lines else ""
    return f"{type(cause).__name__}: {detail}" if detail else type(cause).__name__


def _fail(message: str, status: int, err: TextIO | None = None) -> int:
    print(f"{PROG}: error: {message}", file=err or sys.stderr)
    return status


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "openapi":
        # Needs no configuration: the document depends on the code alone.
        from api.openapi_doc import write_openapi  # noqa: PLC0415  (heavy: the whole app)

        print(f"wrote {write_openapi(args.output)}")
        return EXIT_OK
    configure_logging(level="WARNING")
    settings = load_settings()
    configure_logging(level="WARNING", log_format=settings.log_format)
    prepare_sqlite_file(settings.database_url)
    if args.command == "audit":
        handler: Callable[[str], int] = args.audit_handler
        return handler(settings.database_url)
    if hasattr(args, "oauth_handler"):  # client create, staff create, keys rotate, token
        oauth_handler: Callable[[Settings, argparse.Namespace], int] = args.oauth_handler
        return oauth_handler(settings, args)
    if args.command == "migrate":
        owner_url = settings.migration_database_url or settings.database_url
        asyncio.run(upgrade(owner_url))
        print(f"database migrated to revision {head_revision()}")
        if settings.migration_database_url:
            try:
                role = asyncio.run(grant_app_role(owner_url, settings.database_url))
            except RoleConfigError as error:
                raise CommandFailed(f"CUSTODIAN_DATABASE_URL: {error}") from None
            if role:
                print(f"application role {role}: no DDL, audit tables append-only")
        return EXIT_OK
    if args.command == "demo":
        summary, credentials, marketing = asyncio.run(
            _demo(settings, customers=args.customers, seed=args.seed)
        )
        print_demo_summary(summary, sys.stdout, credentials, capped=marketing.capped_ids)
        return EXIT_OK
    if args.command == "serve":
        asyncio.run(_require_migrated(settings))
        os.environ.update(per_process_limits(settings, args.workers))
        _serve(host=args.host, port=args.port, workers=args.workers, log_format=settings.log_format)
        return EXIT_OK
    raise CommandFailed(f"unknown command {args.command!r}")  # argparse prevents this


async def _require_migrated(settings: Settings) -> None:
    async with running_services(settings) as services:
        at_head = await is_at_head(services.engine)
    if not at_head:
        raise CommandFailed(
            f"the database schema is not at revision {head_revision()}: run `{PROG} migrate` first"
        )


async def _demo(
    settings: Settings, *, customers: int, seed: int
) -> tuple[DemoSummary, DemoCredentials, DemoMarketing]:
    if settings.is_production:
        # Synthetic people with published credentials have no place next to real ones.
        raise CommandFailed("refusing to load demo data with CUSTODIAN_ENV=production")
    await _require_migrated(settings)
    async with running_services(settings) as services:
        master_key = services.master_key
        summary = await load_demo(services.engine, master_key, customers=customers, seed=seed)
        # Every run re-issues the demo clients' secrets, so the ones printed always work.
        async with services.sessions() as session:
            credentials = await ensure_demo_identities(
                session,
                master_key,
                [sign_in.customer_id for sign_in in summary.sign_ins],
                issuer=settings.issuer,
            )
            await session.commit()
        # Consents and campaign contacts, so some demo customers are capped by the policy.
        marketing = await seed_demo_marketing(
            services.engine, master_key, [sign_in.customer_id for sign_in in summary.sign_ins]
        )
        # Sign a tree head over the events just appended, as a running server's timer would:
        # `audit verify` counts events left unsigned for long as tree heads deleted.
        await build_tree_head_timer(settings, services).tick()
        return summary, credentials, marketing


def print_demo_summary(
    summary: DemoSummary,
    out: TextIO,
    credentials: DemoCredentials | None = None,
    *,
    capped: frozenset[UUID] = frozenset(),
) -> None:
    """What `custodian demo` prints: what was loaded and every demo credential."""
    print(
        f"demo data (seed {summary.seed}): {summary.customers_created} customers created, "
        f"{summary.customers_existing} already present; {summary.accounts} accounts, "
        f"{summary.transactions} transactions, {summary.interactions} interactions added "
        f"in {summary.seconds:.1f} s",
        file=out,
    )
    print("sign in as any of these demo customers:", file=out)
    for sign_in in summary.sign_ins[:SIGN_INS_SHOWN]:
        line = f"  {sign_in.email}"
        if sign_in.password is not None:
            line += f"  password: {sign_in.password}"
        if sign_in.customer_id in capped:
            line += "  (two campaign emails this week: capped by the weekly marketing limit)"
        print(line, file=out)
    hidden = len(summary.sign_ins) - SIGN_INS_SHOWN
    if hidden > 0:
        print(f"  ... and {hidden} more", file=out)
    if credentials is not None:
        for line in credentials.lines():
            print(line, file=out)
        print(f"get a customer token: {command_as_typed()} token --demo  (see README.md)", file=out)


def command_as_typed(started_as: str | None = None) -> str:
    """How to run this program again from the current directory, as a person would type it.

    `custodian` when that name on PATH is this program; else the path it was started by
    (`sys.argv[0]`), relative to here when it is below: `make run` starts
    `.venv/bin/custodian`, and a newcomer's shell has no virtual environment activated, so
    `custodian` alone would not be found."""
    started = Path(os.path.abspath(started_as or sys.argv[0]))
    if started.name != PROG:  # `python -m ...`: no program file to name
        return PROG
    on_path = shutil.which(PROG)
    if on_path is not None and Path(on_path).resolve() == started.resolve():
        return PROG
    try:
        shown = started.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return shlex.quote(str(started))
    # A bare name would be looked up on PATH: a relative path needs a slash.
    return shlex.quote(shown if "/" in shown else f"./{shown}")


def per_process_limits(settings: Settings, workers: int) -> dict[str, str]:
    """The rate limits each of `workers` processes enforces, as environment overrides.

    The rate-limit buckets live in each process's memory (api/rate_limit.py), and the kernel
    spreads connections over the processes, so each enforces its share: the configured limit
    divided by the process count, rounded down (never below 1 while a limit is on). Across
    the processes of one `serve` a caller thus never gets more than the configured limit; a
    caller that keeps one connection open reaches one process and gets only its share. With
    one process nothing changes.
    """
    if workers <= 1:
        return {}
    limits = {
        "CUSTODIAN_RATE_LIMIT": settings.rate_limit_per_minute,
        "CUSTODIAN_TOKEN_RATE_LIMIT": settings.token_rate_limit_per_minute,
    }
    return {name: str(max(1, value // workers) if value else 0) for name, value in limits.items()}


def _serve(*, host: str, port: int, workers: int, log_format: str = "json") -> None:
    import uvicorn  # noqa: PLC0415  (only `serve` needs the server)

    from api.read_deadline import HeaderDeadlineProtocol  # noqa: PLC0415  (uvicorn's too)

    # The app processes read their settings again: without CUSTODIAN_ISSUER, the issuer is
    # built from HOST and PORT, which must be where this server actually listens.
    os.environ["HOST"] = host
    os.environ["PORT"] = str(port)
    _require_free_port(host, port)
    configure_logging(log_format=log_format)
    # An import string and a factory, so that every worker process builds its own app
    # (settings, engine, pool) instead of inheriting this process's.
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        server_header=False,
        # uvicorn's HTTP protocol, with a deadline for each request's headers.
        http=HeaderDeadlineProtocol,
        # uvicorn would take X-Forwarded-For from loopback peers as the client address;
        # Custodian decides itself, from CUSTODIAN_TRUSTED_PROXIES only.
        proxy_headers=False,
        # With --workers, the supervisor replaces a worker that died; a replacement that has
        # not answered its health check in time is killed and replaced again. On a busy host
        # starting a worker (a fresh interpreter importing the app) can take longer than
        # uvicorn's 5 s, and the replacements would churn while one process carries the load.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def _require_free_port(host: str, port: int) -> None:
    # Uvicorn would log the bind failure as a log line and exit 3; say it in one line instead.
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CommandFailed(
            f"cannot listen on {host}:{port} ({reason}): is another server running there? "
            "Choose another with --port"
        ) from None


if __name__ == "__main__":
    sys.exit(main())
