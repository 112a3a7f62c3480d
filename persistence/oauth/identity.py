"""Tables and repositories for who may sign in: OAuth clients, staff users, customers'
password hashes, and the failed-sign-in counters."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    select,
)
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.customer.profile import Customer, CustomerStatus
from domain.errors import Conflict
from domain.identity import (
    LoginAccount,
    OAuthClient,
    Principal,
    StaffRole,
    StaffUser,
    SubjectKind,
    format_scopes,
    parse_scopes,
)
from domain.retention import DataCategory, RetentionClass
from domain.values import Email
from persistence.base import Base, declare, sealed
from persistence.oauth.keys import IdentityKeys

OPS = declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
IDS = declare(DataCategory.IDENTIFIER, RetentionClass.OPERATIONAL)


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class OAuthClientRow(Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True, info=IDS)
    name: Mapped[str] = mapped_column(String(200), info=OPS)
    public: Mapped[bool] = mapped_column(Boolean, info=OPS)
    redirect_uris: Mapped[str] = mapped_column(Text, info=OPS)
    scopes: Mapped[str] = mapped_column(Text, info=OPS)
    secret_hash: Mapped[str | None] = mapped_column(String(200), info=OPS)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), info=OPS)
    # A service client uses client credentials (service scopes only); every other client
    # acts for a signed-in person through the authorization code flow.
    service: Mapped[bool] = mapped_column(Boolean, default=False, info=OPS)


class StaffUserRow(Base):
    __tablename__ = "staff_users"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, info=IDS)
    # Blind index (HMAC under a master-derived key), like profiles.email_index.
    email_index: Mapped[str] = mapped_column(
        String(64), unique=True, info=declare(DataCategory.CONTACT, RetentionClass.OPERATIONAL)
    )
    # Sealed under the identity key (IdentityKeys), not a customer's data key.
    email_sealed: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(DataCategory.CONTACT, RetentionClass.OPERATIONAL)
    )
    role: Mapped[str] = mapped_column(String(40), info=OPS)
    password_hash: Mapped[str] = mapped_column(String(200), info=OPS)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, info=OPS)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)


class CustomerCredentialRow(Base):
    """A customer's password hash; deleted with the contact data on erasure."""

    __tablename__ = "customer_credentials"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid,
        ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
        info=declare(DataCategory.IDENTIFIER, RetentionClass.CONTACT),
    )
    password_hash: Mapped[str] = mapped_column(
        String(200), info=declare(DataCategory.TECHNICAL, RetentionClass.CONTACT)
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(DataCategory.TECHNICAL, RetentionClass.CONTACT)
    )


class LoginThrottleRow(Base):
    """Failed sign-ins per keyed hash of an email or address; never the email or address."""

    __tablename__ = "login_throttle"

    # A keyed hash of an email or address: links attempts, reveals neither.
    key: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=declare(DataCategory.CONTACT, RetentionClass.OPERATIONAL)
    )
    failures: Mapped[int] = mapped_column(Integer, info=OPS)
    window_started: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    # When the latest failure was counted: progressive delays run from it.
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), info=OPS)


def _client(row: OAuthClientRow) -> OAuthClient:
    return OAuthClient(
        client_id=row.client_id,
        name=row.name,
        public=row.public,
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        scopes=parse_scopes(row.scopes),
        created_at=utc(row.created_at),
        secret_hash=row.secret_hash,
        disabled=row.disabled_at is not None,
        service=row.service,
    )


class SqlClientRepository:
    """Registered OAuth clients."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, client_id: str) -> OAuthClient | None:
        """The registered client, or None (also for a disabled one: it is no longer known)."""
        row = await self._session.get(OAuthClientRow, client_id)
        return _client(row) if row and row.disabled_at is None else None

    async def add(self, client: OAuthClient) -> None:
        """Register a client; raises Conflict when the id is taken."""
        if await self._session.get(OAuthClientRow, client.client_id) is not None:
            raise Conflict(f"client {client.client_id} already exists")
        self._session.add(
            OAuthClientRow(
                client_id=client.client_id,
                name=client.name,
                public=client.public,
                redirect_uris=json.dumps(list(client.redirect_uris)),
                scopes=format_scopes(client.scopes),
                secret_hash=client.secret_hash,
                created_at=client.created_at,
                service=client.service,
            )
        )
        await self._session.flush()

    async def list_all(self) -> list[OAuthClient]:
        """Every registered client, disabled ones included, by client id."""
        rows = await self._session.scalars(
            select(OAuthClientRow).order_by(OAuthClientRow.client_id)
        )
        return [_client(row) for row in rows]


class SqlStaffRepository:
    """Staff users; the email is sealed and found through its blind index."""

    def __init__(self, session: AsyncSession, keys: IdentityKeys) -> None:
        self._session = session
        self._keys = keys

    def email_index(self, email: Email) -> str:
        """The blind index of a staff email."""
        return self._keys.blind_index("staff-email", email.normalized)

    async def add(self, staff: StaffUser) -> None:
        """Store a staff user; raises Conflict when the email is taken."""
        self._session.add(
            StaffUserRow(
                id=staff.id,
                email_index=self.email_index(staff.email),
                email_sealed=self._keys.seal(
                    staff.email.value, table="staff_users", column="email_sealed", row_id=staff.id
                ),
                role=staff.role.value,
                password_hash=staff.password_hash,
                disabled=staff.disabled,
                created_at=staff.created_at,
            )
        )
        try:
            await self._session.flush()
        except SqlIntegrityError as error:
            raise Conflict("a staff user with this email exists") from error

    async def get(self, staff_id: UUID) -> StaffUser | None:
        """The staff user, or None."""
        row = await self._session.get(StaffUserRow, staff_id)
        return self._staff(row) if row else None

    async def find_row(self, email: Email) -> StaffUserRow | None:
        """The stored row for `email`, or None."""
        stmt = select(StaffUserRow).where(StaffUserRow.email_index == self.email_index(email))
        return (await self._session.execute(stmt)).scalar_one_or_none()

    def _staff(self, row: StaffUserRow) -> StaffUser:
        email = Email(
            self._keys.open(
                row.email_sealed, table="staff_users", column="email_sealed", row_id=row.id
            )
        )
        return StaffUser(
            id=row.id,
            email=email,
            role=StaffRole(row.role),
            created_at=utc(row.created_at),
            password_hash=row.password_hash,
            disabled=row.disabled,
        )


class SqlCustomerCredentials:
    """Customers' password hashes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_hash(self, customer_id: UUID) -> str | None:
        """The customer's password hash, or None when they have no password."""
        row = await self._session.get(CustomerCredentialRow, customer_id)
        return row.password_hash if row else None

    async def set_hash(self, customer_id: UUID, password_hash: str, at: datetime) -> None:
        """Create or replace the customer's password hash."""
        row = await self._session.get(CustomerCredentialRow, customer_id)
        if row is None:
            self._session.add(
                CustomerCredentialRow(
                    customer_id=customer_id, password_hash=password_hash, updated_at=at
                )
            )
        else:
            row.password_hash, row.updated_at = password_hash, at
        await self._session.flush()


class SqlLoginAccounts:
    """Finds the account an email signs in to: a staff user first, else a customer."""

    def __init__(
        self,
        staff: SqlStaffRepository,
        credentials: SqlCustomerCredentials,
        find_customer: Callable[[Email], Awaitable[Customer | None]],
        now: Callable[[], datetime],
    ) -> None:
        self._staff = staff
        self._credentials = credentials
        self._find_customer = find_customer
        self._now = now

    async def find(self, email: Email) -> LoginAccount | None:
        """The account for `email`, or None (also for a customer without a password)."""
        row = await self._staff.find_row(email)
        if row is not None:
            principal = Principal(SubjectKind.STAFF, row.id, StaffRole(row.role))
            return LoginAccount(principal, row.password_hash, active=not row.disabled)
        customer = await self._find_customer(email)
        if customer is None:
            return None
        password_hash = await self._credentials.get_hash(customer.id)
        if password_hash is None:
            return None
        return LoginAccount(
            Principal(SubjectKind.CUSTOMER, customer.id),
            password_hash,
            active=customer.status is not CustomerStatus.ERASED,
        )

    async def set_password_hash(self, principal: Principal, password_hash: str) -> None:
        """Replace the stored hash of the principal's password."""
        if principal.kind is SubjectKind.STAFF:
            row = await self._staff._session.get(StaffUserRow, principal.id)
            if row is not None:
                row.password_hash = password_hash
        else:
            await self._credentials.set_hash(principal.id, password_hash, self._now())


class ConsentTicketUseRow(Base):
    """A consent ticket already used to answer a consent screen (kept until it expires)."""

    __tablename__ = "consent_ticket_uses"

    # A SHA-256 of the ticket: proves a use, cannot be replayed.
    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True, info=IDS)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
