"""GET /v1/privacy/customers/{customer_id}/contactability?channel=email|sms (dsr:admin).

The officer is answered by the same contact policy every campaign asks, with its reasons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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
from domain.campaigns.policy import ContactRules, MarketingChannel
from domain.clock import Clock
from domain.consent.contactability import ContactabilityUnitOfWork, check_contactability
from domain.errors import NotFound
from domain.identity import Caller


class Contactability(msgspec.Struct):
    """Whether marketing may be sent now, and why not when it may not."""

    customer_id: str
    channel: str
    purpose: str
    contactable: bool
    reasons: list[str]
    consent_granted: bool | None
    consented_notice_version: str | None
    consent_decided_at: datetime | None
    outdated_notice: bool
    reason_codes: list[str]
    earliest_allowed_at: datetime | None
    contacts_last_7_days: int
    contacts_last_30_days: int


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
    clock: NamedDependency[Clock],
    rules: NamedDependency[ContactRules],
    customer_id: FromPath[str],
    channel: Annotated[MarketingChannel, QueryParameter(description="email or sms")],
) -> Contactability:
    """Answered by the contact policy (consent, restriction, objection, pending erasure,
    preferences, frequency caps, complaint cool-off); the check is audited."""
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
        clock=clock,
        rules=rules,
    )
    decision = answer.decision
    consent = answer.consent
    return Contactability(
        customer_id=str(answer.customer_id),
        channel=answer.channel,
        purpose=answer.purpose,
        contactable=answer.contactable,
        reasons=list(answer.reasons),
        consent_granted=consent.granted if consent else None,
        consented_notice_version=consent.notice_version if consent else None,
        consent_decided_at=consent.recorded_at if consent else None,
        outdated_notice=answer.outdated_notice,
        reason_codes=[reason.code.value for reason in decision.reasons],
        earliest_allowed_at=decision.earliest_allowed_at,
        contacts_last_7_days=decision.contacts_last_week,
        contacts_last_30_days=decision.contacts_last_month,
    )
