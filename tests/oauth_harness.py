"""Shared set-up for the OAuth tests: the real application on the test's database, with an
injected clock, and helpers to create clients, staff and customers and to run the flow."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.composition import Services, build_job_worker, build_oauth_services, build_services
from api.oauth.flow_client import Pkce, authorize_params, sign_in_and_consent
from api.oauth.services import OAuthServices
from api.settings import Settings
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.identity import CUSTOMER_SCOPES, StaffRole
from domain.oauth.login import ThrottlePolicy
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.oauth.admin import create_client, create_staff, set_customer_passwords
from persistence.oauth.passwords import Argon2PasswordHasher
from persistence.uow import SqlUnitOfWork

ISSUER = "http://127.0.0.1:8000"
APP_REDIRECT = "http://127.0.0.1:8765/callback"
CONSOLE_REDIRECT = "http://127.0.0.1:8766/callback"
PASSWORD = "correct horse battery staple"
ERASE = {"confirmation": "erase my data"}
"""The body that confirms an erasure."""
CUSTOMER_SCOPE = " ".join(sorted(CUSTOMER_SCOPES))


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def now(self) -> datetime:
        """The current fake time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += timedelta(seconds=seconds)


@dataclass
class World:
    """The running application and everything a test needs around it."""

    http: httpx.AsyncClient
    oauth: OAuthServices
    clock: FakeClock
    engine: AsyncEngine
    master_key: MasterKey
    settings: Settings
    services: Services
    secrets: dict[str, str] = field(default_factory=dict)
    customers: dict[str, uuid.UUID] = field(default_factory=dict)

    async def run_jobs(self) -> None:
        """Run every runnable job once, as `custodian worker` would."""
        worker = build_job_worker(self.settings, self.services)
        while await worker.run_once():
            pass

    async def add_client(
        self,
        client_id: str,
        *,
        public: bool,
        scopes: str,
        redirect_uris: tuple[str, ...] = (),
        service: bool = False,
    ) -> str | None:
        """Register a client (`service`: client credentials); returns its secret (None for
        public clients)."""
        async with session_factory(self.engine)() as session:
            _, secret = await create_client(
                session,
                name=client_id,
                public=public,
                redirect_uris=redirect_uris,
                scopes=frozenset(scopes.split()),
                client_id=client_id,
                hash_password=_HASHER.hash_blocking,
                service=service,
            )
            await session.commit()
        if secret:
            self.secrets[client_id] = secret
        return secret

    async def add_staff(self, email: str, role: StaffRole) -> None:
        """Create a staff user with PASSWORD."""
        await add_staff(self.engine, self.master_key, email, role)

    async def add_customer(self, email: str) -> uuid.UUID:
        """Create a customer with a profile and PASSWORD; returns the customer id."""
        customer_id = await add_customer(self.engine, self.master_key, email, self.clock.now())
        self.customers[email] = customer_id
        return customer_id

    async def authorize(
        self,
        client_id: str,
        email: str,
        *,
        scope: str = CUSTOMER_SCOPE,
        redirect_uri: str = APP_REDIRECT,
        pkce: Pkce | None = None,
    ) -> tuple[dict[str, str], Pkce]:
        """Sign in and allow; the redirect's query parameters and the PKCE pair used."""
        pkce = pkce or Pkce.new()
        params = authorize_params(client_id, redirect_uri, scope, pkce)
        redirect = await sign_in_and_consent(self.http, params, email, PASSWORD)
        return redirect.params, pkce

    async def token(self, data: dict[str, str], client_id: str | None = None) -> httpx.Response:
        """POST /oauth/token, authenticating with the client's secret when it has one."""
        secret = self.secrets.get(client_id or "")
        auth = (client_id, secret) if client_id and secret else None
        return await self.http.post("/oauth/token", data=data, auth=auth)  # type: ignore[arg-type]

    async def tokens_for(
        self,
        email: str,
        client_id: str = "demo-app",
        scope: str = CUSTOMER_SCOPE,
        redirect_uri: str = APP_REDIRECT,
    ) -> dict[str, Any]:
        """The whole flow; the token response (asserted successful)."""
        params, pkce = await self.authorize(
            client_id, email, scope=scope, redirect_uri=redirect_uri
        )
        response = await self.token(
            {
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": pkce.verifier,
            },
            client_id,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def me(self, access_token: str) -> httpx.Response:
        """GET /v1/me with the token."""
        return await self.http.get("/v1/me", headers={"Authorization": f"Bearer {access_token}"})


_HASHER = Argon2PasswordHasher()


def raw_key(master_key: MasterKey) -> bytes:
    """The master key's bytes, for Settings."""
    return base64.b64decode(master_key.to_base64())


async def add_staff(
    engine: AsyncEngine, master_key: MasterKey, email: str, role: StaffRole
) -> None:
    """Create a staff user with PASSWORD on `engine`."""
    async with session_factory(engine)() as session:
        await create_staff(
            session,
            master_key,
            email=email,
            role=role,
            password=PASSWORD,
            hash_password=_HASHER.hash_blocking,
        )
        await session.commit()


async def add_customer(
    engine: AsyncEngine, master_key: MasterKey, email: str, at: datetime | None = None
) -> uuid.UUID:
    """Create a customer with a profile and PASSWORD on `engine`; returns the customer id."""
    customer = Customer(
        id=uuid.uuid4(),
        status=CustomerStatus.ACTIVE,
        created_at=at or datetime.now(UTC),
        acquisition_channel=AcquisitionChannel.WEB,
    )
    profile = Profile(
        customer_id=customer.id, given_name="Ada", family_name="Lovelace", email=Email(email)
    )
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, master_key) as uow:
        await uow.customers.add(customer, profile)
        await uow.commit()
    async with sessions() as session:
        await set_customer_passwords(session, [customer.id], _HASHER.hash_blocking(PASSWORD))
        await session.commit()
    return customer.id


@asynccontextmanager
async def running_world(
    db_url: str,
    engine: AsyncEngine,
    master_key: MasterKey,
    tmp_path: Path,
    throttle: ThrottlePolicy | None = None,
    erasure_grace_days: int = 0,
    issuer: str = ISSUER,
    **settings_options: Any,
) -> AsyncIterator[World]:
    """The application on the test's database with demo-app, privacy-console,
    analytics-service and campaign-service registered. Erasures run at once unless
    `erasure_grace_days`."""
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        master_key=raw_key(master_key),
        issuer=issuer,
        erasure_grace_days=erasure_grace_days,
        **settings_options,
    )
    clock = FakeClock()
    services = build_services(settings, engine=engine, clock=clock)
    oauth = build_oauth_services(settings, services, hasher=_HASHER, throttle=throttle)
    app = create_app(settings, services=services, oauth=oauth)
    # ASGITransport runs the app on the test's own event loop, so the engine's pooled
    # connections (used by the app and by the set-up helpers) never cross loops.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=issuer) as http:
        world = World(http, oauth, clock, engine, master_key, settings, services)
        await world.add_client(
            "demo-app", public=True, scopes=CUSTOMER_SCOPE, redirect_uris=(APP_REDIRECT,)
        )
        await world.add_client(
            "privacy-console",
            public=False,
            scopes="audit:read dsr:admin",
            redirect_uris=(CONSOLE_REDIRECT,),
        )
        await world.add_client(
            "analytics-service", public=False, scopes="analytics:read", service=True
        )
        await world.add_client(
            "campaign-service", public=False, scopes="campaigns:write", service=True
        )
        try:
            yield world
        finally:
            await oauth.aclose()
