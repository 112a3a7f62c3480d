"""Reading one of the customer's own data-subject requests, audited either way."""

from __future__ import annotations

from collections.abc import Callable

from domain.customer.access import Access, deny_not_found, parse_id, record_access
from domain.dsr.requests import DataSubjectRequest, DsrUnitOfWork, RequestType


async def read_own_request(
    uow_factory: Callable[[], DsrUnitOfWork],
    access: Access,
    request_id: str,
    *,
    kind: RequestType,
    action: str,
) -> DataSubjectRequest:
    """The customer's request of `kind`; NotFound (audited as denied) for a missing id, a
    malformed one, another kind's, or anyone else's."""
    async with uow_factory() as uow:
        wanted = parse_id(request_id)
        found = None if wanted is None else await uow.dsr.get(wanted, access.subject_id)
        if found is None or found.type is not kind:
            raise await deny_not_found(uow, access, action, "dsr_request", wanted)
        await record_access(uow, access, action, "dsr_request", found.id)
        await uow.commit()
    return found
