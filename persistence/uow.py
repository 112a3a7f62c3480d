"""The unit of work: one database transaction shared by every repository of a use case."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.pagination import CursorCodec
from domain.ports import Clock
from persistence.access_log import SqlAuditReader
from persistence.audit import SqlAuditSink
from persistence.checkpoints import (
    DEFAULT_CHECKPOINT_EVERY,
    CheckpointWriter,
    SqlAuditVerifier,
)
from persistence.consent_ledger import SqlConsentLedger
from persistence.consent_receipts import Ed25519Signer, ReceiptKeys, checkpoint_signer
from persistence.correction_repository import SqlCorrectionRepository
from persistence.crypto import BlindIndexer, KeyWrapper, MasterKey
from persistence.keystore import SqlKeyRing
from persistence.repositories import (
    SqlAccountRepository,
    SqlCustomerRepository,
    SqlInteractionRepository,
    SqlTransactionRepository,
)


@functools.lru_cache(maxsize=8)
def _signers(master_key: MasterKey) -> tuple[ReceiptKeys, Ed25519Signer]:
    # Derived once per master key (per process), not once per unit of work.
    return ReceiptKeys(master_key), checkpoint_signer(master_key)


class SystemClock:
    """domain.ports.Clock on the system clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class SqlUnitOfWork:
    """domain.ports.UnitOfWork over one AsyncSession.

    Use as `async with uow_factory() as uow: ...; await uow.commit()`. Leaving the block
    without `commit` (or by an exception) rolls everything back. The repositories, the key
    ring and the audit sink exist only inside the block.
    """

    customers: SqlCustomerRepository
    accounts: SqlAccountRepository
    transactions: SqlTransactionRepository
    interactions: SqlInteractionRepository
    audit: SqlAuditSink
    keys: SqlKeyRing
    consents: SqlConsentLedger
    audit_reader: SqlAuditReader
    audit_verifier: SqlAuditVerifier
    receipts: ReceiptKeys
    checkpoint_signer: Ed25519Signer
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    checkpoint_max_age: timedelta | None = None
    corrections: SqlCorrectionRepository
    cursors: CursorCodec

    def __init__(self, sessions: async_sessionmaker[AsyncSession], master_key: MasterKey,
                 clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._master_key = master_key
        self._clock: Clock = clock or SystemClock()
        self._session: AsyncSession | None = None
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
    def clock(self) -> Clock:
        """The clock this unit of work (and its audit sink) uses."""
        return self._clock

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        session = self._sessions()
        self._session = session
        self.keys = SqlKeyRing(session, KeyWrapper(self._master_key))
        self.customers = SqlCustomerRepository(session, self.keys,
                                               BlindIndexer(self._master_key))
        self.accounts = SqlAccountRepository(session, self.keys)
        self.transactions = SqlTransactionRepository(session, self.keys)
        self.interactions = SqlInteractionRepository(session, self.keys)
        self.audit = SqlAuditSink(session, self._clock, CheckpointWriter(
            session, self.checkpoint_signer, self.checkpoint_every, self.checkpoint_max_age))
        self.consents = SqlConsentLedger(session)
        self.audit_reader = SqlAuditReader(session)
        self.audit_verifier = SqlAuditVerifier(session, self.checkpoint_signer)
        self.corrections = SqlCorrectionRepository(session, self.keys)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        session, self._session = self._session, None
        if session is not None:
            # Closing rolls back whatever was not committed.
            await session.close()

    def signing_jwks(self) -> list[dict[str, str]]:
        """The public keys of consent receipts and audit checkpoints, for JWKS."""
        return [self.receipts.jwk(), self.checkpoint_signer.jwk()]

    async def commit(self) -> None:
        """Make everything done so far durable. The unit stays usable for more work, which
        again needs a commit."""
        await self.session.commit()

    async def rollback(self) -> None:
        """Undo everything since the last commit."""
        await self.session.rollback()
