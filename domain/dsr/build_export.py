"""Build the archive of an export request (Art. 15 and 20), and expire old archives.

The archive is read in keyset batches (transactions, the bulk, in one stream per account), so
memory stays flat whatever the amount of data, and written through an `ArchiveStore` that
shows nothing under the final name until it is complete. Building twice gives one archive:
the job may be leased again after a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from domain.audit.access_log import AuditQuery
from domain.audit.events import SYSTEM_ACTOR, ActorType, AuditRecord
from domain.campaigns.preferences import preferences_record
from domain.clock import Clock
from domain.customer.profile import CustomerStatus
from domain.dsr import archive as records
from domain.dsr.ports import ArchiveDraft, ArchiveStore, ExportUnitOfWork, Progress
from domain.retention import RetentionClass

BATCH = 500
"""Rows read per query (the small categories; transactions stream)."""

PROGRESS_EVERY = 5000
"""Transactions between two progress reports (each one extends the job's lease)."""

Row = TypeVar("Row")


async def build_export(
    units: Callable[[], ExportUnitOfWork],
    read_units: Callable[[], ExportUnitOfWork],
    archives: ArchiveStore,
    clock: Clock,
    request_id: UUID,
    *,
    ttl: timedelta,
    progress: Progress,
) -> None:
    """Write the archive of export request `request_id`, then mark the request ready until
    `ttl` from now (audited). `read_units` may be read-only: the reading takes long.

    Raises LookupError when the request does not exist (the job then fails for good)."""
    async with units() as uow:
        request = await uow.dsr.get(request_id)
        customer = None if request is None else await uow.customers.get(request.customer_id)
    if request is None:
        raise LookupError("the export request is gone")
    customer_id = request.customer_id
    # Staff export a restricted or erased customer only for a legal claim, and then only what
    # is kept for it: the financial records and the evidence, nothing of contact or contacts.
    held = request.requested_by != ActorType.CUSTOMER.value and (
        customer is None or customer.status is not CustomerStatus.ACTIVE
    )
    categories = records.RETAINED_CATEGORIES if held else records.CATEGORIES
    await progress(1)
    async with read_units() as uow:
        # Sealed under the customer's contact key, so erasure shreds it; once erased, only
        # financial records remain and their key seals it.
        key_class = RetentionClass.CONTACT
        if not await uow.keys.has_key(customer_id, key_class):
            key_class = RetentionClass.FINANCIAL
        customer_key = await uow.keys.key_for(customer_id, key_class)
        async with archives.draft(request_id, customer_key, key_class) as draft:
            await _write(uow, draft, customer_id, progress, categories)
            archive = await draft.finish(
                pseudonym=uow.receipts.pseudonym(customer_id),
                generated_at=records.utc_text(clock.now()) or "",
            )
    await progress(98)
    now = clock.now()
    async with units() as uow:
        await uow.dsr.finish_export(
            request_id, size=archive.size, sha256=archive.sha256, at=now, expires_at=now + ttl
        )
        await uow.audit.append(
            AuditRecord(
                actor=SYSTEM_ACTOR,
                action="export.generate",
                resource_type="dsr_request",
                subject_id=customer_id,
                resource_id=str(request_id),
                fields=categories,
                purpose="rights_fulfilment",
            )
        )
        await uow.commit()


async def _write(
    uow: ExportUnitOfWork,
    draft: ArchiveDraft,
    customer_id: UUID,
    progress: Progress,
    categories: Sequence[str],
) -> None:
    total = await uow.transactions.count_for_customer(customer_id)
    readers: dict[str, Callable[[], AsyncIterator[dict[str, Any]]]] = {
        "profile": lambda: _profile(uow, customer_id),
        "profile_history": lambda: _history(uow, customer_id),
        "accounts": lambda: _accounts(uow, customer_id),
        "transactions": lambda: _transactions(uow, customer_id, total, progress),
        "interactions": lambda: _interactions(uow, customer_id),
        "consents": lambda: _consents(uow, customer_id),
        "contact_preferences": lambda: _contact_preferences(uow, customer_id),
        "corrections": lambda: _corrections(uow, customer_id),
        "access_log": lambda: _access_log(uow, customer_id),
        "processing": lambda: _processing(uow),
    }
    for name in records.CATEGORIES:
        if name not in categories:
            continue
        single = name in _SINGLE_RECORD
        await draft.category(name, records.COLUMNS[name], readers[name](), single=single)
        if name == "accounts":
            await progress(5)
        if name == "access_log":
            await uow.access_log_proofs.add_to(draft.add_file, customer_id)


_SINGLE_RECORD = frozenset({"profile", "contact_preferences"})
"""Categories that are one record, not a list."""


async def expire_exports(
    units: Callable[[], ExportUnitOfWork], archives: ArchiveStore, clock: Clock
) -> int:
    """Delete every archive past its expiry and mark its request expired; returns how many."""
    async with units() as uow:
        expired = await uow.dsr.expired_exports(clock.now())
        for request_id in expired:
            archives.delete(request_id)
        await uow.dsr.mark_expired(expired)
        await uow.commit()
    return len(expired)


async def give_up(units: Callable[[], ExportUnitOfWork], request_id: UUID) -> None:
    """The request's job failed for good: the request reads `failed`, and another may be
    asked for."""
    async with units() as uow:
        await uow.dsr.fail(request_id)
        await uow.commit()


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


async def _profile(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    profile = await uow.customers.get_profile(customer_id)
    if profile is not None:
        yield records.profile_record(profile)


async def _history(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    async for change in _walk(
        lambda before: uow.customers.list_profile_changes(customer_id, limit=BATCH, before=before),
        lambda change: (change.version, change.id),
    ):
        yield records.change_record(change)


async def _accounts(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    for account in await uow.accounts.list_for_customer(customer_id):
        yield records.account_record(account)


async def _transactions(
    uow: ExportUnitOfWork, customer_id: UUID, total: int, progress: Progress
) -> AsyncIterator[dict[str, Any]]:
    accounts = await uow.accounts.list_for_customer(customer_id)
    if not accounts or total == 0:
        return  # no accounts left to read: none ever, or the financial key is destroyed
    # The accounts just opened under it, so the financial key exists.
    data_key = await uow.keys.key_for(customer_id, RetentionClass.FINANCIAL)
    done = reported = 0
    for account in accounts:
        async for batch in uow.dsr.transaction_records(customer_id, account.id, data_key):
            for record in batch:
                yield record
            done += len(batch)
            # Each report is a write of its own: report every PROGRESS_EVERY rows at most.
            if done - reported >= PROGRESS_EVERY:
                reported = done
                await progress(5 + (85 * done) // max(total, 1))
    if done > reported:
        await progress(5 + (85 * done) // max(total, 1))


async def _interactions(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    async for interaction in _walk(
        lambda before: uow.interactions.list_for_customer(customer_id, limit=BATCH, before=before),
        lambda interaction: (interaction.occurred_at, interaction.id),
    ):
        yield records.interaction_record(interaction)


async def _consents(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    for event in await uow.consents.history(customer_id):
        yield records.consent_record(event)


async def _contact_preferences(
    uow: ExportUnitOfWork, customer_id: UUID
) -> AsyncIterator[dict[str, Any]]:
    yield preferences_record(await uow.campaigns.preferences(customer_id))


async def _corrections(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    async for request in _walk(
        lambda before: uow.corrections.list_for_customer(customer_id, limit=BATCH, before=before),
        lambda request: (request.received_at, request.id),
    ):
        yield records.correction_record(request)


async def _access_log(uow: ExportUnitOfWork, customer_id: UUID) -> AsyncIterator[dict[str, Any]]:
    async for event in _walk(
        lambda before: uow.audit_reader.newest_first(
            AuditQuery(subject_id=customer_id, before_seq=before), BATCH
        ),
        lambda event: event.seq,
    ):
        yield records.access_record(event)


async def _processing(uow: ExportUnitOfWork) -> AsyncIterator[dict[str, Any]]:
    for notice in await uow.consents.notices():
        yield records.processing_record(notice)
