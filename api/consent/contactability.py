"""GET /v1/privacy/customers/{customer_id}/contactability?channel=email|sms (dsr:admin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.consent.controllers import CONSENT_TAG
from api.middleware import request_id_of
from api.routes import problems
from domain.consent.contactability import ContactabilityUnitOfWork, check_contactability
from domain.errors import NotFound
from domain.identity import Caller


class MarketingChannel(StrEnum):
    """A marketing channel."""

    EMAIL = "email"
    SMS = "sms"


class ContactabilityOut(msgspec.Struct):
    """Whether marketing may be sent now, and why not when it may not."""

    customer_id: str
    channel: str
    purpose: str
    contactable: bool
    reasons: list[str]
    consent_granted: bool | None
    consent_notice_version: str | None
    consent_decided_at: datetime | None
    outdated_notice: bool


@get(
    "/v1/privacy/customers/{customer_id:str}/contactability",
    operation_id="getCustomerContactability",
    tags=[CONSENT_TAG],
    opt={"scopes": ("dsr:admin",)},
    security=[{"oauth2": ["dsr:admin"]}],
    responses=problems(400, 404),
    summary="May marketing be sent to this customer on this channel now?",
)
async def get_contactability(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    contactability_units: NamedDependency[Callable[[], ContactabilityUnitOfWork]],
    customer_id: FromPath[str],
    channel: Annotated[MarketingChannel, QueryParameter(description="email or sms")],
) -> ContactabilityOut:
    """Answered from current consent and restriction state; the check is audited."""
    try:
        subject = UUID(customer_id)
    except ValueError:
        raise NotFound("no such customer") from None
    answer = await check_contactability(
        contactability_units(),
        subject,
        channel.value,
        caller.as_actor(),
        request_id_of(request.scope),
    )
    consent = answer.consent
    return ContactabilityOut(
        customer_id=str(answer.customer_id),
        channel=answer.channel,
        purpose=answer.purpose,
        contactable=answer.contactable,
        reasons=list(answer.reasons),
        consent_granted=consent.granted if consent else None,
        consent_notice_version=consent.notice_version if consent else None,
        consent_decided_at=consent.recorded_at if consent else None,
        outdated_notice=answer.outdated_notice,
    )
