"""Reading the audit log: the customer's access log and the privacy officer's search.

Both are views of the same tamper-evident audit events. The customer sees events whose
subject is them, newest first, with who (actor type, role, staff id or client: never a
colleague's personal details), when, what, why and the outcome. Their own reads of the
access log are not listed back to them (no infinite mirror); staff reads of it are.
Every read is itself audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.audit.events import Actor, AuditEvent, AuditRecord
from domain.pagination import CursorCodec, Keyset, Page, filtered_list, read_page
from domain.ports import AuditSink, UnitOfWorkBase

ACCESS_LOG_RESOURCE = "access_log"


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters on audit events; None means any. `before_seq` pages newest-first lists."""

    subject_id: UUID | None = None
    actor_id: str | None = None
    actor_type: str | None = None
    action: str | None = None
    resource_type: str | None = None
    outcome: str | None = None
    from_: datetime | None = None
    to: datetime | None = None
    before_seq: int | None = None
    hide_own_access_log_reads: bool = False


class AuditReader(Protocol):
    """Read access to stored audit events."""

    async def newest_first(self, query: AuditQuery, limit: int) -> list[AuditEvent]:
        """Up to `limit` matching events, newest (highest seq) first."""
        ...

    async def oldest_after(
        self, query: AuditQuery, after_seq: int, upto_seq: int, limit: int
    ) -> list[AuditEvent]:
        """Up to `limit` matching events with after_seq < seq <= upto_seq, in chain order."""
        ...

    async def head_seq(self) -> int:
        """The seq of the last appended event (0 for an empty log)."""
        ...


class AuditReadUnitOfWork(UnitOfWorkBase, Protocol):
    """What reading the audit log needs from a unit of work."""

    @property
    def audit(self) -> AuditSink: ...
    @property
    def audit_reader(self) -> AuditReader: ...
    @property
    def cursors(self) -> CursorCodec: ...


async def _page(
    uow: AuditReadUnitOfWork, list_name: str, query: AuditQuery, cursor: str | None, limit: int
) -> Page[AuditEvent]:
    keyset: Keyset[int, AuditEvent] = Keyset.by_seq(uow.cursors, list_name, lambda event: event.seq)
    return await read_page(
        keyset,
        cursor,
        limit,
        lambda after, n: uow.audit_reader.newest_first(replace(query, before_seq=after), n),
    )


EXPORT_BATCH = 500


async def export_audit_events(
    uow_factory: Callable[[], AuditReadUnitOfWork],
    actor: Actor,
    query: AuditQuery,
    request_id: str | None = None,
) -> AsyncIterator[AuditEvent]:
    """Every matching event in chain order, for a JSON Lines export.

    The export is audited (and committed) before the first event is produced. Events are
    read in batches, each in its own short transaction, so memory stays constant and
    appenders are never held up for the length of the download (SQLite transactions take
    the write lock). The export ends at the head as it was when it started.
    """
    async with uow_factory() as uow:
        upto = await uow.audit_reader.head_seq()
        await uow.audit.append(
            AuditRecord(
                actor, "export", "audit_events", subject_id=query.subject_id, request_id=request_id
            )
        )
        await uow.commit()
    after = 0
    while True:
        async with uow_factory() as uow:
            batch = await uow.audit_reader.oldest_after(query, after, upto, EXPORT_BATCH)
        for event in batch:
            yield event
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].seq


async def read_access_log(
    uow: AuditReadUnitOfWork,
    customer_id: UUID,
    actor: Actor,
    *,
    query: AuditQuery,
    cursor: str | None,
    limit: int,
    request_id: str | None = None,
) -> Page[AuditEvent]:
    """One page of who accessed the customer's data, newest first; the read is audited
    (and, being the customer's own, never shown back to them)."""
    query = replace(query, subject_id=customer_id, hide_own_access_log_reads=True)
    async with uow:
        list_name = filtered_list(f"access-log:{customer_id}", replace(query, before_seq=None))
        page = await _page(uow, list_name, query, cursor, limit)
        await uow.audit.append(
            AuditRecord(
                actor, "read", ACCESS_LOG_RESOURCE, subject_id=customer_id, request_id=request_id
            )
        )
        await uow.commit()
    return page


async def search_audit_events(
    uow: AuditReadUnitOfWork,
    actor: Actor,
    *,
    query: AuditQuery,
    cursor: str | None,
    limit: int,
    request_id: str | None = None,
) -> Page[AuditEvent]:
    """One page of audit events matching `query`, newest first, for a privacy officer;
    the search is itself audited."""
    async with uow:
        page = await _page(uow, _search_list(query), query, cursor, limit)
        await uow.audit.append(
            AuditRecord(
                actor, "search", "audit_events", subject_id=query.subject_id, request_id=request_id
            )
        )
        await uow.commit()
    return page


def _search_list(query: AuditQuery) -> str:
    # A cursor continues the search it came from, with the same filters.
    return filtered_list("audit-search", replace(query, before_seq=None))
