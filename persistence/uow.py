"""The unit of work: one database transaction shared by every repository of a use case."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.clock import Clock, SystemClock
from domain.pagination import CursorCodec
from domain.ports import DurableAuditLog
from persistence.analytics.projection import SqlProjection
from persistence.analytics.reader import SqlAnalyticsReader
from persistence.audit.access_log import SqlAuditReader
from persistence.audit.batch import BatchingAuditLog
from persistence.audit.checkpoints import (
    DEFAULT_CHECKPOINT_EVERY,
    CheckpointWriter,
    SqlAuditVerifier,
)
from persistence.audit.export_proofs import SqlAccessLogProofs
from persistence.audit.sink import SqlAuditSink
from persistence.audit.tree_reader import SqlAuditTree
from persistence.campaigns.store import SqlContactStore
from persistence.consent.ledger import SqlConsentLedger
from persistence.crypto import BlindIndexer, KeyWrapper, MasterKey
from persistence.customer.accounts import SqlAccountRepository, SqlTransactionRepository
from persistence.customer.corrections import SqlCorrectionRepository
from persistence.customer.erasure import SqlErasureStore
from persistence.customer.interactions import SqlInteractionRepository
from persistence.customer.profiles import SqlCustomerRepository
from persistence.database import read_only
from persistence.dsr.archive import export_signer
from persistence.dsr.requests import SqlDsrRepository
from persistence.keystore import SqlKeyRing
from persistence.oauth.forget import SqlSignInRevoker
from persistence.signatures import Ed25519Signer, ReceiptKeys, checkpoint_signer
from persistence.support.grants import SqlAccessGrants


@functools.lru_cache(maxsize=8)
def _signers(master_key: MasterKey) -> tuple[ReceiptKeys, Ed25519Signer]:
    # Derived once per master key (per process), not once per unit of work.
    return ReceiptKeys(master_key), checkpoint_signer(master_key)


@functools.lru_cache(maxsize=8)
def _key_wrapping(master_key: MasterKey) -> tuple[KeyWrapper, BlindIndexer]:
    # Their keys are derived from the master key: once per process, not per unit of work.
    return KeyWrapper(master_key), BlindIndexer(master_key)


@functools.lru_cache(maxsize=8)
def _export_signer(master_key: MasterKey) -> Ed25519Signer:
    return export_signer(master_key)


@functools.lru_cache(maxsize=8)
def _read_only(engine: AsyncEngine, snapshot: bool) -> AsyncEngine:
    # One read-only view (same pool) per engine, not one per unit of work.
    return read_only(engine, snapshot=snapshot)


class SqlUnitOfWork:
    """domain.ports.UnitOfWork over one AsyncSession.

    Use as `async with uow_factory() as uow: ...; await uow.commit()`. Leaving the block
    without `commit` (or by an exception) rolls everything back. The repositories, the key
    ring and the audit sink are made on first use once the unit is entered, on its session.
    """

    customers: SqlCustomerRepository
    accounts: SqlAccountRepository
    transactions: SqlTransactionRepository
    interactions: SqlInteractionRepository
    audit: SqlAuditSink
    keys: SqlKeyRing
    consents: SqlConsentLedger
    audit_reader: SqlAuditReader
    access_log_proofs: SqlAccessLogProofs
    audit_verifier: SqlAuditVerifier
    audit_tree: SqlAuditTree
    receipts: ReceiptKeys
    checkpoint_signer: Ed25519Signer
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    checkpoint_max_age: timedelta | None = None
    tree_head_interval: float | None = None
    """Seconds between timed tree heads (the officer's verification flags older gaps)."""
    corrections: SqlCorrectionRepository
    dsr: SqlDsrRepository
    erasure: SqlErasureStore
    sign_in: SqlSignInRevoker
    campaigns: SqlContactStore
    projection: SqlProjection
    analytics: SqlAnalyticsReader
    access_grants: SqlAccessGrants
    cursors: CursorCodec

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        master_key: MasterKey,
        clock: Clock | None = None,
        *,
        audit_trail: DurableAuditLog | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self._sessions = sessions
        # Where export archives live (the data-subject requests need it).
        self._data_dir = data_dir or Path("var")
        self._master_key = master_key
        self._clock: Clock = clock or SystemClock()
        self._session: AsyncSession | None = None
        self._bound: AsyncSession | None = None  # the session the repositories use
        self._read_only = False
        self._snapshot = False
        # The process's shared group-commit log when given (api.composition); otherwise one
        # of this unit's own, made on first use with its checkpoint settings.
        self._audit_trail = audit_trail
        self.receipts, self.checkpoint_signer = _signers(master_key)
        # Signs list cursors; a key of its own, derived once per unit of work.
        self.cursors = CursorCodec(master_key.derive("pagination-cursor"))

    @property
    def session(self) -> AsyncSession:
        """The session of this unit of work, for repositories defined elsewhere that must
        share its transaction. Raises RuntimeError outside the `async with` block."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def master_key(self) -> MasterKey:
        """The master key, for adapters that derive a key of their own (KeyPurpose)."""
        return self._master_key

    @property
    def data_dir(self) -> Path:
        """Where export archives live."""
        return self._data_dir

    @property
    def clock(self) -> Clock:
        """The clock this unit of work (and its audit sink) uses."""
        return self._clock

    @property
    def audit_trail(self) -> DurableAuditLog:
        """Durable appends in transactions of their own (group commit), for events that go
        with no data change: reads and denials. Usable outside the `async with` block."""
        if self._audit_trail is None:
            self._audit_trail = BatchingAuditLog(
                self._sessions,
                self._clock,
                self.checkpoint_signer,
                checkpoint_every=self.checkpoint_every,
                checkpoint_max_age=self.checkpoint_max_age,
            )
        return self._audit_trail

    @property
    def is_read_only(self) -> bool:
        """Whether `reading` was called."""
        return self._read_only

    def reading(self, *, snapshot: bool = False) -> Self:
        """Make this unit, before it is entered, read-only (persistence.database.read_only):
        no transaction block unless `snapshot` (one state of the database throughout, and
        server-side cursors), no write lock on SQLite; a statement that writes is refused.
        Returns self."""
        if self._session is not None:
            raise RuntimeError("reading() must be called before the unit of work is entered")
        self._read_only = True
        self._snapshot = snapshot
        return self

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        self._session = self._bound = self._open_session()
        return self

    def __getattr__(self, name: str) -> Any:
        # Reached only for what the instance does not hold yet: a repository is made on
        # first use and kept. A request uses two or three of the twenty; making all of
        # them on entry cost more than opening the session. As before, they stay bound to
        # the unit's session after the block (what they do without it, such as reading an
        # archive file, still works).
        build = _REPOSITORIES.get(name)
        session = self.__dict__.get("_bound")
        if build is None or session is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        repository = build(self, session)
        setattr(self, name, repository)
        return repository

    def _open_session(self) -> AsyncSession:
        bind = self._sessions.kw.get("bind")
        if self._read_only and isinstance(bind, AsyncEngine):
            return self._sessions(bind=_read_only(bind, self._snapshot))
        return self._sessions()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if session.in_transaction():
            # Closing rolls back whatever was not committed.
            await session.close()
        elif next(iter(session.sync_session), None) is not None:
            # Nothing begun, so no connection to give back (a reading unit whose read took
            # its own, persistence.driver_read): closing does no I/O and needs no greenlet
            # hand-over, 20 µs a request. A session that holds no object either has
            # nothing to close: closing it would only set up its event dispatch, 6 µs.
            session.sync_session.close()

    def signing_jwks(self) -> list[dict[str, str]]:
        """The public keys of consent receipts, audit checkpoints and export manifests,
        for JWKS."""
        return [
            self.receipts.jwk(),
            self.checkpoint_signer.jwk(),
            _export_signer(self._master_key).jwk(),
        ]

    async def commit(self) -> None:
        """Make everything done so far durable. The unit stays usable for more work, which
        again needs a commit."""
        await self.session.commit()

    async def rollback(self) -> None:
        """Undo everything since the last commit."""
        await self.session.rollback()


def _checkpointed_sink(unit: SqlUnitOfWork, session: AsyncSession) -> SqlAuditSink:
    writer = CheckpointWriter(
        session, unit.checkpoint_signer, unit.checkpoint_every, unit.checkpoint_max_age
    )
    return SqlAuditSink(session, unit.clock, writer)


_REPOSITORIES: dict[str, Callable[[SqlUnitOfWork, AsyncSession], Any]] = {
    "keys": lambda unit, session: SqlKeyRing(session, _key_wrapping(unit.master_key)[0]),
    "customers": lambda unit, session: SqlCustomerRepository(
        session, unit.keys, _key_wrapping(unit.master_key)[1]
    ),
    "accounts": lambda unit, session: SqlAccountRepository(session, unit.keys),
    "transactions": lambda unit, session: SqlTransactionRepository(session, unit.keys),
    "interactions": lambda unit, session: SqlInteractionRepository(session, unit.keys),
    "audit": _checkpointed_sink,
    "consents": lambda _unit, session: SqlConsentLedger(session),
    "audit_reader": lambda _unit, session: SqlAuditReader(session),
    "access_log_proofs": lambda unit, session: SqlAccessLogProofs(
        session, unit.audit_reader, unit.checkpoint_signer
    ),
    "audit_tree": lambda _unit, session: SqlAuditTree(session),
    "audit_verifier": lambda unit, session: SqlAuditVerifier(
        session, unit.checkpoint_signer, unit.tree_head_interval
    ),
    "corrections": lambda unit, session: SqlCorrectionRepository(session, unit.keys),
    "dsr": lambda unit, session: SqlDsrRepository(session, unit.data_dir),
    "erasure": lambda _unit, session: SqlErasureStore(session),
    "sign_in": lambda _unit, session: SqlSignInRevoker(session),
    "campaigns": lambda _unit, session: SqlContactStore(session),
    "projection": lambda unit, session: SqlProjection(
        session, unit.keys, unit.master_key, unit.clock
    ),
    "analytics": lambda _unit, session: SqlAnalyticsReader(session),
    "access_grants": lambda _unit, session: SqlAccessGrants(session),
}
"""How each repository of an open unit is made (`SqlUnitOfWork.__getattr__`)."""
