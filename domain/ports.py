"""Ports: what the domain needs from the outside world, as Protocols.

`persistence` implements the storage ports; `api` wires them together. Use cases receive
them as arguments and never construct them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from domain.audit.events import AuditEvent, AuditRecord
from domain.customer.accounts import Account, Transaction, TransactionStatus
from domain.customer.corrections import CorrectionRepository
from domain.customer.interactions import Channel, Interaction, InteractionKind
from domain.customer.profile import Customer, Profile, ProfileChange
from domain.pagination import CursorCodec
from domain.retention import RetentionClass
from domain.values import Email


class UnitOfWorkBase(Protocol):
    """One database transaction: entered with `async with`, rolled back on exit unless
    `commit` was called. Every narrower unit-of-work port of a feature extends it."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make everything done in this unit durable."""
        ...


class AuditSink(Protocol):
    async def append(self, record: AuditRecord) -> AuditEvent:
        """Chain `record` onto the audit log inside the current unit of work."""
        ...


class DurableAuditLog(Protocol):
    """Appends events that belong to no data change (reads, denials) in transactions of
    their own, so concurrent callers can share one commit."""

    async def record(self, record: AuditRecord) -> AuditEvent:
        """Chain `record` onto the audit log and return once it is committed (durable).

        Raises ValueError (before touching the database) for an over-long value, and the
        storage error when the commit fails: no caller is told an event is stored that is not.
        """
        ...


class KeyRing(Protocol):
    async def destroy(self, customer_id: UUID, retention_class: RetentionClass) -> bool:
        """Destroy the customer's data key for the class (crypto-shredding).

        Returns False when there was no key. Data sealed under it can never be read again.
        """
        ...

    async def has_key(self, customer_id: UUID, retention_class: RetentionClass) -> bool:
        """Whether the customer's data key for the class still exists."""
        ...

    async def key_for(self, customer_id: UUID, retention_class: RetentionClass) -> bytes:
        """The customer's data key for the class (created on first use); NotFound once it
        was destroyed."""
        ...


class CustomerRepository(Protocol):
    async def add(self, customer: Customer, profile: Profile) -> None:
        """Store a new customer and their profile (encrypted)."""
        ...

    async def get(self, customer_id: UUID) -> Customer | None:
        """The customer, or None."""
        ...

    async def get_profile(self, customer_id: UUID) -> Profile | None:
        """The decrypted profile, or None when there is none (or it was erased)."""
        ...

    async def find_by_email(self, email: Email) -> Customer | None:
        """Look a customer up by email through the blind index."""
        ...

    async def update_profile(
        self, profile: Profile, *, expected_version: int, at: datetime
    ) -> Profile:
        """Replace the profile if still at `expected_version`; return it at the next version.
        Conflict when it changed meanwhile or the new email is taken."""
        ...

    async def add_profile_changes(self, changes: Sequence[ProfileChange]) -> None:
        """Store profile changes (values sealed)."""
        ...

    async def list_profile_changes(
        self,
        customer_id: UUID,
        *,
        limit: int = 50,
        before: tuple[int, UUID] | None = None,
    ) -> list[ProfileChange]:
        """The customer's profile changes, newest first (keyset on (version, id))."""
        ...


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None:
        """Store a new account (encrypted)."""
        ...

    async def get(self, customer_id: UUID, account_id: UUID) -> Account | None:
        """The customer's account, or None when missing or someone else's."""
        ...

    async def list_for_customer(self, customer_id: UUID) -> list[Account]:
        """The customer's accounts, oldest first."""
        ...

    async def exists(self, customer_id: UUID, account_id: UUID) -> bool:
        """Whether the account exists and is the customer's (nothing decrypted)."""
        ...


class TransactionRepository(Protocol):
    async def add_many(self, transactions: Sequence[Transaction]) -> None:
        """Store transactions (encrypted), in one batch."""
        ...

    async def count_for_customer(self, customer_id: UUID) -> int:
        """How many transactions the customer has on all accounts."""
        ...

    async def get(self, customer_id: UUID, transaction_id: UUID) -> Transaction | None:
        """The customer's transaction, or None when missing or someone else's."""
        ...

    async def list_for_account(
        self,
        customer_id: UUID,
        account_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
        booked_from: datetime | None = None,
        booked_to: datetime | None = None,
        status: TransactionStatus | None = None,
    ) -> list[Transaction]:
        """The account's newest transactions first (keyset on (booked_at, id))."""
        ...


class InteractionRepository(Protocol):
    async def add_many(self, interactions: Sequence[Interaction]) -> None:
        """Store interactions (encrypted), in one batch."""
        ...

    async def get(self, customer_id: UUID, interaction_id: UUID) -> Interaction | None:
        """The customer's interaction, or None when missing or someone else's."""
        ...

    async def list_for_customer(
        self,
        customer_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
        channel: Channel | None = None,
        kind: InteractionKind | None = None,
        occurred_from: datetime | None = None,
        occurred_to: datetime | None = None,
    ) -> list[Interaction]:
        """The customer's newest interactions first (keyset on (occurred_at, id))."""
        ...


class UnitOfWork(UnitOfWorkBase, Protocol):
    """One transaction over every repository. Rolls back on exit unless `commit` was called."""

    # Read-only properties, so adapters may expose richer concrete types than the ports.
    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def transactions(self) -> TransactionRepository: ...
    @property
    def interactions(self) -> InteractionRepository: ...
    @property
    def audit(self) -> AuditSink: ...
    @property
    def keys(self) -> KeyRing: ...
    @property
    def audit_trail(self) -> DurableAuditLog:
        """Durable appends outside this unit's transaction (usable before, in and after it)."""
        ...

    cursors: CursorCodec

    def reading(self) -> Self:
        """This unit, not yet entered, made read-only: its transaction takes no write lock
        (SQLite: a deferred BEGIN), so nothing may be written in it, audit events included;
        record them with `audit_trail` instead. Returns self."""
        ...

    @property
    def corrections(self) -> CorrectionRepository:
        """The correction requests (read-only member, so adapters may narrow its type)."""
        ...
