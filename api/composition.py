"""The composition root: the one place in `api` (besides the CLI) that imports persistence.

`build_services` turns validated Settings into the objects the HTTP layer needs: the engine,
the session factory, the master key, a unit-of-work factory and the readiness probe.
Controllers only ever see domain ports (UnitOfWork) and the probe, never these classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.health import Readiness, ReadinessProbe
from api.oauth.access_tokens import AccessTokenCodec
from api.oauth.server import OAuthSettings
from api.oauth.services import OAuthServices, SystemClock
from api.settings import Settings
from domain.oauth.login import ThrottlePolicy
from domain.oauth.ports import IdentityUnitOfWork, PasswordHasher
from domain.ports import Clock, UnitOfWork
from persistence.audit.batch import BatchingAuditLog
from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.dsr.worker import build_worker
from persistence.jobs import Worker
from persistence.migrate import is_at_head
from persistence.oauth.passwords import Argon2PasswordHasher
from persistence.oauth.revocations import RevocationReader
from persistence.oauth.uow import SqlIdentityUnitOfWork
from persistence.signatures import checkpoint_signer
from persistence.signing_keys import SigningKeyStore
from persistence.uow import SqlUnitOfWork
from persistence.uow import SystemClock as UowClock

READINESS_TIMEOUT_SECONDS = 3.0
"""A probe that hangs is worse than one that fails: the balancer needs an answer."""


@dataclass(frozen=True, slots=True)
class Services:
    """What the application runs on. Built once per process; `dispose` releases the pool."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    master_key: MasterKey = field(repr=False)
    uow_factory: Callable[[], UnitOfWork]
    readiness: ReadinessProbe
    audit_trail: BatchingAuditLog | None = None
    """The process's group-commit audit log, shared by every unit of work."""

    async def dispose(self) -> None:
        """Let queued audit events commit, then close every pooled database connection."""
        if self.audit_trail is not None:
            await self.audit_trail.aclose()
        await self.engine.dispose()


class DatabaseReadiness:
    """ReadinessProbe over an engine: `SELECT 1`, then "is the schema at head?"."""

    def __init__(self, engine: AsyncEngine, timeout: float = READINESS_TIMEOUT_SECONDS) -> None:
        self.engine = engine
        self.timeout = timeout

    async def __call__(self) -> Readiness:
        """Never raises: an unreachable database or a timeout reads as not ready."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return Readiness(database_ok=False, migrations_at_head=False)
        try:
            async with asyncio.timeout(self.timeout):
                at_head = await is_at_head(self.engine)
        except (SQLAlchemyError, OSError, TimeoutError):
            at_head = False
        return Readiness(database_ok=True, migrations_at_head=at_head)


def _ensure_sqlite_directory(url: str) -> None:
    # SQLite creates the file but not its directory (the default is ./var/custodian.db).
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def build_services(settings: Settings, *, engine: AsyncEngine | None = None) -> Services:
    """Services for `settings`. Opens no connection: the pool fills on first use.

    Pass `engine` to share one that already exists (tests, the CLI).
    """
    if engine is None:
        _ensure_sqlite_directory(settings.database_url)
        engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    master_key = MasterKey(settings.master_key)
    clock = UowClock()
    # One per process, so concurrent reads share the audit chain's lock and commit.
    audit_trail = BatchingAuditLog(sessions, clock, checkpoint_signer(master_key))

    def new_unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(
            sessions, master_key, clock, audit_trail=audit_trail, data_dir=settings.data_dir
        )

    return Services(
        engine=engine,
        sessions=sessions,
        master_key=master_key,
        uow_factory=new_unit_of_work,
        readiness=DatabaseReadiness(engine),
        audit_trail=audit_trail,
    )


def build_oauth_services(
    settings: Settings,
    services: Services,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    throttle: ThrottlePolicy | None = None,
) -> OAuthServices:
    """The authorization server and resource guard's collaborators.

    Signing keys live in `settings.keys_dir/jwt` (generated on first start in development;
    `custodian keys rotate` adds one). Tests inject a clock, a hasher and a throttle policy.
    """
    clock = clock or SystemClock()
    keys = SigningKeyStore(
        settings.keys_dir, "jwt", keep_retired=timedelta(seconds=settings.access_token_ttl + 60)
    )
    if not settings.is_production:
        keys.ensure(clock.now())
    issuer = settings.issuer.rstrip("/")

    def identity_unit() -> IdentityUnitOfWork:
        return SqlIdentityUnitOfWork(services.sessions, services.master_key)

    return OAuthServices(
        settings=OAuthSettings(
            issuer=issuer,
            audience=f"{issuer}/v1",
            access_token_ttl=settings.access_token_ttl,
            trusted_proxies=settings.trusted_proxies,
        ),
        codec=AccessTokenCodec(
            keys, issuer=issuer, audience=f"{issuer}/v1", ttl=settings.access_token_ttl
        ),
        hasher=hasher or Argon2PasswordHasher(),
        uow_factory=identity_unit,
        clock=clock,
        throttle=throttle or ThrottlePolicy(),
        page_key=services.master_key.derive("oauth/pages"),
        is_revoked=RevocationReader(settings.database_url, services.engine),
    )


def build_job_worker(
    settings: Settings,
    services: Services,
    *,
    lease_seconds: float = 60.0,
    poll_seconds: float = 1.0,
) -> Worker:
    """The background worker (exports, expiry sweep) on the services' database."""
    return build_worker(
        services.engine,
        services.master_key,
        settings.data_dir,
        export_ttl=timedelta(days=settings.export_ttl_days),
        financial_years=settings.financial_retention_years,
        lease_seconds=lease_seconds,
        poll_seconds=poll_seconds,
    )
