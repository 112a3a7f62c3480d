"""What carrying out data-subject requests needs from storage, beyond the request records.

Erasure forgets the customer through `ErasureStore` and `SignInRevoker`; exports are written
through an `ArchiveStore`. `persistence` implements them; the use cases in this package decide
what is destroyed, kept, written and audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.audit.access_log import AuditReader
from domain.campaigns.ports import ContactStore
from domain.consent.ledger import ConsentLedger, ReceiptSigner
from domain.customer.corrections import CorrectionRepository
from domain.dsr.requests import DsrRepository
from domain.ports import (
    AccountRepository,
    AuditSink,
    CustomerRepository,
    InteractionRepository,
    KeyRing,
    TransactionRepository,
    UnitOfWorkBase,
)
from domain.retention import RetentionClass

Progress = Callable[[int], Awaitable[None]]
"""Reports how far a job got, 0-100 (and extends its lease)."""


class ErasureStore(Protocol):
    """The plaintext traces of a customer that crypto-shredding alone does not remove."""

    async def forget_customer(self, customer_id: UUID) -> None:
        """Mark the customer erased and clear what could still identify them in plaintext:
        the email blind index and the link to the customer who referred them."""
        ...

    async def account_closures(self, customer_id: UUID) -> list[datetime | None]:
        """When each of the customer's accounts closed (None: still open); nothing decrypted."""
        ...

    async def erased_holding(self, retention_class: RetentionClass) -> list[UUID]:
        """Erased customers whose data key of `retention_class` still exists."""
        ...


class SignInRevoker(Protocol):
    async def revoke_all(self, customer_id: UUID, at: datetime) -> None:
        """Delete the customer's sign-in credentials and revoke every grant (so every
        refresh and access token issued under it)."""
        ...


class ErasureUnitOfWork(UnitOfWorkBase, Protocol):
    """What erasing a customer and the retention sweep need from one transaction."""

    @property
    def dsr(self) -> DsrRepository: ...
    @property
    def keys(self) -> KeyRing: ...
    @property
    def audit(self) -> AuditSink: ...
    @property
    def consents(self) -> ConsentLedger: ...
    @property
    def erasure(self) -> ErasureStore: ...
    @property
    def sign_in(self) -> SignInRevoker: ...
    @property
    def campaigns(self) -> ContactStore: ...


@dataclass(frozen=True, slots=True)
class WrittenArchive:
    """A complete archive in place: its size and SHA-256."""

    size: int
    sha256: str


class ArchiveDraft(Protocol):
    """An archive being written; nothing is visible under the final name until `finish`."""

    def add_file(self, name: str, data: bytes) -> None:
        """Add one small file, listed in the manifest with its digest."""
        ...

    async def category(
        self,
        name: str,
        columns: Sequence[str],
        records: AsyncIterator[dict[str, Any]],
        *,
        single: bool = False,
    ) -> int:
        """Write one category (JSON and CSV); returns how many records it holds."""
        ...

    async def finish(self, *, pseudonym: str, generated_at: str) -> WrittenArchive:
        """Add the manifest and its signature, and move the archive into place."""
        ...


class ArchiveStore(Protocol):
    """Where export archives are kept."""

    def draft(
        self, request_id: UUID, customer_key: bytes, key_class: RetentionClass
    ) -> AbstractAsyncContextManager[ArchiveDraft]:
        """A new archive for the request, sealed at rest under a key of its own wrapped by
        `customer_key` (the customer's data key of `key_class`), so destroying that key
        makes the archive unreadable; left unfinished, it leaves nothing behind."""
        ...

    def delete(self, request_id: UUID) -> None:
        """Remove the request's archive, if there is one."""
        ...


class AccessLogProofs(Protocol):
    """The offline proof of a customer's access log: the audit log's newest signed tree head,
    each access-log entry it covers with its inclusion proof, and a stand-alone verifier."""

    async def add_to(self, add_file: Callable[[str, bytes], None], customer_id: UUID) -> int:
        """Write the proof files through `add_file(name, data)`; returns how many entries
        were proven."""
        ...


class ExportRequests(DsrRepository, Protocol):
    """The request store of an export, which also streams the bulk of the archive."""

    def transaction_records(
        self, customer_id: UUID, account_id: UUID, data_key: bytes
    ) -> AsyncIterator[Sequence[dict[str, Any]]]:
        """The account's transactions as archive records (`archive.transaction_record`),
        newest first, in batches, in constant memory; `data_key` is the customer's financial
        data key. IntegrityError when a value does not authenticate."""
        ...


class ExportUnitOfWork(UnitOfWorkBase, Protocol):
    """What building an export archive reads and records."""

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def transactions(self) -> TransactionRepository: ...
    @property
    def interactions(self) -> InteractionRepository: ...
    @property
    def corrections(self) -> CorrectionRepository: ...
    @property
    def consents(self) -> ConsentLedger: ...
    @property
    def keys(self) -> KeyRing: ...
    @property
    def audit_reader(self) -> AuditReader: ...
    @property
    def access_log_proofs(self) -> AccessLogProofs: ...
    @property
    def campaigns(self) -> ContactStore: ...
    @property
    def receipts(self) -> ReceiptSigner: ...
    @property
    def dsr(self) -> ExportRequests: ...
    @property
    def audit(self) -> AuditSink: ...
