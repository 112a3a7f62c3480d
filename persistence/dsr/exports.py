"""The export job: read one customer's data in keyset batches and write the signed archive.

Idempotent by construction: the archive is written to a private temporary file in the
export directory and renamed over the final name only when complete (a worker killed
mid-way leaves at most a `.part` file, removed by the next attempt), and the request is
marked ready afterwards. Running the job twice gives one archive.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.audit.access_log import AuditQuery
from domain.audit.events import SYSTEM_ACTOR, AuditRecord
from domain.dsr import archive as records
from domain.dsr.requests import RequestStatus
from domain.retention import RetentionClass
from persistence.customer.tables import TransactionRow
from persistence.dsr.archive import ArchiveWriter, export_signer
from persistence.dsr.requests import SqlDsrRepository, archive_file, export_dir
from persistence.dsr.sealed_archive import SealingWriter, private_directory, sealed_zip
from persistence.dsr.tables import DsrRequestRow
from persistence.jobs import LeasedJob, Progress
from persistence.sealing import utc_in
from persistence.uow import SqlUnitOfWork

BATCH = 500
COLUMNS: dict[str, tuple[str, ...]] = {
    "profile": (
        "version",
        "given_name",
        "family_name",
        "email",
        "language",
        "preferred_name",
        "phone",
        "address.line1",
        "address.line2",
        "address.city",
        "address.region",
        "address.postal_code",
        "address.country",
        "date_of_birth",
    ),
    "profile_history": ("version", "field", "old_value", "new_value", "actor", "at"),
    "accounts": (
        "id",
        "type",
        "name",
        "masked_number",
        "currency",
        "status",
        "opened_at",
        "closed_at",
        "balance",
    ),
    "transactions": (
        "id",
        "account_id",
        "booked_at",
        "value_date",
        "amount",
        "currency",
        "direction",
        "status",
        "description",
        "category",
        "merchant",
        "reference",
    ),
    "interactions": (
        "id",
        "occurred_at",
        "channel",
        "direction",
        "kind",
        "summary",
        "outcome",
        "satisfaction",
        "campaign",
    ),
    "consents": (
        "id",
        "purpose",
        "granted",
        "notice_version",
        "recorded_at",
        "actor",
        "collection_method",
        "receipt",
    ),
    "corrections": (
        "id",
        "target_type",
        "target_id",
        "field",
        "current_value",
        "requested_value",
        "reason",
        "status",
        "received_at",
        "due_at",
        "decided_at",
        "decision_reason",
        "previous_value",
    ),
    "access_log": (
        "at",
        "actor_type",
        "actor_role",
        "actor_id",
        "action",
        "resource_type",
        "purpose",
        "outcome",
    ),
    "processing": (
        "purpose",
        "notice_version",
        "legal_basis",
        "description",
        "data_categories",
        "recipients",
        "retention",
        "withdrawable",
    ),
}


class ExportJob:
    """The `export` job handler: builds the archive of the job's request."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        uow_factory: Callable[[], SqlUnitOfWork],
        read_units: Callable[[], SqlUnitOfWork],
        data_dir: Path,
        *,
        ttl: timedelta,
    ) -> None:
        self._sessions = sessions
        self._uow_factory = uow_factory
        self._read_units = read_units
        self._data_dir = data_dir
        self._ttl = ttl

    async def __call__(self, job: LeasedJob, progress: Progress) -> None:
        """Build the archive, rename it into place, mark the request ready (audited)."""
        if job.request_id is None:
            raise LookupError("an export job needs a request")
        async with self._sessions() as session:
            row = await session.get(DsrRequestRow, job.request_id)
            if row is None:
                raise LookupError("the export request is gone")
            customer_id = row.customer_id
        await progress(1)
        directory = private_directory(export_dir(self._data_dir))
        for stale in directory.glob(f".{job.request_id}.*.part"):
            stale.unlink(missing_ok=True)  # left by a worker that died mid-way
        final = archive_file(self._data_dir, job.request_id)
        partial = directory / f".{job.request_id}.{uuid.uuid4().hex}.part"
        try:
            sealed = await self._write(partial, job.request_id, customer_id, progress)
            with partial.open("rb") as written:
                os.fsync(written.fileno())
            os.chmod(partial, 0o600)
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        size, digest = sealed.size, sealed.sha256  # of the ZIP the customer downloads
        now = datetime.now(UTC)
        async with self._uow_factory() as uow:
            await SqlDsrRepository(uow.session, self._data_dir).finish_export(
                job.request_id, size=size, sha256=digest, at=now, expires_at=now + self._ttl
            )
            await uow.audit.append(
                AuditRecord(
                    actor=SYSTEM_ACTOR,
                    action="export.generate",
                    resource_type="dsr_request",
                    subject_id=customer_id,
                    resource_id=str(job.request_id),
                    fields=tuple(COLUMNS),
                    purpose="rights_fulfilment",
                )
            )
            await uow.commit()

    async def _write(
        self, path: Path, request_id: UUID, customer_id: UUID, progress: Progress
    ) -> SealingWriter:
        async with self._read_units() as uow:
            # Sealed under a key wrapped by the customer's contact key, so erasure shreds it;
            # once erased, only financial records remain and their key wraps it.
            key_class = RetentionClass.CONTACT
            if await uow.keys.is_destroyed(customer_id, key_class):
                key_class = RetentionClass.FINANCIAL
            customer_key = await uow.keys.key_for(customer_id, key_class)
            total = (
                await uow.session.scalar(
                    select(func.count())
                    .select_from(TransactionRow)
                    .where(TransactionRow.customer_id == customer_id)
                )
                or 0
            )
            with sealed_zip(path, customer_key, request_id, key_class) as (zf, sealed):
                writer = ArchiveWriter(zf, spool_dir=path.parent)
                await writer.category(
                    "profile", COLUMNS["profile"], _profile(uow, customer_id), single=True
                )
                await writer.category(
                    "profile_history", COLUMNS["profile_history"], _history(uow, customer_id)
                )
                await writer.category("accounts", COLUMNS["accounts"], _accounts(uow, customer_id))
                await progress(5)
                await writer.category(
                    "transactions",
                    COLUMNS["transactions"],
                    _transactions(uow, customer_id, total, progress),
                )
                await writer.category(
                    "interactions", COLUMNS["interactions"], _interactions(uow, customer_id)
                )
                await writer.category("consents", COLUMNS["consents"], _consents(uow, customer_id))
                await writer.category(
                    "corrections", COLUMNS["corrections"], _corrections(uow, customer_id)
                )
                await writer.category(
                    "access_log", COLUMNS["access_log"], _access_log(uow, customer_id)
                )
                await writer.category("processing", COLUMNS["processing"], _processing(uow))
                writer.finish(
                    export_signer(uow.master_key),
                    pseudonym=uow.receipts.pseudonym(customer_id),
                    generated_at=records.utc_text(datetime.now(UTC)) or "",
                )
        await progress(98)
        return sealed


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


async def _profile(uow: SqlUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    profile = await uow.customers.get_profile(customer_id)
    if profile is not None:
        yield records.profile_record(profile)


Row = TypeVar("Row")


async def _walk(
    fetch: Callable[[Any], Awaitable[Sequence[Row]]], position: Callable[[Row], Any]
) -> AsyncIterator[Row]:
    """Every row a keyset-paged query yields, BATCH at a time, in constant memory."""
    before = None
    while True:
        batch = await fetch(before)
        for row in batch:
            yield row
        if len(batch) < BATCH:
            return
        before = position(batch[-1])


async def _history(uow: SqlUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    async for change in _walk(
        lambda before: uow.customers.list_profile_changes(customer_id, limit=BATCH, before=before),
        lambda change: (change.version, change.id),
    ):
        yield records.change_record(change)


async def _accounts(uow: SqlUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    for account in await uow.accounts.list_for_customer(customer_id):
        yield records.account_record(account)


async def _transactions(
    uow: SqlUnitOfWork, customer_id: UUID, total: int, progress: Progress
) -> AsyncIterator[dict[str, Any]]:
    done = 0
    for account in await uow.accounts.list_for_customer(customer_id):
        before = None
        while True:
            batch = await uow.transactions.list_for_account(
                customer_id, account.id, limit=BATCH, before=before
            )
            for transaction in batch:
                yield records.transaction_record(transaction)
            done += len(batch)
            # The identity map holds rows weakly, but expunging keeps memory flat for sure.
            uow.session.expunge_all()
            await progress(5 + (85 * done) // max(total, 1))
            if len(batch) < BATCH:
                break
            before = (batch[-1].booked_at, batch[-1].id)


async def _interactions(
    uow: SqlUnitOfWork,
    customer_id: UUID,
) -> AsyncIterator[dict[str, Any]]:
    async for interaction in _walk(
        lambda before: uow.interactions.list_for_customer(customer_id, limit=BATCH, before=before),
        lambda interaction: (interaction.occurred_at, interaction.id),
    ):
        yield records.interaction_record(interaction)


async def _consents(uow: SqlUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    for event in await uow.consents.history(customer_id):
        yield records.consent_record(event)


async def _corrections(
    uow: SqlUnitOfWork,
    customer_id: UUID,
) -> AsyncIterator[dict[str, Any]]:
    async for request in _walk(
        lambda before: uow.corrections.list_for_customer(customer_id, limit=BATCH, before=before),
        lambda request: (request.received_at, request.id),
    ):
        yield records.correction_record(request)


async def _access_log(uow: SqlUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    async for event in _walk(
        lambda before: uow.audit_reader.newest_first(
            AuditQuery(subject_id=customer_id, before_seq=before), BATCH
        ),
        lambda event: event.seq,
    ):
        yield records.access_record(event)


async def _processing(uow: SqlUnitOfWork) -> AsyncIterator[dict[str, Any]]:
    for notice in await uow.consents.notices():
        yield records.processing_record(notice)


async def mark_failed(
    sessions: async_sessionmaker[AsyncSession], data_dir: Path, job: LeasedJob
) -> None:
    """The export job gave up: the request reads `failed`, and another may be asked for."""
    if job.request_id is None:
        return
    async with sessions() as session, session.begin():
        await SqlDsrRepository(session, data_dir).fail(job.request_id)


async def expire_exports(sessions: async_sessionmaker[AsyncSession], data_dir: Path) -> int:
    """Delete every archive past its expiry and mark its request expired; returns how many."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        rows = (
            await session.scalars(
                select(DsrRequestRow).where(
                    DsrRequestRow.status == RequestStatus.READY.value,
                    DsrRequestRow.expires_at <= utc_in(now),
                )
            )
        ).all()
        for row in rows:
            with contextlib.suppress(FileNotFoundError):
                archive_file(data_dir, row.id).unlink()
            row.status = RequestStatus.EXPIRED.value
        return len(rows)
