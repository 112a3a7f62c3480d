"""`custodian client list|disable` and `staff list|disable|reset-password`.

Registered under the `client` and `staff` commands; each sets `oauth_handler` like the
other OAuth subcommands. Errors are raised (LookupError, DomainError) for the command line's
one-line reporting.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.composition import engine_for, sessions_for
from api.settings import Settings
from domain.identity import format_scopes
from persistence.crypto import MasterKey
from persistence.oauth.operators import (
    disable_client,
    disable_staff,
    list_clients,
    list_staff,
    reset_staff_password,
)

EXIT_OK = 0
MIN_STAFF_PASSWORD = 12
T = TypeVar("T")


def add_client_admin_commands(client_commands: Any) -> None:
    """`client list` and `client disable CLIENT_ID`."""
    listing = client_commands.add_parser("list", help="list registered clients")
    listing.set_defaults(oauth_handler=_client_list)
    disable = client_commands.add_parser(
        "disable", help="disable a client and revoke every grant it holds"
    )
    disable.add_argument("client_id", metavar="CLIENT_ID")
    disable.set_defaults(oauth_handler=_client_disable)


def add_staff_admin_commands(staff_commands: Any) -> None:
    """`staff list`, `staff disable --email`, `staff reset-password --email`."""
    listing = staff_commands.add_parser("list", help="list staff users")
    listing.set_defaults(oauth_handler=_staff_list)
    disable = staff_commands.add_parser(
        "disable", help="stop a staff user signing in and revoke their grants"
    )
    disable.add_argument("--email", required=True)
    disable.set_defaults(oauth_handler=_staff_disable)
    reset = staff_commands.add_parser(
        "reset-password", help="set a new password (generated and printed once, or from stdin)"
    )
    reset.add_argument("--email", required=True)
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    reset.set_defaults(oauth_handler=_staff_reset)


def _in_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, commit: bool = False
) -> T:
    async def run() -> T:
        engine = engine_for(settings.database_url)
        try:
            async with sessions_for(engine)() as session:
                result = await work(session)
                if commit:
                    await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _client_list(settings: Settings, args: argparse.Namespace) -> int:
    clients = _in_session(settings, list_clients)
    if not clients:
        print("no clients registered (run `custodian demo` or `custodian client create`)")
    for client in clients:
        kind = "public" if client.public else "confidential"
        status = "disabled" if client.disabled else "active"
        print(f"{client.client_id}  {kind}  {status}  {client.name!r}")
        print(f"    scopes: {format_scopes(client.scopes)}")
        for uri in client.redirect_uris:
            print(f"    redirect: {uri}")
    return EXIT_OK


def _client_disable(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> bool:
        return await disable_client(session, args.client_id)

    if not _in_session(settings, work, commit=True):
        raise LookupError(f"no client with the id {args.client_id}")
    print(f"client {args.client_id} disabled; its grants are revoked")
    return EXIT_OK


def _staff_list(settings: Settings, args: argparse.Namespace) -> int:
    key = MasterKey(settings.master_key)

    async def work(session: AsyncSession) -> list[str]:
        return [
            f"{s.email}  {s.role.value}  {'disabled' if s.disabled else 'active'}  {s.id}"
            for s in await list_staff(session, key)
        ]

    lines = _in_session(settings, work)
    print("\n".join(lines) if lines else "no staff users (run `custodian staff create`)")
    return EXIT_OK


def _staff_disable(settings: Settings, args: argparse.Namespace) -> int:
    key = MasterKey(settings.master_key)

    async def work(session: AsyncSession) -> None:
        await disable_staff(session, key, args.email)

    _in_session(settings, work, commit=True)
    print(f"staff user {args.email} disabled; their grants are revoked")
    return EXIT_OK


def read_new_password(from_stdin: bool) -> tuple[str, bool]:
    """A new staff password (read from stdin, or generated) and whether it was generated;
    ValueError when the one read is too short."""
    if not from_stdin:
        return secrets.token_urlsafe(18), True
    password = sys.stdin.readline().strip()
    if len(password) < MIN_STAFF_PASSWORD:
        raise ValueError(f"a staff password needs at least {MIN_STAFF_PASSWORD} characters")
    return password, False


def _staff_reset(settings: Settings, args: argparse.Namespace) -> int:
    password, generated = read_new_password(args.password_stdin)
    key = MasterKey(settings.master_key)

    async def work(session: AsyncSession) -> None:
        await reset_staff_password(session, key, args.email, password)

    _in_session(settings, work, commit=True)
    print(f"password of staff user {args.email} reset")
    if generated:
        print(f"password: {password}  (shown only now)")
    return EXIT_OK
