"""List my exports: every export request of the customer, newest first, one page at a time."""

from __future__ import annotations

from collections.abc import Callable

from domain.customer.access import Access, paginate, record_read
from domain.dsr.requests import DataSubjectRequest, DsrUnitOfWork, RequestFilter, RequestType
from domain.pagination import Page, Position
from domain.ports import Clock


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
    list_name = f"my-exports:{access.subject_id}"
    filters = RequestFilter(type=RequestType.EXPORT, customer_id=access.subject_id)
    async with uow_factory().reading() as uow:
        before = None
        if cursor is not None:
            position = uow.cursors.decode(list_name, cursor)
            before = (position.at, position.id)
        rows = await uow.dsr.search(filters, clock.now(), limit=limit + 1, before=before)
    await record_read(uow, access, "export.list", "dsr_request")
    return paginate(rows, limit, uow.cursors, list_name, lambda r: Position(r.received_at, r.id))
