"""List my exports: every export request of the customer, newest first, one page at a time."""

from __future__ import annotations

from collections.abc import Callable

from domain.clock import Clock
from domain.customer.access import Access, record_read
from domain.dsr.requests import DataSubjectRequest, DsrUnitOfWork, RequestFilter, RequestType
from domain.pagination import Keyset, Page, Position, key_of, read_page


async def list_my_exports(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    access: Access,
    *,
    limit: int,
    cursor: str | None,
) -> Page[DataSubjectRequest]:
    """The customer's export requests, newest received first, after a durable `export.list`
    event. InvalidCursor for a cursor not issued for this customer's list (cursors are
    signed and bound to the list)."""
    filters = RequestFilter(type=RequestType.EXPORT, customer_id=access.subject_id)
    now = clock.now()
    async with uow_factory().reading() as uow:
        keyset: Keyset[Position, DataSubjectRequest] = Keyset.by_position(
            uow.cursors, f"my-exports:{access.subject_id}", lambda r: Position(r.received_at, r.id)
        )
        page = await read_page(
            keyset,
            cursor,
            limit,
            lambda after, n: uow.dsr.search(filters, now, limit=n, before=key_of(after)),
        )
    await record_read(uow, access, "export.list", "dsr_request")
    return page
