"""The composition root: the one place in `api` (besides the CLI) that imports persistence.

`build_services` turns validated Settings into the objects the HTTP layer needs: the engine,
the session factory, the master key, a unit-of-work factory and the readiness probe.
Controllers only ever see domain ports (UnitOfWork) and the probe, never these classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.health import Readiness, ReadinessProbe
from api.oauth.access_tokens import AccessTokenCodec
from api.oauth.server import OAuthSettings
from api.oauth.services import OAuthServices
from api.oauth.verified_tokens import VerifiedTokens
from api.settings import Settings
from domain.analytics.queries import AnalyticsUnitOfWork
from domain.audit.access_log import AuditReadUnitOfWork
from domain.audit.checkpoints import VerifyUnitOfWork
from domain.audit.proofs import TreeUnitOfWork
from domain.campaigns.ports import CampaignUnitOfWork
from domain.clock import Clock, SystemClock
from domain.consent.change import ConsentUnitOfWork
from domain.consent.contactability import ContactabilityUnitOfWork
from domain.dsr.build_export import build_export, expire_exports, give_up
from domain.dsr.execute_erasure import execute_erasure, sweep_financial_records
from domain.dsr.ports import ErasureUnitOfWork, ExportUnitOfWork, Progress
from domain.dsr.requests import DsrUnitOfWork
from domain.oauth.login import ThrottlePolicy
from domain.oauth.ports import IdentityUnitOfWork, PasswordHasher
from domain.ports import DurableAuditLog, UnitOfWork
from domain.support.grants import GrantUnitOfWork
from domain.web.sessions import WebSessionStore
from persistence.audit.batch import BatchingAuditLog
from persistence.audit.tree import TreeHeadTimer
from persistence.crypto import MasterKey
from persistence.database import make_engine, prepare_sqlite_file, session_factory
from persistence.dsr.archive import FileArchiveStore, export_signer
from persistence.jobs import (
    DEFAULT_LEASE_SECONDS,
    Handler,
    JobQueue,
    LeasedJob,
    Worker,
    worker_id,
)
from persistence.metrics import OperationalProbe
from persistence.migrate import is_at_head
from persistence.oauth.admin import first_party_client_secret
from persistence.oauth.passwords import Argon2PasswordHasher
from persistence.oauth.revocations import RevocationReader
from persistence.oauth.uow import SqlIdentityUnitOfWork
from persistence.signatures import checkpoint_signer
from persistence.signing_keys import SigningKeyStore
from persistence.uow import SqlUnitOfWork
from persistence.web.sessions import SqlWebSessionStore

JOB_LEASE_SECONDS = DEFAULT_LEASE_SECONDS
"""How long a worker holds a job without a heartbeat before another may take it."""

READINESS_TIMEOUT_SECONDS = 3.0
"""A probe that hangs is worse than one that fails: the balancer needs an answer."""


@dataclass(frozen=True, slots=True)
class UnitsOfWork:
    """Every unit-of-work port the use cases take, each as its own typed factory.

    They all open the one SQL unit of work: building this object is where mypy checks
    `SqlUnitOfWork` against every port, so no caller ever needs a cast."""

    customer: Callable[[], UnitOfWork]
    consent: Callable[[], ConsentUnitOfWork]
    contactability: Callable[[], ContactabilityUnitOfWork]
    audit_read: Callable[[], AuditReadUnitOfWork]
    verify: Callable[[], VerifyUnitOfWork]
    campaign: Callable[[], CampaignUnitOfWork]
    grant: Callable[[], GrantUnitOfWork]
    analytics: Callable[[], AnalyticsUnitOfWork]
    """Read-only: analytics only ever read the projection."""
    tree: Callable[[], TreeUnitOfWork]
    dsr: Callable[[], DsrUnitOfWork]
    erasure: Callable[[], ErasureUnitOfWork]
    export: Callable[[], ExportUnitOfWork]
    export_reading: Callable[[], ExportUnitOfWork]
    """Read-only units for the long reads of an export (no write lock on SQLite)."""
    identity: Callable[[], IdentityUnitOfWork]


@dataclass(frozen=True, slots=True)
class Services:
    """What the application and the command line run on. Built once per process;
    `dispose` releases the pool."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    master_key: MasterKey = field(repr=False)
    clock: Clock
    units: UnitsOfWork
    readiness: ReadinessProbe
    audit_trail: BatchingAuditLog | None = None
    """The process's group-commit audit log, shared by every unit of work."""

    @property
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        """The customer-data unit of work (the one most use cases take)."""
        return self.units.customer

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


def build_services(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
    audit_trail: DurableAuditLog | None = None,
) -> Services:
    """Services for `settings`. Opens no connection: the pool fills on first use.

    Pass `engine` to share one that already exists (tests), `clock` to control the time,
    `audit_trail` to replace the group-commit log of reads (the read-path benchmark measures
    against one that stores nothing).
    """
    if engine is None:
        prepare_sqlite_file(settings.database_url)
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    master_key = MasterKey(settings.master_key)
    clock = clock or SystemClock()
    # One per process, so concurrent reads share the audit chain's lock and commit.
    batching = (
        None if audit_trail else BatchingAuditLog(sessions, clock, checkpoint_signer(master_key))
    )
    audit_trail = audit_trail or batching

    def unit() -> SqlUnitOfWork:
        uow = SqlUnitOfWork(
            sessions, master_key, clock, audit_trail=audit_trail, data_dir=settings.data_dir
        )
        uow.tree_head_interval = settings.tree_head_interval
        return uow

    def reading_unit() -> SqlUnitOfWork:
        return unit().reading()

    def snapshot_unit() -> SqlUnitOfWork:
        # The export reads many statements that must agree, through server-side cursors.
        return unit().reading(snapshot=True)

    def identity_unit() -> SqlIdentityUnitOfWork:
        return SqlIdentityUnitOfWork(sessions, master_key, clock)

    units = UnitsOfWork(
        customer=unit,
        consent=unit,
        contactability=unit,
        audit_read=unit,
        verify=unit,
        campaign=unit,
        grant=unit,
        analytics=reading_unit,
        tree=unit,
        dsr=unit,
        erasure=unit,
        export=unit,
        export_reading=snapshot_unit,
        identity=identity_unit,
    )
    return Services(
        engine=engine,
        sessions=sessions,
        master_key=master_key,
        clock=clock,
        units=units,
        readiness=DatabaseReadiness(engine),
        audit_trail=batching,
    )


def engine_for(database_url: str) -> AsyncEngine:
    """An engine on `database_url`, for the command line's tasks that are given a URL (the
    audit commands); the caller disposes of it."""
    prepare_sqlite_file(database_url)
    return make_engine(database_url)


def sessions_for(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`, configured as the application's are."""
    return session_factory(engine)


@asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """Services for one command-line run, disposed of when it ends."""
    services = build_services(settings)
    try:
        yield services
    finally:
        await services.dispose()


def build_oauth_services(
    settings: Settings,
    services: Services,
    *,
    hasher: PasswordHasher | None = None,
    throttle: ThrottlePolicy | None = None,
) -> OAuthServices:
    """The authorization server and resource guard's collaborators.

    Signing keys live in `settings.keys_dir/jwt` (generated on first start in development;
    `custodian keys rotate` adds one). Tests inject a hasher and a throttle policy.
    """
    clock = services.clock
    keys = SigningKeyStore(
        settings.keys_dir, "jwt", keep_retired=timedelta(seconds=settings.access_token_ttl + 60)
    )
    if not settings.is_production:
        keys.ensure(clock.now())
    issuer = settings.issuer.rstrip("/")
    codec = AccessTokenCodec(
        keys, issuer=issuer, audience=f"{issuer}/v1", ttl=settings.access_token_ttl
    )
    is_revoked = RevocationReader(settings.database_url, services.engine)
    return OAuthServices(
        settings=OAuthSettings(
            issuer=issuer,
            audience=f"{issuer}/v1",
            access_token_ttl=settings.access_token_ttl,
            trusted_proxies=settings.trusted_proxies,
        ),
        codec=codec,
        hasher=hasher or Argon2PasswordHasher(),
        uow_factory=services.units.identity,
        clock=clock,
        throttle=throttle or ThrottlePolicy(),
        page_key=services.master_key.derive("oauth/pages"),
        is_revoked=is_revoked,
        verified=VerifiedTokens(codec, is_revoked, recheck=settings.revocation_check_ms / 1000),
    )


def build_job_worker(
    settings: Settings,
    services: Services,
    *,
    lease_seconds: float = JOB_LEASE_SECONDS,
    poll_seconds: float = 1.0,
) -> Worker:
    """The background worker: export and erasure jobs, and the export-expiry sweep when idle."""
    units, clock = services.units, services.clock
    archives = FileArchiveStore(settings.data_dir, export_signer(services.master_key))
    ttl = timedelta(days=settings.export_ttl_days)

    async def export(job: LeasedJob, progress: Progress) -> None:
        await build_export(
            units.export,
            units.export_reading,
            archives,
            clock,
            _request_of(job),
            ttl=ttl,
            progress=progress,
        )

    async def erasure(job: LeasedJob, progress: Progress) -> None:
        await execute_erasure(
            units.erasure,
            units.consent,
            clock,
            _request_of(job),
            financial_years=settings.financial_retention_years,
            progress=progress,
        )

    async def on_final_failure(job: LeasedJob) -> None:
        if job.request_id is not None:
            await give_up(units.export, job.request_id)

    async def expire() -> None:
        await expire_exports(units.export, archives, clock)

    handlers: dict[str, Handler] = {"export": export, "erasure": erasure}
    return Worker(
        JobQueue(services.sessions, worker_id(), lease_seconds=lease_seconds, clock=clock),
        handlers,
        on_final_failure=on_final_failure,
        idle_tasks=[expire],
        poll_seconds=poll_seconds,
    )


async def sweep_retention(settings: Settings, services: Services) -> list[UUID]:
    """Destroy the financial records of erased customers whose legal hold has ended."""
    return await sweep_financial_records(
        services.units.erasure, services.clock, years=settings.financial_retention_years
    )


def _request_of(job: LeasedJob) -> UUID:
    if job.request_id is None:
        raise LookupError(f"a {job.kind} job needs a request")
    return job.request_id


def build_tree_head_timer(settings: Settings, services: Services) -> TreeHeadTimer:
    """Signs a Merkle tree head of the audit log every `tree_head_interval` seconds when
    events were appended since the last one (run by `serve` and `worker`)."""
    return TreeHeadTimer(
        services.sessions, checkpoint_signer(services.master_key), settings.tree_head_interval
    )


def build_operational_probe(services: Services) -> OperationalProbe:
    """What `/metrics` reads from the database when scraped (job queue, checkpoints)."""
    return OperationalProbe(services.engine)


def build_web_sessions(services: Services) -> WebSessionStore:
    """Where the portal and the console keep their sign-in sessions (sealed tokens)."""
    return SqlWebSessionStore(services.sessions, services.master_key)


def web_client_secret(services: Services, client_id: str) -> str:
    """The secret of a first-party web client (`portal`, `privacy-console`): derived from the
    master key, so the server that registered it and every process serving it agree on it
    without it being stored or configured anywhere."""
    return first_party_client_secret(services.master_key, client_id)
