"""Support staff reading a customer's data: always for a stated purpose and ticket.

Each read appends an audit event naming the purpose and the ticket, so it shows up in the
customer's access log. A restricted customer's data (GDPR Art. 18) is refused to support,
except to establish, exercise or defend a legal claim (Art. 18(2)); the refusal is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.customer.accounts import Account
from domain.customer.interactions import Interaction
from domain.customer.profile import CustomerStatus, Profile
from domain.errors import DomainError, InvalidValue, NotFound
from domain.support.grants import GrantUnitOfWork

TICKET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
TICKET_SEPARATOR = ";ticket="
"""The audit event's purpose is `<purpose>;ticket=<ticket>` (the chain has no ticket field)."""


class SupportPurpose(StrEnum):
    """Why a support agent looks at a customer's data."""

    CUSTOMER_REQUEST = "customer_request"
    FRAUD_INVESTIGATION = "fraud_investigation"
    COMPLAINT_HANDLING = "complaint_handling"
    LEGAL_CLAIM = "legal_claim"


class RestrictedCustomer(DomainError):
    """The customer restricted processing; support may read only for a legal claim."""


@dataclass(frozen=True, slots=True)
class SupportRequest:
    """Who reads whose data, why, under which ticket."""

    actor: Actor
    customer_id: UUID
    purpose: SupportPurpose
    ticket: str
    request_id: str | None = None
    # When the read happens (the access grant of a held customer must cover it).
    at: datetime | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(TICKET_PATTERN, self.ticket):
            raise InvalidValue("X-Ticket", "a ticket reference is 1-32 letters, digits, . _ -")

    @property
    def audit_purpose(self) -> str:
        """The purpose as recorded on the audit event, ticket included."""
        return f"{self.purpose.value}{TICKET_SEPARATOR}{self.ticket}"


def split_purpose(recorded: str | None) -> tuple[str | None, str | None]:
    """(purpose, ticket) of an audit event's purpose field."""
    if recorded is None or TICKET_SEPARATOR not in recorded:
        return recorded, None
    purpose, _, ticket = recorded.partition(TICKET_SEPARATOR)
    return purpose, ticket


async def _granted(uow: GrantUnitOfWork, request: SupportRequest) -> bool:
    """Whether an officer approved this agent reading this customer for this ticket now."""
    if request.purpose is not SupportPurpose.LEGAL_CLAIM or request.at is None:
        return False
    try:
        staff_id = UUID(request.actor.id)
    except ValueError:
        return False
    found = await uow.access_grants.active(
        request.customer_id, staff_id, request.ticket, request.at
    )
    return found is not None


async def _admit(uow: GrantUnitOfWork, request: SupportRequest, resource_type: str) -> None:
    """Check the customer exists and may be read for this purpose; audit a refusal."""
    customer = await uow.customers.get(request.customer_id)
    refusal: DomainError | None = None
    if customer is None:
        refusal = NotFound("no such customer")
    elif customer.status in (
        CustomerStatus.RESTRICTED,
        CustomerStatus.ERASED,
    ) and not await _granted(uow, request):
        # A stated purpose is not enough: an officer's time-boxed grant (break-glass) is.
        # An erased customer's financial records are kept only under legal hold.
        refusal = RestrictedCustomer(
            "this customer has restricted processing of their data; "
            "support may read it only for a legal claim, under an access grant an officer "
            "approved for this ticket"
        )
    if refusal is not None:
        # Reads change nothing: their events go through the shared durable trail (the unit
        # is read-only), and are committed before the refusal is raised.
        await uow.audit_trail.record(
            AuditRecord(
                request.actor,
                "read",
                resource_type,
                outcome=Outcome.DENIED,
                subject_id=request.customer_id,
                purpose=request.audit_purpose,
                request_id=request.request_id,
            )
        )
        raise refusal


async def _record(
    uow: GrantUnitOfWork, request: SupportRequest, resource_type: str, fields: tuple[str, ...]
) -> None:
    await uow.audit_trail.record(
        AuditRecord(
            request.actor,
            "read",
            resource_type,
            subject_id=request.customer_id,
            fields=fields,
            purpose=request.audit_purpose,
            request_id=request.request_id,
        )
    )


async def support_read_profile(uow: GrantUnitOfWork, request: SupportRequest) -> Profile:
    """The customer's profile, for support; NotFound or RestrictedCustomer otherwise."""
    async with uow.reading():
        await _admit(uow, request, "profile")
        profile = await uow.customers.get_profile(request.customer_id)
        if profile is None:
            raise NotFound("no profile")
        await _record(uow, request, "profile", ("profile",))
    return profile


async def support_read_accounts(uow: GrantUnitOfWork, request: SupportRequest) -> list[Account]:
    """The customer's accounts, for support."""
    async with uow.reading():
        await _admit(uow, request, "accounts")
        accounts = await uow.accounts.list_for_customer(request.customer_id)
        await _record(uow, request, "accounts", ("accounts",))
    return accounts


async def support_read_interactions(
    uow: GrantUnitOfWork,
    request: SupportRequest,
) -> list[Interaction]:
    """The customer's newest interactions, for support."""
    async with uow.reading():
        await _admit(uow, request, "interactions")
        interactions = await uow.interactions.list_for_customer(request.customer_id)
        await _record(uow, request, "interactions", ("interactions",))
    return interactions
