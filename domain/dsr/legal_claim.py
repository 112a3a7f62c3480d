"""An officer's export of a customer whose processing is restricted, or whose data was
erased, is a legal-claim access: it needs the stated purpose `legal_claim` and a ticket.

Such a customer's data is kept only to establish, exercise or defend legal claims
(Art. 17(3)(e) and 18(2) GDPR), so no other reason may take a copy of it. The refusal is
audited; the allowed export records `legal_claim;ticket=<ticket>` as its purpose, so it
shows in the customer's access log with the ticket (unless the customer was erased).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import UUID

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.customer.profile import CustomerStatus
from domain.dsr.requests import DsrUnitOfWork
from domain.support.access import (
    TICKET_PATTERN,
    TICKET_SEPARATOR,
    RestrictedCustomer,
    SupportPurpose,
)

HELD = (CustomerStatus.RESTRICTED, CustomerStatus.ERASED)


async def export_purpose(
    uow_factory: Callable[[], DsrUnitOfWork],
    actor: Actor,
    customer_id: UUID,
    *,
    default: str,
    purpose: str | None,
    ticket: str | None,
    request_id: str | None,
) -> str:
    """The purpose to record for an officer's export of `customer_id`: `default` for an
    active customer; for a restricted or erased one `legal_claim;ticket=...`, and
    RestrictedCustomer (403, audited as denied) without that purpose and a valid ticket."""
    async with uow_factory() as uow:
        customer = await uow.customers.get(customer_id)
        if customer is None or customer.status not in HELD:
            return default
        stated = purpose == SupportPurpose.LEGAL_CLAIM.value
        if stated and ticket is not None and re.fullmatch(TICKET_PATTERN, ticket):
            return f"{SupportPurpose.LEGAL_CLAIM.value}{TICKET_SEPARATOR}{ticket}"
        await uow.audit.append(
            AuditRecord(
                actor=actor,
                action="export.request",
                resource_type="dsr_request",
                outcome=Outcome.DENIED,
                subject_id=customer_id,
                purpose=purpose,
                request_id=request_id,
            )
        )
        await uow.commit()
    raise RestrictedCustomer(
        "this customer's data is held for legal claims only: send X-Access-Purpose: "
        "legal_claim and the X-Ticket it is for"
    )
