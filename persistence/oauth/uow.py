"""The identity unit of work: one session, one transaction, every identity store and the
audit sink. Rolls back unless `commit` is called."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import Clock, SystemClock
from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus
from domain.oauth.ports import (
    ClientRepository,
    ConsentTicketUses,
    GrantHolders,
    LoginAccounts,
    LoginThrottleStore,
    StaffRepository,
    TokenStore,
)
from domain.ports import AuditSink
from domain.values import Email
from persistence.audit.sink import SqlAuditSink
from persistence.crypto import BlindIndexer, MasterKey
from persistence.customer.tables import CustomerRow, ProfileRow
from persistence.oauth.holders import SqlGrantHolders
from persistence.oauth.identity import (
    SqlClientRepository,
    SqlCustomerCredentials,
    SqlLoginAccounts,
    SqlStaffRepository,
)
from persistence.oauth.keys import IdentityKeys
from persistence.oauth.throttle import SqlLoginThrottle
from persistence.oauth.tickets import SqlConsentTickets
from persistence.oauth.tokens import SqlTokenStore


class CustomerByEmail:
    """Finds a customer through the profile's email blind index."""

    def __init__(self, session: AsyncSession, indexer: BlindIndexer) -> None:
        self._session = session
        self._indexer = indexer

    async def __call__(self, email: Email) -> Customer | None:
        """The customer whose profile has `email`, or None."""
        stmt = (
            select(CustomerRow)
            .join(ProfileRow, ProfileRow.customer_id == CustomerRow.id)
            .where(ProfileRow.email_index == self._indexer.blind_index(email.normalized))
        )
        row = (await self._session.execute(stmt)).scalar_one_or_none()
        if row is None:
            return None
        return Customer(
            id=row.id,
            status=CustomerStatus(row.status),
            created_at=row.created_at,
            acquisition_channel=AcquisitionChannel(row.acquisition_channel),
            referred_by=row.referred_by,
        )


class SqlIdentityUnitOfWork:
    """Implements domain.oauth.ports.IdentityUnitOfWork."""

    # Declared with the port types: the protocol's attributes are mutable, hence invariant.
    logins: LoginAccounts
    throttle: LoginThrottleStore
    tickets: ConsentTicketUses
    holders: GrantHolders
    clients: ClientRepository
    staff: StaffRepository
    tokens: TokenStore
    audit: AuditSink

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        master: MasterKey,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = IdentityKeys(master)
        self._indexer = BlindIndexer(master)
        self._clock: Clock = clock or SystemClock()
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        session = self._sessions()
        self._session = session
        staff = SqlStaffRepository(session, self._keys)
        self.staff = staff
        self.credentials = SqlCustomerCredentials(session)
        self.logins = SqlLoginAccounts(
            staff, self.credentials, CustomerByEmail(session, self._indexer), self._clock.now
        )
        self.throttle = SqlLoginThrottle(session, self._keys)
        self.tickets = SqlConsentTickets(session)
        self.holders = SqlGrantHolders(session)
        self.clients = SqlClientRepository(session)
        self.tokens = SqlTokenStore(session)
        self.audit = SqlAuditSink(session, self._clock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        self._session = None
        if session is not None:
            await session.rollback()
            await session.close()

    @property
    def session(self) -> AsyncSession:
        """The open session (for demo set-up and tests)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    async def commit(self) -> None:
        """Make everything done in this unit durable."""
        await self.session.commit()
