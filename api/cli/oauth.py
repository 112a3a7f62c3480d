"""`custodian client create`, `staff create`, `keys rotate` and `token --demo`.

Each subcommand sets `oauth_handler` on the parsed namespace: a callable taking the
settings and the namespace and returning the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

import httpx

from api.cli.operators import add_client_admin_commands, add_staff_admin_commands
from api.composition import running_services
from api.oauth.flow_client import FlowError, obtain_tokens
from api.settings import Settings
from domain.identity import (
    ALL_SCOPES,
    DEFAULT_CUSTOMER_SCOPES,
    SERVICE_SCOPES,
    StaffRole,
    format_scopes,
)
from persistence.demo.generate import demo_customer_id
from persistence.demo.loader import DEFAULT_SEED
from persistence.oauth.admin import (
    DEMO_APP_REDIRECT,
    DEMO_PASSWORD,
    create_client,
    create_staff,
    first_customer_with_password,
    register_web_clients,
)
from persistence.signing_keys import SigningKeyStore

EXIT_OK = 0
EXIT_FAILED = 1


def _scope(text: str) -> str:
    unknown = set(text.split()) - ALL_SCOPES
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown scope {' '.join(sorted(unknown))}; known: {' '.join(sorted(ALL_SCOPES))}"
        )
    return text


def add_oauth_commands(subparsers: Any) -> None:
    """Register `client create`, `staff create`, `keys rotate` and `token`."""
    client = subparsers.add_parser("client", help="register, list and disable OAuth clients")
    client_commands = client.add_subparsers(dest="client_command", metavar="COMMAND", required=True)
    create = client_commands.add_parser("create", help="register a client (prints its secret once)")
    create.add_argument("--name", required=True, help="the name people see on the consent screen")
    kind = create.add_mutually_exclusive_group(required=True)
    kind.add_argument("--public", action="store_true", help="an app without a secret (PKCE)")
    kind.add_argument(
        "--confidential",
        action="store_true",
        help="a server-side app with a secret, for people who sign in (authorization code)",
    )
    kind.add_argument(
        "--service",
        action="store_true",
        help=(
            "a service acting for itself with a secret (client_credentials; service scopes "
            f"only: {format_scopes(SERVICE_SCOPES)})"
        ),
    )
    create.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="an exact redirect URI (repeatable)",
    )
    create.add_argument(
        "--scope",
        action="append",
        type=_scope,
        required=True,
        metavar="SCOPE",
        help="scopes the client may ask for (repeatable or space-separated)",
    )
    create.add_argument("--client-id", help="the id to use (default: generated)")
    create.set_defaults(oauth_handler=_client_create)
    pages = client_commands.add_parser(
        "pages",
        help=(
            "register the clients of this server's own pages (portal, privacy-console) for "
            "CUSTODIAN_ISSUER, with secrets derived from the master key"
        ),
    )
    pages.set_defaults(oauth_handler=_client_pages)
    add_client_admin_commands(client_commands)

    staff = subparsers.add_parser("staff", help="manage staff sign-ins")
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="COMMAND", required=True)
    staff_create = staff_commands.add_parser(
        "create", help="create a staff user (prints a generated password once)"
    )
    staff_create.add_argument("--email", required=True)
    staff_create.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    staff_create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead",
    )
    staff_create.set_defaults(oauth_handler=_staff_create)
    add_staff_admin_commands(staff_commands)

    keys = subparsers.add_parser("keys", help="manage signing keys")
    keys_commands = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    rotate = keys_commands.add_parser(
        "rotate",
        help="start signing with a new key; old public keys stay in JWKS until "
        "their tokens have expired",
    )
    rotate.set_defaults(oauth_handler=_keys_rotate)

    token = subparsers.add_parser(
        "token", help="get an access token through the real authorization code + PKCE flow"
    )
    token.add_argument(
        "--demo",
        action="store_true",
        required=True,
        help="as a demo customer, through the demo-app client",
    )
    token.add_argument(
        "--base-url", default=None, help="the running server (default: CUSTODIAN_ISSUER)"
    )
    token.add_argument("--email", help="which demo customer (default: the first one printed)")
    token.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"the seed `custodian demo` used (default {DEFAULT_SEED})",
    )
    # Erasure is never asked for by default: `--scope "... dsr:erase"` asks for it.
    token.add_argument("--scope", type=_scope, default=format_scopes(DEFAULT_CUSTOMER_SCOPES))
    token.add_argument("--quiet", action="store_true", help="print only the access token")
    token.set_defaults(oauth_handler=_token_demo)


def _refusal(args: argparse.Namespace, scopes: frozenset[str]) -> str | None:
    """Why the client cannot be registered as asked (None when it can)."""
    if not args.service:
        return None
    if args.redirect_uri:
        return "a service client acts for itself and has no redirect URI"
    beyond = scopes - SERVICE_SCOPES
    if beyond:
        # Staff powers over customers go only to signed-in staff, through an app.
        return (
            f"a service client may hold only {format_scopes(SERVICE_SCOPES)}; "
            f"{format_scopes(beyond)} need a signed-in person: register an app "
            "(--confidential or --public) with a redirect URI instead"
        )
    return None


def _client_create(settings: Settings, args: argparse.Namespace) -> int:
    scopes = frozenset(" ".join(args.scope).split())
    if args.public and not args.redirect_uri:
        # A public client can only use the code flow, which needs somewhere to send the code.
        raise ValueError("a public client needs at least one --redirect-uri")
    refusal = _refusal(args, scopes)
    if refusal is not None:
        raise ValueError(refusal)

    async def run() -> tuple[str, str | None]:
        async with running_services(settings) as services, services.sessions() as session:
            client, secret = await create_client(
                session,
                name=args.name,
                public=args.public,
                redirect_uris=args.redirect_uri,
                scopes=scopes,
                client_id=args.client_id,
                service=args.service,
            )
            await session.commit()
            return client.client_id, secret

    client_id, secret = asyncio.run(run())
    print(f"client_id: {client_id}")
    if secret:
        print(f"client_secret: {secret}")
        print("(the secret is shown only now; it is stored as an argon2id hash)")
    return EXIT_OK


def _client_pages(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> dict[str, str | None]:
        async with running_services(settings) as services, services.sessions() as session:
            registered = await register_web_clients(session, services.master_key, settings.issuer)
            await session.commit()
            return registered

    for client_id in asyncio.run(run()):
        print(f"client {client_id}: registered for {settings.issuer.rstrip('/')}")
    print(f"web portal: {settings.issuer.rstrip('/')}/portal")
    print(f"privacy console: {settings.issuer.rstrip('/')}/console")
    return EXIT_OK


def _staff_create(settings: Settings, args: argparse.Namespace) -> int:
    generated = not args.password_stdin
    password = secrets.token_urlsafe(18) if generated else sys.stdin.readline().strip()
    if len(password) < 12:
        print("custodian: error: a staff password needs at least 12 characters", file=sys.stderr)
        return EXIT_FAILED

    async def run() -> None:
        async with running_services(settings) as services, services.sessions() as session:
            await create_staff(
                session,
                services.master_key,
                email=args.email,
                role=StaffRole(args.role),
                password=password,
            )
            await session.commit()

    asyncio.run(run())
    print(f"staff user {args.email} ({args.role}) created")
    if generated:
        print(f"password: {password}  (shown only now)")
    return EXIT_OK


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    store = SigningKeyStore(settings.keys_dir, "jwt")
    key = store.rotate(datetime.now(UTC))
    print(f"new signing key {key.kid}; previous keys stay published until their tokens expire")
    return EXIT_OK


async def first_demo_email(settings: Settings, seed: int = DEFAULT_SEED) -> str:
    """The email of the first demo customer `custodian demo` printed for `seed`; if that one
    is gone, the customer whose password was set first."""
    async with running_services(settings) as services:
        async with services.sessions() as session:
            customer_id = await first_customer_with_password(
                session, preferred=demo_customer_id(seed, 0)
            )
        if customer_id is None:
            raise LookupError("no demo customer has a password: run `custodian demo` first")
        async with services.units.customer().reading() as uow:
            profile = await uow.customers.get_profile(customer_id)
        if profile is None:
            raise LookupError("the demo customer has no profile")
        return profile.email.value


def _token_demo(settings: Settings, args: argparse.Namespace) -> int:
    base_url = args.base_url or settings.issuer

    async def run() -> dict[str, Any]:
        email = args.email or await first_demo_email(settings, args.seed)
        if not args.quiet:
            print(
                f"signing in as {email} through demo-app (PKCE S256) at {base_url}", file=sys.stderr
            )
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            return await obtain_tokens(
                http,
                client_id="demo-app",
                redirect_uri=DEMO_APP_REDIRECT,
                scope=args.scope,
                email=email,
                password=DEMO_PASSWORD,
            )

    try:
        tokens = asyncio.run(run())
    except (LookupError, ValueError, FlowError, httpx.HTTPError) as error:
        print(f"custodian: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.quiet:
        print(tokens["access_token"])
        return EXIT_OK
    print(f"access_token: {tokens['access_token']}")
    print(f"refresh_token: {tokens['refresh_token']}")
    print(f"scope: {tokens['scope']}  expires_in: {tokens['expires_in']} s")
    print(f'try: curl -H "Authorization: Bearer $TOKEN" {base_url}/v1/me')
    return EXIT_OK
