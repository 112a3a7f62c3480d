"""Operator actions on identities: register clients, create staff, set passwords, and the
demo set-up. Used by the command line (`custodian client|staff create`, `custodian demo`).

Hashing here is synchronous: these run from the command line, never inside a request.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.identity import CUSTOMER_SCOPES, OAuthClient, StaffRole, StaffUser
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.oauth.identity import (
    CustomerCredentialRow,
    OAuthClientRow,
    SqlClientRepository,
    SqlStaffRepository,
    StaffUserRow,
)
from persistence.oauth.keys import IdentityKeys
from persistence.oauth.passwords import OWASP, Argon2PasswordHasher

DEMO_PASSWORD = "custodian-demo-password"  # noqa: S105 - published demo credential, by design
DEMO_APP_REDIRECT = "http://127.0.0.1:8765/callback"
DEMO_CONSOLE_REDIRECT = "http://127.0.0.1:8766/callback"
DEMO_STAFF = (
    ("privacy.officer@custodian.example", StaffRole.PRIVACY_OFFICER),
    ("support.agent@custodian.example", StaffRole.SUPPORT_AGENT),
    ("analyst@custodian.example", StaffRole.ANALYST),
)

PORTAL_CLIENT = "portal"
CONSOLE_CLIENT = "privacy-console"
WEB_CLIENT_PURPOSE = "first-party-client-secret/"

HashPassword = Callable[[str], str]


def first_party_client_secret(master_key: MasterKey, client_id: str) -> str:
    """The secret of a client the server itself runs (the portal, the privacy console's web
    pages): derived from the master key, so every process agrees on it without storing it."""
    key = master_key.derive(WEB_CLIENT_PURPOSE + client_id)
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


CONSOLE_SCOPES = frozenset({"audit:read", "dsr:admin", "analytics:read"})
"""The console's: the officer's powers, and the analyst's for the dashboard (each person's
role still caps what their own sign-in gets)."""


async def register_web_clients(
    session: AsyncSession,
    master_key: MasterKey,
    issuer: str,
    *,
    hash_password: HashPassword | None = None,
) -> dict[str, str | None]:
    """(Re-)register the clients of the server's own pages for `issuer`: `portal` with
    `<issuer>/portal/callback`, and `privacy-console` with `<issuer>/console/callback` added
    to the redirect URIs it already has. Both get the secret derived from the master key.
    Returns each client's secret. The caller commits the session."""
    base = issuer.rstrip("/")
    existing = await SqlClientRepository(session).get(CONSOLE_CLIENT)
    console_uris = list(existing.redirect_uris) if existing is not None else []
    if f"{base}/console/callback" not in console_uris:
        console_uris.append(f"{base}/console/callback")
    registered: dict[str, str | None] = {}
    for client_id, name, uris, scopes in (
        (PORTAL_CLIENT, "Custodian portal", [f"{base}/portal/callback"], CUSTOMER_SCOPES),
        (CONSOLE_CLIENT, "Privacy console", console_uris, CONSOLE_SCOPES),
    ):
        _, secret = await create_client(
            session,
            name=name,
            public=False,
            redirect_uris=uris,
            scopes=scopes,
            client_id=client_id,
            hash_password=hash_password,
            replace=True,
            secret=first_party_client_secret(master_key, client_id),
        )
        registered[client_id] = secret
    return registered


def default_hasher() -> HashPassword:
    """argon2id with the parameters the server uses (a blocking call)."""
    return Argon2PasswordHasher(OWASP, workers=1, max_waiting=0).hash_blocking


def new_client_secret() -> str:
    """A client secret: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    public: bool,
    redirect_uris: Sequence[str],
    scopes: frozenset[str],
    client_id: str | None = None,
    hash_password: HashPassword | None = None,
    replace: bool = False,
    service: bool = False,
    secret: str | None = None,
) -> tuple[OAuthClient, str | None]:
    """Register a client; returns it and its secret (None for public clients).

    The secret is stored only as an argon2id hash, so this is the one time it is seen.
    `replace` re-registers an existing id (demo set-up), with a new secret. A `service`
    client (client credentials) may hold service scopes only: InvalidScopes otherwise. A
    confidential client gets `secret` when given (a first-party client's derived secret),
    else a new random one.
    """
    secret = None if public else (secret or new_client_secret())
    hashed = None if secret is None else (hash_password or default_hasher())(secret)
    client = OAuthClient(
        client_id=client_id or f"client-{secrets.token_hex(6)}",
        name=name,
        public=public,
        redirect_uris=tuple(redirect_uris),
        scopes=scopes,
        created_at=datetime.now(UTC),
        secret_hash=hashed,
        service=service,
    )
    if replace:
        await session.execute(
            delete(OAuthClientRow).where(OAuthClientRow.client_id == client.client_id)
        )
    await SqlClientRepository(session).add(client)
    return client, secret


async def create_staff(
    session: AsyncSession,
    master_key: MasterKey,
    *,
    email: str,
    role: StaffRole,
    password: str,
    hash_password: HashPassword | None = None,
    replace: bool = False,
) -> StaffUser:
    """Create a staff user with `password` (hashed). Raises Conflict if the email exists,
    unless `replace`, which re-creates the account (demo set-up)."""
    staff_repo = SqlStaffRepository(session, IdentityKeys(master_key))
    address = Email(email)
    if replace:
        await session.execute(
            delete(StaffUserRow).where(StaffUserRow.email_index == staff_repo.email_index(address))
        )
    staff = StaffUser(
        id=uuid.uuid4(),
        email=address,
        role=role,
        created_at=datetime.now(UTC),
        password_hash=(hash_password or default_hasher())(password),
    )
    await staff_repo.add(staff)
    return staff


async def set_customer_passwords(
    session: AsyncSession, customer_ids: Sequence[UUID], password_hash: str
) -> None:
    """Give every listed customer the same password hash (demo data), replacing any."""
    if not customer_ids:
        return
    now = datetime.now(UTC)
    await session.execute(
        delete(CustomerCredentialRow).where(
            CustomerCredentialRow.customer_id.in_(list(customer_ids))
        )
    )
    await session.execute(
        insert(CustomerCredentialRow),
        [
            {"customer_id": cid, "password_hash": password_hash, "updated_at": now}
            for cid in customer_ids
        ],
    )


_STAFF_USE = {
    StaffRole.PRIVACY_OFFICER: "the privacy console",
    StaffRole.ANALYST: "the privacy console's analytics",
    StaffRole.SUPPORT_AGENT: "/v1/support, through an app registered with support:read; "
    "not the console",
    StaffRole.ADMIN: "the privacy console",
}
"""Where each demo staff member signs in, printed beside their credentials."""


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    """Every demo credential, to print once."""

    customer_password: str = field(repr=False)
    staff: tuple[tuple[str, StaffRole], ...]
    staff_password: str = field(repr=False)
    client_secrets: dict[str, str | None] = field(repr=False)
    demo_app_redirect: str = DEMO_APP_REDIRECT
    issuer: str | None = None
    """Where the server's own pages are (the portal and the console), when registered."""

    def lines(self) -> list[str]:
        """Human-readable lines for the terminal."""
        out = [f"demo customers: any demo customer's email, password {self.customer_password}"]
        out += [
            f"staff {role.value}: {email} / {self.staff_password}  ({_STAFF_USE[role]})"
            for email, role in self.staff
        ]
        for client_id, secret in self.client_secrets.items():
            kind = f"secret {secret}" if secret else "public client, PKCE"
            out.append(f"client {client_id}: {kind}")
        if self.issuer:
            out.append(f"web portal: {self.issuer}/portal  (sign in as a demo customer)")
            out.append(
                f"privacy console: {self.issuer}/console  (sign in as the privacy officer or "
                "the analyst)"
            )
        return out


async def ensure_demo_identities(
    session: AsyncSession,
    master_key: MasterKey,
    customer_ids: Sequence[UUID],
    *,
    hash_password: HashPassword | None = None,
    issuer: str | None = None,
) -> DemoCredentials:
    """Demo clients (demo-app, privacy-console, analytics-service, campaign-service), a demo
    privacy officer and support agent, and one shared password for every listed customer
    (hashed once).

    With `issuer`, also the web pages this server serves: the confidential client `portal`
    (redirect `<issuer>/portal/callback`) and the console's `<issuer>/console/callback` on
    privacy-console; both then hold the secret derived from the master key, which the server
    knows without configuration.

    Re-running replaces them (new secrets for the other confidential clients). The caller
    commits the session.
    """
    hasher = hash_password or default_hasher()
    await set_customer_passwords(session, customer_ids, hasher(DEMO_PASSWORD))
    secrets_by_client: dict[str, str | None] = {}
    # The privacy console is an app staff sign in to (authorization code), never a service:
    # its powers belong to the officer using it.
    for client_id, name, public, uris, scopes, service in (
        ("demo-app", "Custodian demo app", True, [DEMO_APP_REDIRECT], CUSTOMER_SCOPES, False),
        (
            CONSOLE_CLIENT,
            "Privacy console",
            False,
            [DEMO_CONSOLE_REDIRECT],
            CONSOLE_SCOPES,
            False,
        ),
        ("analytics-service", "Analytics service", False, [], frozenset({"analytics:read"}), True),
        ("campaign-service", "Campaign service", False, [], frozenset({"campaigns:write"}), True),
    ):
        _, secret = await create_client(
            session,
            name=name,
            public=public,
            redirect_uris=uris,
            scopes=scopes,
            client_id=client_id,
            hash_password=hasher,
            replace=True,
            service=service,
        )
        secrets_by_client[client_id] = secret
    base = issuer.rstrip("/") if issuer else None
    if base:
        await session.flush()
        secrets_by_client.update(
            await register_web_clients(session, master_key, base, hash_password=hasher)
        )
    for email, role in DEMO_STAFF:
        await create_staff(
            session,
            master_key,
            email=email,
            role=role,
            password=DEMO_PASSWORD,
            hash_password=hasher,
            replace=True,
        )
    return DemoCredentials(
        customer_password=DEMO_PASSWORD,
        staff=DEMO_STAFF,
        staff_password=DEMO_PASSWORD,
        client_secrets=secrets_by_client,
        issuer=base,
    )


async def first_customer_with_password(
    session: AsyncSession, *, preferred: UUID | None = None
) -> UUID | None:
    """`preferred` when that customer can sign in with a password; else the customer whose
    password was set first (the demo customers share one)."""
    if preferred is not None:
        found = await session.scalar(
            select(CustomerCredentialRow.customer_id).where(
                CustomerCredentialRow.customer_id == preferred
            )
        )
        if found is not None:
            return found
    return await session.scalar(
        select(CustomerCredentialRow.customer_id)
        .order_by(CustomerCredentialRow.updated_at, CustomerCredentialRow.customer_id)
        .limit(1)
    )
